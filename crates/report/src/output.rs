//! Result output in the four formats of CONVENTIONS.
//!
//! - `table`: aligned, for a terminal;
//! - `csv`: a header line, `.` decimals without grouping, NULL as an empty field, UTF-8;
//! - `json`: one object per line (JSON Lines) for tables, one object for a single result;
//! - `parquet`: a file (`--out` is required), readable by DuckDB, pandas and Spark.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// Output errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Parquet,
    /// A spreadsheet file for people (`--out` is required).
    Xlsx,
}

impl OutputFormat {
    /// True for the formats that can only go to a file.
    pub fn needs_file(self) -> bool {
        matches!(self, OutputFormat::Parquet | OutputFormat::Xlsx)
    }
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "table" => Ok(OutputFormat::Table),
            "csv" => Ok(OutputFormat::Csv),
            "json" => Ok(OutputFormat::Json),
            "parquet" => Ok(OutputFormat::Parquet),
            "xlsx" => Ok(OutputFormat::Xlsx),
            other => Err(format!(
                "unknown format '{other}': expected table, csv, json, parquet or xlsx"
            )),
        }
    }
}

/// View types (Utf8View, BinaryView) print and serialise like their plain
/// forms; casting keeps every writer on the common path.
fn plain_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8View | DataType::LargeUtf8 => {
                f.as_ref().clone().with_data_type(DataType::Utf8)
            }
            DataType::BinaryView | DataType::LargeBinary => {
                f.as_ref().clone().with_data_type(DataType::Binary)
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn plain_batches(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<RecordBatch>> {
    batches
        .iter()
        .map(|b| {
            let cols = b
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RecordBatch::try_new(schema.clone(), cols)?)
        })
        .collect()
}

/// Writes batches to `out` as table, CSV or JSON lines. Parquet needs a
/// file: use [`write_parquet_file`].
pub fn write_batches(
    format: OutputFormat,
    schema: &Schema,
    batches: &[RecordBatch],
    out: &mut dyn Write,
) -> Result<()> {
    let schema = plain_schema(schema);
    let batches = plain_batches(&schema, batches)?;
    match format {
        OutputFormat::Table => {
            let text = if batches.iter().all(|b| b.num_rows() == 0) {
                arrow::util::pretty::pretty_format_batches(&[RecordBatch::new_empty(schema)])?
            } else {
                arrow::util::pretty::pretty_format_batches(&batches)?
            };
            writeln!(out, "{text}")?;
        }
        OutputFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .with_timestamp_format("%Y-%m-%d %H:%M:%S%.f".to_string())
                .build(&mut *out);
            if batches.is_empty() {
                w.write(&RecordBatch::new_empty(schema))?;
            }
            for b in &batches {
                w.write(b)?;
            }
        }
        OutputFormat::Json => {
            let mut w = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, arrow::json::writer::LineDelimited>(&mut *out);
            for b in &batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        OutputFormat::Parquet | OutputFormat::Xlsx => {
            return Err(Error::Invalid(
                "--format parquet and xlsx write a file: give it with --out FILE".into(),
            ));
        }
    }
    out.flush()?;
    Ok(())
}

/// Writes batches to a Parquet file (zstd), creating or replacing it.
pub fn write_parquet_file(path: &Path, schema: &Schema, batches: &[RecordBatch]) -> Result<()> {
    let schema = plain_schema(schema);
    let batches = plain_batches(&schema, batches)?;
    let file = std::fs::File::create(path)
        .map_err(|e| Error::Invalid(format!("cannot create {}: {e}", path.display())))?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, Some(props))?;
    for b in &batches {
        w.write(b)?;
    }
    w.close()?;
    Ok(())
}

/// Writes one result object (e.g. a load summary): pretty key/value table,
/// a one-row CSV, or a single JSON object.
pub fn write_object(
    format: OutputFormat,
    value: &serde_json::Value,
    out: &mut dyn Write,
) -> Result<()> {
    let obj = value
        .as_object()
        .ok_or_else(|| Error::Invalid("a single result must be an object".into()))?;
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match format {
        OutputFormat::Json => {
            serde_json::to_writer(&mut *out, value).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        OutputFormat::Csv => {
            let mut w = csv_line_writer(&mut *out);
            w.write_record(obj.keys())?;
            w.write_record(obj.values().map(scalar))?;
            w.flush()?;
        }
        OutputFormat::Table => {
            let width = obj.keys().map(|k| k.chars().count()).max().unwrap_or(0);
            for (k, v) in obj {
                writeln!(out, "{k:<width$}  {}", scalar(v))?;
            }
        }
        OutputFormat::Parquet | OutputFormat::Xlsx => {
            return Err(Error::Invalid(
                "this command prints a single result; use --format json, csv or table".into(),
            ));
        }
    }
    out.flush()?;
    Ok(())
}

/// A tiny RFC 4180 writer for single records (no dependency on the csv crate).
fn csv_line_writer(out: &mut dyn Write) -> CsvLines<'_> {
    CsvLines { out }
}

struct CsvLines<'a> {
    out: &'a mut dyn Write,
}

impl CsvLines<'_> {
    fn write_record<I, S>(&mut self, fields: I) -> std::io::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let line: Vec<String> = fields
            .into_iter()
            .map(|f| {
                let f = f.as_ref();
                if f.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", f.replace('"', "\"\""))
                } else {
                    f.to_string()
                }
            })
            .collect();
        writeln!(self.out, "{}", line.join(","))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Rows given as JSON objects (status listings, histories) as one batch, so
/// that they print in every format like query results do.
pub fn json_rows_to_batch(rows: &[serde_json::Value]) -> Result<RecordBatch> {
    let schema = arrow::json::reader::infer_json_schema_from_iterator(rows.iter().map(Ok))?;
    let schema = Arc::new(schema);
    let mut decoder = arrow::json::ReaderBuilder::new(schema.clone()).build_decoder()?;
    decoder.serialize(rows)?;
    Ok(decoder
        .flush()?
        .unwrap_or_else(|| RecordBatch::new_empty(schema)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Decimal128Array, StringArray};

    fn sample() -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("amount", DataType::Decimal128(18, 2), true),
        ]));
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["000123", "a,b"])),
                Arc::new(
                    Decimal128Array::from(vec![Some(123456), None])
                        .with_precision_and_scale(18, 2)
                        .unwrap(),
                ),
            ],
        )
        .unwrap();
        (schema, b)
    }

    #[test]
    fn csv_has_a_header_plain_decimals_and_empty_nulls() {
        let (s, b) = sample();
        let mut out = Vec::new();
        write_batches(OutputFormat::Csv, &s, &[b], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "id,amount\n000123,1234.56\n\"a,b\",\n"
        );
    }

    #[test]
    fn json_is_one_object_per_line_with_explicit_nulls() {
        let (s, b) = sample();
        let mut out = Vec::new();
        write_batches(OutputFormat::Json, &s, &[b], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["id"], "000123");
        assert!(lines[1]["amount"].is_null());
    }

    #[test]
    fn single_objects_print_in_every_text_format() {
        let v = serde_json::json!({"table": "transactions", "rows_read": 3, "note": null});
        let mut out = Vec::new();
        write_object(OutputFormat::Csv, &v, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "table,rows_read,note\ntransactions,3,\n"
        );
        let mut out = Vec::new();
        write_object(OutputFormat::Json, &v, &mut out).unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&out).unwrap(),
            v
        );
    }

    #[test]
    fn parquet_round_trips() {
        let (s, b) = sample();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.parquet");
        write_parquet_file(&p, &s, std::slice::from_ref(&b)).unwrap();
        let f = std::fs::File::open(&p).unwrap();
        let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap();
        let got: Vec<RecordBatch> = r.map(|b| b.unwrap()).collect();
        assert_eq!(got, vec![b]);
    }
}
