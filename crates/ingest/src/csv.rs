//! Delimited text (CSV, TSV, `;`, `|`): records in, cell batches out.
//!
//! The `csv` crate does the quoting and counts physical lines, so a quoted
//! field spanning lines keeps the next record's line number right. The raw
//! line for quarantine comes from a tee that keeps the bytes the parser has
//! read since the last batch, so no second pass over the file is needed.
//!
//! That serial parser reads the sample and the header, and whatever follows
//! a block that did not end between two records. The body of a file goes
//! through [`BlockReader`], which cuts it into blocks of whole lines without
//! parsing, and [`parse_block`], which parses one block on any thread with
//! `csv-core` (the `csv` crate's own parser, same settings) and keeps the
//! block itself as the rows' raw text.

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
    /// Cells, cell bytes and raw bytes of the last full batch, to size the next.
    last_size: Option<(usize, usize, usize)>,
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

/// Skips a UTF-8 byte order mark at the start of `stream`. Offsets in this
/// module count from the byte after it.
fn skip_bom(stream: &mut Stream) -> std::io::Result<()> {
    let head = stream.fill_buf()?;
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        stream.consume(3);
    }
    Ok(())
}

/// Skips `offset` bytes of `stream` (after its BOM).
fn skip_to(stream: &mut Stream, offset: u64) -> std::io::Result<()> {
    skip_bom(stream)?;
    let skipped = std::io::copy(&mut stream.take(offset), &mut std::io::sink())?;
    if skipped < offset {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the file got shorter while it was being read",
        ));
    }
    Ok(())
}

impl CsvSource {
    /// `stream` must start at the header (a BOM is skipped here).
    pub fn new(mut stream: Stream, delimiter: u8, batch_rows: usize) -> std::io::Result<CsvSource> {
        skip_bom(&mut stream)?;
        Ok(CsvSource::at(stream, delimiter, batch_rows, 1))
    }

    /// Reads from `offset` (a record's start, as [`CsvSource::position`] or a
    /// [`Resume`] gives it), whose physical line is `line`. `stream` must
    /// start at the beginning of the file.
    pub fn starting_at(
        mut stream: Stream,
        delimiter: u8,
        batch_rows: usize,
        offset: u64,
        line: u64,
    ) -> std::io::Result<CsvSource> {
        skip_to(&mut stream, offset)?;
        Ok(CsvSource::at(stream, delimiter, batch_rows, line))
    }

    fn at(stream: Stream, delimiter: u8, batch_rows: usize, line: u64) -> CsvSource {
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
        CsvSource {
            reader,
            record: csv::ByteRecord::new(),
            batch_rows: batch_rows.max(1),
            line,
            offset: 0,
            last_size: None,
        }
    }

    /// The offset (from the start of the file, after a BOM) and physical
    /// line of the next record; valid for a source made by `new`.
    pub fn position(&self) -> (u64, u64) {
        (self.offset, self.line)
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
        let rows = self.batch_rows;
        let mut batch = match self.last_size {
            // A little more than the last batch, so that most never grow.
            Some((cells, bytes, raw)) => CellBatch::with_capacities(
                rows,
                cells + cells / 16,
                bytes + bytes / 16,
                raw + raw / 16,
            ),
            None => CellBatch::with_capacity(rows, rows * 64),
        };
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
        if batch.len() == self.batch_rows {
            self.last_size = Some((batch.cell_count(), batch.cells_len(), batch.raw_len()));
        }
        Ok(Some(batch))
    }
}

/// A run of whole lines of the file, cut where a record most likely starts,
/// to be parsed on any thread by [`parse_block`].
pub struct Block {
    bytes: Vec<u8>,
    /// Offset of `bytes[0]` in the file (after a BOM).
    offset: u64,
    /// Physical line of `bytes[0]`.
    line: u64,
    /// The file's last block: its last record may end without a newline.
    last: bool,
    delimiter: u8,
    rows_hint: usize,
}

/// Where the file must be read on from, serially, when a block turned out
/// not to end between two records (a malformed quote made the cut a guess
/// that failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    pub offset: u64,
    pub line: u64,
}

/// Bytes read from the stream at a time.
const READ_BYTES: usize = 1 << 20;

/// Cuts delimited text into blocks of about `batch_rows` records without
/// parsing it, so that parsing runs on every core: a block ends after the
/// `batch_rows`-th newline that follows an even number of quote characters.
/// In a well-formed file that newline ends a record (a quoted field holds
/// its quotes in pairs), and [`parse_block`] checks that it did.
pub struct BlockReader {
    stream: Stream,
    /// Bytes read and not yet handed out; `buf[0]` is at `offset`.
    buf: Vec<u8>,
    offset: u64,
    line: u64,
    eof: bool,
    delimiter: u8,
    batch_rows: usize,
    /// Size of the last block, to size the next buffer.
    last_len: usize,
}

/// Progress of the search for a block's end in `buf[..pos]`.
#[derive(Default)]
struct CutScan {
    pos: usize,
    /// Newlines after an even number of quotes: the records so far.
    records: usize,
    /// Every newline in `buf[..pos]`, for the next block's line number.
    newlines: u64,
    odd_quotes: bool,
}

/// Whether `chunk` holds a quote, and how many newlines (at most 255 bytes).
/// Byte-wide counters let the compiler run this on vector registers.
fn quotes_and_newlines(chunk: &[u8]) -> (bool, u8) {
    let (mut quote, mut newlines) = (0u8, 0u8);
    for &b in chunk {
        quote |= u8::from(b == b'"');
        newlines += u8::from(b == b'\n');
    }
    (quote != 0, newlines)
}

impl CutScan {
    /// The end of the block (after its `target`-th record's newline), if
    /// the bytes so far hold it; the next call goes on where this one
    /// stopped. Most 64-byte stretches hold no quote, and their newlines
    /// are counted at once; the others are walked byte by byte.
    fn find(&mut self, buf: &[u8], target: usize) -> Option<usize> {
        while self.pos < buf.len() {
            let end = buf.len().min(self.pos + 64);
            let chunk = &buf[self.pos..end];
            let (quote, n) = match <&[u8; 64]>::try_from(chunk) {
                Ok(full) => quotes_and_newlines(full),
                Err(_) => quotes_and_newlines(chunk),
            };
            let n = usize::from(n);
            if !quote && (self.odd_quotes || self.records + n < target) {
                if !self.odd_quotes {
                    self.records += n;
                }
                self.newlines += n as u64;
                self.pos = end;
                continue;
            }
            for (j, &b) in chunk.iter().enumerate() {
                if b == b'"' {
                    self.odd_quotes = !self.odd_quotes;
                } else if b == b'\n' {
                    self.newlines += 1;
                    if !self.odd_quotes {
                        self.records += 1;
                        if self.records == target {
                            self.pos += j + 1;
                            return Some(self.pos);
                        }
                    }
                }
            }
            self.pos = end;
        }
        None
    }
}

impl BlockReader {
    /// Blocks from `offset` (a record's start) on, whose physical line is
    /// `line`; `stream` must start at the beginning of the file.
    pub fn starting_at(
        mut stream: Stream,
        delimiter: u8,
        batch_rows: usize,
        offset: u64,
        line: u64,
    ) -> std::io::Result<BlockReader> {
        skip_to(&mut stream, offset)?;
        Ok(BlockReader {
            stream,
            buf: Vec::new(),
            offset,
            line,
            eof: false,
            delimiter,
            batch_rows: batch_rows.max(1),
            last_len: 0,
        })
    }

    pub fn next_block(&mut self) -> std::io::Result<Option<Block>> {
        let mut scan = CutScan::default();
        // A stray quote (`27" monitor`) leaves the count odd and no newline
        // counts after it; past this size the block ends at its last
        // newline anyway, and parse_block tells whether that was a record's end.
        let cap = (self.last_len * 4).max(16 << 20);
        loop {
            if let Some(cut) = scan.find(&self.buf, self.batch_rows) {
                return Ok(Some(self.take(cut, scan.newlines)));
            }
            if self.eof {
                // Every byte was scanned.
                let rest = self.buf.len();
                return Ok((rest > 0).then(|| self.take(rest, scan.newlines)));
            }
            if self.buf.len() > cap
                && let Some(last) = self.buf.iter().rposition(|&b| b == b'\n')
            {
                let newlines = self.buf[..=last].iter().filter(|&&b| b == b'\n').count();
                return Ok(Some(self.take(last + 1, newlines as u64)));
            }
            self.buf.reserve(READ_BYTES);
            let n = (&mut self.stream)
                .take(READ_BYTES as u64)
                .read_to_end(&mut self.buf)?;
            self.eof = n == 0;
        }
    }

    /// Hands out `buf[..cut]`, which holds `newlines` newlines.
    fn take(&mut self, cut: usize, newlines: u64) -> Block {
        let mut next = Vec::with_capacity(self.last_len.max(cut) + READ_BYTES);
        next.extend_from_slice(&self.buf[cut..]);
        self.buf.truncate(cut);
        let bytes = std::mem::replace(&mut self.buf, next);
        let block = Block {
            offset: self.offset,
            line: self.line,
            last: self.eof && self.buf.is_empty(),
            delimiter: self.delimiter,
            rows_hint: self.batch_rows,
            bytes,
        };
        self.offset += cut as u64;
        self.line += newlines;
        self.last_len = cut;
        block
    }
}

/// Parses a block into a cell batch, with the same records, lines and raw
/// text the serial [`CsvSource`] gives. When the block does not end between
/// two records, the records before its tail are kept and the tail's place
/// is returned: the caller reads on from there serially.
pub fn parse_block(block: Block) -> (CellBatch, Option<Resume>) {
    let Block {
        bytes,
        offset,
        line,
        last,
        delimiter,
        rows_hint,
    } = block;
    let mut batch = CellBatch::with_capacities(rows_hint, rows_hint * 8, bytes.len(), 0);
    let (line, record_start) = if plain_lines(&bytes) {
        parse_plain(&bytes, line, last, delimiter, &mut batch)
    } else {
        parse_with_core(&bytes, line, last, delimiter, &mut batch)
    };
    let clean = last
        || bytes[record_start..]
            .iter()
            .all(|b| matches!(b, b'\r' | b'\n'));
    let resume = (!clean).then_some(Resume {
        offset: offset + record_start as u64,
        line,
    });
    batch.set_raw_block(bytes);
    (batch, resume)
}

/// Whether every record of `bytes` is one line, as csv_core reads it: no
/// quote anywhere, and every `\r` the first half of a CRLF. Exports from
/// databases and CRMs usually are (they quote only cells that need it).
fn plain_lines(bytes: &[u8]) -> bool {
    memchr::memchr(b'"', bytes).is_none()
        && memchr::memchr_iter(b'\r', bytes).all(|i| bytes.get(i + 1) == Some(&b'\n'))
}

/// The records of a block of [`plain_lines`]: each non-blank line, cut at
/// every delimiter. The same rows csv_core gives, at a fraction of its
/// cost. Returns the line number and the offset where parsing stopped.
fn parse_plain(
    bytes: &[u8],
    mut line: u64,
    last: bool,
    delimiter: u8,
    batch: &mut CellBatch,
) -> (u64, usize) {
    let mut start = 0;
    while start < bytes.len() {
        let (end, next) = match memchr::memchr(b'\n', &bytes[start..]) {
            Some(i) => (start + i, start + i + 1),
            // A last line without a newline is a record only at the end
            // of the file; elsewhere the caller reads on from here.
            None if last => (bytes.len(), bytes.len()),
            None => break,
        };
        let content_end = if end > start && bytes[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        let content = &bytes[start..content_end];
        if !content.is_empty() {
            let mut field_start = 0;
            for i in memchr::memchr_iter(delimiter, content) {
                batch.push_field(&content[field_start..i]);
                field_start = i + 1;
            }
            batch.push_field(&content[field_start..]);
            batch.end_row_at(line, start as u32..content_end as u32);
        }
        if next > end {
            line += 1;
        }
        start = next;
    }
    (line, start)
}

/// The records of any block, by csv_core. Returns the line number and the
/// offset after the last whole record.
fn parse_with_core(
    bytes: &[u8],
    mut line: u64,
    last: bool,
    delimiter: u8,
    batch: &mut CellBatch,
) -> (u64, usize) {
    use csv_core::ReadRecordResult as R;
    let mut core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    let mut out = vec![0u8; 1 << 12];
    let mut ends = vec![0usize; 64];
    let (mut pos, mut record_start, mut out_len, mut ends_len) = (0, 0, 0, 0);
    let mut eof_sent = false;
    loop {
        let input = if eof_sent { &[][..] } else { &bytes[pos..] };
        let (result, nin, nout, nends) =
            core.read_record(input, &mut out[out_len..], &mut ends[ends_len..]);
        pos += nin;
        out_len += nout;
        ends_len += nends;
        match result {
            R::InputEmpty if last && !eof_sent => eof_sent = true,
            R::InputEmpty | R::End => break,
            R::OutputFull => out.resize(out.len() * 2, 0),
            R::OutputEndsFull => ends.resize(ends.len() * 2, 0),
            R::Record => {
                let mut start = 0;
                for &end in &ends[..ends_len] {
                    batch.push_field(&out[start..end]);
                    start = end;
                }
                let slice = &bytes[record_start..pos];
                let (first, next) = record_lines(slice, line);
                let lead = slice.len() - trim_leading_newlines(slice).len();
                let raw = trim_newlines(slice);
                let raw_start = (record_start + lead) as u32;
                batch.end_row_at(first, raw_start..raw_start + raw.len() as u32);
                line = next;
                record_start = pos;
                out_len = 0;
                ends_len = 0;
            }
        }
    }
    (line, record_start)
}

fn trim_leading_newlines(mut raw: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = raw {
        raw = rest;
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (u64, Vec<u8>, Vec<Vec<u8>>);

    fn stream(bytes: &[u8]) -> Stream {
        Box::new(std::io::Cursor::new(bytes.to_vec()))
    }

    fn rows_of(batch: &CellBatch, rows: &mut Vec<Row>) {
        for r in 0..batch.len() {
            let fields = (0..batch.field_count(r))
                .map(|i| batch.field(r, i).unwrap_or_default().to_vec())
                .collect();
            rows.push((batch.line(r), batch.raw(r).to_vec(), fields));
        }
    }

    fn serial(bytes: &[u8], batch_rows: usize) -> Vec<Row> {
        let mut src = CsvSource::new(stream(bytes), b',', batch_rows).unwrap();
        let mut rows = Vec::new();
        if src.header().unwrap().is_none() {
            return rows;
        }
        while let Some(b) = src.next_batch().unwrap() {
            rows_of(&b, &mut rows);
        }
        rows
    }

    /// As `FileReader` does it: blocks, and the serial parser from the place
    /// a block that did not end between records names.
    fn blocks(bytes: &[u8], batch_rows: usize) -> (Vec<Row>, bool) {
        let mut src = CsvSource::new(stream(bytes), b',', batch_rows).unwrap();
        let mut rows = Vec::new();
        if src.header().unwrap().is_none() {
            return (rows, false);
        }
        let (offset, line) = src.position();
        let mut reader =
            BlockReader::starting_at(stream(bytes), b',', batch_rows, offset, line).unwrap();
        while let Some(block) = reader.next_block().unwrap() {
            let (batch, resume) = parse_block(block);
            rows_of(&batch, &mut rows);
            if let Some(r) = resume {
                let mut rest =
                    CsvSource::starting_at(stream(bytes), b',', batch_rows, r.offset, r.line)
                        .unwrap();
                while let Some(b) = rest.next_batch().unwrap() {
                    rows_of(&b, &mut rows);
                }
                return (rows, true);
            }
        }
        (rows, false)
    }

    #[test]
    fn blocks_give_the_serial_parsers_rows() {
        let cases: &[&[u8]] = &[
            b"a,b\n1,2\n3,4\n5,6\n",
            b"a,b\n1,2\n3,4\n5,6",
            b"\xEF\xBB\xBFa,b\r\n1,2\r\n\r\n3,4\r\n5,6\r\n\r\n",
            b"a,b\r1,2\r3,4\r",
            b"a,b\n1,\"x\ny\nz\"\n2,\"q\"\"uote\"\n3,4\n\n\n",
            b"a,b\n1,27\" monitor\n2,ok\n3,ok\n4,\"open\n5,x\n6,y\n",
            b"a,b\n1,\"never closed\n2,x\n3,y\n",
            b"a,b\n",
            b"a,b",
            b"",
            b"a,b\n\n\n1,2\n",
        ];
        for (i, case) in cases.iter().enumerate() {
            for batch_rows in 1..=4 {
                assert_eq!(
                    blocks(case, batch_rows).0,
                    serial(case, batch_rows),
                    "case {i}, {batch_rows} rows per batch"
                );
            }
        }
    }

    #[test]
    fn a_stray_quote_falls_back_to_the_serial_parser() {
        // The quote makes the cut after "1,a\"b\n" look inside a field.
        let case = b"h\n1,a\"b\n2,\"c\nd\"\n3,e\n";
        let (rows, fell_back) = blocks(case, 1);
        assert_eq!(rows, serial(case, 1));
        assert!(fell_back);
    }

    /// Random files over the characters that matter to the cut: the rows
    /// always equal the serial parser's.
    #[test]
    fn random_files_give_the_serial_parsers_rows() {
        // Odd rounds have no quote and mostly CRLFs, so that most of their
        // blocks are parsed as plain lines; one in 40 of their pieces is a
        // lone CR, which sends a block back to csv_core.
        let quoted: &[&[u8]] = &[
            b"a", b"b", b",", b",", b"\"", b"\"", b"\n", b"\n", b"\r", b" ",
        ];
        let plain: &[&[u8]] = &[b"ab", b"b", b",", b",", b",", b"\n", b"\r\n", b"\r\n", b" "];
        let mut x: u64 = 7;
        let mut next = || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) as usize
        };
        for round in 0..3000 {
            let len = 2 + round % 120;
            let mut bytes = b"h,i\n".to_vec();
            for _ in 0..len {
                let r = next();
                let piece: &[u8] = match round % 2 {
                    0 => quoted[r % quoted.len()],
                    _ if r % 40 == 0 => b"\r",
                    _ => plain[r % plain.len()],
                };
                bytes.extend_from_slice(piece);
            }
            for batch_rows in [1, 2, 3, 7] {
                assert_eq!(
                    blocks(&bytes, batch_rows).0,
                    serial(&bytes, batch_rows),
                    "{:?}, {batch_rows} rows per batch",
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }
}
