//! `crm run`: the nightly job. Computes every mart for one as-of date under
//! a warehouse lock; a second run at the same time exits with code 4, or
//! waits with --wait.

use anyhow::Result;
use chrono::NaiveDate;
use crm_engine::EngineOptions;
use crm_engine::nightly::{NIGHTLY_LOCK, run_nightly};

use crate::context::{Ctx, Outcome};
use crate::progress;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The as-of date (all of that day counts) [default: yesterday].
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<NaiveDate>,

    /// Wait for a running job to finish instead of exiting with code 4.
    #[arg(long)]
    pub wait: bool,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let started = std::time::Instant::now();
    let as_of = args.as_of.unwrap_or_else(|| ctx.yesterday());
    let wh = ctx.warehouse()?;
    let now = ctx.now();
    let lock = wh
        .lock(NIGHTLY_LOCK, &format!("run {as_of}"), args.wait)
        .await?;
    let spinner = progress::spinner(&format!("nightly run for {as_of}"), ctx.quiet);
    let result = async {
        let engine = ctx.engine(&wh, EngineOptions::default()).await?;
        anyhow::Ok(run_nightly(&wh, &engine, &ctx.config, as_of, now).await?)
    }
    .await;
    spinner.finish_and_clear();
    lock.release().await?;
    let report = result?;
    let marts: Vec<String> = report
        .marts
        .iter()
        .map(|m| format!("{} {}", m.mart, m.rows))
        .collect();
    ctx.info(&format!(
        "nightly run {} for {as_of}: {} in {:.1}s{}",
        report.run_id,
        marts.join(", "),
        started.elapsed().as_secs_f64(),
        if report.resumed {
            " (completed an interrupted run)"
        } else {
            ""
        }
    ));
    for note in &report.notes {
        ctx.info(note);
    }
    if report.spill_files > 0 {
        ctx.info(&format!(
            "spilled {:.1} MiB in {} files under the memory limit",
            report.spilled_bytes as f64 / (1 << 20) as f64,
            report.spill_files
        ));
    }
    if ctx.format_given() {
        ctx.print_object(&serde_json::to_value(&report)?)?;
    }
    Ok(Outcome::Success)
}
