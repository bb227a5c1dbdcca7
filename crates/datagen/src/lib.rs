//! Deterministic synthetic CRM data for `crm gen`, the demo, the tests and
//! the benchmarks. From a size, a seed and an end date it writes the seven
//! canonical tables (customers, transactions, interactions, interests,
//! interest_stages, managers, campaigns) as Parquet or CSV, each file with
//! exactly the table's [`Table::arrow_schema`]. The same configuration
//! always gives byte-identical files, whatever the number of threads: data
//! are generated in fixed chunks of customers, each with its own seeded
//! random stream, and written chunk by chunk, so memory stays bounded up to
//! 100 million transactions.
//!
//! The shapes are meant to be realistic enough for the analytics to have
//! something to find: BG/NBD-like purchase counts (many one-time buyers, a
//! heavy tail, churn), weekly and yearly seasonality, refunds, anonymous
//! receipts, funnels with drop-offs, overdue interactions for careless
//! managers, and contact data with gaps and errors. The ratios between the
//! tables are documented in the crate's README.
//!
//! ```no_run
//! use chrono::NaiveDate;
//! use crm_datagen::{GenConfig, OutputFormat, generate};
//!
//! let mut cfg = GenConfig::new(100_000, NaiveDate::from_ymd_opt(2025, 12, 31).unwrap());
//! cfg.seed = 7;
//! cfg.format = OutputFormat::Parquet;
//! let summary = generate(&cfg, std::path::Path::new("demo_data"))?;
//! assert_eq!(summary.rows(crm_core::Table::Transactions), 100_000);
//! # Ok::<(), crm_datagen::Error>(())
//! ```

mod calendar;
mod campaigns;
mod config;
mod customers;
mod deals;
mod error;
mod interactions;
mod managers;
mod names;
mod rng;
mod transactions;
mod writer;

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use crm_core::Table;
use rayon::prelude::*;

pub use config::{
    ANONYMOUS_PERCENT, DEFAULT_ROWS_PER_FILE, DEFAULT_TRANSACTIONS_PER_CUSTOMER, DEFAULT_YEARS,
    GenConfig, OutputFormat,
};
pub use deals::{AMOCRM_LOST, FUNNEL, FUNNEL_AMOCRM};
pub use error::{Error, Result};

use config::Plan;
use rng::CHUNK_CUSTOMERS;

/// What was written for one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    pub table: Table,
    pub rows: u64,
    /// The files written, `<out_dir>/<table>/part-NNNNN.<ext>`, in order.
    pub files: Vec<PathBuf>,
    /// Total size of the files.
    pub bytes: u64,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GenSummary {
    pub tables: Vec<TableSummary>,
}

impl GenSummary {
    /// Rows written for a table (0 if it was not generated).
    pub fn rows(&self, table: Table) -> u64 {
        self.table(table).map_or(0, |t| t.rows)
    }

    pub fn table(&self, table: Table) -> Option<&TableSummary> {
        self.tables.iter().find(|t| t.table == table)
    }

    pub fn total_bytes(&self) -> u64 {
        self.tables.iter().map(|t| t.bytes).sum()
    }

    pub fn total_files(&self) -> usize {
        self.tables.iter().map(|t| t.files.len()).sum()
    }
}

/// Generates all seven tables under `out_dir/<table>/`. Earlier
/// `part-*` files in those directories are removed first; other files are
/// left alone.
pub fn generate(cfg: &GenConfig, out_dir: &Path) -> Result<GenSummary> {
    let plan = Plan::new(cfg)?;
    let tables = Table::ALL
        .into_iter()
        .map(|t| write_table(&plan, cfg, t, out_dir))
        .collect::<Result<Vec<_>>>()?;
    Ok(GenSummary { tables })
}

/// Generates one table under `out_dir/<table>/`; its rows are the same as
/// [`generate`] writes for it. The benchmarks use this for transactions alone.
pub fn generate_table(cfg: &GenConfig, table: Table, out_dir: &Path) -> Result<TableSummary> {
    let plan = Plan::new(cfg)?;
    write_table(&plan, cfg, table, out_dir)
}

/// One table in memory, one batch per chunk of 16,384 customers (a single
/// batch for managers and campaigns). For tests and small data sets: the
/// whole table is held at once.
pub fn generate_batches(cfg: &GenConfig, table: Table) -> Result<Vec<RecordBatch>> {
    let plan = Plan::new(cfg)?;
    match table {
        Table::Managers | Table::Campaigns => Ok(vec![single_batch(&plan, table)?]),
        _ => (0..plan.chunks())
            .into_par_iter()
            .map(|chunk| chunk_batch(&plan, table, chunk))
            .collect(),
    }
}

fn single_batch(plan: &Plan, table: Table) -> Result<RecordBatch> {
    match table {
        Table::Managers => managers::managers_batch(&plan.managers),
        _ => campaigns::campaigns_batch(plan),
    }
}

fn chunk_batch(plan: &Plan, table: Table, chunk: u64) -> Result<RecordBatch> {
    match table {
        Table::Customers => customers::customers_batch(plan, chunk),
        Table::Transactions => transactions::transactions_batch(plan, chunk),
        Table::Interests => deals::interests_batch(plan, chunk),
        Table::InterestStages => deals::interest_stages_batch(plan, chunk),
        Table::Interactions => interactions::interactions_batch(plan, chunk),
        Table::Managers | Table::Campaigns => single_batch(plan, table),
    }
}

/// Expected rows per customer, to size the runs of chunks one worker writes
/// into a file (sizes files only; never changes the data).
fn rows_per_customer(plan: &Plan, table: Table) -> f64 {
    match table {
        Table::Customers => 1.0,
        Table::Transactions => plan.transactions as f64 / plan.customers as f64,
        Table::Interests => 0.18,
        Table::InterestStages => 0.5,
        Table::Interactions => 1.0,
        Table::Managers | Table::Campaigns => 0.0,
    }
}

fn write_table(plan: &Plan, cfg: &GenConfig, table: Table, out_dir: &Path) -> Result<TableSummary> {
    let dir = out_dir.join(table.name());
    writer::prepare_dir(&dir)?;
    let open = |group| writer::GroupWriter::new(&dir, table, cfg.format, cfg.rows_per_file, group);
    let results: Vec<(Vec<PathBuf>, u64)> = match table {
        Table::Managers | Table::Campaigns => {
            let mut w = open(0);
            w.write(&single_batch(plan, table)?)?;
            vec![w.finish()?]
        }
        _ => {
            let per_chunk = (rows_per_customer(plan, table) * CHUNK_CUSTOMERS as f64).max(1.0);
            let chunks_per_group = ((cfg.rows_per_file as f64 / per_chunk) as u64).max(1);
            let chunks = plan.chunks();
            let groups = chunks.div_ceil(chunks_per_group);
            (0..groups)
                .into_par_iter()
                .map(|g| {
                    let mut w = open(g);
                    let first = g * chunks_per_group;
                    for chunk in first..(first + chunks_per_group).min(chunks) {
                        w.write(&chunk_batch(plan, table, chunk)?)?;
                    }
                    w.finish()
                })
                .collect::<Result<Vec<_>>>()?
        }
    };
    let rows = results.iter().map(|r| r.1).sum();
    let temp_files = results.into_iter().flat_map(|r| r.0).collect();
    let (files, bytes) = writer::finalize(&dir, table, cfg.format, temp_files)?;
    Ok(TableSummary {
        table,
        rows,
        files,
        bytes,
    })
}
