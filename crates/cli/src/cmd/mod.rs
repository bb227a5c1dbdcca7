//! The subcommands, one module each, and the global options they share.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use crm_report::output::OutputFormat;

use crate::context::{Ctx, Outcome};

mod clv;
mod demo;
mod export;
mod funnel;
mod gen_data;
mod history;
mod init;
mod load;
mod optimize;
mod quality;
mod report;
mod rfm;
mod run;
mod sql;
mod status;

/// crm: an analytical CRM and customer data warehouse.
///
/// Loads CRM exports into a Delta Lake warehouse, answers SQL over it, and
/// computes RFM segments, CLV forecasts, funnels and the manager traffic light.
/// Exit codes: 0 success, 1 fatal error, 2 usage error, 3 done but some rows
/// were quarantined, 4 the warehouse is locked by another run.
#[derive(Debug, Parser)]
#[command(name = "crm", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Warehouse root: a directory or an object-store URL (s3://bucket/prefix).
    #[arg(
        long,
        global = true,
        env = "CRM_WAREHOUSE",
        default_value = "./warehouse"
    )]
    pub warehouse: String,

    /// Configuration file [default: crm.toml in the warehouse root].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Output format: table, csv, json, parquet or xlsx [default: table on a terminal, csv otherwise].
    #[arg(long, global = true, value_parser = parse_format)]
    pub format: Option<OutputFormat>,

    /// Write the output to FILE (required with --format parquet or xlsx; a directory for `report` and `export marts`).
    #[arg(long, global = true, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Memory the queries may hold, e.g. 4GiB; over it, sorts and aggregations spill to disk
    /// [default: [engine] memory_limit, else unbounded].
    #[arg(long, global = true, env = "CRM_MEMORY_LIMIT", value_name = "SIZE")]
    pub memory_limit: Option<String>,

    /// Where queries run: `local` (in this process) or a Ballista scheduler,
    /// `ballista://HOST:PORT` (needs a crm built with `--features ballista`).
    #[arg(
        long,
        global = true,
        env = "CRM_ENGINE",
        default_value = "local",
        value_name = "ENGINE"
    )]
    pub engine: String,

    /// Print nothing but results and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Say more about what is happening; -vv also logs every query with
    /// its rows, memory and time, -vvv its plan with metrics
    /// (RUST_LOG=LEVEL adds DataFusion's and delta-rs' logs).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

fn parse_format(s: &str) -> Result<OutputFormat, String> {
    s.parse()
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a warehouse with a commented crm.toml.
    Init(init::Args),
    /// Load CSV/TSV, JSON lines, Parquet or XLSX files into a canonical table.
    Load(load::Args),
    /// Run a read-only SQL query over the warehouse tables and marts.
    Sql(sql::Args),
    /// RFM segments as of a date: the summary, per customer, or the migration between dates.
    Rfm(rfm::Args),
    /// Customer lifetime value: fit, predict, validate against a holdout, plan the CRM budget.
    Clv(clv::Args),
    /// The sales funnel: entries, conversion, losses and timing per stage; drill-down and data problems.
    Funnel(funnel::Args),
    /// The manager traffic light per (manager, client) as of a date; `summary` per manager with trends.
    Quality(quality::Args),
    /// Render the dashboard (HTML), a Markdown summary and every chart (PNG, SVG) for a date.
    Report(report::Args),
    /// Export marts for BI (Parquet, CSV, JSON) or a mailing list of segments (XLSX, CSV).
    Export(export::Args),
    /// The nightly job: compute every mart for one date (cron-safe, locked).
    Run(run::Args),
    /// Bucket a table's files by customer, so per-customer marts read each bucket on its own.
    Optimize(optimize::Args),
    /// Show the tables, their versions and row counts, interrupted loads and runs, and locks.
    Status(status::Args),
    /// Show the commits of a table (for --at-version time travel).
    History(history::Args),
    /// Generate a deterministic synthetic dataset, into files or straight into the warehouse.
    Gen(gen_data::Args),
    /// Generate sample data into a local warehouse and show what crm does.
    Demo(demo::Args),
}

pub async fn run(cli: Cli) -> Result<Outcome> {
    let ctx = Ctx::new(
        cli.warehouse,
        cli.config,
        cli.format,
        cli.out,
        cli.quiet,
        cli.verbose,
    )?
    .with_memory_limit(cli.memory_limit)?
    .with_engine(&cli.engine)?;
    match cli.command {
        Command::Init(a) => init::run(&ctx, a).await,
        Command::Load(a) => load::run(&ctx, a).await,
        Command::Sql(a) => sql::run(&ctx, a).await,
        Command::Rfm(a) => rfm::run(&ctx, a).await,
        Command::Clv(a) => clv::run(&ctx, a).await,
        Command::Funnel(a) => funnel::run(&ctx, a).await,
        Command::Quality(a) => quality::run(&ctx, a).await,
        Command::Report(a) => report::run(&ctx, a).await,
        Command::Export(a) => export::run(&ctx, a).await,
        Command::Run(a) => run::run(&ctx, a).await,
        Command::Optimize(a) => optimize::run(&ctx, a).await,
        Command::Status(a) => status::run(&ctx, a).await,
        Command::History(a) => history::run(&ctx, a).await,
        Command::Gen(a) => gen_data::run(&ctx, a).await,
        Command::Demo(a) => demo::run(&ctx, a).await,
    }
}
