//! Writing batches to files. Each worker writes its own run of chunks to
//! temporary files (`.tmp-g<group>-<part>`), rolling over at
//! `rows_per_file`; when all workers are done the files are renamed, in
//! group order, to `part-00000.parquet`, `part-00001.parquet`, …. Names and
//! contents therefore do not depend on which thread finished first.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use arrow::array::{
    Array, BooleanArray, Date32Array, Decimal128Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, TimeUnit};
use chrono::NaiveDate;
use crm_core::Table;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::config::OutputFormat;
use crate::error::{Error, Result};

const TMP_PREFIX: &str = ".tmp-g";

enum Sink {
    Parquet(ArrowWriter<BufWriter<File>>),
    Csv(csv::Writer<BufWriter<File>>),
}

/// Writes the batches of one group of chunks of one table.
pub(crate) struct GroupWriter {
    dir: PathBuf,
    table: Table,
    format: OutputFormat,
    rows_per_file: usize,
    group: u64,
    current: Option<(Sink, PathBuf)>,
    rows_in_file: usize,
    files: Vec<PathBuf>,
    rows: u64,
}

fn parquet_properties() -> Result<WriterProperties> {
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
        .set_max_row_group_row_count(Some(1 << 20))
        .build())
}

impl GroupWriter {
    pub(crate) fn new(
        dir: &Path,
        table: Table,
        format: OutputFormat,
        rows_per_file: usize,
        group: u64,
    ) -> Self {
        GroupWriter {
            dir: dir.to_path_buf(),
            table,
            format,
            rows_per_file,
            group,
            current: None,
            rows_in_file: 0,
            files: Vec::new(),
            rows: 0,
        }
    }

    fn open(&mut self) -> Result<()> {
        let path = self.dir.join(format!(
            "{TMP_PREFIX}{:08}-{:04}.{}",
            self.group,
            self.files.len(),
            self.format.extension()
        ));
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let out = BufWriter::with_capacity(1 << 20, file);
        let sink = match self.format {
            OutputFormat::Parquet => Sink::Parquet(ArrowWriter::try_new(
                out,
                self.table.arrow_schema(),
                Some(parquet_properties()?),
            )?),
            OutputFormat::Csv => {
                let mut w = csv::Writer::from_writer(out);
                let names: Vec<&str> = self.table.columns().iter().map(|c| c.name).collect();
                w.write_record(&names).map_err(|source| Error::Csv {
                    path: path.clone(),
                    source,
                })?;
                Sink::Csv(w)
            }
        };
        self.files.push(path.clone());
        self.current = Some((sink, path));
        self.rows_in_file = 0;
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        match self.current.take() {
            Some((Sink::Parquet(w), _)) => {
                w.close()?;
            }
            Some((Sink::Csv(mut w), path)) => {
                w.flush().map_err(|e| Error::io(&path, e))?;
            }
            None => {}
        }
        Ok(())
    }

    /// Appends a batch, starting new files as each fills up.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if self.current.is_none() {
                self.open()?;
            }
            let take = (self.rows_per_file - self.rows_in_file).min(batch.num_rows() - offset);
            let part = batch.slice(offset, take);
            match self.current.as_mut() {
                Some((Sink::Parquet(w), _)) => w.write(&part)?,
                Some((Sink::Csv(w), path)) => write_csv_rows(w, &part, path)?,
                None => unreachable!("a file was opened above"),
            }
            offset += take;
            self.rows_in_file += take;
            self.rows += take as u64;
            if self.rows_in_file == self.rows_per_file {
                self.close()?;
            }
        }
        Ok(())
    }

    /// Closes the open file; returns the temporary files and the rows written.
    pub(crate) fn finish(mut self) -> Result<(Vec<PathBuf>, u64)> {
        self.close()?;
        Ok((std::mem::take(&mut self.files), self.rows))
    }
}

/// Creates the table's directory and removes the parts of an earlier run.
pub(crate) fn prepare_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = name.starts_with(TMP_PREFIX)
            || (name.starts_with("part-")
                && (name.ends_with(".parquet") || name.ends_with(".csv")));
        if ours {
            fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        }
    }
    Ok(())
}

/// Renames the groups' temporary files to `part-NNNNN.<ext>` in order; writes
/// one empty file when the table has no rows, so its schema is still on disk.
/// Returns the final paths and their total size.
pub(crate) fn finalize(
    dir: &Path,
    table: Table,
    format: OutputFormat,
    temp_files: Vec<PathBuf>,
) -> Result<(Vec<PathBuf>, u64)> {
    let mut temp_files = temp_files;
    if temp_files.is_empty() {
        let w = GroupWriter::new(dir, table, format, 1, u64::MAX >> 8);
        let mut w = w;
        w.open()?;
        temp_files = w.finish()?.0;
    }
    temp_files.sort();
    let mut out = Vec::with_capacity(temp_files.len());
    let mut bytes = 0;
    for (i, tmp) in temp_files.iter().enumerate() {
        let path = dir.join(format!("part-{i:05}.{}", format.extension()));
        fs::rename(tmp, &path).map_err(|e| Error::io(&path, e))?;
        bytes += fs::metadata(&path).map_err(|e| Error::io(&path, e))?.len();
        out.push(path);
    }
    Ok((out, bytes))
}

/// A column seen through its concrete Arrow type.
enum CsvColumn<'a> {
    Utf8(&'a StringArray),
    Bool(&'a BooleanArray),
    Date(&'a Date32Array),
    Timestamp(&'a TimestampMicrosecondArray),
    Money(&'a Decimal128Array, i8),
}

fn csv_columns(batch: &RecordBatch) -> Vec<CsvColumn<'_>> {
    batch
        .columns()
        .iter()
        .map(|c| {
            let any = c.as_any();
            match c.data_type() {
                DataType::Utf8 => CsvColumn::Utf8(any.downcast_ref().expect("utf8")),
                DataType::Boolean => CsvColumn::Bool(any.downcast_ref().expect("bool")),
                DataType::Date32 => CsvColumn::Date(any.downcast_ref().expect("date32")),
                DataType::Timestamp(TimeUnit::Microsecond, None) => {
                    CsvColumn::Timestamp(any.downcast_ref().expect("timestamp"))
                }
                DataType::Decimal128(_, scale) => {
                    CsvColumn::Money(any.downcast_ref().expect("decimal"), *scale)
                }
                other => unreachable!("canonical schemas have no {other} columns"),
            }
        })
        .collect()
}

fn write_csv_rows(
    w: &mut csv::Writer<BufWriter<File>>,
    batch: &RecordBatch,
    path: &Path,
) -> Result<()> {
    let columns = csv_columns(batch);
    let mut buf = String::with_capacity(64);
    let err = |source| Error::Csv {
        path: path.to_path_buf(),
        source,
    };
    for row in 0..batch.num_rows() {
        for col in &columns {
            buf.clear();
            match col {
                CsvColumn::Utf8(a) if a.is_valid(row) => buf.push_str(a.value(row)),
                CsvColumn::Bool(a) if a.is_valid(row) => {
                    buf.push_str(if a.value(row) { "true" } else { "false" })
                }
                CsvColumn::Date(a) if a.is_valid(row) => format_date(&mut buf, a.value(row).into()),
                CsvColumn::Timestamp(a) if a.is_valid(row) => {
                    format_timestamp(&mut buf, a.value(row))
                }
                CsvColumn::Money(a, scale) if a.is_valid(row) => {
                    format_decimal(&mut buf, a.value(row), *scale)
                }
                _ => {}
            }
            w.write_field(&buf).map_err(err)?;
        }
        w.write_record(None::<&[u8]>).map_err(err)?;
    }
    Ok(())
}

/// `YYYY-MM-DD` of a day count since 1970-01-01.
fn format_date(buf: &mut String, days: i64) {
    let date =
        NaiveDate::from_num_days_from_ce_opt((days + 719_163) as i32).unwrap_or(NaiveDate::MIN);
    let _ = write!(buf, "{date}");
}

/// `YYYY-MM-DD HH:MM:SS`, with `.ffffff` only when the time has a fraction.
pub(crate) fn format_timestamp(buf: &mut String, micros: i64) {
    let days = micros.div_euclid(86_400_000_000);
    let rest = micros.rem_euclid(86_400_000_000);
    format_date(buf, days);
    let secs = rest / 1_000_000;
    let frac = rest % 1_000_000;
    let _ = write!(
        buf,
        " {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        let _ = write!(buf, ".{frac:06}");
    }
}

/// A decimal's unscaled value as plain text: `1234.56`, `-0.50`.
pub(crate) fn format_decimal(buf: &mut String, unscaled: i128, scale: i8) {
    if unscaled < 0 {
        buf.push('-');
    }
    let v = unscaled.unsigned_abs();
    if scale <= 0 {
        let _ = write!(buf, "{v}");
        return;
    }
    let p = 10u128.pow(scale as u32);
    let _ = write!(buf, "{}.{:0width$}", v / p, v % p, width = scale as usize);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_values_are_spelled_plainly() {
        let mut s = String::new();
        format_timestamp(&mut s, 1_714_571_100_000_000);
        assert_eq!(s, "2024-05-01 13:45:00");
        s.clear();
        format_timestamp(&mut s, -1);
        assert_eq!(s, "1969-12-31 23:59:59.999999");
        s.clear();
        format_decimal(&mut s, 123_456, 2);
        assert_eq!(s, "1234.56");
        s.clear();
        format_decimal(&mut s, -50, 2);
        assert_eq!(s, "-0.50");
        s.clear();
        format_date(&mut s, 0);
        assert_eq!(s, "1970-01-01");
    }
}
