//! `crm gen`: deterministic synthetic data, written as files (`--dir`) or
//! loaded straight into the warehouse through the normal load path.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use crm_core::Table;
use crm_datagen::{GenConfig, GenSummary, OutputFormat};
use crm_warehouse::{LoadMode, Warehouse};

use crate::cmd::load;
use crate::context::{Ctx, Outcome};
use crate::progress;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of transactions (customers = transactions / 20 unless --customers).
    #[arg(long, default_value_t = 100_000)]
    pub transactions: u64,

    /// Number of customers.
    #[arg(long)]
    pub customers: Option<u64>,

    /// Seed: the same seed, size and end date give identical data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Last day of the generated history [default: yesterday].
    #[arg(long, value_name = "DATE")]
    pub end_date: Option<NaiveDate>,

    /// Years of history.
    #[arg(long, default_value_t = crm_datagen::DEFAULT_YEARS)]
    pub years: u32,

    /// Write files into DIR (one folder per table) instead of loading them.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// With --dir: write CSV instead of Parquet.
    #[arg(long, requires = "dir")]
    pub csv: bool,
}

/// The order in which generated tables are loaded: referenced tables first.
const LOAD_ORDER: [Table; 7] = [
    Table::Managers,
    Table::Customers,
    Table::Campaigns,
    Table::Transactions,
    Table::Interests,
    Table::InterestStages,
    Table::Interactions,
];

pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    match &args.dir {
        Some(dir) => {
            let summary = generate(ctx, &args, dir)?;
            for t in &summary.tables {
                ctx.info(&format!(
                    "{}: {} rows in {} files ({} bytes)",
                    t.table,
                    t.rows,
                    t.files.len(),
                    t.bytes
                ));
            }
            Ok(Outcome::Success)
        }
        None => {
            let wh = ctx.warehouse()?;
            generate_into(ctx, &wh, &args).await
        }
    }
}

fn generate(ctx: &Ctx, args: &Args, dir: &std::path::Path) -> Result<GenSummary> {
    let mut cfg = GenConfig::new(
        args.transactions,
        args.end_date.unwrap_or_else(|| ctx.yesterday()),
    );
    cfg.customers = args.customers;
    cfg.seed = args.seed;
    cfg.years = args.years;
    cfg.format = if args.csv {
        OutputFormat::Csv
    } else {
        OutputFormat::Parquet
    };
    let spinner = progress::spinner(
        &format!("generating {} transactions", args.transactions),
        ctx.quiet,
    );
    let started = std::time::Instant::now();
    let summary = crm_datagen::generate(&cfg, dir)
        .with_context(|| format!("cannot generate data into {}", dir.display()))?;
    spinner.finish_and_clear();
    ctx.info(&format!(
        "generated {} transactions for {} customers (seed {}, up to {}) in {:.1}s",
        summary.rows(Table::Transactions),
        summary.rows(Table::Customers),
        cfg.seed,
        cfg.end_date,
        started.elapsed().as_secs_f64()
    ));
    Ok(summary)
}

/// Generates into a scratch folder and loads every table; used by `crm demo`.
pub async fn generate_into(ctx: &Ctx, wh: &Warehouse, args: &Args) -> Result<Outcome> {
    let scratch = std::env::temp_dir().join(format!("crm-gen-{}", std::process::id()));
    let summary = generate(ctx, args, &scratch)?;
    let mut outcome = Outcome::Success;
    for table in LOAD_ORDER {
        let Some(t) = summary.table(table) else {
            continue;
        };
        if t.files.is_empty() {
            continue;
        }
        let load_args = load::Args {
            table,
            files: t.files.clone(),
            mapping: None,
            mode: LoadMode::Upsert,
            encoding: None,
            delimiter: None,
            decimal_comma: None,
            date_format: None,
        };
        let report = load::load_files(ctx, wh, &load_args).await?;
        if report.rows_quarantined > 0 {
            outcome = Outcome::Quarantined;
        }
    }
    std::fs::remove_dir_all(&scratch).ok();
    Ok(outcome)
}
