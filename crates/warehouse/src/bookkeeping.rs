//! The two bookkeeping tables: `quarantine` (every refused row with its
//! reason) and `load_history` (a `started` and a `complete` row per load or
//! nightly run). Both are append-only, so concurrent writers never conflict.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{NaiveDate, NaiveDateTime};
use crm_core::QuarantineRow;
use datafusion::prelude::SessionContext;
use deltalake::protocol::SaveMode;

use crate::error::{Error, Result};
use crate::location::Warehouse;
use crate::tables::TableKind;

pub const QUARANTINE: &str = "quarantine";
pub const LOAD_HISTORY: &str = "load_history";

/// How many times a commit that lost a race is retried on a fresh snapshot.
pub(crate) const COMMIT_RETRIES: usize = 20;

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

pub fn quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("load_id", DataType::Utf8, false),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("line", DataType::Int64, false),
        Field::new("column", DataType::Utf8, true),
        Field::new("reason", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, false),
        Field::new("raw", DataType::Utf8, false),
        Field::new("quarantined_at", ts_type(), false),
    ]))
}

pub fn history_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("load_id", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("mode", DataType::Utf8, false),
        Field::new("files", DataType::Utf8, false),
        Field::new("fingerprint", DataType::Utf8, false),
        Field::new("rows_read", DataType::Int64, false),
        Field::new("rows_loaded", DataType::Int64, false),
        Field::new("rows_quarantined", DataType::Int64, false),
        Field::new("inserted", DataType::Int64, false),
        Field::new("updated", DataType::Int64, false),
        Field::new("deleted", DataType::Int64, false),
        Field::new("table_version", DataType::Int64, true),
        Field::new("as_of", DataType::Date32, true),
        Field::new("recorded_at", ts_type(), false),
        Field::new("message", DataType::Utf8, false),
    ]))
}

/// One row of `load_history`. A load or run writes one with status
/// `started` before it touches anything and one with status `complete` last.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistoryRow {
    pub load_id: String,
    /// `load` or `run`.
    pub kind: String,
    /// `started` or `complete`.
    pub status: String,
    /// The table loaded, or for a run the marts written (comma-separated).
    pub table_name: String,
    /// `upsert` or `replace` for loads; empty for runs.
    pub mode: String,
    /// The files of a load, as given on the command line, `\n`-separated.
    pub files: String,
    /// Hash of the table, mode and the files' contents: a repeated command
    /// with the same fingerprint resumes an interrupted load.
    pub fingerprint: String,
    pub rows_read: i64,
    pub rows_loaded: i64,
    pub rows_quarantined: i64,
    pub inserted: i64,
    pub updated: i64,
    pub deleted: i64,
    pub table_version: Option<i64>,
    pub as_of: Option<NaiveDate>,
    pub recorded_at: NaiveDateTime,
    pub message: String,
}

/// Kept for readability at call sites: a nightly run's history row.
pub type RunRecord = HistoryRow;

fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

fn days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

fn history_batch(rows: &[HistoryRow]) -> Result<RecordBatch> {
    let s = |f: fn(&HistoryRow) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let i = |f: fn(&HistoryRow) -> i64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(rows.iter().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        s(|r| &r.load_id),
        s(|r| &r.kind),
        s(|r| &r.status),
        s(|r| &r.table_name),
        s(|r| &r.mode),
        s(|r| &r.files),
        s(|r| &r.fingerprint),
        i(|r| r.rows_read),
        i(|r| r.rows_loaded),
        i(|r| r.rows_quarantined),
        i(|r| r.inserted),
        i(|r| r.updated),
        i(|r| r.deleted),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.table_version))),
        Arc::new(Date32Array::from_iter(
            rows.iter().map(|r| r.as_of.map(days)),
        )),
        Arc::new(TimestampMicrosecondArray::from_iter_values(
            rows.iter().map(|r| micros(r.recorded_at)),
        )),
        s(|r| &r.message),
    ];
    Ok(RecordBatch::try_new(history_schema(), columns)?)
}

fn quarantine_batch(
    load_id: &str,
    table: &str,
    rows: &[QuarantineRow],
    at: NaiveDateTime,
) -> Result<RecordBatch> {
    let n = rows.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
            load_id, n,
        ))),
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n(table, n))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.file.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.line as i64),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.column.as_deref()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.reason.code()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.message.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.raw.as_str()),
        )),
        Arc::new(TimestampMicrosecondArray::from_iter_values(
            std::iter::repeat_n(micros(at), n),
        )),
    ];
    Ok(RecordBatch::try_new(quarantine_schema(), columns)?)
}

/// Reads a whole (small) table into batches with plain Utf8 strings.
pub(crate) async fn read_all(table: &deltalake::DeltaTable) -> Result<Vec<RecordBatch>> {
    let ctx = SessionContext::new();
    table.update_datafusion_session(&ctx.state())?;
    let provider = table.table_provider().await?;
    let batches = ctx.read_table(provider)?.collect().await?;
    Ok(batches)
}

/// A column as plain strings, whatever string layout the scan produced.
pub(crate) fn strings(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| Error::Invalid(format!("column {name} missing")))?;
    let col = arrow::compute::cast(col, &DataType::Utf8)?;
    let arr = col
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8 gives a StringArray");
    Ok(arr.iter().map(|v| v.map(str::to_string)).collect())
}

fn ints(batch: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| Error::Invalid(format!("column {name} missing")))?;
    let col = arrow::compute::cast(col, &DataType::Int64)?;
    let arr = col.as_any().downcast_ref::<Int64Array>().expect("Int64");
    Ok(arr.iter().collect())
}

impl Warehouse {
    /// Appends one batch to a bookkeeping table, creating it on first use.
    /// Blind appends do not conflict; losing the race to create the table
    /// does, and is retried.
    pub(crate) async fn append_batch(&self, name: &str, batch: RecordBatch) -> Result<i64> {
        let mut attempt = 0;
        loop {
            let table = self.table_for_write(TableKind::Table, name).await?;
            let res = table
                .write(vec![batch.clone()])
                .with_save_mode(SaveMode::Append)
                .with_table_name(name)
                .await;
            match res {
                Ok(t) => return Ok(t.version().unwrap_or(0) as i64),
                Err(e) => {
                    let e = Error::from(e);
                    attempt += 1;
                    if !e.is_conflict() || attempt > COMMIT_RETRIES {
                        return Err(e);
                    }
                    crate::load::backoff(attempt).await;
                }
            }
        }
    }

    pub async fn append_history(&self, row: &HistoryRow) -> Result<()> {
        self.append_batch(LOAD_HISTORY, history_batch(std::slice::from_ref(row))?)
            .await?;
        Ok(())
    }

    pub(crate) async fn append_quarantine(
        &self,
        load_id: &str,
        table: &str,
        rows: &[QuarantineRow],
        at: NaiveDateTime,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.append_batch(QUARANTINE, quarantine_batch(load_id, table, rows, at)?)
            .await?;
        Ok(())
    }

    /// How many quarantine rows a load has already committed.
    pub(crate) async fn quarantine_count(&self, load_id: &str) -> Result<u64> {
        let Some(table) = self.table(QUARANTINE).await? else {
            return Ok(0);
        };
        let mut n = 0;
        for b in read_all(&table).await? {
            n += strings(&b, "load_id")?
                .iter()
                .filter(|v| v.as_deref() == Some(load_id))
                .count() as u64;
        }
        Ok(n)
    }

    /// Every row of `load_history`, oldest first.
    pub async fn read_history(&self) -> Result<Vec<HistoryRow>> {
        let Some(table) = self.table(LOAD_HISTORY).await? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for b in read_all(&table).await? {
            let s = |n: &str| strings(&b, n);
            let i = |n: &str| ints(&b, n);
            let (load_id, kind, status, table_name, mode, files, fingerprint, message) = (
                s("load_id")?,
                s("kind")?,
                s("status")?,
                s("table_name")?,
                s("mode")?,
                s("files")?,
                s("fingerprint")?,
                s("message")?,
            );
            let (read, loaded, quarantined, inserted, updated, deleted, version) = (
                i("rows_read")?,
                i("rows_loaded")?,
                i("rows_quarantined")?,
                i("inserted")?,
                i("updated")?,
                i("deleted")?,
                i("table_version")?,
            );
            let as_of =
                arrow::compute::cast(b.column_by_name("as_of").expect("as_of"), &DataType::Date32)?;
            let as_of = as_of.as_any().downcast_ref::<Date32Array>().expect("date");
            let at = arrow::compute::cast(
                b.column_by_name("recorded_at").expect("recorded_at"),
                &ts_type(),
            )?;
            let at = at
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .expect("ts");
            for r in 0..b.num_rows() {
                let text = |v: &Vec<Option<String>>| v[r].clone().unwrap_or_default();
                out.push(HistoryRow {
                    load_id: text(&load_id),
                    kind: text(&kind),
                    status: text(&status),
                    table_name: text(&table_name),
                    mode: text(&mode),
                    files: text(&files),
                    fingerprint: text(&fingerprint),
                    rows_read: read[r].unwrap_or(0),
                    rows_loaded: loaded[r].unwrap_or(0),
                    rows_quarantined: quarantined[r].unwrap_or(0),
                    inserted: inserted[r].unwrap_or(0),
                    updated: updated[r].unwrap_or(0),
                    deleted: deleted[r].unwrap_or(0),
                    table_version: version[r],
                    as_of: (!as_of.is_null(r))
                        .then(|| as_of.value_as_date(r))
                        .flatten(),
                    recorded_at: at.value_as_datetime(r).unwrap_or_default(),
                    message: text(&message),
                });
            }
        }
        out.sort_by_key(|a| a.recorded_at);
        Ok(out)
    }

    /// Loads and runs that started but never completed, oldest first.
    pub async fn incomplete(&self) -> Result<Vec<HistoryRow>> {
        let rows = self.read_history().await?;
        let complete: std::collections::HashSet<&str> = rows
            .iter()
            .filter(|r| r.status == "complete")
            .map(|r| r.load_id.as_str())
            .collect();
        Ok(rows
            .iter()
            .filter(|r| r.status == "started" && !complete.contains(r.load_id.as_str()))
            .cloned()
            .collect())
    }
}
