//! `crm report`: the dashboard, a Markdown summary and every chart for one
//! as-of date, written into a directory (`reports/<date>/` by default).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use crm_engine::EngineOptions;
use crm_report::dashboard::{Dashboard, Inputs, Written};
use crm_report::frame::Frame;
use crm_report::locale::{Lang, Locale};
use crm_warehouse::Warehouse;

use crate::context::{Ctx, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The as-of date whose marts to show [default: the latest date `crm run` computed].
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<NaiveDate>,

    /// Language of the dashboard and of number formats [default: [report] lang, else ru].
    #[arg(long, value_parser = parse_lang)]
    pub lang: Option<Lang>,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    s.parse()
}

/// The latest date that a nightly run wrote, if any.
pub async fn latest_as_of(wh: &Warehouse) -> Result<Option<NaiveDate>> {
    Ok(wh.mart_dates("rfm_customer").await?.into_iter().max())
}

/// The report language: `--lang`, else the config's.
pub fn lang(ctx: &Ctx, given: Option<Lang>) -> Result<Lang> {
    match given {
        Some(l) => Ok(l),
        None => ctx
            .config
            .report
            .lang
            .parse()
            .map_err(|e: String| anyhow::anyhow!("[report] lang: {e}")),
    }
}

/// Renders the dashboard for `as_of` into `dir`.
pub async fn render(
    ctx: &Ctx,
    wh: &Warehouse,
    as_of: NaiveDate,
    lang: Lang,
    dir: &PathBuf,
) -> Result<Written> {
    let engine = ctx.engine(wh, EngineOptions::default()).await?;
    let mut inputs = Inputs::new();
    for (name, table) in engine.report_inputs(as_of).await? {
        inputs.insert(
            name.to_string(),
            table.map(|t| Frame::new(name, t.schema, t.batches)),
        );
    }
    let segment_names: BTreeMap<String, String> = ctx
        .config
        .rfm
        .segment_map()
        .map(|m| m.labels_ru.into_iter().collect())
        .unwrap_or_default();
    let locale = Locale::new(lang, &ctx.config.currency);
    let generated = ctx.now().format("%Y-%m-%d %H:%M").to_string();
    let dashboard = Dashboard::build(
        &as_of.to_string(),
        &generated,
        &inputs,
        &locale,
        &segment_names,
    )?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the report directory {}", dir.display()))?;
    Ok(dashboard.write(dir)?)
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let wh = ctx.warehouse()?;
    let as_of = match args.as_of {
        Some(d) => d,
        None => latest_as_of(&wh).await?.unwrap_or_else(|| ctx.yesterday()),
    };
    let lang = lang(ctx, args.lang)?;
    let dir = ctx
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(as_of.to_string()));
    let written = render(ctx, &wh, as_of, lang, &dir).await?;
    if ctx.format_given() {
        ctx.print_object(&serde_json::json!({
            "as_of": as_of.to_string(),
            "dashboard": written.html,
            "summary": written.markdown,
            "charts": written.charts.len(),
            "missing": written.missing,
        }))?;
    } else {
        let missing = if written.missing.is_empty() {
            String::new()
        } else {
            format!("; no data for {}", written.missing.join(", "))
        };
        ctx.info(&format!(
            "crm report: as of {as_of}, {} chart files{missing}",
            written.charts.len()
        ));
        println!("{}", written.html.display());
    }
    Ok(Outcome::Success)
}
