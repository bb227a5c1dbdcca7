//! `crm optimize`: buckets a table's files by customer, so that per-customer
//! marts read each customer's rows in one partition (see
//! `crm_warehouse::buckets`). Only files not yet bucketed are rewritten, in
//! one commit; readers see the table at its old or its new version.

use anyhow::Result;
use crm_engine::EngineOptions;
use crm_engine::nightly::NIGHTLY_LOCK;

use crate::context::{Ctx, Outcome};
use crate::progress;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The canonical table to bucket by customer_id.
    #[arg(default_value = "transactions")]
    table: String,
    /// How many buckets [default: those the table has, else 16 up to 25M rows, doubling with the rows up to 64].
    /// A new count rewrites every file.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    buckets: Option<u32>,
    /// Wait for a running job to finish instead of exiting with code 4.
    #[arg(long)]
    wait: bool,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let started = std::time::Instant::now();
    let wh = ctx.warehouse()?;
    // Not during a nightly run; loads meanwhile are caught by the commit.
    let lock = wh
        .lock(NIGHTLY_LOCK, &format!("optimize {}", args.table), args.wait)
        .await?;
    let spinner = progress::spinner(&format!("bucketing {}", args.table), ctx.quiet);
    let result = async {
        let engine = ctx.engine(&wh, EngineOptions::default()).await?;
        anyhow::Ok(engine.bucket_table(&args.table, args.buckets).await?)
    }
    .await;
    spinner.finish_and_clear();
    lock.release().await?;
    let r = result?;
    ctx.info(&if r.files_read == 0 {
        format!(
            "{}: all {} files are bucketed by customer into {} already",
            args.table, r.files_kept, r.buckets
        )
    } else {
        format!(
            "{}: {} rows from {} files rewritten into {} files in {} buckets ({} files kept) in {:.1}s, version {}",
            args.table,
            r.rows,
            r.files_read,
            r.files_written,
            r.buckets,
            r.files_kept,
            started.elapsed().as_secs_f64(),
            r.version.map_or("-".into(), |v| v.to_string())
        )
    });
    Ok(Outcome::Success)
}
