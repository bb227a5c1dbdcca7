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

fn plain_batch(schema: &SchemaRef, b: &RecordBatch) -> Result<RecordBatch> {
    let cols = b
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), cols)?)
}

/// The Parquet settings of a result file: zstd, row groups of `group_rows`,
/// no statistics for text (ids, names and labels: a third of the write of
/// 4.8M RFM rows, and they prune little; numbers, dates and times keep
/// theirs), and a dictionary only where one pays, judged by a column's
/// first values (`first`, the first row group, sampled; see
/// [`dictionary_pays`]).
fn writer_properties(
    schema: &SchemaRef,
    first: &[RecordBatch],
    group_rows: usize,
) -> Result<parquet::file::properties::WriterProperties> {
    use parquet::schema::types::ColumnPath;
    let mut props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .set_max_row_group_row_count(Some(group_rows));
    for (c, f) in schema.fields().iter().enumerate() {
        let path = || ColumnPath::from(f.name().as_str());
        if matches!(f.data_type(), DataType::Utf8 | DataType::Binary) {
            props = props.set_column_statistics_enabled(
                path(),
                parquet::file::properties::EnabledStatistics::None,
            );
        }
        if !dictionary_pays(first, c)? {
            props = props.set_column_dictionary_enabled(path(), false);
        }
    }
    Ok(props.build())
}

/// False for a column whose first (up to) [`DICTIONARY_SAMPLE`] values in
/// `batches` are mostly distinct (more than half differ), such as ids,
/// money and times: Parquet would build that dictionary only to throw it
/// away (a quarter of the write of 481k RFM rows, for a file 1% smaller).
/// False too for a column of one value, such as RFM's `score_group` when
/// all customers are scored together: zstd stores it in a few bytes
/// without a dictionary, and Parquet's dictionary is slow there (481k empty
/// strings took 31 ms with one and 3.6 ms without, 481k copies of "x" 6.7
/// and 2.8 ms). True for fewer than 1024 values, where a dictionary costs
/// nothing.
fn dictionary_pays(batches: &[RecordBatch], c: usize) -> Result<bool> {
    use arrow::row::{RowConverter, SortField};
    let mut sample = Vec::new();
    let mut rows = 0;
    for b in batches {
        if rows == DICTIONARY_SAMPLE {
            break;
        }
        let take = (DICTIONARY_SAMPLE - rows).min(b.num_rows());
        sample.push(b.column(c).slice(0, take));
        rows += take;
    }
    if rows < 1024 {
        return Ok(true);
    }
    let converter = RowConverter::new(vec![SortField::new(sample[0].data_type().clone())])?;
    let encoded = sample
        .into_iter()
        .map(|column| converter.convert_columns(&[column]))
        .collect::<Result<Vec<_>, _>>()?;
    let distinct: std::collections::HashSet<&[u8]> = encoded
        .iter()
        .flat_map(|rows| rows.iter().map(|row| row.data()))
        .collect();
    Ok(distinct.len() > 1 && distinct.len() * 2 <= rows)
}

/// Writes batches to `out` as table, CSV or JSON lines. Parquet needs a
/// file: use [`write_parquet_file`].
pub fn write_batches(
    format: OutputFormat,
    schema: &Schema,
    batches: &[RecordBatch],
    out: &mut dyn Write,
) -> Result<()> {
    let mut sink = TextSink::new(format, schema, out)?;
    for b in batches {
        sink.push(b)?;
    }
    sink.finish()?;
    Ok(())
}

/// Table, CSV or JSON lines written batch by batch as results arrive. CSV
/// and JSON go straight through; a table needs every row for its column
/// widths, so it is printed when the sink finishes.
pub struct TextSink<W: Write> {
    schema: SchemaRef,
    state: TextState<PipeWatch<W>>,
    rows: usize,
    /// Set when the reader went away (see [`PipeWatch`]).
    closed: Arc<std::sync::atomic::AtomicBool>,
}

/// The output of a [`TextSink`], noting a closed pipe: Arrow's CSV and JSON
/// writers keep only the text of a write error, and a closed pipe has to
/// stay recognisable as one (`crm sql ... | head` ends with code 0).
struct PipeWatch<W> {
    inner: W,
    closed: Arc<std::sync::atomic::AtomicBool>,
}

impl<W: Write> PipeWatch<W> {
    fn watch<T>(&self, r: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &r
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.closed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        r
    }
}

impl<W: Write> Write for PipeWatch<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = self.inner.write(buf);
        self.watch(r)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let r = self.inner.flush();
        self.watch(r)
    }
}

enum TextState<W: Write> {
    Table(W, Vec<RecordBatch>),
    Csv(Box<arrow::csv::Writer<W>>, bool),
    Json(arrow::json::LineDelimitedWriter<W>),
}

impl<W: Write> TextSink<W> {
    pub fn new(format: OutputFormat, schema: &Schema, out: W) -> Result<Self> {
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let out = PipeWatch {
            inner: out,
            closed: Arc::clone(&closed),
        };
        let state = match format {
            OutputFormat::Table => TextState::Table(out, Vec::new()),
            OutputFormat::Csv => TextState::Csv(
                Box::new(
                    arrow::csv::WriterBuilder::new()
                        .with_header(true)
                        .with_timestamp_format("%Y-%m-%d %H:%M:%S%.f".to_string())
                        .build(out),
                ),
                false,
            ),
            OutputFormat::Json => TextState::Json(
                arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, arrow::json::writer::LineDelimited>(out),
            ),
            OutputFormat::Parquet | OutputFormat::Xlsx => {
                return Err(Error::Invalid(
                    "--format parquet and xlsx write a file: give it with --out FILE".into(),
                ));
            }
        };
        Ok(TextSink {
            schema: plain_schema(schema),
            state,
            rows: 0,
            closed,
        })
    }

    pub fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        let b = plain_batch(&self.schema, batch)?;
        self.rows += b.num_rows();
        let written = match &mut self.state {
            TextState::Table(_, kept) => {
                kept.push(b);
                Ok(())
            }
            TextState::Csv(w, wrote) => w.write(&b).map(|()| *wrote = true),
            TextState::Json(w) => w.write(&b),
        };
        written.map_err(|e| pipe_error(&self.closed, e.into()))
    }

    /// Prints what is held back (the table; the CSV header of an empty
    /// result) and flushes; returns the rows written.
    pub fn finish(self) -> Result<usize> {
        let closed = Arc::clone(&self.closed);
        self.write_held().map_err(|e| pipe_error(&closed, e))
    }

    fn write_held(self) -> Result<usize> {
        match self.state {
            TextState::Table(mut out, kept) => {
                let text = if kept.iter().all(|b| b.num_rows() == 0) {
                    arrow::util::pretty::pretty_format_batches(&[RecordBatch::new_empty(
                        self.schema,
                    )])?
                } else {
                    arrow::util::pretty::pretty_format_batches(&kept)?
                };
                writeln!(out, "{text}")?;
                out.flush()?;
            }
            TextState::Csv(mut w, wrote) => {
                if !wrote {
                    w.write(&RecordBatch::new_empty(self.schema))?;
                }
                (*w).into_inner().flush()?;
            }
            TextState::Json(mut w) => {
                w.finish()?;
                w.into_inner().flush()?;
            }
        }
        Ok(self.rows)
    }
}

/// Rows per Parquet row group (the parquet crate's default).
const ROW_GROUP_ROWS: usize = 1024 * 1024;

/// Writes batches to a Parquet file (zstd), creating or replacing it: see
/// [`ParquetSink`].
pub fn write_parquet_file(path: &Path, schema: &Schema, batches: &[RecordBatch]) -> Result<()> {
    write_parquet(path, schema, batches, ROW_GROUP_ROWS)
}

fn write_parquet(
    path: &Path,
    schema: &Schema,
    batches: &[RecordBatch],
    group_rows: usize,
) -> Result<()> {
    let mut sink = ParquetSink::with_group_rows(path, schema, group_rows)?;
    for b in batches {
        sink.push(b)?;
    }
    sink.finish()?;
    Ok(())
}

/// A Parquet file (zstd) written batch by batch, one row group at a time,
/// so that a result larger than memory streams through.
///
/// The columns of each row group are cast to their plain types and encoded
/// in parallel (one rayon task per column), then appended in order; the file
/// is the same as `ArrowWriter` writes, Arrow schema included.
pub struct ParquetSink {
    schema: SchemaRef,
    state: ParquetState,
    group_rows: usize,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    groups: usize,
    rows: usize,
}

type FileWriter = parquet::file::writer::SerializedFileWriter<std::io::BufWriter<std::fs::File>>;

enum ParquetState {
    /// Nothing written yet: the writer is made with the first row group,
    /// whose values decide which columns get a dictionary.
    Starting(Option<std::io::BufWriter<std::fs::File>>),
    /// A nested column has several leaves: the plain writer handles them.
    Plain(parquet::arrow::ArrowWriter<std::io::BufWriter<std::fs::File>>),
    Parallel(
        FileWriter,
        parquet::arrow::arrow_writer::ArrowRowGroupWriterFactory,
    ),
}

/// Rows of the first row group sampled to choose the dictionaries.
const DICTIONARY_SAMPLE: usize = 8192;

impl ParquetSink {
    pub fn create(path: &Path, schema: &Schema) -> Result<Self> {
        Self::with_group_rows(path, schema, ROW_GROUP_ROWS)
    }

    fn with_group_rows(path: &Path, schema: &Schema, group_rows: usize) -> Result<Self> {
        let plain = plain_schema(schema);
        let file = std::fs::File::create(path)
            .map_err(|e| Error::Invalid(format!("cannot create {}: {e}", path.display())))?;
        let file = std::io::BufWriter::new(file);
        let state = if plain.fields().iter().any(|f| f.data_type().is_nested()) {
            ParquetState::Plain(parquet::arrow::ArrowWriter::try_new(
                file,
                plain.clone(),
                Some(writer_properties(&plain, &[], group_rows)?),
            )?)
        } else {
            ParquetState::Starting(Some(file))
        };
        Ok(ParquetSink {
            schema: plain,
            state,
            group_rows,
            pending: Vec::new(),
            pending_rows: 0,
            groups: 0,
            rows: 0,
        })
    }

    pub fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows();
        if let ParquetState::Plain(w) = &mut self.state {
            return Ok(w.write(&plain_batch(&self.schema, batch)?)?);
        }
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = (self.group_rows - self.pending_rows).min(batch.num_rows() - offset);
            self.pending.push(batch.slice(offset, take));
            self.pending_rows += take;
            offset += take;
            if self.pending_rows == self.group_rows {
                self.flush_group()?;
            }
        }
        Ok(())
    }

    fn flush_group(&mut self) -> Result<()> {
        use parquet::arrow::arrow_writer::compute_leaves;
        use rayon::prelude::*;
        let group = std::mem::take(&mut self.pending);
        self.pending_rows = 0;
        self.start(&group)?;
        let ParquetState::Parallel(file_writer, factory) = &mut self.state else {
            return Ok(());
        };
        let writers = factory.create_column_writers(self.groups)?;
        self.groups += 1;
        let chunks = writers
            .into_par_iter()
            .zip(self.schema.fields().par_iter())
            .enumerate()
            .map(|(c, (mut w, field))| {
                for b in &group {
                    let column = arrow::compute::cast(b.column(c), field.data_type())?;
                    for leaf in compute_leaves(field, &column)? {
                        w.write(&leaf)?;
                    }
                }
                Ok(w.close()?)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut rg = file_writer.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut rg)?;
        }
        rg.close()?;
        Ok(())
    }

    /// Makes the writer, once, with the first row group's batches.
    fn start(&mut self, first: &[RecordBatch]) -> Result<()> {
        let ParquetState::Starting(file) = &mut self.state else {
            return Ok(());
        };
        let file = file
            .take()
            .ok_or_else(|| Error::Invalid("the Parquet writer failed to start".into()))?;
        let props = writer_properties(&self.schema, first, self.group_rows)?;
        let writer = parquet::arrow::ArrowWriter::try_new(file, self.schema.clone(), Some(props))?;
        let (file_writer, factory) = writer.into_serialized_writer()?;
        self.state = ParquetState::Parallel(file_writer, factory);
        Ok(())
    }

    /// Writes the last row group and the footer; returns the rows written.
    pub fn finish(mut self) -> Result<usize> {
        if self.pending_rows > 0 {
            self.flush_group()?;
        }
        self.start(&[])?;
        match self.state {
            ParquetState::Starting(_) => {
                return Err(Error::Invalid("the Parquet writer failed to start".into()));
            }
            ParquetState::Plain(w) => {
                w.close()?;
            }
            ParquetState::Parallel(file_writer, _) => {
                file_writer.close()?;
            }
        }
        Ok(self.rows)
    }
}

/// A write error as a closed pipe when the reader went away, whatever the
/// writer made of it.
fn pipe_error(closed: &std::sync::atomic::AtomicBool, e: Error) -> Error {
    if closed.load(std::sync::atomic::Ordering::Relaxed) {
        Error::Io(std::io::ErrorKind::BrokenPipe.into())
    } else {
        e
    }
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

    #[test]
    fn parquet_row_groups_split_batches_and_keep_row_order() {
        use arrow::array::{Int64Array, StringViewArray};
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8View, true),
        ]));
        let batch = |from: i64, len: i64| {
            let n: Vec<i64> = (from..from + len).collect();
            let s: Vec<Option<String>> = n
                .iter()
                .map(|i| (i % 3 != 0).then(|| format!("v{i}")))
                .collect();
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(n)),
                    Arc::new(StringViewArray::from(s)),
                ],
            )
            .unwrap()
        };
        let batches = [batch(0, 2), batch(2, 5), batch(7, 0), batch(7, 4)];
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.parquet");
        write_parquet(&p, &schema, &batches, 3).unwrap();
        let f = std::fs::File::open(&p).unwrap();
        let builder =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
        let groups: Vec<i64> = builder
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, vec![3, 3, 3, 2]);
        let got: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
        let got = arrow::compute::concat_batches(&got[0].schema(), &got).unwrap();
        let plain = plain_schema(&schema);
        let want: Vec<RecordBatch> = batches
            .iter()
            .map(|b| plain_batch(&plain, b).unwrap())
            .collect();
        assert_eq!(got, arrow::compute::concat_batches(&plain, &want).unwrap());
    }

    #[test]
    fn parquet_dictionaries_only_for_columns_that_repeat() {
        use arrow::array::{Int64Array, StringViewArray};
        use parquet::basic::Encoding;
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8View, false),
            Field::new("label", DataType::Utf8View, false),
            Field::new("amount", DataType::Int64, false),
            Field::new("score", DataType::Int64, false),
            Field::new("group", DataType::Utf8View, false),
        ]));
        let rows = 20_000i64;
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringViewArray::from_iter_values(
                    (0..rows).map(|i| format!("C{i:07}")),
                )),
                Arc::new(StringViewArray::from_iter_values(
                    (0..rows).map(|i| ["loyal", "at_risk", "champions"][i as usize % 3]),
                )),
                Arc::new(Int64Array::from_iter_values((0..rows).map(|i| i * 7919))),
                Arc::new(Int64Array::from_iter_values((0..rows).map(|i| 1 + i % 5))),
                Arc::new(StringViewArray::from_iter_values(
                    (0..rows).map(|i| if i < 10_000 { "" } else { "b2b" }),
                )),
            ],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.parquet");
        write_parquet_file(&p, &schema, std::slice::from_ref(&batch)).unwrap();
        let f = std::fs::File::open(&p).unwrap();
        let builder =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
        let dictionary: Vec<bool> = builder
            .metadata()
            .row_group(0)
            .columns()
            .iter()
            .map(|c| c.encodings().any(|e| e == Encoding::RLE_DICTIONARY))
            .collect();
        // ids and amounts are distinct, a group is one value in the sample
        assert_eq!(dictionary, vec![false, true, false, true, false]);
        let got: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
        let plain = plain_schema(&schema);
        assert_eq!(
            arrow::compute::concat_batches(&plain, &got).unwrap(),
            plain_batch(&plain, &batch).unwrap()
        );
    }
}
