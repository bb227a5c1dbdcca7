//! `open` and `FileReader`: sniffing, resolving the mapping against the
//! header, and the pipeline that streams a file through the converter.
//!
//! A reader thread reads the file and starts converting each batch on the
//! rayon pool at once; a bounded channel of pending conversions (so memory
//! stays bounded whatever the file's size) hands them to the caller in file
//! order, whose thread runs only the duplicate check, the one serial step.
//! Delimited text is not even parsed on the reader thread: it only cuts the
//! file into blocks of whole lines, and the pool parses them too (see
//! `csv::BlockReader`; a block whose cut fell inside a quoted field hands the
//! rest of the file back to the serial parser).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use arrow::array::{AsArray, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::TimestampMicrosecondType;
use chrono::NaiveDateTime;
use crm_core::config::IngestConfig;
use crm_core::schema::{ColumnType, Table};
use crm_core::{QuarantineReason, QuarantineRow};

use crate::cells::CellBatch;
use crate::contact::PhoneNormalizer;
use crate::convert::{ColPlan, Converted, Plan, Src, allowed_values};
use crate::error::{Error, Result};
use crate::input::{content_hash, open_stream, read_all, read_head};
use crate::keys::{KeyId, SeenKeys};
use crate::mapping::{ColumnSource, Mapping};
use crate::sniff::{
    Encoding, Format, detect_format, sniff_decimal_comma, sniff_delimiter, sniff_encoding,
};
use crate::temporal::{DayOrder, TemporalParser, sniff_day_order};
use crate::{csv, jsonl, parquet, xlsx};

/// How to read one file. Explicit options override the mapping's
/// `[options]`, which override sniffing.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The canonical table the file is loaded into.
    pub table: Table,
    pub mapping: Option<Mapping>,
    /// `utf-8`, `utf-8-bom` or `windows-1251`; sniffed when `None`.
    pub encoding: Option<String>,
    /// Field delimiter for delimited text; sniffed when `None`.
    pub delimiter: Option<u8>,
    /// `1 234,56` money; sniffed from the money columns when `None`.
    pub decimal_comma: Option<bool>,
    /// A chrono format for every date column (`%d/%m/%Y`); the built-in
    /// spellings are tried when `None`.
    pub date_format: Option<String>,
    /// Zone that timestamps with an offset are converted to (`Europe/Moscow`).
    pub timezone: String,
    pub ingest: IngestConfig,
    /// The load's clock, for `future_date`; never read from the system here.
    pub now: NaiveDateTime,
}

impl ReadOptions {
    /// Defaults: no mapping, everything sniffed, `Europe/Moscow`, default `[ingest]`.
    pub fn new(table: Table, now: NaiveDateTime) -> ReadOptions {
        ReadOptions {
            table,
            mapping: None,
            encoding: None,
            delimiter: None,
            decimal_comma: None,
            date_format: None,
            timezone: "Europe/Moscow".into(),
            ingest: IngestConfig::default(),
            now,
        }
    }
}

/// What `open` found out about the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub path: PathBuf,
    pub format: Format,
    pub gzip: bool,
    /// For text formats; Parquet and XLSX report UTF-8.
    pub encoding: Encoding,
    /// For delimited text only.
    pub delimiter: Option<u8>,
    pub decimal_comma: bool,
    /// The source header as read.
    pub source_columns: Vec<String>,
    /// Canonical columns this file carries (mapped, constant, derived). The
    /// warehouse must update only these on upsert; the others are all-null
    /// in the batches.
    pub present_columns: Vec<&'static str>,
    /// Source columns nothing maps; the CLI warns about them.
    pub ignored_columns: Vec<String>,
    /// True when the natural key was derived from the content hash and line.
    pub derived_key: bool,
}

/// One batch of canonical rows and the rows refused alongside them.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Rows in `Table::arrow_schema()`; absent columns are all-null.
    pub batch: RecordBatch,
    pub quarantine: Vec<QuarantineRow>,
    /// Rows read from the file for this chunk:
    /// `rows_read == batch.num_rows() + quarantine.len()`.
    pub rows_read: u64,
}

enum Source {
    Csv(csv::CsvSource),
    /// Delimited text cut into blocks that are parsed on the rayon pool.
    CsvBlocks(csv::BlockReader),
    Jsonl(jsonl::JsonlSource),
    Parquet(parquet::ParquetSource),
    Batches(std::vec::IntoIter<CellBatch>),
}

/// What the reader thread hands to the pool: parsed cells, or a block of
/// delimited text still to be parsed.
enum Work {
    Cells(CellBatch),
    Block(csv::Block),
}

impl Source {
    fn next_work(&mut self, path: &Path) -> Result<Option<Work>> {
        let cells = match self {
            Source::CsvBlocks(s) => {
                return Ok(s
                    .next_block()
                    .map_err(|e| Error::io(path, e))?
                    .map(Work::Block));
            }
            Source::Csv(s) => s.next_batch().map_err(|e| csv_error(path, e))?,
            Source::Jsonl(s) => s.next_batch().map_err(|e| Error::io(path, e))?,
            Source::Parquet(s) => s.next_batch()?,
            Source::Batches(it) => it.next(),
        };
        Ok(cells.map(Work::Cells))
    }
}

fn csv_error(path: &Path, e: ::csv::Error) -> Error {
    match e.into_kind() {
        ::csv::ErrorKind::Io(io) => Error::io(path, io),
        other => Error::file(path, format!("cannot parse as delimited text: {other:?}")),
    }
}

/// Reads one file chunk by chunk. Iterate with `next_chunk` (or as an `Iterator`).
pub struct FileReader {
    info: FileInfo,
    plan: Arc<Plan>,
    rx: Option<Receiver<Result<Pending>>>,
    /// The natural keys loaded so far.
    seen: SeenKeys,
    batch_rows: usize,
}

impl std::fmt::Debug for FileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileReader")
            .field("info", &self.info)
            .finish()
    }
}

const SAMPLE_BYTES: usize = 256 * 1024;
const SAMPLE_ROWS: usize = 2000;

/// Opens a file: sniffs it, reads its header and resolves the mapping.
/// Every fatal problem surfaces here, before any row is converted.
pub fn open(path: &Path, opts: &ReadOptions) -> Result<FileReader> {
    let mapping = opts.mapping.as_ref();
    if let Some(m) = mapping
        && m.table != opts.table
    {
        return Err(Error::file(
            path,
            format!(
                "the mapping {} is for table {}, but the file is being loaded into {}; pass a mapping for {}",
                m.origin.display(),
                m.table,
                opts.table,
                opts.table
            ),
        ));
    }
    let mopts = mapping.map(|m| m.options.clone()).unwrap_or_default();
    let zone: chrono_tz::Tz = opts.timezone.parse().map_err(|_| {
        Error::file(
            path,
            format!(
                "'{}' is not a time zone like Europe/Moscow; fix timezone in crm.toml",
                opts.timezone
            ),
        )
    })?;
    let phones = PhoneNormalizer::new(&opts.ingest.phone_region)
        .map_err(|m| Error::file(path, format!("{m}; fix [ingest] phone_region in crm.toml")))?;
    let batch_rows = opts.ingest.batch_rows.max(1);
    let (head, gzip) = read_head(path, SAMPLE_BYTES)?;
    let format = detect_format(path, &head);

    let encoding = match opts.encoding.as_ref().or(mopts.encoding.as_ref()) {
        Some(e) => Encoding::parse(e).map_err(|m| Error::file(path, m))?,
        None if format == Format::Csv || format == Format::JsonLines => sniff_encoding(&head),
        None => Encoding::Utf8,
    };
    let mut delimiter = None;
    // Offset and line of the first record after a delimited header.
    let mut body_start = (0, 1);

    // Header, a sample of rows (for sniffing), and a factory for the real stream.
    let (header, sample, xlsx_batches): (Vec<String>, Option<CellBatch>, Option<Vec<CellBatch>>) =
        match format {
            Format::Csv => {
                let d = match opts.delimiter.or(mopts.delimiter) {
                    Some(d) => d,
                    None => {
                        sniff_delimiter(head.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(&head))
                    }
                };
                delimiter = Some(d);
                let (stream, _) = open_stream(path)?;
                let mut src =
                    csv::CsvSource::new(stream, d, SAMPLE_ROWS).map_err(|e| Error::io(path, e))?;
                let header = src
                    .header()
                    .map_err(|e| csv_error(path, e))?
                    .ok_or_else(|| {
                        Error::file(
                            path,
                            "the file is empty: expected a header line with column names",
                        )
                    })?;
                body_start = src.position();
                let header = header
                    .iter()
                    .map(|h| encoding.decode_lossy(h).trim().to_string())
                    .collect();
                let sample = src.next_batch().map_err(|e| csv_error(path, e))?;
                (header, sample, None)
            }
            Format::JsonLines => {
                let (stream, _) = open_stream(path)?;
                let cols = jsonl::sniff_columns(stream).map_err(|e| Error::io(path, e))?;
                let (stream, _) = open_stream(path)?;
                let sample = jsonl::JsonlSource::new(stream, &cols, SAMPLE_ROWS)
                    .next_batch()
                    .map_err(|e| Error::io(path, e))?;
                (cols, sample, None)
            }
            Format::Parquet => {
                let (mut src, cols) = parquet::open(read_all(path)?.into(), SAMPLE_ROWS)?;
                (cols, src.next_batch()?, None)
            }
            Format::Xlsx => {
                let sheet = xlsx::read(read_all(path)?, mopts.sheet.as_deref(), batch_rows)
                    .map_err(|m| Error::file(path, m))?;
                let sample = None;
                (sheet.header, sample, Some(sheet.batches))
            }
        };
    if header.iter().all(String::is_empty) {
        return Err(Error::file(
            path,
            "no header: expected the first line to hold column names",
        ));
    }
    let sample = sample.or_else(|| {
        xlsx_batches
            .as_ref()
            .and_then(|b| b.first())
            .map(clone_batch)
    });

    let mut plan = resolve(path, opts, &header, phones, encoding)?;
    // Sniff decimal comma and the day order of slashed dates from the sample.
    let sample_values = |i: usize| -> Vec<String> {
        let Some(s) = &sample else { return Vec::new() };
        (0..s.len())
            .filter_map(|r| s.field(r, i).map(|b| encoding.decode_lossy(b)))
            .collect()
    };
    let decimal_comma = match opts.decimal_comma.or(mopts.decimal_comma) {
        Some(d) => d,
        None => {
            let mut values = Vec::new();
            for cp in plan.cols.iter().filter(|c| c.col.ty == ColumnType::Money) {
                if let Src::Field(i) = cp.src {
                    values.extend(sample_values(i));
                }
            }
            sniff_decimal_comma(values.iter().map(String::as_str))
                .unwrap_or(delimiter == Some(b';') && encoding == Encoding::Windows1251)
        }
    };
    let global_format = opts.date_format.clone().or(mopts.date_format.clone());
    let spec_of = |name: &str| mapping.and_then(|m| m.columns.get(name));
    for cp in plan.cols.iter_mut() {
        let spec = spec_of(cp.col.name);
        if cp.col.ty == ColumnType::Money {
            cp.decimal_comma = spec.and_then(|s| s.decimal_comma).unwrap_or(decimal_comma);
        }
        if matches!(cp.col.ty, ColumnType::Date | ColumnType::Timestamp) {
            let format = spec
                .and_then(|s| s.date_format.clone())
                .or(global_format.clone());
            let day_order = match cp.src {
                Src::Field(i) => sniff_day_order(sample_values(i).iter().map(String::as_str)),
                _ => DayOrder::Unknown,
            };
            cp.temporal = Some(TemporalParser {
                format,
                day_order,
                zone,
            });
        }
    }
    plan.future_limit =
        opts.now + chrono::Duration::days(i64::from(opts.ingest.future_tolerance_days));
    plan.tolerance_days = opts.ingest.future_tolerance_days;

    let derived_key = plan.cols.iter().any(|c| matches!(c.src, Src::DerivedKey));
    if derived_key {
        plan.content_hash = content_hash(path)?;
    }
    let present_columns: Vec<&'static str> = plan
        .cols
        .iter()
        .filter(|c| !matches!(c.src, Src::Absent))
        .map(|c| c.col.name)
        .collect();
    let used = used_columns(&plan);
    let ignored_columns = header
        .iter()
        .enumerate()
        .filter(|(i, h)| !used.contains(i) && !h.is_empty())
        .map(|(_, h)| h.clone())
        .collect();
    let info = FileInfo {
        path: path.to_path_buf(),
        format,
        gzip,
        encoding,
        delimiter,
        decimal_comma,
        source_columns: header.clone(),
        present_columns,
        ignored_columns,
        derived_key,
    };

    // The real stream, from the start, on its own thread.
    let source = match format {
        Format::Csv => {
            let (stream, _) = open_stream(path)?;
            let (offset, line) = body_start;
            let blocks = csv::BlockReader::starting_at(
                stream,
                delimiter.unwrap_or(b','),
                batch_rows,
                offset,
                line,
            )
            .map_err(|e| Error::io(path, e))?;
            Source::CsvBlocks(blocks)
        }
        Format::JsonLines => {
            let (stream, _) = open_stream(path)?;
            Source::Jsonl(jsonl::JsonlSource::new(stream, &header, batch_rows))
        }
        Format::Parquet => Source::Parquet(parquet::open(read_all(path)?.into(), batch_rows)?.0),
        Format::Xlsx => Source::Batches(xlsx_batches.unwrap_or_default().into_iter()),
    };
    let plan = Arc::new(plan);
    let rx = spawn_pump(source, path, &plan)?;
    Ok(FileReader {
        info,
        plan,
        rx: Some(rx),
        seen: SeenKeys::default(),
        batch_rows,
    })
}

/// A batch parsed and converted on the rayon pool, with where to read on
/// serially when its block did not end between two records.
struct Parsed {
    cells: CellBatch,
    converted: Converted,
    resume: Option<csv::Resume>,
}

/// A batch being converted on the rayon pool; its result arrives here.
type Pending = Receiver<Result<Parsed>>;

/// Starts the thread that reads `source` and hands each batch to the pool.
fn spawn_pump(source: Source, path: &Path, plan: &Arc<Plan>) -> Result<Receiver<Result<Pending>>> {
    let in_flight = rayon::current_num_threads().max(1) * 2;
    let (tx, rx) = sync_channel(in_flight);
    let thread_path = path.to_path_buf();
    let thread_plan = Arc::clone(plan);
    std::thread::Builder::new()
        .name("crm-ingest-read".into())
        .spawn(move || pump(source, &thread_path, thread_plan, tx))
        .map_err(|e| Error::io(path, e))?;
    Ok(rx)
}

/// Parses batches and starts converting each as soon as it is read. The
/// bounded channel of pending conversions keeps memory bounded and the
/// order of batches intact, while parsing, conversion and the caller's own
/// work (writing the previous chunk) overlap.
fn pump(mut source: Source, path: &Path, plan: Arc<Plan>, tx: SyncSender<Result<Pending>>) {
    loop {
        match source.next_work(path) {
            Ok(Some(work)) => {
                let (done_tx, done_rx) = sync_channel(1);
                let plan = Arc::clone(&plan);
                rayon::spawn(move || {
                    let (cells, resume) = match work {
                        Work::Cells(cells) => (cells, None),
                        Work::Block(block) => csv::parse_block(block),
                    };
                    let result = plan.convert(&cells).map(|converted| Parsed {
                        cells,
                        converted,
                        resume,
                    });
                    // The reader may have been dropped; nothing to do then.
                    let _ = done_tx.send(result);
                });
                // A closed channel means the caller dropped the reader: stop quietly.
                if tx.send(Ok(done_rx)).is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
}

/// Receives, without starving the pool: a caller that is itself a rayon
/// task would otherwise block a worker that the conversions it waits for
/// may need, so it runs pool jobs while it waits.
fn wait<T>(rx: &Receiver<T>) -> std::result::Result<T, std::sync::mpsc::RecvError> {
    use std::sync::mpsc::TryRecvError;
    if rayon::current_thread_index().is_none() {
        return rx.recv();
    }
    loop {
        match rx.try_recv() {
            Ok(v) => return Ok(v),
            Err(TryRecvError::Disconnected) => return Err(std::sync::mpsc::RecvError),
            Err(TryRecvError::Empty) => {
                if rayon::yield_now() != Some(rayon::Yield::Executed) {
                    std::thread::yield_now();
                }
            }
        }
    }
}

fn clone_batch(b: &CellBatch) -> CellBatch {
    let mut c = CellBatch::default();
    for r in 0..b.len() {
        for i in 0..b.field_count(r) {
            c.push_field(b.field(r, i).unwrap_or_default());
        }
        c.end_row(b.line(r), b.raw(r));
    }
    c
}

fn used_columns(plan: &Plan) -> HashSet<usize> {
    let mut used: HashSet<usize> = plan.attributes.iter().map(|(_, i)| *i).collect();
    for c in &plan.cols {
        match &c.src {
            Src::Field(i) => {
                used.insert(*i);
            }
            Src::Concat(idx, _) => used.extend(idx.iter().copied()),
            _ => {}
        }
    }
    used
}

/// Finds a source column: exact name first, then ignoring case.
fn find_column(header: &[String], name: &str) -> Option<usize> {
    let name = name.trim();
    header.iter().position(|h| h == name).or_else(|| {
        let lower = name.to_lowercase();
        header.iter().position(|h| h.to_lowercase() == lower)
    })
}

/// Resolves the mapping (or same-name matching) against the header.
fn resolve(
    path: &Path,
    opts: &ReadOptions,
    header: &[String],
    phones: PhoneNormalizer,
    encoding: Encoding,
) -> Result<Plan> {
    let table = opts.table;
    let mapping = opts.mapping.as_ref();
    let missing = |key: &str, source: &str| {
        Error::file(
            path,
            format!(
                "the mapping {} says {key} = \"{source}\", but the file has no such column; its columns are: {}; fix the mapping",
                mapping
                    .map(|m| m.origin.display().to_string())
                    .unwrap_or_default(),
                header.join(", ")
            ),
        )
    };
    let mut cols = Vec::new();
    for col in table.columns() {
        let spec = mapping.and_then(|m| m.columns.get(col.name));
        let src = match spec.map(|s| &s.source) {
            Some(ColumnSource::Column(c)) => Src::Field(
                find_column(header, c)
                    .ok_or_else(|| missing(&format!("columns.{}", col.name), c))?,
            ),
            Some(ColumnSource::Concat { columns, sep }) => {
                let idx = columns
                    .iter()
                    .map(|c| {
                        find_column(header, c)
                            .ok_or_else(|| missing(&format!("columns.{}.concat", col.name), c))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Src::Concat(idx, sep.clone())
            }
            Some(ColumnSource::Const(v)) => Src::Const(v.clone()),
            None => match find_column(header, col.name) {
                Some(i) => Src::Field(i),
                None => Src::Absent,
            },
        };
        let split = spec.and_then(|s| s.split.clone()).unwrap_or_else(|| {
            if col.name == "phone" {
                vec![",".into(), ";".into()]
            } else {
                Vec::new()
            }
        });
        cols.push(ColPlan {
            col,
            src,
            temporal: None,
            decimal_comma: false,
            values: mapping
                .and_then(|m| m.values.get(col.name))
                .map(|v| v.iter().map(|(a, b)| (a.clone(), b.clone())).collect()),
            allowed: allowed_values(table, col.name),
            id_like: col.ty == ColumnType::Utf8
                && (col.name.ends_with("_id") || col.name.starts_with("phone")),
            split,
        });
    }
    let mut attributes = Vec::new();
    if let Some(m) = mapping {
        for a in &m.attributes {
            let i = find_column(header, a).ok_or_else(|| missing("attributes", a))?;
            attributes.push((a.clone(), i));
        }
    }
    let present = |cols: &[ColPlan], name: &str| {
        cols.iter()
            .any(|c| c.col.name == name && !matches!(c.src, Src::Absent))
    };
    if table == Table::Customers {
        let email = present(&cols, "email");
        let phone = present(&cols, "phone");
        for c in cols.iter_mut() {
            if !matches!(c.src, Src::Absent) {
                continue;
            }
            let derive = match c.col.name {
                "email_valid" => email,
                "phone_valid" | "phones_other" => phone,
                "attributes" => !attributes.is_empty(),
                _ => false,
            };
            if derive {
                c.src = Src::Derived;
            }
        }
    }
    let keys = table.key_columns();
    let key_absent = keys.iter().all(|k| {
        cols.iter()
            .any(|c| c.col.name == *k && matches!(c.src, Src::Absent))
    });
    if keys.len() == 1 && key_absent {
        let c = cols
            .iter_mut()
            .find(|c| c.col.name == keys[0])
            .expect("key column");
        c.src = Src::DerivedKey;
    }
    for c in &cols {
        if c.col.required && matches!(c.src, Src::Absent) {
            return Err(Error::file(
                path,
                format!(
                    "the required column '{}' of {table} is missing; the file's columns are: {}; rename the column or map it with columns.{} = \"<source column>\" in a mapping file",
                    c.col.name,
                    header.join(", "),
                    c.col.name
                ),
            ));
        }
    }
    let key_cols = keys
        .iter()
        .map(|k| {
            cols.iter()
                .position(|c| c.col.name == *k)
                .expect("key column")
        })
        .collect();
    Ok(Plan {
        table,
        schema: table.arrow_schema(),
        cols,
        header_len: header.len(),
        encoding,
        attributes,
        phones,
        future_limit: opts.now,
        tolerance_days: 0,
        file: path.display().to_string(),
        content_hash: String::new(),
        key_cols,
    })
}

impl FileReader {
    /// What was detected and which canonical columns the file carries.
    pub fn info(&self) -> &FileInfo {
        &self.info
    }

    /// The next chunk, `Ok(None)` at the end of the file. An `Err` here is
    /// an I/O failure part-way through; chunks already returned stay valid.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        loop {
            let Some(rx) = &self.rx else { return Ok(None) };
            let pending = match wait(rx) {
                Ok(p) => p?,
                Err(_) => {
                    self.rx = None;
                    return Ok(None);
                }
            };
            let parsed = wait(&pending).map_err(|_| {
                Error::file(
                    &self.info.path,
                    "a conversion worker stopped unexpectedly; run the load again",
                )
            })??;
            if let Some(resume) = parsed.resume {
                self.read_on_serially(resume)?;
            }
            // A block of blank lines yields no rows; it is no chunk.
            if parsed.cells.is_empty() {
                continue;
            }
            return self.dedupe(&parsed.cells, parsed.converted).map(Some);
        }
    }

    /// A block of delimited text did not end between two records (a quote
    /// that is not closed where the cut assumed): the blocks queued after it
    /// were parsed from a wrong start, so they are dropped, and the rest of
    /// the file is read by the serial parser from the last record's end.
    fn read_on_serially(&mut self, resume: csv::Resume) -> Result<()> {
        let path = self.info.path.clone();
        // Dropping the receiver stops the block reader at its next send.
        self.rx = None;
        let (stream, _) = open_stream(&path)?;
        let src = csv::CsvSource::starting_at(
            stream,
            self.info.delimiter.unwrap_or(b','),
            self.batch_rows,
            resume.offset,
            resume.line,
        )
        .map_err(|e| Error::io(&path, e))?;
        self.rx = Some(spawn_pump(Source::Csv(src), &path, &self.plan)?);
        Ok(())
    }

    /// The duplicate check, in file order: the first occurrence is kept.
    fn dedupe(&mut self, cells: &CellBatch, conv: Converted) -> Result<Chunk> {
        if self.seen.is_empty() && !cells.is_empty() {
            // Size the hash set once from the file's size, the first batch's
            // bytes per row and its share of keys that need hashing (none
            // when the ids are numbered).
            let per_row = (cells.raw_len() / cells.len()).max(1) as u64;
            let file = std::fs::metadata(&self.info.path)
                .map(|m| m.len())
                .unwrap_or(0);
            let plain = if self.info.gzip { 0 } else { file };
            let expected = (plain / per_row + plain / per_row / 10).min(100_000_000);
            let hashed = conv
                .keys
                .iter()
                .filter(|k| matches!(k, KeyId::Hash(_)))
                .count() as u64;
            if hashed > 0 {
                let share = expected * hashed / conv.keys.len().max(1) as u64;
                self.seen.reserve_hashed(share.max(hashed) as usize);
            }
        }
        let mut quarantine = conv.quarantine;
        let mut keep: Option<Vec<bool>> = None;
        for (i, key) in conv.keys.iter().enumerate() {
            if !self.seen.insert(*key) {
                let keep = keep.get_or_insert_with(|| vec![true; conv.keys.len()]);
                keep[i] = false;
                let row = conv.rows[i] as usize;
                let key_names = self.plan.table.key_columns().join(", ");
                quarantine.push(QuarantineRow {
                    file: self.plan.file.clone(),
                    line: cells.line(row),
                    column: Some(key_names.clone()),
                    reason: QuarantineReason::DuplicateInFile,
                    message: format!(
                        "{key_names}: expected a key not seen before in this file, found {} again; the first row with it was loaded",
                        key_text(&conv.batch, &self.plan, i)
                    ),
                    raw: self.plan.encoding.decode_lossy(cells.raw(row)),
                });
            }
        }
        let batch = match keep {
            Some(mask) => filter_record_batch(&conv.batch, &BooleanArray::from(mask))?,
            None => conv.batch,
        };
        quarantine.sort_by_key(|q| q.line);
        Ok(Chunk {
            batch,
            quarantine,
            rows_read: conv.rows_read,
        })
    }
}

fn key_text(batch: &RecordBatch, plan: &Plan, row: usize) -> String {
    plan.key_cols
        .iter()
        .map(|&k| {
            let a = batch.column(k);
            if let Some(s) = a.as_string_opt::<i32>() {
                format!("\"{}\"", s.value(row))
            } else if let Some(t) = a.as_primitive_opt::<TimestampMicrosecondType>() {
                chrono::DateTime::from_timestamp_micros(t.value(row))
                    .map(|d| d.naive_utc().to_string())
                    .unwrap_or_default()
            } else {
                String::new()
            }
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

impl Iterator for FileReader {
    type Item = Result<Chunk>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_chunk().transpose()
    }
}

/// Reads a whole file and sums what it gave; handy for tests and small files.
pub fn read_all_chunks(path: &Path, opts: &ReadOptions) -> Result<(FileInfo, Vec<Chunk>)> {
    let mut r = open(path, opts)?;
    let mut chunks = Vec::new();
    while let Some(c) = r.next_chunk()? {
        chunks.push(c);
    }
    Ok((r.info().clone(), chunks))
}
