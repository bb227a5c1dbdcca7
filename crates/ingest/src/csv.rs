//! Delimited text (CSV, TSV, `;`, `|`): records in, cell batches out.
//!
//! The `csv` crate does the quoting and counts physical lines, so a quoted
//! field spanning lines keeps the next record's line number right. The raw
//! line for quarantine comes from a tee that keeps the bytes the parser has
//! read since the last batch, so no second pass over the file is needed.

use std::io::{BufRead, Read};

use crate::cells::CellBatch;
use crate::input::Stream;

/// Keeps every byte read through it until told to forget them.
struct Tee {
    inner: Stream,
    kept: Vec<u8>,
    /// Stream offset of `kept[0]`.
    kept_start: u64,
}

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.kept.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl Tee {
    fn slice(&self, start: u64, end: u64) -> &[u8] {
        let s = (start.saturating_sub(self.kept_start)) as usize;
        let e = ((end.saturating_sub(self.kept_start)) as usize).min(self.kept.len());
        &self.kept[s.min(e)..e]
    }

    fn forget_before(&mut self, offset: u64) {
        let n = ((offset.saturating_sub(self.kept_start)) as usize).min(self.kept.len());
        self.kept.drain(..n);
        self.kept_start += n as u64;
    }
}

pub struct CsvSource {
    reader: csv::Reader<Tee>,
    record: csv::ByteRecord,
    batch_rows: usize,
    /// The physical line at the byte where the next record's slice starts.
    /// Counted here rather than taken from `csv`, whose record positions
    /// sit before the `\n` of a CRLF and so before any blank lines.
    line: u64,
    /// Stream offset just after the last record read; slices are taken from
    /// here so that no byte (blank lines included) escapes the line count.
    offset: u64,
}

/// The record's own first line, and the line after the slice.
fn record_lines(slice: &[u8], line_at_start: u64) -> (u64, u64) {
    let leading = slice
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .filter(|b| **b == b'\n')
        .count() as u64;
    let all = slice.iter().filter(|b| **b == b'\n').count() as u64;
    (line_at_start + leading, line_at_start + all)
}

fn trim_newlines(mut raw: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = raw {
        raw = rest;
    }
    while let [rest @ .., b'\r' | b'\n'] = raw {
        raw = rest;
    }
    raw
}

impl CsvSource {
    /// `stream` must start at the header (a BOM is skipped here).
    pub fn new(mut stream: Stream, delimiter: u8, batch_rows: usize) -> std::io::Result<CsvSource> {
        let head = stream.fill_buf()?;
        if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            stream.consume(3);
        }
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(Tee {
                inner: stream,
                kept: Vec::with_capacity(1 << 20),
                kept_start: 0,
            });
        Ok(CsvSource {
            reader,
            record: csv::ByteRecord::new(),
            batch_rows: batch_rows.max(1),
            line: 1,
            offset: 0,
        })
    }

    /// The header's raw fields, or `None` for an empty file.
    pub fn header(&mut self) -> csv::Result<Option<Vec<Vec<u8>>>> {
        if !self.reader.read_byte_record(&mut self.record)? {
            return Ok(None);
        }
        let end = self.reader.position().byte();
        self.line = record_lines(self.reader.get_ref().slice(self.offset, end), self.line).1;
        self.offset = end;
        self.reader.get_mut().forget_before(end);
        Ok(Some(self.record.iter().map(<[u8]>::to_vec).collect()))
    }

    pub fn next_batch(&mut self) -> csv::Result<Option<CellBatch>> {
        let mut batch = CellBatch::with_capacity(self.batch_rows, self.batch_rows * 64);
        let mut end = 0;
        while batch.len() < self.batch_rows {
            if !self.reader.read_byte_record(&mut self.record)? {
                break;
            }
            end = self.reader.position().byte();
            for field in self.record.iter() {
                batch.push_field(field);
            }
            let slice = self.reader.get_ref().slice(self.offset, end);
            let (line, next) = record_lines(slice, self.line);
            self.line = next;
            self.offset = end;
            batch.end_row(line, trim_newlines(slice));
        }
        if batch.is_empty() {
            return Ok(None);
        }
        self.reader.get_mut().forget_before(end);
        Ok(Some(batch))
    }
}
