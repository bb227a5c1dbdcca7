//! CLV over the warehouse: the BTYD summary in SQL (`queries/clv_summary.sql`),
//! fits and scores with `crm-clv`, holdout validation against the simple
//! baseline, and the per-customer and per-segment budget marts
//! (`queries/clv_customer.sql`, `queries/clv_segment.sql`).
//!
//! SQL does the per-customer aggregation (it scales and spills); the models
//! run in Rust on `(x, t_x, T)` patterns. The forecast and budget stream the
//! cohort (see [`forecast`]: only the patterns stay in memory); validation
//! streams it into groups by pattern and holdout purchases
//! ([`validation::HoldoutGroups`]); `crm clv fit` collects the summary
//! ([`ClvSummary`]). Results
//! go back to the session as tables so that the budget and segment SQL can
//! aggregate them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::{Days, Months, NaiveDate};
use crm_clv::bgbb::BgBbPattern;
use crm_clv::clv::TimeUnit;
use crm_clv::gamma_gamma::{GammaGammaParams, SpendCustomer, SpendPattern};
use crm_clv::{
    Customer, FitOptions, FitResult, RfmPattern, TransactionModel, bgbb, bgnbd, compress_customers,
    gamma_gamma, mbgnbd, pareto_nbd, validation,
};
use crm_core::clv::{ClvConfig, ClvModel, ClvUnit};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::queries::render;
use crate::queries::timestamp_literal;
use crate::rfm::Table;
use crate::session::Engine;

mod forecast;

pub use forecast::{
    ClvForecast, SPEND_FITTED, SPEND_NON_POSITIVE, SPEND_ONE_TIME_BUYER, ScoreCounts, SummaryRows,
    forecast,
};

/// Days since 1970-01-01 (Arrow's Date32) of a date.
fn epoch_days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")).num_days() as i32
}

fn from_epoch_days(days: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date") + chrono::Duration::days(days.into())
}

fn next_day(d: NaiveDate) -> Result<NaiveDate> {
    d.checked_add_days(Days::new(1))
        .ok_or_else(|| Error::Invalid(format!("date {d} is out of range")))
}

pub fn time_unit(unit: ClvUnit) -> TimeUnit {
    match unit {
        ClvUnit::Day => TimeUnit::Day,
        ClvUnit::Week => TimeUnit::Week,
    }
}

fn model_error(e: crm_clv::Error) -> Error {
    Error::Invalid(e.to_string())
}

/// Calibration (up to and including `calibration_end`) and holdout (to
/// `holdout_end`, inclusive; equal dates mean no holdout).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SummaryWindow {
    pub calibration_end: NaiveDate,
    pub holdout_end: NaiveDate,
    pub unit: ClvUnit,
}

/// The BTYD summary of the calibration cohort, one entry per customer, in
/// customer_id order.
#[derive(Debug, Clone)]
pub struct ClvSummary {
    pub unit: ClvUnit,
    /// Text (Utf8 or Utf8View), one per customer, as the summary query returned it.
    pub customer_id: ArrayRef,
    pub customers: Vec<Customer>,
    /// Mean repeat-day spend, refunds after the first day netted in; 0 when x = 0.
    pub monetary: Vec<f64>,
    pub refund_total: Vec<f64>,
    pub x_holdout: Vec<f64>,
    pub spend_holdout: Vec<f64>,
    /// Holdout length in the unit (0 without a holdout).
    pub holdout_length: f64,
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| Error::Invalid(format!("clv_summary: column {name} is missing or mistyped")))
}

impl ClvSummary {
    pub fn len(&self) -> usize {
        self.customers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }

    /// Gamma-Gamma's view of the customers.
    pub fn spend_customers(&self) -> Vec<SpendCustomer> {
        self.customers
            .iter()
            .zip(&self.monetary)
            .map(|(c, m)| SpendCustomer::new(c.frequency, *m))
            .collect()
    }

    /// Reads a ready summary: a CSV with the columns of lifetimes' CDNOW
    /// files, `ID|customer_id, frequency|x, recency|t_x, T[, monetary_value|zbar]`,
    /// already in `unit`.
    pub fn from_csv(path: &Path, unit: ClvUnit) -> Result<ClvSummary> {
        let rows = read_numeric_csv(path)?;
        let find = |names: &[&str]| -> Option<usize> {
            rows.header
                .iter()
                .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
        };
        let need = |names: &[&str]| -> Result<usize> {
            find(names).ok_or_else(|| {
                Error::Invalid(format!(
                    "{}: no column {} (expected ID, frequency, recency, T and optionally monetary_value, as in lifetimes' CDNOW summary)",
                    path.display(),
                    names.join(" or ")
                ))
            })
        };
        let id = find(&["ID", "customer_id"]);
        let x = need(&["frequency", "x"])?;
        let tx = need(&["recency", "t_x"])?;
        let t = need(&["T"])?;
        let m = find(&["monetary_value", "zbar"]);
        let mut ids: Vec<String> = Vec::with_capacity(rows.raw.len());
        let mut s = ClvSummary {
            unit,
            customer_id: Arc::new(StringArray::new_null(0)),
            customers: Vec::with_capacity(rows.raw.len()),
            monetary: Vec::with_capacity(rows.raw.len()),
            refund_total: Vec::new(),
            x_holdout: Vec::new(),
            spend_holdout: Vec::new(),
            holdout_length: 0.0,
        };
        for (i, (raw, line)) in rows.raw.iter().zip(&rows.lines).enumerate() {
            let num = |c: usize| -> Result<f64> {
                raw[c].trim().parse::<f64>().map_err(|_| {
                    Error::Invalid(format!(
                        "{} line {line}, column {}: expected a number, found '{}'",
                        path.display(),
                        rows.header[c],
                        raw[c]
                    ))
                })
            };
            let xv = num(x)?;
            if !(xv >= 0.0 && xv.fract() == 0.0 && xv <= f64::from(u32::MAX)) {
                return Err(Error::Invalid(format!(
                    "{} line {line}: frequency must be a whole number >= 0, found {xv}",
                    path.display()
                )));
            }
            let c = Customer::new(xv as u32, num(tx)?, num(t)?);
            c.validate(i)
                .map_err(|e| Error::Invalid(format!("{} line {line}: {e}", path.display())))?;
            ids.push(id.map_or_else(|| (i + 1).to_string(), |c| raw[c].trim().to_string()));
            s.customers.push(c);
            s.monetary.push(match m {
                Some(c) => num(c)?,
                None => 0.0,
            });
        }
        let n = s.customers.len();
        s.customer_id = Arc::new(StringArray::from(ids));
        s.refund_total = vec![0.0; n];
        s.x_holdout = vec![0.0; n];
        s.spend_holdout = vec![0.0; n];
        Ok(s)
    }

    /// Repeat buyers whose mean spend is zero or negative after refunds.
    pub fn non_positive_spend(&self) -> u64 {
        self.customers
            .iter()
            .zip(&self.monetary)
            .filter(|(c, m)| c.frequency > 0 && **m <= 0.0)
            .count() as u64
    }
}

/// A [`ClvSummary`] gathered from the summary query's batches as they
/// come, so that the query's rows need not be held as well.
#[derive(Default)]
struct SummaryBuilder {
    ids: Vec<ArrayRef>,
    x: Vec<f64>,
    t_x: Vec<f64>,
    age: Vec<f64>,
    monetary: Vec<f64>,
    refund_total: Vec<f64>,
    x_holdout: Vec<f64>,
    spend_holdout: Vec<f64>,
    holdout_length: Option<f64>,
}

impl SummaryBuilder {
    fn push(&mut self, b: &RecordBatch) -> Result<()> {
        if b.num_rows() == 0 {
            return Ok(());
        }
        let id = b
            .column_by_name("customer_id")
            .filter(|c| matches!(c.data_type(), DataType::Utf8 | DataType::Utf8View))
            .ok_or_else(|| {
                Error::Invalid("clv_summary: customer_id is missing or not text".into())
            })?;
        self.ids.push(Arc::clone(id));
        for (name, out) in [
            ("x", &mut self.x),
            ("t_x", &mut self.t_x),
            ("T", &mut self.age),
            ("monetary_value", &mut self.monetary),
            ("refund_total", &mut self.refund_total),
            ("x_holdout", &mut self.x_holdout),
            ("spend_holdout", &mut self.spend_holdout),
        ] {
            let a = column::<Float64Array>(b, name)?;
            out.extend((0..a.len()).map(|i| if a.is_null(i) { 0.0 } else { a.value(i) }));
        }
        if self.holdout_length.is_none() {
            self.holdout_length = Some(column::<Float64Array>(b, "duration_holdout")?.value(0));
        }
        Ok(())
    }

    fn finish(self, unit: ClvUnit) -> Result<ClvSummary> {
        let ids: Vec<&dyn Array> = self.ids.iter().map(|a| a.as_ref()).collect();
        let customer_id = match ids.as_slice() {
            [] => Arc::new(StringArray::new_null(0)) as ArrayRef,
            _ => arrow::compute::concat(&ids)?,
        };
        let customers: Vec<Customer> = self
            .x
            .iter()
            .zip(&self.t_x)
            .zip(&self.age)
            .map(|((x, tx), age)| Customer::new(*x as u32, *tx, *age))
            .collect();
        Ok(ClvSummary {
            unit,
            customer_id,
            customers,
            monetary: self.monetary,
            refund_total: self.refund_total,
            x_holdout: self.x_holdout,
            spend_holdout: self.spend_holdout,
            holdout_length: self.holdout_length.unwrap_or(0.0),
        })
    }
}

struct NumericCsv {
    header: Vec<String>,
    raw: Vec<Vec<String>>,
    lines: Vec<usize>,
}

/// A plain comma-separated file of numbers with a header (no quoting).
fn read_numeric_csv(path: &Path) -> Result<NumericCsv> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Invalid(format!("cannot read {}: {e}", path.display())))?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let header: Vec<String> = match lines.next() {
        Some((_, h)) => h
            .trim_start_matches('\u{feff}')
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_string())
            .collect(),
        None => return Err(Error::Invalid(format!("{} is empty", path.display()))),
    };
    let mut raw = Vec::new();
    let mut numbers = Vec::new();
    for (i, l) in lines {
        let fields: Vec<String> = l
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_string())
            .collect();
        if fields.len() != header.len() {
            return Err(Error::Invalid(format!(
                "{} line {}: {} fields, the header has {}",
                path.display(),
                i + 1,
                fields.len(),
                header.len()
            )));
        }
        raw.push(fields);
        numbers.push(i + 1);
    }
    if raw.is_empty() {
        return Err(Error::Invalid(format!(
            "{} has no data rows",
            path.display()
        )));
    }
    Ok(NumericCsv {
        header,
        raw,
        lines: numbers,
    })
}

/// BG/BB patterns from a CSV like lifetimes' `donations.csv`:
/// `frequency, recency, periods[, weights]`.
pub fn bgbb_patterns_from_csv(path: &Path) -> Result<Vec<BgBbPattern>> {
    let rows = read_numeric_csv(path)?;
    let col = |n: &str| rows.header.iter().position(|h| h == n);
    let (x, tx, n) = match (col("frequency"), col("recency"), col("periods")) {
        (Some(x), Some(tx), Some(n)) => (x, tx, n),
        _ => {
            return Err(Error::Invalid(format!(
                "{}: a BG/BB summary needs the columns frequency, recency, periods and optionally weights",
                path.display()
            )));
        }
    };
    let w = col("weights").or_else(|| col("count"));
    rows.raw
        .iter()
        .zip(&rows.lines)
        .map(|(r, line)| {
            let int = |c: usize| -> Result<u64> {
                r[c].parse::<f64>()
                    .ok()
                    .filter(|v| *v >= 0.0 && v.fract() == 0.0)
                    .map(|v| v as u64)
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                            "{} line {line}: {} must be a whole number >= 0, found '{}'",
                            path.display(),
                            rows.header[c],
                            r[c]
                        ))
                    })
            };
            Ok(BgBbPattern {
                frequency: int(x)? as u32,
                recency: int(tx)? as u32,
                periods: int(n)? as u32,
                count: match w {
                    Some(c) => int(c)?,
                    None => 1,
                },
            })
        })
        .collect()
}

/// A fitted model, printed as its `FitResult` (one JSON object).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum FittedModel {
    Bgnbd(FitResult<bgnbd::BgNbdParams>),
    ParetoNbd(FitResult<pareto_nbd::ParetoNbdParams>),
    Mbgnbd(FitResult<mbgnbd::MbgNbdParams>),
    GammaGamma(FitResult<GammaGammaParams>),
    Bgbb(FitResult<bgbb::BgBbParams>),
}

impl FittedModel {
    /// The purchase-count model, for predictions; None for Gamma-Gamma and BG/BB.
    pub fn transaction_model(&self) -> Option<&dyn TransactionModel> {
        match self {
            FittedModel::Bgnbd(f) => Some(&f.params),
            FittedModel::ParetoNbd(f) => Some(&f.params),
            FittedModel::Mbgnbd(f) => Some(&f.params),
            _ => None,
        }
    }

    pub fn excluded_mut(&mut self) -> &mut BTreeMap<String, u64> {
        match self {
            FittedModel::Bgnbd(f) => &mut f.excluded,
            FittedModel::ParetoNbd(f) => &mut f.excluded,
            FittedModel::Mbgnbd(f) => &mut f.excluded,
            FittedModel::GammaGamma(f) => &mut f.excluded,
            FittedModel::Bgbb(f) => &mut f.excluded,
        }
    }

    /// An error naming the reason and what to try, if the fit did not converge.
    pub fn require_converged(&self) -> Result<()> {
        let r = match self.clone() {
            FittedModel::Bgnbd(f) => f.require_converged().map(|_| ()),
            FittedModel::ParetoNbd(f) => f.require_converged().map(|_| ()),
            FittedModel::Mbgnbd(f) => f.require_converged().map(|_| ()),
            FittedModel::GammaGamma(f) => f.require_converged().map(|_| ()),
            FittedModel::Bgbb(f) => f.require_converged().map(|_| ()),
        };
        r.map_err(model_error)
    }

    pub fn converged(&self) -> bool {
        self.require_converged().is_ok()
    }
}

/// Fits `model` on a summary. BG/BB needs discrete patterns: see [`fit_bgbb`].
pub fn fit_model(
    model: ClvModel,
    summary: &ClvSummary,
    options: &FitOptions,
) -> Result<FittedModel> {
    fit_on_patterns(
        model,
        summary.len(),
        || compress_customers(&summary.customers).map_err(model_error),
        || gamma_gamma::spend_patterns(&summary.spend_customers()).map_err(model_error),
        options,
    )
}

fn gamma_gamma_error(e: crm_clv::Error) -> Error {
    match e {
        crm_clv::Error::EmptyInput => Error::Invalid(
            "Gamma-Gamma needs repeat buyers with a positive mean spend; there are none".into(),
        ),
        e => model_error(e),
    }
}

/// Fits `model` on the patterns of `customers` customers; only the patterns
/// the model needs are asked for.
fn fit_on_patterns(
    model: ClvModel,
    customers: usize,
    patterns: impl FnOnce() -> Result<Vec<RfmPattern>>,
    spend: impl FnOnce() -> Result<(Vec<SpendPattern>, BTreeMap<String, u64>)>,
    options: &FitOptions,
) -> Result<FittedModel> {
    if customers == 0 {
        return Err(Error::Invalid(
            "no customers with a purchase in the calibration period: nothing to fit".into(),
        ));
    }
    Ok(match model {
        ClvModel::GammaGamma => {
            let (patterns, excluded) = spend()?;
            FittedModel::GammaGamma(
                gamma_gamma::fit_patterns(&patterns, excluded, options)
                    .map_err(gamma_gamma_error)?,
            )
        }
        ClvModel::Bgbb => {
            return Err(Error::Invalid(
                "BG/BB is a discrete-time model: give it a summary of frequency, recency, periods and weights with --summary FILE".into(),
            ));
        }
        m => {
            let patterns = patterns()?;
            match m {
                ClvModel::Bgnbd => {
                    FittedModel::Bgnbd(bgnbd::fit(&patterns, options).map_err(model_error)?)
                }
                ClvModel::ParetoNbd => FittedModel::ParetoNbd(
                    pareto_nbd::fit(&patterns, options).map_err(model_error)?,
                ),
                _ => FittedModel::Mbgnbd(mbgnbd::fit(&patterns, options).map_err(model_error)?),
            }
        }
    })
}

pub fn fit_bgbb(patterns: &[BgBbPattern], options: &FitOptions) -> Result<FittedModel> {
    Ok(FittedModel::Bgbb(
        bgbb::fit(patterns, options).map_err(model_error)?,
    ))
}

/// Runs one step of the forecast, logging how long it took (`-vv`).
fn timed<T>(step: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let started = std::time::Instant::now();
    let out = f();
    log::debug!(target: "crm::clv", "{step}: {:.2} s", started.elapsed().as_secs_f64());
    out
}

/// Holdout validation of one model.
#[derive(Debug, Clone)]
pub struct ClvValidation {
    pub fit: FittedModel,
    pub grade: validation::TopCustomerGrade,
    pub retention_rate: f64,
    pub mae: f64,
    pub rmse: f64,
    pub total_predicted: f64,
    pub total_actual: f64,
    /// The `clv_validation` mart: section, key, customers, predicted, actual, baseline, value, text.
    pub table: Table,
}

/// Schema of the `clv_validation` mart.
pub fn validation_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("section", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("customers", DataType::Int64, true),
        Field::new("predicted", DataType::Float64, true),
        Field::new("actual", DataType::Float64, true),
        Field::new("baseline", DataType::Float64, true),
        Field::new("value", DataType::Float64, true),
        Field::new("text", DataType::Utf8, true),
    ]))
}

#[derive(Default)]
struct ValidationRows {
    section: Vec<&'static str>,
    key: Vec<String>,
    customers: Vec<Option<i64>>,
    predicted: Vec<Option<f64>>,
    actual: Vec<Option<f64>>,
    baseline: Vec<Option<f64>>,
    value: Vec<Option<f64>>,
    text: Vec<Option<String>>,
}

impl ValidationRows {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        section: &'static str,
        key: String,
        customers: Option<i64>,
        predicted: Option<f64>,
        actual: Option<f64>,
        baseline: Option<f64>,
        value: Option<f64>,
        text: Option<String>,
    ) {
        self.section.push(section);
        self.key.push(key);
        self.customers.push(customers);
        self.predicted.push(predicted);
        self.actual.push(actual);
        self.baseline.push(baseline);
        self.value.push(value);
        self.text.push(text);
    }

    fn metric(&mut self, key: &str, value: f64) {
        self.push(
            "metric",
            key.into(),
            None,
            None,
            None,
            None,
            Some(value),
            None,
        );
    }

    fn into_table(self) -> Result<Table> {
        let schema = validation_schema();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(self.section)),
                Arc::new(StringArray::from(self.key)),
                Arc::new(Int64Array::from(self.customers)),
                Arc::new(Float64Array::from(self.predicted)),
                Arc::new(Float64Array::from(self.actual)),
                Arc::new(Float64Array::from(self.baseline)),
                Arc::new(Float64Array::from(self.value)),
                Arc::new(StringArray::from(self.text)),
            ],
        )?;
        Ok(Table {
            schema,
            batches: vec![batch],
        })
    }
}

/// The validation cohort gathered from the summary query's batches: its
/// holdout groups and its customers per first purchase day.
#[derive(Default)]
struct HoldoutBuilder {
    counter: validation::HoldoutCounter,
    first_days: BTreeMap<i32, f64>,
    holdout_length: Option<f64>,
}

impl HoldoutBuilder {
    fn push(&mut self, b: &RecordBatch) -> Result<()> {
        if b.num_rows() == 0 {
            return Ok(());
        }
        let first = column::<Date32Array>(b, "first_purchase")?;
        let [x, t_x, age, x_holdout] =
            ["x", "t_x", "T", "x_holdout"].map(|name| column::<Float64Array>(b, name));
        let (x, t_x, age, x_holdout) = (x?, t_x?, age?, x_holdout?);
        let value = |a: &Float64Array, i: usize| if a.is_null(i) { 0.0 } else { a.value(i) };
        for i in 0..b.num_rows() {
            let c = Customer::new(value(x, i) as u32, value(t_x, i), value(age, i));
            self.counter
                .add(&c, value(x_holdout, i))
                .map_err(|e| Error::Invalid(format!("clv_summary: {e}")))?;
            *self.first_days.entry(first.value(i)).or_insert(0.0) += 1.0;
        }
        if self.holdout_length.is_none() {
            self.holdout_length = Some(column::<Float64Array>(b, "duration_holdout")?.value(0));
        }
        Ok(())
    }
}

impl Engine {
    /// Registers `clv_calibration_rows`, each calibration customer's purchase
    /// days and spend, which the summary query reads.
    async fn clv_calibration(
        &self,
        window: &SummaryWindow,
        params: &[(&'static str, String)],
    ) -> Result<()> {
        if !self.has_table("transactions") {
            return Err(Error::Invalid(
                "no transactions in the warehouse yet: load them with `crm load --table transactions FILE`, or fit a ready summary with --summary FILE".into(),
            ));
        }
        if window.holdout_end < window.calibration_end {
            return Err(Error::Invalid(format!(
                "the holdout end {} is before the calibration end {}",
                window.holdout_end, window.calibration_end
            )));
        }
        self.register_parked("clv_calibration_rows", &render("clv_calibration", params)?)
            .await
    }

    /// Runs the BTYD summary query of every customer whose first purchase
    /// falls in the calibration period, with their holdout purchases, and
    /// hands each batch of rows to `push`. The cohort stays registered as
    /// `clv_summary_rows` for the validation's tracking curve (which reads
    /// each customer's id and first purchase day): parked on disk under a
    /// memory limit, in memory otherwise.
    async fn summary_batches(
        &self,
        window: &SummaryWindow,
        mut push: impl FnMut(&RecordBatch) -> Result<()>,
    ) -> Result<()> {
        let params = summary_params(window)?;
        self.clv_calibration(window, &params).await?;
        let sql = render("clv_summary", &params)?;
        if self.bounded() && !self.on_cluster() {
            let parked = self.park_sql(&sql, "clv_summary_rows", push).await?;
            self.forget_rows("clv_calibration_rows")?;
            return self.register_park("clv_summary_rows", parked).await;
        }
        let t = self.collect_sql(&sql).await?;
        self.forget_rows("clv_calibration_rows")?;
        for b in &t.batches {
            push(b)?;
        }
        let columns = [
            t.schema.index_of("customer_id")?,
            t.schema.index_of("first_purchase")?,
        ];
        let cohort = Table {
            schema: Arc::new(t.schema.project(&columns)?),
            batches: t
                .batches
                .iter()
                .map(|b| b.project(&columns))
                .collect::<std::result::Result<_, _>>()?,
        };
        self.register_rows("clv_summary_rows", &cohort).await
    }

    /// The BTYD summary of the calibration cohort, one entry per customer.
    pub async fn clv_summary(&self, window: &SummaryWindow) -> Result<ClvSummary> {
        let mut builder = SummaryBuilder::default();
        self.summary_batches(window, |b| builder.push(b)).await?;
        timed("summary rows", || builder.finish(window.unit))
    }

    /// Fits on the calibration period and compares the forecast with the
    /// holdout: by calibration frequency, the cumulative tracking curve, MAE
    /// and RMSE, and the grade against the baseline.
    pub async fn clv_validate(
        &self,
        window: &SummaryWindow,
        model: ClvModel,
        cfg: &ClvConfig,
    ) -> Result<ClvValidation> {
        if window.holdout_end <= window.calibration_end {
            return Err(Error::Invalid(format!(
                "validation needs a holdout: the holdout end {} must be after the calibration end {}",
                window.holdout_end, window.calibration_end
            )));
        }
        // The cohort grouped by pattern and holdout purchases: memory for the
        // groups, not the customers.
        let mut cohort = HoldoutBuilder::default();
        self.summary_batches(window, |b| cohort.push(b)).await?;
        let HoldoutBuilder {
            counter,
            first_days,
            holdout_length,
        } = cohort;
        let customers = counter.customers();
        let groups = timed("holdout groups", || Ok(counter.finish()))?;
        log::debug!(
            target: "crm::clv",
            "validation cohort: {customers} customers, {} patterns, {} groups",
            groups.patterns.len(),
            groups.groups.len()
        );
        if customers < cfg.min_customers as usize {
            return Err(Error::Invalid(format!(
                "only {customers} customers bought up to {}; validation needs at least {} ([clv] min_customers)",
                window.calibration_end, cfg.min_customers
            )));
        }
        let not_purchases = || {
            Error::Invalid(format!(
                "validation compares purchase forecasts: use bgnbd, pareto_nbd or mbgnbd, not {}",
                model.name()
            ))
        };
        let fit = fit_on_patterns(
            model,
            customers,
            || Ok(groups.patterns.clone()),
            || Err(not_purchases()),
            &FitOptions::with_penalizer(cfg.penalizer),
        )?;
        fit.require_converged()?;
        let tm = fit.transaction_model().ok_or_else(not_purchases)?;
        let unit = time_unit(window.unit);
        let horizon = holdout_length.unwrap_or(0.0);
        let patterns: Vec<Customer> = groups.patterns.iter().map(|p| p.customer()).collect();
        let predicted =
            crm_clv::clv::expected_purchases_many(tm, &patterns, horizon).map_err(model_error)?;
        let window_units = f64::from(cfg.retention_window_days) / f64::from(window.unit.days());
        let retention = groups.retention_rate(window_units).map_err(model_error)?;
        let months = horizon / unit.periods_per_month();
        let baseline: Vec<f64> = patterns
            .iter()
            .map(|c| validation::baseline_expected_purchases(c, months, retention, unit))
            .collect::<crm_clv::Result<_>>()
            .map_err(model_error)?;
        let buckets = groups.by_frequency(&predicted).map_err(model_error)?;
        let base_buckets = groups.by_frequency(&baseline).map_err(model_error)?;
        let grade = groups
            .grade(&predicted, &baseline, cfg.top_share)
            .map_err(model_error)?;
        let (mae, rmse) = groups.errors(&predicted).map_err(model_error)?;
        let (mae_baseline, rmse_baseline) = groups.errors(&baseline).map_err(model_error)?;
        let total = |per_pattern: &[f64]| -> f64 {
            groups
                .patterns
                .iter()
                .zip(per_pattern)
                .map(|(p, v)| v * p.count as f64)
                .sum()
        };

        let mut rows = ValidationRows::default();
        for (b, base) in buckets.iter().zip(&base_buckets) {
            rows.push(
                "by_frequency",
                b.bucket.clone(),
                Some(b.customers as i64),
                Some(b.mean_predicted),
                Some(b.mean_actual),
                Some(base.mean_predicted),
                None,
                None,
            );
        }
        for (date, pred, act) in self.clv_tracking(&first_days, tm, window).await? {
            let phase = if date <= window.calibration_end {
                "calibration"
            } else {
                "holdout"
            };
            rows.push(
                "tracking",
                date.format("%Y-%m-%d").to_string(),
                None,
                Some(pred),
                Some(act),
                None,
                None,
                Some(phase.into()),
            );
        }
        let total_predicted = total(&predicted);
        let total_actual = groups.total_actual();
        rows.push(
            "metric",
            "holdout_purchases".into(),
            Some(customers as i64),
            Some(total_predicted),
            Some(total_actual),
            Some(total(&baseline)),
            None,
            None,
        );
        rows.metric("mae", mae);
        rows.metric("rmse", rmse);
        rows.metric("mae_baseline", mae_baseline);
        rows.metric("rmse_baseline", rmse_baseline);
        rows.metric("retention_rate", retention);
        rows.metric("top_share", cfg.top_share);
        rows.metric("model_capture", grade.model_capture);
        rows.metric("baseline_capture", grade.baseline_capture);
        rows.metric("relative_gain", grade.relative_gain);
        rows.push(
            "metric",
            "grade".into(),
            None,
            None,
            None,
            None,
            None,
            Some(format!("{:?}", grade.grade)),
        );
        rows.push(
            "metric",
            "model".into(),
            None,
            None,
            None,
            None,
            None,
            Some(format!(
                "{} fitted on {} customers to {}, holdout to {} ({} {}s)",
                model.name(),
                customers,
                window.calibration_end,
                window.holdout_end,
                horizon,
                match window.unit {
                    ClvUnit::Day => "day",
                    ClvUnit::Week => "week",
                }
            )),
        );
        Ok(ClvValidation {
            fit,
            grade,
            retention_rate: retention,
            mae,
            rmse,
            total_predicted,
            total_actual,
            table: rows.into_table()?,
        })
    }

    /// Weekly points (and the calibration and holdout ends) of the cumulative
    /// repeat purchases of the cohort: the model's unconditional E[X(t)] summed
    /// over customers from their first purchase, and what they actually did.
    async fn clv_tracking(
        &self,
        cohorts: &BTreeMap<i32, f64>,
        tm: &dyn TransactionModel,
        window: &SummaryWindow,
    ) -> Result<Vec<(NaiveDate, f64, f64)>> {
        let Some(&start) = cohorts.keys().next() else {
            return Ok(Vec::new());
        };
        let params = summary_params(window)?;
        let daily = self.collect_sql(&render("clv_tracking", &params)?).await?;
        let mut actual_by_day: BTreeMap<i32, f64> = BTreeMap::new();
        for b in &daily.batches {
            let d = column::<Date32Array>(b, "day")?;
            let n = column::<Int64Array>(b, "repeat_days")?;
            for i in 0..b.num_rows() {
                *actual_by_day.entry(d.value(i)).or_insert(0.0) += n.value(i) as f64;
            }
        }
        let end = epoch_days(window.holdout_end);
        let cal_end = epoch_days(window.calibration_end);
        let mut points: Vec<i32> = (1..)
            .map(|k| start + 7 * k - 1)
            .take_while(|d| *d < end)
            .collect();
        points.extend([cal_end, end]);
        points.sort_unstable();
        points.dedup();
        let unit_days = f64::from(window.unit.days());
        let mut expected_at: HashMap<i32, f64> = HashMap::new();
        let mut out = Vec::with_capacity(points.len());
        for p in points {
            let mut predicted = 0.0;
            for (&f, &n) in cohorts.range(..=p) {
                let delta = p - f;
                let e = match expected_at.get(&delta) {
                    Some(e) => *e,
                    None => {
                        let e = tm
                            .expected_purchases_new_customer(f64::from(delta) / unit_days)
                            .map_err(model_error)?;
                        expected_at.insert(delta, e);
                        e
                    }
                };
                predicted += n * e;
            }
            let actual: f64 = actual_by_day.range(..=p).map(|(_, v)| v).sum();
            out.push((from_epoch_days(p), predicted, actual));
        }
        Ok(out)
    }

    /// The forecast as of `as_of` (fitted on everything up to it) with the
    /// budget: the `clv_customer` and `clv_segment` tables.
    pub async fn clv_budget(
        &self,
        as_of: NaiveDate,
        cfg: &ClvConfig,
        rfm: &crm_core::rfm::RfmConfig,
    ) -> Result<ClvBudget> {
        cfg.validate().map_err(Error::Invalid)?;
        let window = SummaryWindow {
            calibration_end: as_of,
            holdout_end: as_of,
            unit: cfg.unit,
        };
        let rows = self.clv_summary_rows(&window).await?;
        if rows.len() < cfg.min_customers as usize {
            return Err(Error::Invalid(format!(
                "only {} customers bought up to {as_of}; the CLV models need at least {} ([clv] min_customers)",
                rows.len(),
                cfg.min_customers
            )));
        }
        let fc = forecast(&rows, cfg.model, cfg, cfg.horizon_months)?;
        let counts = self
            .register_batches(
                "clv_scores",
                ClvForecast::scores_schema(&rows, true)?,
                |push| fc.score(&rows, true, push),
            )
            .await?;
        drop(rows);
        if !self.context().table_exist("rfm_customer_now")? {
            self.rfm_customers(as_of, rfm).await?;
        }
        if self.has_table("customers") {
            self.materialize(
                "clv_market_segments",
                "SELECT customer_id, market_segment FROM customers",
            )
            .await?;
        } else {
            let market = empty_table(vec![
                Field::new("customer_id", DataType::Utf8, true),
                Field::new("market_segment", DataType::Utf8, true),
            ]);
            self.register_rows("clv_market_segments", &market).await?;
        }
        self.register_rows("clv_margin", &margin_table(cfg)?)
            .await?;
        self.register_rows("clv_plan", &plan_table(cfg)?).await?;
        let as_of_end = next_day(as_of)?;
        let history_start = as_of_end
            .checked_sub_months(Months::new(cfg.history_months))
            .unwrap_or(NaiveDate::MIN);
        let params = vec![
            ("as_of", as_of.format("%Y-%m-%d").to_string()),
            ("as_of_end", timestamp_literal(as_of_end)),
            ("history_start", timestamp_literal(history_start)),
            ("margin", format!("{:?}", cfg.margin)),
            ("spend_share", format!("{:?}", cfg.spend_share)),
            ("fixed_costs", format!("{:?}", cfg.fixed_costs)),
        ];
        self.materialize("clv_customer_now", &render("clv_customer", &params)?)
            .await?;
        let segments = self.collect_sql(&render("clv_segment", &params)?).await?;
        Ok(ClvBudget {
            summary_customers: counts.customers as usize,
            forecast: fc,
            segments,
            spend_treatments: counts.spend_treatments,
        })
    }
}

/// The forecast and budget as of a date.
pub struct ClvBudget {
    pub summary_customers: usize,
    pub forecast: ClvForecast,
    /// The `clv_segment` mart. The `clv_customer` rows are registered as
    /// `clv_customer_now` (parked on disk under a memory limit): read them
    /// with [`Engine::registered_rows`] or stream them into the mart.
    pub segments: Table,
    /// Customers whose expected spend is not the fitted Gamma-Gamma value, by treatment.
    pub spend_treatments: BTreeMap<String, u64>,
}

fn summary_params(window: &SummaryWindow) -> Result<Vec<(&'static str, String)>> {
    Ok(vec![
        ("unit_days", format!("{}.0", window.unit.days())),
        (
            "calibration_end",
            window.calibration_end.format("%Y-%m-%d").to_string(),
        ),
        (
            "calibration_end_exclusive",
            timestamp_literal(next_day(window.calibration_end)?),
        ),
        (
            "holdout_end",
            window.holdout_end.format("%Y-%m-%d").to_string(),
        ),
        (
            "holdout_end_exclusive",
            timestamp_literal(next_day(window.holdout_end)?),
        ),
    ])
}

fn empty_table(fields: Vec<Field>) -> Table {
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    Table {
        batches: vec![RecordBatch::new_empty(schema.clone())],
        schema,
    }
}

/// `clv_margin(segment, margin)` from `[clv.segment_margin]`.
fn margin_table(cfg: &ClvConfig) -> Result<Table> {
    let schema: SchemaRef = Arc::new(Schema::new(vec![
        Field::new("segment", DataType::Utf8, false),
        Field::new("margin", DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(cfg.segment_margin.keys())),
            Arc::new(Float64Array::from_iter_values(
                cfg.segment_margin.values().copied(),
            )),
        ],
    )?;
    Ok(Table {
        schema,
        batches: vec![batch],
    })
}

/// `clv_plan(kind, segment, channel, contacts, cost_per_contact)` from `[[clv.plan]]`.
fn plan_table(cfg: &ClvConfig) -> Result<Table> {
    let schema: SchemaRef = Arc::new(Schema::new(vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("segment", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("contacts", DataType::Float64, false),
        Field::new("cost_per_contact", DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                cfg.plan.iter().map(|p| p.kind.name()),
            )),
            Arc::new(StringArray::from_iter_values(
                cfg.plan.iter().map(|p| p.segment.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                cfg.plan.iter().map(|p| p.channel.as_str()),
            )),
            Arc::new(Float64Array::from_iter_values(
                cfg.plan.iter().map(|p| p.contacts),
            )),
            Arc::new(Float64Array::from_iter_values(cfg.plan.iter().map(|p| {
                cfg.cost_per_contact.get(&p.channel).copied().unwrap_or(0.0)
            }))),
        ],
    )?;
    Ok(Table {
        schema,
        batches: vec![batch],
    })
}

/// The same rows with every column nullable, so that a mart's schema does
/// not depend on whether one date's rows happened to contain a NULL.
pub fn all_nullable(t: &Table) -> Result<Table> {
    let schema: SchemaRef = Arc::new(Schema::new(
        t.schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ));
    let batches = t
        .batches
        .iter()
        .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Table { schema, batches })
}

/// The nightly CLV marts, or why there are none. The `clv_customer` rows
/// are registered as `clv_customer_now`.
pub struct NightlyClv {
    pub segments: Table,
    pub validation: Option<Table>,
    /// Human notes: what was skipped and why, the validation grade.
    pub notes: Vec<String>,
}

impl Engine {
    /// `clv_customer` and `clv_segment` from a forecast fitted on everything
    /// up to `as_of`, and `clv_validation` from a fit that stops
    /// `[clv] holdout_days` before it. Data that cannot support a fit (no
    /// transactions, too few customers, no convergence) give a note
    /// instead of an error: the nightly run goes on without CLV.
    pub async fn clv_nightly(
        &self,
        as_of: NaiveDate,
        cfg: &ClvConfig,
        rfm: &crm_core::rfm::RfmConfig,
    ) -> Result<Result<NightlyClv, String>> {
        if !self.has_table("transactions") {
            return Ok(Err("CLV skipped: no transactions in the warehouse".into()));
        }
        let budget = match self.clv_budget(as_of, cfg, rfm).await {
            Ok(b) => b,
            Err(Error::Invalid(m)) => return Ok(Err(format!("CLV skipped: {m}"))),
            Err(e) => return Err(e),
        };
        // The validation fits afresh: nothing the budget materialised is read
        // again, but for the per-customer rows the mart is written from.
        self.release_rows(&["clv_customer_now"])?;
        let mut notes = Vec::new();
        let calibration_end = as_of
            .checked_sub_days(Days::new(u64::from(cfg.holdout_days)))
            .ok_or_else(|| Error::Invalid(format!("as-of {as_of} is out of range")))?;
        let window = SummaryWindow {
            calibration_end,
            holdout_end: as_of,
            unit: cfg.unit,
        };
        let validation = match self.clv_validate(&window, cfg.model, cfg).await {
            Ok(v) => {
                notes.push(format!(
                    "CLV validation: grade {:?} (model captures {:.3} of the top {:.0}%, baseline {:.3})",
                    v.grade.grade,
                    v.grade.model_capture,
                    cfg.top_share * 100.0,
                    v.grade.baseline_capture
                ));
                Some(all_nullable(&v.table)?)
            }
            Err(Error::Invalid(m)) => {
                notes.push(format!("CLV validation skipped: {m}"));
                None
            }
            Err(e) => return Err(e),
        };
        Ok(Ok(NightlyClv {
            segments: all_nullable(&budget.segments)?,
            validation,
            notes,
        }))
    }
}
