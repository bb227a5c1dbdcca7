//! `crm status`: what the warehouse holds, and what was left unfinished.

use anyhow::Result;
use crm_engine::EngineOptions;
use crm_warehouse::Warehouse;

use crate::context::{Ctx, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(ctx: &Ctx, _args: Args) -> Result<Outcome> {
    let wh = ctx.warehouse()?;
    let engine = ctx.engine(&wh, EngineOptions::default()).await?;
    let history = wh.read_history().await?;
    let incomplete = wh.incomplete().await?;
    let mut rows = Vec::new();
    for name in Warehouse::known_names() {
        if !engine.has_table(name) {
            continue;
        }
        let table = wh.table(name).await?;
        let version = table.as_ref().and_then(|t| t.version());
        let files = match &table {
            Some(t) => crm_warehouse::snapshot_files(t).unwrap_or_default(),
            None => Vec::new(),
        };
        let count = engine
            .sql(&format!("SELECT count(*) AS n FROM {name}"))
            .await?
            .collect()
            .await?;
        let n = count
            .first()
            .and_then(|b| {
                arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Int64).ok()
            })
            .and_then(|a| {
                a.as_any()
                    .downcast_ref::<arrow::array::Int64Array>()
                    .map(|a| a.value(0))
            })
            .unwrap_or(0);
        let last_load = history
            .iter()
            .rev()
            .find(|h| h.status == "complete" && h.table_name.split(',').any(|t| t == name))
            .map(|h| h.recorded_at.format("%Y-%m-%d %H:%M:%S").to_string());
        let interrupted: Vec<&str> = incomplete
            .iter()
            .filter(|h| h.table_name.split(',').any(|t| t == name))
            .map(|h| h.load_id.as_str())
            .collect();
        rows.push(serde_json::json!({
            "table": name,
            "version": version,
            "rows": n,
            "files": files.len(),
            "bucketed": bucketed(&files),
            "last_complete_load": last_load,
            "interrupted": interrupted.join(" "),
        }));
    }
    if rows.is_empty() {
        ctx.info(&format!(
            "warehouse {} is empty: load data with `crm load --table TABLE FILE` or try `crm demo`",
            wh.root()
        ));
        return Ok(Outcome::Success);
    }
    crate::cmd::sql::print_json_rows(ctx, &rows)?;
    for h in &incomplete {
        ctx.info(&format!(
            "interrupted {} {} of {} started {} ({}): run the same command again to complete it",
            h.kind,
            h.load_id,
            h.table_name,
            h.recorded_at.format("%Y-%m-%d %H:%M:%S"),
            h.files.replace('\n', ", ")
        ));
    }
    Ok(Outcome::Success)
}

/// How a table's files are bucketed by customer (`crm optimize`): "16" when
/// all are, "16, 2 files not" when some are not (read unbucketed until the
/// next `crm optimize`), empty when none are.
fn bucketed(files: &[crm_warehouse::SnapshotFile]) -> String {
    use crm_warehouse::buckets::{bucket_count, is_bucketed_into};
    let Some(buckets) = bucket_count(files) else {
        return String::new();
    };
    let not = files
        .iter()
        .filter(|f| !is_bucketed_into(f, buckets))
        .count();
    match not {
        0 => buckets.to_string(),
        1 => format!("{buckets}, 1 file not"),
        n => format!("{buckets}, {n} files not"),
    }
}
