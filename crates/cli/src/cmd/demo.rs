//! `crm demo`: on a fresh checkout, generate a sample dataset into a local
//! warehouse, run the nightly marts, and show what the toolkit answers.

use anyhow::Result;
use crm_engine::EngineOptions;
use crm_engine::nightly::{NIGHTLY_LOCK, run_nightly};

use crate::cmd::gen_data;
use crate::context::{Ctx, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Size of the generated dataset, in transactions.
    #[arg(long, default_value_t = 200_000)]
    transactions: u64,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let started = std::time::Instant::now();
    let wh = ctx.warehouse()?;
    if wh.read_file("crm.toml").await?.is_none() {
        wh.write_file(
            "crm.toml",
            crm_core::Config::commented_default().as_bytes().to_vec(),
        )
        .await?;
    }
    println!("crm demo: warehouse {}", wh.root());
    println!();
    println!(
        "1. Generating {} synthetic transactions and loading every table",
        args.transactions
    );
    let gen_args = gen_data::Args {
        transactions: args.transactions,
        customers: None,
        seed: 42,
        end_date: None,
        years: crm_datagen::DEFAULT_YEARS,
        dir: None,
        csv: false,
    };
    gen_data::generate_into(ctx, &wh, &gen_args).await?;
    let engine = ctx.engine(&wh, EngineOptions::default()).await?;
    let bucketed = engine.bucket_table("transactions", None).await?;
    println!(
        "   transactions bucketed by customer into {} files (`crm optimize`)",
        bucketed.files_written
    );

    let as_of = ctx.yesterday();
    println!();
    println!("2. The nightly run for {as_of} (what cron runs: `crm run`)");
    let lock = wh.lock(NIGHTLY_LOCK, "demo", true).await?;
    let engine = ctx.engine(&wh, EngineOptions::default()).await?;
    let report = run_nightly(&wh, &engine, &ctx.config, as_of, ctx.now()).await;
    lock.release().await?;
    let report = report?;
    for m in &report.marts {
        println!(
            "   mart {:<15} {:>8} rows (version {})",
            m.mart, m.rows, m.version
        );
    }

    let engine = ctx.engine(&wh, EngineOptions::default()).await?;
    println!();
    println!("3. RFM segments as of {as_of} (`crm rfm`)");
    show(
        ctx,
        &engine,
        &format!(
            "SELECT segment, customers, round(share * 100, 1) AS share_pct, revenue, avg_check, \
             round(avg_recency_days, 0) AS avg_recency_days \
             FROM rfm_segment WHERE as_of = DATE '{as_of}' AND kind = 'rfm' ORDER BY customers DESC"
        ),
    )
    .await?;
    println!();
    println!("4. Any SQL over the warehouse (`crm sql`): revenue by channel and year");
    show(
        ctx,
        &engine,
        "SELECT channel, date_part('year', ts) AS year, count(*) AS transactions, sum(amount) AS net_revenue \
         FROM transactions GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .await?;
    println!();
    println!("5. The dashboard, a Markdown summary and every chart (`crm report`)");
    let dir = std::path::PathBuf::from("reports").join(as_of.to_string());
    let lang = super::report::lang(ctx, None)?;
    let written = super::report::render(ctx, &wh, as_of, lang, &dir).await?;
    println!(
        "   {} chart files and {} in {}",
        written.charts.len(),
        written.markdown.display(),
        dir.display()
    );
    println!();
    println!(
        "Done in {:.1}s. Try: crm status; crm rfm --per-customer --format csv | head; crm sql \"SELECT * FROM load_history\"",
        started.elapsed().as_secs_f64()
    );
    println!("Dashboard: {}", absolute(&written.html).display());
    Ok(Outcome::Success)
}

/// `path` from the root, so that it can be pasted into a browser.
fn absolute(path: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

async fn show(_ctx: &Ctx, engine: &crm_engine::Engine, sql: &str) -> Result<()> {
    let df = engine.sql(sql).await?;
    let schema = df.schema().as_arrow().clone();
    let batches = df.collect().await?;
    let mut out = std::io::stdout().lock();
    crm_report::output::write_batches(
        crm_report::output::OutputFormat::Table,
        &schema,
        &batches,
        &mut out,
    )?;
    Ok(())
}
