//! The nightly run: every mart that exists, for one as-of date, under a
//! warehouse lock, with a `started` and a `complete` history row.
//!
//! Each mart write replaces exactly the as-of partition in one commit, so a
//! re-run of the same date leaves identical marts, and a run killed half way
//! is completed by running it again (it resumes under the same run id).

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use crm_core::Config;
use crm_warehouse::{HistoryRow, MartInput, Warehouse};
use serde::Serialize;

use crate::error::Result;
use crate::rfm::Table;
use crate::session::Engine;

/// Name of the lock the nightly run holds.
pub const NIGHTLY_LOCK: &str = "nightly";

/// One mart written by a run.
#[derive(Debug, Clone, Serialize)]
pub struct MartWritten {
    pub mart: String,
    pub rows: usize,
    pub version: i64,
}

/// What a nightly run did.
#[derive(Debug, Clone, Serialize)]
pub struct NightlyReport {
    pub run_id: String,
    pub as_of: NaiveDate,
    pub resumed: bool,
    pub marts: Vec<MartWritten>,
    /// The earlier snapshot the migration compares with, if any.
    pub previous_as_of: Option<NaiveDate>,
    /// What was skipped and why (e.g. CLV without enough customers).
    pub notes: Vec<String>,
    /// Bytes and files the run's queries spilled to disk (under a memory limit).
    pub spilled_bytes: usize,
    pub spill_files: usize,
}

fn new_run_id(now: NaiveDateTime) -> String {
    format!("run-{}-{}", now.format("%Y%m%dT%H%M%S"), std::process::id())
}

fn run_row(
    run_id: &str,
    as_of: NaiveDate,
    status: &str,
    marts: &str,
    now: NaiveDateTime,
) -> HistoryRow {
    HistoryRow {
        load_id: run_id.into(),
        kind: "run".into(),
        status: status.into(),
        table_name: marts.into(),
        mode: String::new(),
        files: String::new(),
        fingerprint: format!("run:{as_of}"),
        rows_read: 0,
        rows_loaded: 0,
        rows_quarantined: 0,
        inserted: 0,
        updated: 0,
        deleted: 0,
        table_version: None,
        as_of: Some(as_of),
        recorded_at: now,
        message: String::new(),
    }
}

/// The rows of one mart as a step hands them over.
pub enum MartRows {
    /// Rows in memory.
    Rows(Table),
    /// A table the engine registered (rows parked on disk under a memory
    /// limit), streamed into the mart by a query, in `order` when given.
    Registered {
        table: String,
        order: Option<&'static str>,
    },
}

impl MartRows {
    /// The rows of a registered table, in the order they come.
    pub fn registered(table: &str) -> MartRows {
        MartRows::Registered {
            table: table.to_string(),
            order: None,
        }
    }
}

/// Writes each table as that mart's `as_of` partition.
async fn write_marts(
    warehouse: &Warehouse,
    engine: &Engine,
    as_of: NaiveDate,
    run_id: &str,
    tables: Vec<(&'static str, MartRows)>,
    marts: &mut Vec<MartWritten>,
) -> Result<()> {
    for (name, rows) in tables {
        let started = std::time::Instant::now();
        let (count, input, streamed_from) = match rows {
            MartRows::Rows(t) => (t.num_rows(), MartInput::Batches(t.schema, t.batches), None),
            // Executors cannot hand rows to this process's Delta writer:
            // on a cluster the rows come back first.
            MartRows::Registered { table, order } if engine.on_cluster() => {
                let t = engine.registered_rows(&table, order).await?;
                (t.num_rows(), MartInput::Batches(t.schema, t.batches), None)
            }
            MartRows::Registered { table, order } => {
                let count = engine.count_rows(&table).await?;
                let order = order.map(|o| format!(" ORDER BY {o}")).unwrap_or_default();
                let df = engine.sql(&format!("SELECT * FROM {table}{order}")).await?;
                let state = Arc::new(engine.context().state());
                let input = MartInput::Plan(df.logical_plan().clone(), state);
                (count, input, Some(table))
            }
        };
        let version = warehouse.write_mart(name, as_of, run_id, input).await?;
        if let Some(table) = streamed_from {
            log::debug!(
                target: "crm::query",
                "{name}: {count} rows streamed from {table} into the mart, {:.2} s",
                started.elapsed().as_secs_f64()
            );
        }
        marts.push(MartWritten {
            mart: name.into(),
            rows: count,
            version,
        });
    }
    Ok(())
}

/// Runs every mart for `as_of`. The caller holds the lock (see
/// [`Warehouse::lock`]) for the duration.
pub async fn run_nightly(
    warehouse: &Warehouse,
    engine: &Engine,
    config: &Config,
    as_of: NaiveDate,
    now: NaiveDateTime,
) -> Result<NightlyReport> {
    let pending = warehouse
        .incomplete()
        .await?
        .into_iter()
        .rfind(|r| r.kind == "run" && r.as_of == Some(as_of));
    let resumed = pending.is_some();
    let run_id = pending.map_or_else(|| new_run_id(now), |r| r.load_id);
    let planned = "rfm_customer,rfm_segment,rfm_migration,cohort_retention,funnel_stage,funnel_interest,traffic_light,manager_summary,clv_customer,clv_segment,clv_validation";
    if !resumed {
        warehouse
            .append_history(&run_row(&run_id, as_of, "started", planned, now))
            .await?;
    }

    let mut marts = Vec::new();
    // The previous snapshot is read before this date's partition is written.
    let previous_as_of = warehouse
        .mart_dates("rfm_customer")
        .await?
        .into_iter()
        .filter(|d| *d < as_of)
        .max();
    // Yesterday's per-customer rows, parked under a memory limit.
    let previous = match previous_as_of {
        Some(d) if engine.has_table("rfm_customer") => {
            engine
                .materialize(
                    "rfm_from",
                    &format!(
                        "SELECT customer_id, segment, monetary FROM rfm_customer WHERE as_of = DATE '{d}'"
                    ),
                )
                .await?;
            Some(d)
        }
        _ => None,
    };

    let rfm = engine.rfm(as_of, &config.rfm).await?;
    let migration = match previous {
        Some(d) => {
            let to = engine
                .sql("SELECT customer_id, segment, monetary FROM rfm_customer_now")
                .await?;
            engine.register_view("rfm_to", to)?;
            engine.rfm_migration_registered(d, as_of).await?
        }
        None => empty_migration(engine).await?,
    };
    let cohorts = engine.cohort_retention(as_of).await?;
    // What later steps read stays registered: the RFM segments of today
    // (for CLV). Everything else a step materialised is let go as soon as
    // its marts are written, so a run holds one step's rows at a time.
    let keep = ["rfm_customer_now"];
    engine.release_rows(&keep)?;
    write_marts(
        warehouse,
        engine,
        as_of,
        &run_id,
        vec![
            ("rfm_customer", MartRows::registered("rfm_customer_now")),
            ("rfm_segment", MartRows::Rows(rfm.segments)),
            ("rfm_migration", MartRows::Rows(migration)),
            ("cohort_retention", MartRows::Rows(cohorts)),
        ],
        &mut marts,
    )
    .await?;

    // Funnel and traffic light: a mart whose inputs were never loaded is skipped.
    let funnel = crate::funnel::nightly_marts(engine, config, as_of).await?;
    write_marts(warehouse, engine, as_of, &run_id, funnel, &mut marts).await?;
    engine.release_rows(&keep)?;

    // CLV after RFM, which registered rfm_customer_now for the segments.
    let mut notes = Vec::new();
    let clv = engine.clv_nightly(as_of, &config.clv, &config.rfm).await?;
    match clv {
        Ok(clv) => {
            notes.extend(clv.notes);
            let mut tables = vec![
                ("clv_customer", MartRows::registered("clv_customer_now")),
                ("clv_segment", MartRows::Rows(clv.segments)),
            ];
            tables.extend(
                clv.validation
                    .map(|v| ("clv_validation", MartRows::Rows(v))),
            );
            write_marts(warehouse, engine, as_of, &run_id, tables, &mut marts).await?;
        }
        Err(note) => notes.push(note),
    }
    engine.release_rows(&[])?;

    let mut done = run_row(&run_id, as_of, "complete", planned, now);
    done.rows_loaded = marts.iter().map(|m| m.rows as i64).sum();
    if resumed {
        done.message = "resumed an interrupted run".into();
    }
    if !notes.is_empty() {
        let joined = notes.join("; ");
        done.message = if done.message.is_empty() {
            joined
        } else {
            format!("{}; {joined}", done.message)
        };
    }
    warehouse.append_history(&done).await?;
    let (spilled_bytes, spill_files) = engine.spill().get();
    Ok(NightlyReport {
        run_id,
        as_of,
        resumed,
        marts,
        previous_as_of,
        notes,
        spilled_bytes,
        spill_files,
    })
}

/// The migration mart's schema with no rows (the first snapshot has no
/// predecessor to compare with).
async fn empty_migration(engine: &Engine) -> Result<Table> {
    let sql = crate::queries::render(
        "rfm_migration",
        &[("from", "1970-01-01".into()), ("to", "1970-01-01".into())],
    )?;
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("customer_id", arrow::datatypes::DataType::Utf8, true),
        arrow::datatypes::Field::new("segment", arrow::datatypes::DataType::Utf8, true),
        arrow::datatypes::Field::new(
            "monetary",
            arrow::datatypes::DataType::Decimal128(18, 2),
            true,
        ),
    ]));
    let empty = Table {
        batches: vec![arrow::array::RecordBatch::new_empty(schema.clone())],
        schema,
    };
    engine.register_rows("rfm_from", &empty).await?;
    engine.register_rows("rfm_to", &empty).await?;
    engine.collect_sql(&sql).await
}
