//! `crm rfm`: segments as of a date, per customer or summarised, and the
//! migration between two dates. Reads the marts when `crm run` wrote that
//! date, and computes them otherwise.

use anyhow::Result;
use chrono::NaiveDate;
use crm_engine::{Engine, EngineOptions, Table};

use crate::context::{Ctx, Outcome};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// The as-of date (all of that day counts) [default: yesterday].
    #[arg(long, value_name = "DATE")]
    as_of: Option<NaiveDate>,

    /// One row per scored customer instead of the segment summary.
    #[arg(long)]
    per_customer: bool,

    /// Print only these columns, in this order, e.g. `customer_id,segment`
    /// for a mailing list. Per customer, the columns not asked for are not
    /// computed at all.
    #[arg(long, value_name = "NAMES", value_delimiter = ',', global = true)]
    columns: Vec<String>,

    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// How many customers moved from each segment to each other between two dates.
    Migrate {
        /// The earlier date.
        #[arg(long, value_name = "DATE")]
        from: NaiveDate,
        /// The later date.
        #[arg(long, value_name = "DATE")]
        to: NaiveDate,
    },
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let wh = ctx.warehouse()?;
    let engine = ctx.engine(&wh, EngineOptions::default()).await?;
    match args.command {
        Some(Sub::Migrate { from, to }) => {
            let a = customers_at(ctx, &engine, from).await?;
            let b = customers_at(ctx, &engine, to).await?;
            let m = engine.rfm_migration((from, &a), (to, &b)).await?;
            print_table(ctx, &m, &["from_date"], &args.columns)?;
        }
        None => {
            let as_of = args.as_of.unwrap_or_else(|| ctx.yesterday());
            let name = if args.per_customer {
                "rfm_customer"
            } else {
                "rfm_segment"
            };
            let rows = match read_mart(&engine, name, as_of).await? {
                Some(t) => {
                    ctx.debug(&format!("read mart {name} for {as_of}"));
                    print_table(ctx, &t, &[], &args.columns)?;
                    t.num_rows()
                }
                // Written as computed: 4.8M customers are 0.7 GB in memory.
                None if args.per_customer => {
                    let rows = engine
                        .rfm_customer_rows(as_of, &ctx.config.rfm, &args.columns)
                        .await?;
                    ctx.print_rows(rows).await?
                }
                None => {
                    let t = engine.rfm(as_of, &ctx.config.rfm).await?.segments;
                    print_table(ctx, &t, &[], &args.columns)?;
                    t.num_rows()
                }
            };
            ctx.info(&format!("rfm as of {as_of}: {rows} rows"));
        }
    }
    Ok(Outcome::Success)
}

/// Per-customer RFM at `date`: from the mart when present, else computed.
async fn customers_at(ctx: &Ctx, engine: &Engine, date: NaiveDate) -> Result<Table> {
    Ok(match read_mart(engine, "rfm_customer", date).await? {
        Some(t) => t,
        None => {
            engine.rfm_customers(date, &ctx.config.rfm).await?;
            engine.registered_rows("rfm_customer_now", None).await?
        }
    })
}

/// A mart's partition for `as_of` without the bookkeeping columns, or None.
async fn read_mart(engine: &Engine, name: &str, as_of: NaiveDate) -> Result<Option<Table>> {
    if !engine.has_table(name) || !engine.warehouse().mart_dates(name).await?.contains(&as_of) {
        return Ok(None);
    }
    let df = engine
        .sql(&format!(
            "SELECT * FROM {name} WHERE as_of = DATE '{as_of}'"
        ))
        .await?;
    let df = df.drop_columns(&["as_of", "run_id"])?;
    let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    Ok(Some(Table { schema, batches }))
}

/// `t` without the columns `drop`, or only those of `columns` (in that
/// order) when any are named.
fn print_table(ctx: &Ctx, t: &Table, drop: &[&str], columns: &[String]) -> Result<()> {
    let keep: Vec<usize> = if columns.is_empty() {
        t.schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| !drop.contains(&f.name().as_str()))
            .map(|(i, _)| i)
            .collect()
    } else {
        crm_engine::column_indices(&t.schema, columns, drop)?
    };
    let schema = t.schema.project(&keep)?;
    let batches = t
        .batches
        .iter()
        .map(|b| b.project(&keep))
        .collect::<Result<Vec<_>, _>>()?;
    ctx.print_batches(&schema, &batches)
}
