//! `crm sql`: read-only SQL over every table and mart, with time travel.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use crm_engine::EngineOptions;
use crm_warehouse::{TimeTravel, Warehouse};

use crate::context::{Ctx, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The query, e.g. "SELECT count(*) FROM transactions".
    #[arg(required_unless_present = "file")]
    query: Option<String>,

    /// Read the query from FILE instead.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "query"
    )]
    file: Option<PathBuf>,

    /// Read a table at version N (see `crm history TABLE`); with --table, or
    /// when the query names a single table.
    #[arg(long, value_name = "N")]
    at_version: Option<i64>,

    /// The table --at-version applies to.
    #[arg(long, value_name = "NAME", requires = "at_version")]
    table: Option<String>,

    /// Read every table as it was at TIMESTAMP (2024-12-31, "2024-12-31 18:00"
    /// in the configured zone, or RFC 3339).
    #[arg(long, value_name = "TIMESTAMP", conflicts_with = "at_version")]
    at: Option<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let query = match (&args.query, &args.file) {
        (Some(q), _) => q.clone(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .with_context(|| format!("cannot read the query file {}", f.display()))?,
        (None, None) => bail!("give a query or -f FILE"),
    };
    let mut opts = EngineOptions::default();
    if let Some(v) = args.at_version {
        let table = match args.table {
            Some(t) => t,
            None => single_table(&query)?,
        };
        opts.table_versions.push((table, v));
    }
    if let Some(at) = &args.at {
        opts.at = TimeTravel::Timestamp(parse_instant(at, ctx.tz)?);
    }
    let wh = ctx.warehouse()?;
    let engine = ctx.engine(&wh, opts).await?;
    let df = engine.sql(&query).await?;
    ctx.print_rows(engine.stream_rows("sql", df).await?).await?;
    Ok(Outcome::Success)
}

/// The one warehouse table a query mentions, for `--at-version` without `--table`.
fn single_table(query: &str) -> Result<String> {
    let words: std::collections::HashSet<String> = query
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map(str::to_lowercase)
        .collect();
    let named: Vec<&str> = Warehouse::known_names()
        .into_iter()
        .filter(|n| words.contains(*n))
        .collect();
    match named.as_slice() {
        [one] => Ok(one.to_string()),
        [] => bail!("--at-version: the query names no warehouse table; say which with --table"),
        many => bail!(
            "--at-version: the query names several tables ({}); say which with --table",
            many.join(", ")
        ),
    }
}

/// Parses a user's point in time; without an offset it is wall-clock time in
/// the configured zone.
pub fn parse_instant(text: &str, tz: chrono_tz::Tz) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(23, 59, 59))
        })
        .with_context(|| {
            format!("--at '{text}': expected a time like 2024-12-31, \"2024-12-31 18:00\" or 2024-12-31T18:00:00+03:00")
        })?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("--at '{text}' does not exist in zone {tz}"))
}

/// Prints JSON objects as a table in the chosen format.
pub fn print_json_rows(ctx: &Ctx, rows: &[serde_json::Value]) -> Result<()> {
    let batch = crm_report::output::json_rows_to_batch(rows)?;
    ctx.print_batches(&batch.schema(), std::slice::from_ref(&batch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_named_table_is_found() {
        assert_eq!(
            single_table("select count(*) from transactions t").unwrap(),
            "transactions"
        );
        assert!(
            single_table("select * from customers join transactions using (customer_id)").is_err()
        );
    }

    #[test]
    fn dates_mean_the_end_of_that_day_in_the_zone() {
        let t = parse_instant("2024-12-31", chrono_tz::Europe::Moscow).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-12-31T20:59:59+00:00");
        let t = parse_instant("2024-12-31T10:00:00Z", chrono_tz::Europe::Moscow).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-12-31T10:00:00+00:00");
    }
}
