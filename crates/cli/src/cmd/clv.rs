//! `crm clv`: fit the customer-lifetime-value models, forecast each
//! customer, validate the forecast on a holdout, and plan the CRM budget.
//!
//! A fit that does not converge: `crm clv fit` still prints its JSON with
//! `converged: false`, the `issue` (reason, detail, suggestion) and a one-line
//! `warning`, and exits 1; `predict`, `validate` and `budget` refuse to go on
//! with doubtful parameters and exit 1 with the reason and the suggestion.

use std::path::PathBuf;

use anyhow::{Result, bail};
use chrono::{Days, NaiveDate};
use crm_core::clv::{ClvConfig, ClvModel, ClvUnit};
use crm_engine::clv::{
    ClvForecast, ClvSummary, SummaryRows, SummaryWindow, bgbb_patterns_from_csv, fit_bgbb,
    fit_model, forecast,
};
use crm_engine::crm_clv::FitOptions;
use crm_engine::{Engine, EngineOptions};

use crate::context::{Ctx, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

/// Where the summary comes from and in which unit.
#[derive(Debug, clap::Args)]
struct Source {
    /// Model [default: [clv] model]: bgnbd, pareto_nbd, mbgnbd, gamma_gamma or bgbb.
    #[arg(long, value_parser = parse_model)]
    model: Option<ClvModel>,

    /// Time unit of x, t_x and T: day, or week = days/7 [default: [clv] unit].
    #[arg(long, value_parser = parse_unit)]
    unit: Option<ClvUnit>,

    /// Use a ready summary instead of the warehouse: a CSV with the columns of
    /// lifetimes' CDNOW summary (ID, frequency, recency, T[, monetary_value]);
    /// for bgbb: frequency, recency, periods, weights.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,

    /// L2 penalty of the fit [default: [clv] penalizer].
    #[arg(long)]
    penalizer: Option<f64>,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Fit a model and print its parameters, log-likelihood, standard errors and exclusions as one JSON object.
    Fit {
        #[command(flatten)]
        source: Source,
        /// Last day of the calibration period (inclusive) [default: yesterday].
        #[arg(long, value_name = "DATE")]
        calibration_end: Option<NaiveDate>,
    },
    /// Per customer: expected purchases and spend over the horizon, P(alive) and CLV.
    Predict {
        #[command(flatten)]
        source: Source,
        /// Forecast horizon in months [default: [clv] horizon_months].
        #[arg(long, value_name = "MONTHS")]
        horizon: Option<u32>,
        /// Fit on everything up to this date (inclusive) [default: yesterday].
        #[arg(long, value_name = "DATE")]
        as_of: Option<NaiveDate>,
    },
    /// Fit on the calibration period and compare with the holdout: by frequency,
    /// the tracking curve, MAE/RMSE, and the grade against the simple baseline.
    Validate {
        #[command(flatten)]
        source: Source,
        /// Last day of calibration [default: holdout end minus [clv] holdout_days].
        #[arg(long, value_name = "DATE")]
        calibration_end: Option<NaiveDate>,
        /// Last day of the holdout [default: yesterday].
        #[arg(long, value_name = "DATE")]
        holdout_end: Option<NaiveDate>,
    },
    /// The CRM budget per segment (or per customer): forecast CLV x margin x spend
    /// share, the cost of the communication plan, and the total against the budget.
    Budget {
        /// As-of date: the forecast is fitted on everything up to it [default: yesterday].
        #[arg(long, value_name = "DATE")]
        as_of: Option<NaiveDate>,
        /// Forecast horizon in months [default: [clv] horizon_months].
        #[arg(long, value_name = "MONTHS")]
        horizon: Option<u32>,
        /// One row per customer instead of the segment summary.
        #[arg(long)]
        per_customer: bool,
    },
}

fn parse_model(s: &str) -> Result<ClvModel, String> {
    s.parse()
}

fn parse_unit(s: &str) -> Result<ClvUnit, String> {
    s.parse()
}

/// The `[clv]` settings with the command line's overrides, validated.
fn settings(ctx: &Ctx, source: Option<&Source>, horizon: Option<u32>) -> Result<ClvConfig> {
    let mut cfg = ctx.config.clv.clone();
    if let Some(s) = source {
        if let Some(u) = s.unit {
            cfg.unit = u;
        }
        if let Some(p) = s.penalizer {
            cfg.penalizer = p;
        }
        if let Some(m) = s.model.filter(|m| m.is_transaction_model()) {
            cfg.model = m;
        }
    }
    if let Some(h) = horizon {
        cfg.horizon_months = h;
    }
    cfg.validate().map_err(anyhow::Error::msg)?;
    Ok(cfg)
}

async fn engine(ctx: &Ctx) -> Result<Engine> {
    let wh = ctx.warehouse()?;
    ctx.engine(&wh, EngineOptions::default()).await
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    match args.command {
        Sub::Fit {
            source,
            calibration_end,
        } => fit(ctx, source, calibration_end).await,
        Sub::Predict {
            source,
            horizon,
            as_of,
        } => predict(ctx, source, horizon, as_of).await,
        Sub::Validate {
            source,
            calibration_end,
            holdout_end,
        } => validate(ctx, source, calibration_end, holdout_end).await,
        Sub::Budget {
            as_of,
            horizon,
            per_customer,
        } => budget(ctx, as_of, horizon, per_customer).await,
    }
}

async fn fit(ctx: &Ctx, source: Source, calibration_end: Option<NaiveDate>) -> Result<Outcome> {
    let cfg = settings(ctx, Some(&source), None)?;
    let model = source.model.unwrap_or(cfg.model);
    let options = FitOptions::with_penalizer(cfg.penalizer);
    let (fitted, origin) = match (&source.summary, model) {
        (Some(path), ClvModel::Bgbb) => (
            fit_bgbb(&bgbb_patterns_from_csv(path)?, &options)?,
            serde_json::json!({ "summary": path.display().to_string() }),
        ),
        (Some(path), m) => {
            let s = ClvSummary::from_csv(path, cfg.unit)?;
            (
                fit_model(m, &s, &options)?,
                serde_json::json!({ "summary": path.display().to_string() }),
            )
        }
        (None, m) => {
            let end = calibration_end.unwrap_or_else(|| ctx.yesterday());
            let engine = engine(ctx).await?;
            let s = engine
                .clv_summary(&SummaryWindow {
                    calibration_end: end,
                    holdout_end: end,
                    unit: cfg.unit,
                })
                .await?;
            (
                fit_model(m, &s, &options)?,
                serde_json::json!({ "calibration_end": end.to_string() }),
            )
        }
    };
    let mut out = serde_json::to_value(&fitted)?;
    if let (serde_json::Value::Object(o), serde_json::Value::Object(extra)) = (&mut out, origin) {
        o.insert(
            "unit".into(),
            serde_json::Value::String(unit_name(cfg.unit).into()),
        );
        o.extend(extra);
    }
    let problem = fitted.require_converged().err();
    if let (Some(e), serde_json::Value::Object(o)) = (&problem, &mut out) {
        o.insert("warning".into(), serde_json::Value::String(e.to_string()));
    }
    ctx.print_object(&out)?;
    if let Some(e) = problem {
        bail!("{e}");
    }
    Ok(Outcome::Success)
}

fn unit_name(u: ClvUnit) -> &'static str {
    match u {
        ClvUnit::Day => "day",
        ClvUnit::Week => "week",
    }
}

async fn predict(
    ctx: &Ctx,
    source: Source,
    horizon: Option<u32>,
    as_of: Option<NaiveDate>,
) -> Result<Outcome> {
    let cfg = settings(ctx, Some(&source), horizon)?;
    if let Some(m) = source.model.filter(|m| !m.is_transaction_model()) {
        bail!(
            "--model {}: predictions need a purchase-count model (bgnbd, pareto_nbd or mbgnbd); Gamma-Gamma is always fitted for the spend",
            m.name()
        );
    }
    let rows = match &source.summary {
        Some(path) => SummaryRows::from_summary(&ClvSummary::from_csv(path, cfg.unit)?)?,
        None => {
            let end = as_of.unwrap_or_else(|| ctx.yesterday());
            engine(ctx)
                .await?
                .clv_summary_rows(&SummaryWindow {
                    calibration_end: end,
                    holdout_end: end,
                    unit: cfg.unit,
                })
                .await?
        }
    };
    let fc = forecast(&rows, cfg.model, &cfg, cfg.horizon_months)?;
    let mut sink = ctx.sink(&*ClvForecast::scores_schema(&rows, false)?)?;
    // An output error (a full disk) keeps its own kind and message.
    let mut failed = None;
    let counts = fc.score(&rows, false, |b| {
        sink.push(&b).map_err(|e| {
            let why = crm_engine::Error::Invalid(format!("{e:#}"));
            failed = Some(e);
            why
        })
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let counts = counts?;
    sink.finish()?;
    let treated = |t: &str| counts.spend_treatments.get(t).copied().unwrap_or(0);
    ctx.info(&format!(
        "clv predict: {} customers, {} model + gamma_gamma, {} months; expected spend: {} one-time buyers at the population mean, {} repeat buyers with zero or negative mean spend shrunk to it",
        counts.customers,
        cfg.model.name(),
        cfg.horizon_months,
        treated(crm_engine::clv::SPEND_ONE_TIME_BUYER),
        treated(crm_engine::clv::SPEND_NON_POSITIVE),
    ));
    Ok(Outcome::Success)
}

async fn validate(
    ctx: &Ctx,
    source: Source,
    calibration_end: Option<NaiveDate>,
    holdout_end: Option<NaiveDate>,
) -> Result<Outcome> {
    if source.summary.is_some() {
        bail!(
            "crm clv validate needs the transactions of the holdout: run it on the warehouse, without --summary"
        );
    }
    let cfg = settings(ctx, Some(&source), None)?;
    let model = source.model.unwrap_or(cfg.model);
    let holdout_end = holdout_end.unwrap_or_else(|| ctx.yesterday());
    let calibration_end = match calibration_end {
        Some(d) => d,
        None => holdout_end
            .checked_sub_days(Days::new(u64::from(cfg.holdout_days)))
            .ok_or_else(|| anyhow::anyhow!("--holdout-end {holdout_end} is out of range"))?,
    };
    let engine = engine(ctx).await?;
    let v = engine
        .clv_validate(
            &SummaryWindow {
                calibration_end,
                holdout_end,
                unit: cfg.unit,
            },
            model,
            &cfg,
        )
        .await?;
    ctx.print_batches(&v.table.schema, &v.table.batches)?;
    ctx.info(&format!(
        "clv validate: {:.1} holdout purchases predicted, {} actual; MAE {:.4}, RMSE {:.4}; top {:.0}% captured: model {:.3}, baseline {:.3} (retention rate {:.3}); grade {:?}",
        v.total_predicted,
        v.total_actual,
        v.mae,
        v.rmse,
        cfg.top_share * 100.0,
        v.grade.model_capture,
        v.grade.baseline_capture,
        v.retention_rate,
        v.grade.grade
    ));
    Ok(Outcome::Success)
}

async fn budget(
    ctx: &Ctx,
    as_of: Option<NaiveDate>,
    horizon: Option<u32>,
    per_customer: bool,
) -> Result<Outcome> {
    let cfg = settings(ctx, None, horizon)?;
    let as_of = as_of.unwrap_or_else(|| ctx.yesterday());
    let engine = engine(ctx).await?;
    let b = engine.clv_budget(as_of, &cfg, &ctx.config.rfm).await?;
    let customers;
    let t = if per_customer {
        customers = engine
            .registered_rows("clv_customer_now", Some("customer_id"))
            .await?;
        &customers
    } else {
        &b.segments
    };
    ctx.print_batches(&t.schema, &t.batches)?;
    let treatments: Vec<String> = b
        .spend_treatments
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    ctx.info(&format!(
        "clv budget as of {as_of}: {} customers, {} months; spend treatments: {}",
        b.summary_customers,
        cfg.horizon_months,
        treatments.join(", ")
    ));
    Ok(Outcome::Success)
}
