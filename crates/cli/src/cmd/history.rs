//! `crm history TABLE`: the commits of a table, newest first.

use anyhow::Result;

use crate::context::{Ctx, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A table or mart name (transactions, quarantine, rfm_customer, …).
    table: String,
    /// Show at most N commits.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let wh = ctx.warehouse()?;
    let commits = wh.history(&args.table, args.limit).await?;
    let rows: Vec<serde_json::Value> = commits
        .iter()
        .map(|c| {
            serde_json::json!({
                "version": c.version,
                "timestamp": c.timestamp.map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()),
                "operation": c.operation,
                "load_id": c.load_id,
            })
        })
        .collect();
    crate::cmd::sql::print_json_rows(ctx, &rows)?;
    Ok(Outcome::Success)
}
