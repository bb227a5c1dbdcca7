//! A load: parsed files into one canonical table, atomically and idempotently.
//!
//! The protocol, in commit order:
//! 1. a `started` row in `load_history` (skipped when resuming);
//! 2. the data. A single file into a table that does not exist yet is
//!    streamed: its rows are written to Parquet files while it is parsed
//!    (before step 1, which needs the counts and the file's fingerprint),
//!    and the one commit that creates the table adds them all; files
//!    written by a load that dies before that commit are orphans no reader
//!    sees. Otherwise: one Delta commit per group of files carrying the same
//!    columns (usually one). A table that does not exist yet is created and
//!    written in a single commit; otherwise a MERGE on the natural key
//!    inserts new rows, updates rows whose carried columns differ (columns a
//!    file does not carry keep their stored value) and, in `replace` mode,
//!    deletes rows absent from the file, all in the same commit;
//! 3. the quarantine rows, in one commit (skipped when a resumed load already
//!    wrote them);
//! 4. the `complete` history row.
//!
//! A crash between any two steps leaves every table readable. Running the
//! same command again finds the `started` row with the same fingerprint and
//! resumes under the same load id; the MERGE is idempotent, because a row
//! whose values are unchanged is not rewritten.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch};
use chrono::NaiveDateTime;
use crm_core::schema::LOAD_ID_COLUMN;
use crm_core::{QuarantineRow, Table};
use datafusion::prelude::SessionContext;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;
use serde::Serialize;

use crate::bookkeeping::{COMMIT_RETRIES, HistoryRow};
use crate::error::{Error, Result};
use crate::location::Warehouse;
use crate::staging;
use crate::tables::TableKind;

/// Key under which a commit's load id is kept in the Delta commit info.
pub(crate) const LOAD_ID_METADATA: &str = "crm.load_id";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadMode {
    /// New keys are inserted, known keys updated (the default).
    Upsert,
    /// The files are a full snapshot: rows absent from them are deleted.
    Replace,
}

impl LoadMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LoadMode::Upsert => "upsert",
            LoadMode::Replace => "replace",
        }
    }
}

/// An error from the source of a load's rows (the ingest reader), carried
/// through the warehouse as text with the file it concerns.
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// One stretch of a file as the reader yields it.
#[derive(Debug, Clone)]
pub struct FileChunk {
    /// Rows in `Table::arrow_schema()`; columns not carried are all null.
    pub batch: RecordBatch,
    pub quarantine: Vec<QuarantineRow>,
    /// `rows_read == batch.num_rows() + quarantine.len()`.
    pub rows_read: u64,
}

/// An opened file whose rows arrive chunk by chunk, in file order.
pub struct FileStream {
    /// As given on the command line.
    pub path: String,
    /// Canonical columns the file carries; only these are updated.
    pub present_columns: Vec<String>,
    /// Blocking: parsing may run ahead on other threads, bounded.
    pub chunks: Box<dyn Iterator<Item = std::result::Result<FileChunk, SourceError>> + Send>,
}

/// A file of a load, opened only when the load reaches it, so that at most
/// one file's reader holds memory at a time.
pub struct FileInput {
    /// As given on the command line.
    pub path: String,
    pub open: Box<dyn FnOnce() -> std::result::Result<FileStream, SourceError> + Send>,
}

/// One parsed file, held in memory (the MERGE path).
#[derive(Debug, Clone)]
struct LoadedFile {
    rows_read: u64,
    present_columns: Vec<String>,
    /// Rows in `Table::arrow_schema()`; columns not carried are all null.
    batches: Vec<RecordBatch>,
    quarantine: Vec<QuarantineRow>,
}

pub struct LoadRequest {
    pub table: Table,
    pub mode: LoadMode,
    /// Identifies the command: same table, mode and file contents, same
    /// fingerprint (see [`fingerprint`]). Computing it reads every file, so
    /// the load runs it on another core while it parses when it can.
    pub fingerprint: FingerprintFn,
    pub files: Vec<FileInput>,
    /// The load's clock, local wall-clock time in the configured zone.
    pub now: NaiveDateTime,
}

/// What a load did. `rows_read = rows_loaded + rows_quarantined` always.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub load_id: String,
    pub table: String,
    pub mode: LoadMode,
    pub files: Vec<String>,
    pub rows_read: u64,
    pub rows_loaded: u64,
    pub rows_quarantined: u64,
    /// Accepted rows whose key a later file of the same load repeated.
    pub rows_superseded: u64,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    pub table_version: Option<i64>,
    /// True when this command completed an interrupted load.
    pub resumed: bool,
    pub quarantined_by_reason: BTreeMap<String, u64>,
}

/// A stable digest of what a load command is about to do.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().to_hex()[..32].to_string()
}

pub(crate) async fn backoff(attempt: usize) {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 50;
    tokio::time::sleep(Duration::from_millis(25 * attempt as u64 + jitter)).await;
}

fn new_load_id(now: NaiveDateTime) -> String {
    let rnd = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", now.format("%Y%m%dT%H%M%S"), &rnd[..8])
}

#[derive(Default)]
struct Counts {
    inserted: u64,
    updated: u64,
    deleted: u64,
    version: Option<i64>,
}

impl Counts {
    fn add(&mut self, c: Counts) {
        self.inserted += c.inserted;
        self.updated += c.updated;
        self.deleted += c.deleted;
        self.version = c.version.or(self.version);
    }
}

fn check_accounting(rows_read: u64, rows_quarantined: u64) -> Result<()> {
    if rows_quarantined > rows_read {
        return Err(Error::Invalid(format!(
            "{rows_quarantined} quarantined rows but only {rows_read} read"
        )));
    }
    Ok(())
}

/// The `started` row of a load; `finish_load` completes it.
fn history_row(
    load_id: &str,
    req: &LoadRequest,
    files: &[String],
    fingerprint: &str,
    rows_read: u64,
    quarantine: &[QuarantineRow],
) -> HistoryRow {
    let rows_quarantined = quarantine.len() as u64;
    HistoryRow {
        load_id: load_id.to_string(),
        kind: "load".into(),
        status: "started".into(),
        table_name: req.table.name().into(),
        mode: req.mode.as_str().into(),
        files: files.join("\n"),
        fingerprint: fingerprint.to_string(),
        rows_read: rows_read as i64,
        rows_loaded: (rows_read - rows_quarantined) as i64,
        rows_quarantined: rows_quarantined as i64,
        inserted: 0,
        updated: 0,
        deleted: 0,
        table_version: None,
        as_of: None,
        recorded_at: req.now,
        message: String::new(),
    }
}

/// What the data step of a load did.
struct DataOutcome {
    rows_read: u64,
    quarantine: Vec<QuarantineRow>,
    counts: Counts,
    superseded: u64,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, SourceError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Invalid(format!("a load worker stopped: {e}")))?
        .map_err(|e| Error::Invalid(e.to_string()))
}

type FingerprintFn = Box<dyn FnOnce() -> std::result::Result<String, SourceError> + Send>;

fn take_fingerprint(req: &mut LoadRequest) -> FingerprintFn {
    std::mem::replace(
        &mut req.fingerprint,
        Box::new(|| Err("the load's fingerprint was taken twice".into())),
    )
}

impl Warehouse {
    /// Runs the load protocol described in the module documentation.
    ///
    /// A single file into a table that does not exist yet (the first load of
    /// a big export) is streamed: its rows are written to Parquet while it
    /// is parsed, and committed at the end in the one commit that creates
    /// the table, so memory does not grow with the file. Every other load
    /// parses its files into memory and MERGEs them.
    pub async fn load(&self, req: LoadRequest) -> Result<LoadReport> {
        let exists = self
            .table_for_write(TableKind::Table, req.table.name())
            .await?
            .version()
            .is_some();
        if !exists && req.files.len() == 1 {
            self.load_streaming(req).await
        } else {
            self.load_in_memory(req).await
        }
    }

    /// The load id to use: the interrupted load with this fingerprint, or a new one.
    async fn resolve_load_id(
        &self,
        fingerprint: &str,
        now: NaiveDateTime,
    ) -> Result<(String, bool)> {
        let pending = self
            .incomplete()
            .await?
            .into_iter()
            .rfind(|r| r.kind == "load" && r.fingerprint == fingerprint);
        Ok(match pending {
            Some(r) => (r.load_id, true),
            None => (new_load_id(now), false),
        })
    }

    async fn load_in_memory(&self, mut req: LoadRequest) -> Result<LoadReport> {
        let table = req.table;
        let paths: Vec<String> = req.files.iter().map(|f| f.path.clone()).collect();
        let fingerprint = blocking(take_fingerprint(&mut req)).await?;
        let opened = std::mem::take(&mut req.files);
        let files = blocking(move || {
            let mut files = Vec::with_capacity(opened.len());
            for input in opened {
                let stream = (input.open)()?;
                let mut file = LoadedFile {
                    rows_read: 0,
                    present_columns: stream.present_columns,
                    batches: Vec::new(),
                    quarantine: Vec::new(),
                };
                for chunk in stream.chunks {
                    let chunk = chunk?;
                    file.rows_read += chunk.rows_read;
                    file.quarantine.extend(chunk.quarantine);
                    if chunk.batch.num_rows() > 0 {
                        file.batches.push(chunk.batch);
                    }
                }
                files.push(file);
            }
            Ok(files)
        })
        .await?;
        let rows_read: u64 = files.iter().map(|f| f.rows_read).sum();
        let quarantine: Vec<QuarantineRow> =
            files.iter().flat_map(|f| f.quarantine.clone()).collect();
        check_accounting(rows_read, quarantine.len() as u64)?;
        let (load_id, resumed) = self.resolve_load_id(&fingerprint, req.now).await?;
        let mut row = history_row(&load_id, &req, &paths, &fingerprint, rows_read, &quarantine);
        if !resumed {
            self.append_history(&row).await?;
        }

        let groups = group_by_columns(&files);
        if req.mode == LoadMode::Replace && groups.len() > 1 {
            return Err(Error::Invalid(format!(
                "--mode replace needs every file to carry the same columns, but {} carry different ones; load them in separate commands or add the missing columns",
                paths.join(", ")
            )));
        }
        let mut counts = Counts::default();
        let mut superseded = 0u64;
        for (present, batches, n_files) in groups {
            let (batches, dropped) = keep_last_per_key(table, batches, n_files > 1, &load_id)?;
            superseded += dropped;
            let c = self
                .write_rows(table, req.mode, &present, batches, &load_id)
                .await?;
            counts.add(c);
        }
        let data = DataOutcome {
            rows_read,
            quarantine,
            counts,
            superseded,
        };
        self.finish_load(&req, &mut row, paths, data, resumed).await
    }

    /// One file into a table that does not exist yet: staged as Parquet
    /// while it is parsed, then created in one commit.
    async fn load_streaming(&self, mut req: LoadRequest) -> Result<LoadReport> {
        let table = req.table;
        let input = req.files.remove(0);
        let paths = vec![input.path.clone()];
        // The load id goes into every staged row, so it must be known first.
        // Only an interrupted load of this table can be resumed; when there
        // is none (the usual case) the fingerprint, which reads the whole
        // file, is computed on another core while the file is parsed.
        let maybe_resumed = self
            .incomplete()
            .await?
            .iter()
            .any(|r| r.kind == "load" && r.table_name == table.name());
        let fingerprint_fn = take_fingerprint(&mut req);
        let (early, load_id, resumed) = if maybe_resumed {
            let fp = blocking(fingerprint_fn).await?;
            let (id, resumed) = self.resolve_load_id(&fp, req.now).await?;
            (Ok(fp), id, resumed)
        } else {
            (
                Err(tokio::task::spawn_blocking(fingerprint_fn)),
                new_load_id(req.now),
                false,
            )
        };
        let stream = blocking(input.open).await?;
        let present = stream.present_columns.clone();
        let url = self.table_url(TableKind::Table, table.name());
        let staged =
            staging::stage_file(table, &url, self.storage_options(), stream, &load_id).await?;
        let fingerprint = match early {
            Ok(fp) => fp,
            Err(task) => task
                .await
                .map_err(|e| Error::Invalid(format!("a load worker stopped: {e}")))?
                .map_err(|e| Error::Invalid(e.to_string()))?,
        };
        let quarantine = staged.quarantine;
        check_accounting(staged.rows_read, quarantine.len() as u64)?;
        if staged.rows_written + quarantine.len() as u64 != staged.rows_read {
            return Err(Error::Invalid(format!(
                "{}: read {} rows but wrote {} and quarantined {}",
                paths[0],
                staged.rows_read,
                staged.rows_written,
                quarantine.len()
            )));
        }
        let mut row = history_row(
            &load_id,
            &req,
            &paths,
            &fingerprint,
            staged.rows_read,
            &quarantine,
        );
        if !resumed {
            self.append_history(&row).await?;
        }
        let counts = self
            .commit_staged(
                table,
                req.mode,
                &present,
                staged.adds,
                staged.rows_written,
                &load_id,
            )
            .await?;
        let data = DataOutcome {
            rows_read: staged.rows_read,
            quarantine,
            counts,
            superseded: 0,
        };
        self.finish_load(&req, &mut row, paths, data, resumed).await
    }

    /// Creates the table with the staged files in one commit. When a
    /// concurrent load created it meanwhile, the staged rows are read back
    /// and MERGEd instead, and the staged files removed.
    async fn commit_staged(
        &self,
        table: Table,
        mode: LoadMode,
        present: &[String],
        adds: Vec<deltalake::kernel::Add>,
        rows: u64,
        load_id: &str,
    ) -> Result<Counts> {
        use deltalake::kernel::engine::arrow_conversion::TryIntoKernel as _;
        let name = table.name();
        let target = self.table_for_write(TableKind::Table, name).await?;
        if target.version().is_none() {
            let schema: deltalake::kernel::StructType = table.stored_schema().try_into_kernel()?;
            let created = target
                .create()
                .with_columns(schema.fields().cloned())
                .with_table_name(name)
                .with_save_mode(SaveMode::ErrorIfExists)
                .with_actions(adds.iter().cloned().map(deltalake::kernel::Action::Add))
                .with_commit_properties(
                    CommitProperties::default()
                        .with_metadata(vec![(LOAD_ID_METADATA.to_string(), load_id.into())]),
                )
                .await;
            match created.map_err(Error::from) {
                Ok(t) => {
                    return Ok(Counts {
                        inserted: rows,
                        version: t.version().map(|v| v as i64),
                        ..Counts::default()
                    });
                }
                Err(e) if e.is_conflict() => {}
                Err(e) => return Err(e),
            }
        }
        let store = target.object_store();
        let batches = staging::read_staged(store.clone(), &adds).await?;
        let counts = self
            .write_rows(table, mode, present, batches, load_id)
            .await?;
        staging::remove_staged(store, &adds).await;
        Ok(counts)
    }

    /// Steps 3 and 4 of the protocol: the quarantine, then the `complete` row.
    async fn finish_load(
        &self,
        req: &LoadRequest,
        row: &mut HistoryRow,
        files: Vec<String>,
        data: DataOutcome,
        resumed: bool,
    ) -> Result<LoadReport> {
        let table = req.table;
        let load_id = row.load_id.clone();
        let mut counts = data.counts;
        if counts.version.is_none() {
            counts.version = self
                .table(table.name())
                .await?
                .and_then(|t| t.version())
                .map(|v| v as i64);
        }
        let already = if resumed {
            self.quarantine_count(&load_id).await?
        } else {
            0
        };
        if already == 0 {
            self.append_quarantine(&load_id, table.name(), &data.quarantine, req.now)
                .await?;
        }

        let mut by_reason = BTreeMap::new();
        for q in &data.quarantine {
            *by_reason.entry(q.reason.code().to_string()).or_insert(0) += 1;
        }
        row.status = "complete".into();
        row.inserted = counts.inserted as i64;
        row.updated = counts.updated as i64;
        row.deleted = counts.deleted as i64;
        row.table_version = counts.version;
        row.message = if resumed {
            "resumed an interrupted load".into()
        } else {
            String::new()
        };
        self.append_history(row).await?;

        let rows_quarantined = data.quarantine.len() as u64;
        Ok(LoadReport {
            load_id,
            table: table.name().into(),
            mode: req.mode,
            files,
            rows_read: data.rows_read,
            rows_loaded: data.rows_read - rows_quarantined,
            rows_quarantined,
            rows_superseded: data.superseded,
            inserted: counts.inserted,
            updated: counts.updated,
            deleted: counts.deleted,
            table_version: counts.version,
            resumed,
            quarantined_by_reason: by_reason,
        })
    }

    /// One commit of data rows, retried on a fresh snapshot when a
    /// concurrent writer won the race.
    async fn write_rows(
        &self,
        table: Table,
        mode: LoadMode,
        present: &[String],
        batches: Vec<RecordBatch>,
        load_id: &str,
    ) -> Result<Counts> {
        let name = table.name();
        let props = || {
            CommitProperties::default()
                .with_metadata(vec![(LOAD_ID_METADATA.to_string(), load_id.into())])
        };
        let mut attempt = 0;
        loop {
            let target = self.table_for_write(TableKind::Table, name).await?;
            let result = if target.version().is_none() {
                let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
                target
                    .write(batches.clone())
                    .with_writer_properties(staging::writer_properties(table))
                    .with_save_mode(SaveMode::ErrorIfExists)
                    .with_table_name(name)
                    .with_commit_properties(props())
                    .await
                    .map(|t| Counts {
                        inserted: rows as u64,
                        version: t.version().map(|v| v as i64),
                        ..Counts::default()
                    })
                    .map_err(Error::from)
            } else {
                self.merge_rows(target, table, mode, present, batches.clone(), props())
                    .await
            };
            match result {
                Ok(c) => return Ok(c),
                Err(e) if e.is_conflict() && attempt < COMMIT_RETRIES => {
                    attempt += 1;
                    backoff(attempt).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn merge_rows(
        &self,
        target: deltalake::DeltaTable,
        table: Table,
        mode: LoadMode,
        present: &[String],
        batches: Vec<RecordBatch>,
        props: CommitProperties,
    ) -> Result<Counts> {
        let ctx = SessionContext::new();
        let source = if batches.is_empty() {
            ctx.read_batch(RecordBatch::new_empty(table.stored_schema()))?
        } else {
            ctx.read_batches(batches)?
        };
        let keys = table.key_columns();
        let on = keys
            .iter()
            .map(|k| format!("target.{k} = source.{k}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let changing: Vec<&String> = present
            .iter()
            .filter(|c| !keys.contains(&c.as_str()))
            .collect();
        let mut written: Vec<String> = present.to_vec();
        written.push(LOAD_ID_COLUMN.to_string());

        let mut merge = target
            .merge(source, on)
            .with_writer_properties(staging::writer_properties(table))
            .with_source_alias("source")
            .with_target_alias("target")
            .with_commit_properties(props);
        if !changing.is_empty() {
            let differs = changing
                .iter()
                .map(|c| format!("(target.{c} IS DISTINCT FROM source.{c})"))
                .collect::<Vec<_>>()
                .join(" OR ");
            let set: Vec<String> = changing
                .iter()
                .map(|c| c.to_string())
                .chain([LOAD_ID_COLUMN.to_string()])
                .collect();
            merge = merge.when_matched_update(|u| {
                set.iter().fold(u.predicate(differs), |u, c| {
                    u.update(c.as_str(), format!("source.{c}"))
                })
            })?;
        }
        merge = merge.when_not_matched_insert(|i| {
            written
                .iter()
                .fold(i, |i, c| i.set(c.as_str(), format!("source.{c}")))
        })?;
        if mode == LoadMode::Replace {
            merge = merge.when_not_matched_by_source_delete(|d| d)?;
        }
        let (t, metrics) = merge.await?;
        Ok(Counts {
            inserted: metrics.num_target_rows_inserted as u64,
            updated: metrics.num_target_rows_updated as u64,
            deleted: metrics.num_target_rows_deleted as u64,
            version: t.version().map(|v| v as i64),
        })
    }
}

/// Files carrying the same columns are written together, in file order.
/// Returns (columns, batches, number of files) per group.
fn group_by_columns(files: &[LoadedFile]) -> Vec<(Vec<String>, Vec<RecordBatch>, usize)> {
    let mut groups: Vec<(Vec<String>, Vec<RecordBatch>, usize)> = Vec::new();
    for f in files {
        let mut cols = f.present_columns.clone();
        cols.sort();
        match groups.iter_mut().find(|(c, _, _)| *c == cols) {
            Some((_, b, n)) => {
                b.extend(f.batches.iter().cloned());
                *n += 1;
            }
            None => groups.push((cols, f.batches.clone(), 1)),
        }
    }
    groups
}

/// Adds `_load_id`, and where a key repeats across files of one load keeps
/// only its last row (the newest); returns the rows dropped that way.
fn keep_last_per_key(
    table: Table,
    batches: Vec<RecordBatch>,
    needs_dedupe: bool,
    load_id: &str,
) -> Result<(Vec<RecordBatch>, u64)> {
    let stored = table.stored_schema();
    let key_idx: Vec<usize> = table
        .key_columns()
        .iter()
        .map(|k| table.arrow_schema().index_of(k).expect("key column"))
        .collect();
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut masks: Vec<Vec<bool>> = Vec::with_capacity(batches.len());
    let mut dropped = 0u64;
    for b in batches.iter().rev() {
        let mut keep = vec![true; b.num_rows()];
        if needs_dedupe {
            let converter = arrow::row::RowConverter::new(
                key_idx
                    .iter()
                    .map(|&i| arrow::row::SortField::new(b.schema().field(i).data_type().clone()))
                    .collect(),
            )?;
            let cols: Vec<ArrayRef> = key_idx.iter().map(|&i| b.column(i).clone()).collect();
            let rows = converter.convert_columns(&cols)?;
            for r in (0..b.num_rows()).rev() {
                if !seen.insert(rows.row(r).as_ref().to_vec()) {
                    keep[r] = false;
                    dropped += 1;
                }
            }
        }
        masks.push(keep);
    }
    masks.reverse();
    let mut out = Vec::with_capacity(batches.len());
    for (b, keep) in batches.into_iter().zip(masks) {
        let b = if keep.iter().all(|k| *k) {
            b
        } else {
            arrow::compute::filter_record_batch(&b, &BooleanArray::from(keep))?
        };
        out.push(staging::with_load_id(&stored, &b, load_id)?);
    }
    Ok((out, dropped))
}
