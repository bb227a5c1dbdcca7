//! `crm funnel`: the sales funnel («Воронка продаж») as of a date, one row
//! per (group, stage); `crm funnel drill` lists the interests behind one
//! stage («расшифровка»); `crm funnel issues` lists the data problems.

use anyhow::Result;
use chrono::NaiveDate;
use crm_engine::EngineOptions;
use crm_engine::funnel::{FunnelBy, FunnelMode, Period};

use crate::context::{Ctx, Outcome};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum By {
    /// One funnel for everything.
    All,
    Manager,
    Source,
    /// The client's market segment.
    Segment,
    /// The month of creation (cohort mode) or of the stage entry (activity mode).
    Month,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Mode {
    /// Interests created in the period, followed up to the as-of day.
    Cohort,
    /// Stage entries that happened in the period.
    Activity,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PeriodArg {
    Week,
    Month,
    Quarter,
    Year,
    All,
}

impl From<PeriodArg> for Period {
    fn from(p: PeriodArg) -> Period {
        match p {
            PeriodArg::Week => Period::Week,
            PeriodArg::Month => Period::Month,
            PeriodArg::Quarter => Period::Quarter,
            PeriodArg::Year => Period::Year,
            PeriodArg::All => Period::All,
        }
    }
}

impl From<Mode> for FunnelMode {
    fn from(m: Mode) -> FunnelMode {
        match m {
            Mode::Cohort => FunnelMode::Cohort,
            Mode::Activity => FunnelMode::Activity,
        }
    }
}

/// What every funnel report is cut by.
#[derive(Debug, Clone, clap::Args)]
pub struct Window {
    /// The as-of date (all of that day counts) [default: yesterday].
    #[arg(long, value_name = "DATE", global = true)]
    as_of: Option<NaiveDate>,

    /// cohort: interests created in the period; activity: stage entries in it.
    #[arg(long, value_enum, default_value = "cohort", global = true)]
    mode: Mode,

    /// The period ending on the as-of day.
    #[arg(long, value_enum, default_value = "all", global = true)]
    period: PeriodArg,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Group the funnel by this.
    #[arg(long, value_enum, default_value = "all")]
    by: By,

    #[command(flatten)]
    window: Window,

    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// The interests that entered one stage, for one manager («расшифровка»).
    Drill {
        /// The stage (a stage name or any alias of it).
        #[arg(long)]
        stage: String,
        /// The manager's id; without it, every manager.
        #[arg(long)]
        manager: Option<String>,
    },
    /// Data problems: won before created, stages out of order, unknown stage names.
    Issues,
    /// One row per interest: how far it got and how it stands.
    Interests,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let wh = ctx.warehouse()?;
    let engine = ctx.engine(&wh, EngineOptions::default()).await?;
    let w = &args.window;
    let as_of = w.as_of.unwrap_or_else(|| ctx.yesterday());
    let cfg = &ctx.config.funnel;
    match args.command {
        Some(Sub::Drill { stage, manager }) => {
            let t = engine
                .funnel_drill(
                    as_of,
                    cfg,
                    w.mode.into(),
                    w.period.into(),
                    &stage,
                    manager.as_deref(),
                )
                .await?;
            ctx.print_batches(&t.schema, &t.batches)?;
            ctx.info(&format!(
                "funnel drill-down of {stage} as of {as_of}: {} interests",
                t.num_rows()
            ));
        }
        Some(sub) => {
            let r = engine
                .funnel(as_of, cfg, FunnelBy::All, w.mode.into(), w.period.into())
                .await?;
            let t = if matches!(sub, Sub::Issues) {
                &r.issues
            } else {
                &r.interests
            };
            ctx.print_batches(&t.schema, &t.batches)?;
        }
        None => {
            let by = match args.by {
                By::All => FunnelBy::All,
                By::Manager => FunnelBy::Manager,
                By::Source => FunnelBy::Source,
                By::Segment => FunnelBy::Segment,
                By::Month => FunnelBy::Month,
            };
            let r = engine
                .funnel(as_of, cfg, by, w.mode.into(), w.period.into())
                .await?;
            ctx.print_batches(&r.stages.schema, &r.stages.batches)?;
            let problems = r.issues.num_rows();
            ctx.info(&format!(
                "funnel as of {as_of}: {} interests{}",
                r.interests.num_rows(),
                if problems > 0 {
                    format!("; {problems} data problems (see `crm funnel issues`)")
                } else {
                    String::new()
                }
            ));
        }
    }
    Ok(Outcome::Success)
}
