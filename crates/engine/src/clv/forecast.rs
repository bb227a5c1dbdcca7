//! The forecast of a whole cohort, with memory that grows with the distinct
//! patterns rather than the customers.
//!
//! The summary rows pass through twice. On the way in they are counted into
//! `(x, t_x, T)` patterns and Gamma-Gamma's `(x, m̄)` patterns, and parked in
//! a temporary Parquet file in the spill directory. The models fit on the
//! patterns, each pattern is evaluated once, and a second pass over the file
//! scores the customers batch by batch into whatever sink the caller gives:
//! an output file, or a table for the budget's SQL.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use crm_clv::clv::{ClvSettings, PatternScorer};
use crm_clv::data::PatternCounter;
use crm_clv::gamma_gamma::{GammaGammaParams, SpendCounter, SpendCustomer, SpendPattern};
use crm_clv::{Customer, FitOptions, RfmPattern};
use crm_core::clv::{ClvConfig, ClvModel, ClvUnit};
use datafusion::parquet;

use super::{
    ClvSummary, FittedModel, SummaryWindow, fit_on_patterns, model_error, summary_params,
    time_unit, timed,
};
use crate::error::{Error, Result};
use crate::park::{Parked, io_error};
use crate::queries::render;
use crate::session::Engine;

/// How a customer's expected spend was set, counted in every output.
pub const SPEND_FITTED: &str = "gamma_gamma";
pub const SPEND_ONE_TIME_BUYER: &str = "population_mean";
pub const SPEND_NON_POSITIVE: &str = "non_positive_spend_shrunk";

/// Rows per batch read back from the parked summary.
const SCORE_BATCH_ROWS: usize = 64 * 1024;

/// The summary rows of a cohort (`customer_id, x, t_x, T, monetary_value,
/// refund_total`, and more from the warehouse) and the patterns the fits
/// need, counted on the way in.
pub struct SummaryRows {
    pub unit: ClvUnit,
    source: RowSource,
    schema: SchemaRef,
    customers: usize,
    patterns: Vec<RfmPattern>,
    spend: Vec<SpendPattern>,
    spend_excluded: BTreeMap<String, u64>,
}

enum RowSource {
    /// A small summary read from a file.
    Memory(Vec<RecordBatch>),
    /// The warehouse's summary, parked in the spill directory.
    Parked(Parked),
}

fn float_column<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a Float64Array> {
    super::column::<Float64Array>(b, name)
}

/// Counts rows into patterns; the rows themselves go elsewhere.
#[derive(Default)]
struct Counter {
    patterns: PatternCounter,
    spend: SpendCounter,
}

impl Counter {
    fn add(&mut self, b: &RecordBatch) -> Result<()> {
        let x = float_column(b, "x")?;
        let tx = float_column(b, "t_x")?;
        let age = float_column(b, "T")?;
        let m = float_column(b, "monetary_value")?;
        if [x, tx, age, m].iter().any(|c| c.null_count() > 0) {
            return Err(Error::Invalid(
                "clv_summary: x, t_x, T and monetary_value must not be null".into(),
            ));
        }
        for i in 0..b.num_rows() {
            let c = customer(x, tx, age, i)?;
            self.patterns.add(&c).map_err(model_error)?;
            self.spend
                .add(&SpendCustomer::new(c.frequency, m.value(i)))
                .map_err(model_error)?;
        }
        Ok(())
    }

    fn finish(self, unit: ClvUnit, source: RowSource, schema: SchemaRef) -> SummaryRows {
        let (spend, spend_excluded) = self.spend.finish();
        SummaryRows {
            unit,
            source,
            schema,
            customers: self.patterns.customers(),
            patterns: self.patterns.patterns(),
            spend,
            spend_excluded,
        }
    }
}

fn customer(x: &Float64Array, tx: &Float64Array, age: &Float64Array, i: usize) -> Result<Customer> {
    let xv = x.value(i);
    if !(xv >= 0.0 && xv.fract() == 0.0 && xv <= f64::from(u32::MAX)) {
        return Err(Error::Invalid(format!(
            "clv_summary: x must be a whole number >= 0, found {xv}"
        )));
    }
    Ok(Customer::new(xv as u32, tx.value(i), age.value(i)))
}

impl SummaryRows {
    /// Customers in the cohort.
    pub fn len(&self) -> usize {
        self.customers
    }

    pub fn is_empty(&self) -> bool {
        self.customers == 0
    }

    /// A summary already in memory (one read from a file), as rows.
    pub fn from_summary(s: &ClvSummary) -> Result<SummaryRows> {
        let f64s = |v: Vec<f64>| Arc::new(Float64Array::from(v)) as ArrayRef;
        let customers = &s.customers;
        let schema = Arc::new(Schema::new(vec![
            Field::new("customer_id", s.customer_id.data_type().clone(), false),
            Field::new("x", DataType::Float64, false),
            Field::new("t_x", DataType::Float64, false),
            Field::new("T", DataType::Float64, false),
            Field::new("monetary_value", DataType::Float64, false),
            Field::new("refund_total", DataType::Float64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::clone(&s.customer_id),
                f64s(customers.iter().map(|c| f64::from(c.frequency)).collect()),
                f64s(customers.iter().map(|c| c.recency).collect()),
                f64s(customers.iter().map(|c| c.age).collect()),
                f64s(s.monetary.clone()),
                f64s(s.refund_total.clone()),
            ],
        )?;
        let mut counter = Counter::default();
        counter.add(&batch)?;
        Ok(counter.finish(s.unit, RowSource::Memory(vec![batch]), schema))
    }

    /// Calls `f` with every batch of rows, in the summary's order.
    fn for_each(&self, mut f: impl FnMut(&RecordBatch) -> Result<()>) -> Result<()> {
        match &self.source {
            RowSource::Memory(batches) => batches.iter().try_for_each(f),
            RowSource::Parked(file) => {
                let reader =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                        std::fs::File::open(file.path()?).map_err(io_error)?,
                    )
                    .map_err(io_error)?
                    .with_batch_size(SCORE_BATCH_ROWS)
                    .build()
                    .map_err(io_error)?;
                for b in reader {
                    f(&b?)?;
                }
                Ok(())
            }
        }
    }
}

impl Engine {
    /// The calibration cohort's summary rows (see [`Engine::clv_summary`]),
    /// streamed from the query into a temporary Parquet file and counted
    /// into patterns on the way: nothing per customer stays in memory.
    pub async fn clv_summary_rows(&self, window: &SummaryWindow) -> Result<SummaryRows> {
        let params = summary_params(window)?;
        self.clv_calibration(window, &params).await?;
        let started = std::time::Instant::now();
        let mut counter = Counter::default();
        let parked = self
            .park_sql(&render("clv_summary", &params)?, "CLV summary", |b| {
                counter.add(b)
            })
            .await?;
        self.forget_rows("clv_calibration_rows")?;
        let (source, schema) = match parked {
            Ok(p) => {
                let schema = p.schema.clone();
                (RowSource::Parked(p), schema)
            }
            Err(schema) => (RowSource::Memory(Vec::new()), schema),
        };
        let rows = counter.finish(window.unit, source, schema);
        log::debug!(
            target: "crm::clv",
            "summary rows: {} customers, {} patterns, {} spend patterns, {:.2} s",
            rows.customers,
            rows.patterns.len(),
            rows.spend.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(rows)
    }
}

/// A transaction model and Gamma-Gamma fitted together, with every
/// pattern of the cohort evaluated, ready to score its customers.
pub struct ClvForecast {
    pub transactions: FittedModel,
    pub spend: FittedModel,
    scorer: PatternScorer,
    gamma_gamma: GammaGammaParams,
}

/// What scoring counted: customers, and those whose expected spend is not
/// the fitted Gamma-Gamma value, by treatment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreCounts {
    pub customers: u64,
    pub spend_treatments: BTreeMap<String, u64>,
}

/// Fits the configured transaction model and Gamma-Gamma on the cohort's
/// patterns and evaluates every pattern over `months` (CLV discounted
/// monthly). Either fit failing to converge is an error with the reason and
/// a suggestion.
pub fn forecast(
    rows: &SummaryRows,
    model: ClvModel,
    cfg: &ClvConfig,
    months: u32,
) -> Result<ClvForecast> {
    let options = FitOptions::with_penalizer(cfg.penalizer);
    let fit = |m: ClvModel| {
        fit_on_patterns(
            m,
            rows.customers,
            || Ok(rows.patterns.clone()),
            || Ok((rows.spend.clone(), rows.spend_excluded.clone())),
            &options,
        )
    };
    let transactions = timed(model.name(), || fit(model))?;
    transactions.require_converged()?;
    let spend = timed("gamma_gamma", || fit(ClvModel::GammaGamma))?;
    spend.require_converged()?;
    let (Some(tm), FittedModel::GammaGamma(gg)) = (transactions.transaction_model(), &spend) else {
        return Err(Error::Invalid(format!(
            "model {} does not forecast purchases; use bgnbd, pareto_nbd or mbgnbd",
            model.name()
        )));
    };
    let settings = ClvSettings {
        months,
        monthly_discount_rate: cfg.monthly_discount_rate,
        time_unit: time_unit(rows.unit),
    };
    let scorer = timed("patterns", || {
        PatternScorer::new(tm, &rows.patterns, &settings).map_err(model_error)
    })?;
    let gamma_gamma = gg.params;
    Ok(ClvForecast {
        transactions,
        spend,
        scorer,
        gamma_gamma,
    })
}

impl ClvForecast {
    /// The scores' columns: `customer_id, x, t_x, T, expected_purchases,
    /// p_alive, expected_spend, clv`, with `full` also monetary_value,
    /// refund_total and the spend treatment.
    pub fn scores_schema(rows: &SummaryRows, full: bool) -> Result<SchemaRef> {
        let id = rows.schema.field_with_name("customer_id")?;
        let mut fields = vec![
            Field::new("customer_id", id.data_type().clone(), false),
            Field::new("x", DataType::Int64, false),
            Field::new("t_x", DataType::Float64, false),
            Field::new("T", DataType::Float64, false),
        ];
        if full {
            fields.push(Field::new("monetary_value", DataType::Float64, false));
            fields.push(Field::new("refund_total", DataType::Float64, false));
            fields.push(Field::new("spend_treatment", DataType::Utf8, false));
        }
        for name in ["expected_purchases", "p_alive", "expected_spend", "clv"] {
            fields.push(Field::new(name, DataType::Float64, false));
        }
        Ok(Arc::new(Schema::new(fields)))
    }

    /// Scores every customer of `rows`, in their order, handing `sink` one
    /// batch of [`ClvForecast::scores_schema`] at a time.
    pub fn score(
        &self,
        rows: &SummaryRows,
        full: bool,
        mut sink: impl FnMut(RecordBatch) -> Result<()>,
    ) -> Result<ScoreCounts> {
        let schema = Self::scores_schema(rows, full)?;
        let mut counts = ScoreCounts {
            customers: 0,
            spend_treatments: BTreeMap::from([
                (SPEND_ONE_TIME_BUYER.to_string(), 0),
                (SPEND_NON_POSITIVE.to_string(), 0),
            ]),
        };
        let started = std::time::Instant::now();
        rows.for_each(|b| {
            let batch = self.score_batch(&schema, b, full, &mut counts)?;
            sink(batch)
        })?;
        log::debug!(
            target: "crm::clv",
            "scores: {} customers, {:.2} s",
            counts.customers,
            started.elapsed().as_secs_f64()
        );
        Ok(counts)
    }

    fn score_batch(
        &self,
        schema: &SchemaRef,
        b: &RecordBatch,
        full: bool,
        counts: &mut ScoreCounts,
    ) -> Result<RecordBatch> {
        let x = float_column(b, "x")?;
        let tx = float_column(b, "t_x")?;
        let age = float_column(b, "T")?;
        let m = float_column(b, "monetary_value")?;
        let n = b.num_rows();
        let mut out: [Vec<f64>; 4] = std::array::from_fn(|_| Vec::with_capacity(n));
        let mut treatment = Vec::with_capacity(if full { n } else { 0 });
        for i in 0..n {
            let c = customer(x, tx, age, i)?;
            let monetary = m.value(i);
            // A repeat buyer whose refunds outweigh the repeat purchases is
            // shrunk towards the population mean by the same formula, and
            // floored at 0: a forecast never expects a customer to pay
            // money out on average.
            let spent = SpendCustomer::new(c.frequency, monetary);
            let mut spend = self
                .gamma_gamma
                .expected_average_spend(&spent)
                .map_err(model_error)?;
            let how = if c.frequency == 0 {
                SPEND_ONE_TIME_BUYER
            } else if monetary <= 0.0 {
                spend = spend.max(0.0);
                SPEND_NON_POSITIVE
            } else {
                SPEND_FITTED
            };
            if let Some(k) = counts.spend_treatments.get_mut(how) {
                *k += 1;
            }
            let v = self.scorer.score(&c, spend).map_err(model_error)?;
            for (col, value) in
                out.iter_mut()
                    .zip([v.expected_purchases, v.p_alive, v.expected_spend, v.clv])
            {
                col.push(value);
            }
            if full {
                treatment.push(how);
            }
        }
        counts.customers += n as u64;
        let mut cols: Vec<ArrayRef> = vec![
            Arc::clone(
                b.column_by_name("customer_id")
                    .ok_or_else(|| Error::Invalid("clv_summary: customer_id is missing".into()))?,
            ),
            Arc::new(Int64Array::from_iter_values(
                x.values().iter().map(|v| *v as i64),
            )),
            Arc::new(tx.clone()),
            Arc::new(age.clone()),
        ];
        if full {
            cols.push(Arc::new(m.clone()));
            cols.push(Arc::new(float_column(b, "refund_total")?.clone()));
            cols.push(Arc::new(StringArray::from(treatment)));
        }
        cols.extend(
            out.into_iter()
                .map(|v| Arc::new(Float64Array::from(v)) as ArrayRef),
        );
        Ok(RecordBatch::try_new(schema.clone(), cols)?)
    }
}
