//! `crm quality`: the manager traffic light («Контроль руководителя») as of
//! a date, one row per (manager, client); `crm quality summary` gives each
//! manager's figures with the trend against the previous period and the
//! colours of the configured norms.

use anyhow::Result;
use chrono::NaiveDate;
use crm_engine::EngineOptions;
use crm_engine::funnel::Period;

use crate::context::{Ctx, Outcome};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PeriodArg {
    Week,
    Month,
    Quarter,
    Year,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this manager's clients.
    #[arg(long, global = true)]
    manager: Option<String>,

    /// The as-of date (all of that day counts) [default: yesterday].
    #[arg(long, value_name = "DATE", global = true)]
    as_of: Option<NaiveDate>,

    /// The period ending on the as-of day; the one before it is the trend's baseline.
    #[arg(long, value_enum, default_value = "month", global = true)]
    period: PeriodArg,

    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Per manager: % green/yellow/red, touches, overdue, warm clients, interests, conversion, win rate, with trends.
    Summary,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let wh = ctx.warehouse()?;
    let engine = ctx.engine(&wh, EngineOptions::default()).await?;
    let as_of = args.as_of.unwrap_or_else(|| ctx.yesterday());
    let period = match args.period {
        PeriodArg::Week => Period::Week,
        PeriodArg::Month => Period::Month,
        PeriodArg::Quarter => Period::Quarter,
        PeriodArg::Year => Period::Year,
    };
    let r = engine
        .manager_quality(as_of, period, &ctx.config.funnel, &ctx.config.traffic_light)
        .await?;
    let t = match args.command {
        Some(Sub::Summary) => &r.summary,
        None => &r.traffic_light,
    };
    let batches = match &args.manager {
        Some(m) => only_manager(t, m)?,
        None => t.batches.clone(),
    };
    ctx.print_batches(&t.schema, &batches)?;
    ctx.info(&format!(
        "traffic light as of {as_of}: {} clients",
        r.traffic_light.num_rows()
    ));
    Ok(Outcome::Success)
}

/// The rows whose `manager_id` is `manager`.
fn only_manager(t: &crm_engine::Table, manager: &str) -> Result<Vec<arrow::array::RecordBatch>> {
    let idx = t.schema.index_of("manager_id")?;
    t.batches
        .iter()
        .map(|b| {
            let col = arrow::compute::cast(b.column(idx), &arrow::datatypes::DataType::Utf8)?;
            let col = col
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .expect("cast to Utf8");
            let keep: arrow::array::BooleanArray =
                col.iter().map(|v| Some(v == Some(manager))).collect();
            Ok(arrow::compute::filter_record_batch(b, &keep)?)
        })
        .collect()
}
