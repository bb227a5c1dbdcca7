//! Customer lifetime value: discounted expected revenue over a horizon of months.
//!
//! This is lifetimes' `customer_lifetime_value`: the expected purchases of each month (the
//! increment of the *conditional* expectation given the customer's history) times the
//! Gamma-Gamma expected spend, discounted once per month. No margin is applied; multiply the
//! result by a margin to get profit.

use serde::Serialize;

use crate::data::{Customer, PatternKey, RfmPattern, pattern_key};
use crate::{Error, Result, TransactionModel, finite_output};

/// The unit the customer summaries are measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Day,
    /// Days / 7, fractional.
    Week,
}

impl TimeUnit {
    /// A CLV month in this unit: 30.415 days or 4.345 weeks, as lifetimes and pymc-marketing use.
    pub fn periods_per_month(self) -> f64 {
        match self {
            Self::Day => 30.415,
            Self::Week => 4.345,
        }
    }
}

/// Horizon and discounting of a CLV.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClvSettings {
    pub months: u32,
    /// Discount rate per month, e.g. 0.01 for 1 %.
    pub monthly_discount_rate: f64,
    pub time_unit: TimeUnit,
}

impl ClvSettings {
    fn validate(&self) -> Result<()> {
        if !(self.monthly_discount_rate.is_finite() && self.monthly_discount_rate > -1.0) {
            return Err(Error::InvalidOption(format!(
                "the monthly discount rate must be a finite number > -1, found {}",
                self.monthly_discount_rate
            )));
        }
        Ok(())
    }
}

/// `CLV = Σ_{i=1..H} E[M] · (E[Y(i·f)] − E[Y((i−1)·f)]) / (1 + d)^i`, with `f` the month length in
/// the data's time unit and `E[Y]` the model's conditional expectation for this customer.
pub fn customer_lifetime_value<M: TransactionModel + ?Sized>(
    model: &M,
    customer: &Customer,
    expected_spend: f64,
    settings: &ClvSettings,
) -> Result<f64> {
    settings.validate()?;
    if !expected_spend.is_finite() {
        return Err(Error::InvalidOption(format!(
            "expected spend must be finite, found {expected_spend}"
        )));
    }
    let month = settings.time_unit.periods_per_month();
    let mut previous = 0.0;
    let mut total = 0.0;
    let mut discount = 1.0;
    for i in 1..=settings.months {
        let cumulative = model.expected_purchases(customer, f64::from(i) * month)?;
        discount /= 1.0 + settings.monthly_discount_rate;
        total += expected_spend * (cumulative - previous) * discount;
        previous = cumulative;
    }
    finite_output(total, "CLV")
}

/// Per-customer outputs a CLV mart needs, in one pass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CustomerValue {
    pub expected_purchases: f64,
    pub p_alive: f64,
    pub expected_spend: f64,
    pub clv: f64,
}

/// What a customer's `(x, t_x, T)` alone decides: expected purchases over
/// the horizon, P(alive), and the discounted expected purchases per month,
/// whose product with the expected spend is the CLV.
#[derive(Debug, Clone, Copy)]
struct PatternValue {
    expected_purchases: f64,
    p_alive: f64,
    discounted_purchases: f64,
}

fn pattern_value<M: TransactionModel + ?Sized>(
    model: &M,
    customer: &Customer,
    settings: &ClvSettings,
) -> Result<PatternValue> {
    let month = settings.time_unit.periods_per_month();
    let (mut previous, mut discounted, mut discount) = (0.0, 0.0, 1.0);
    for i in 1..=settings.months {
        let cumulative = model.expected_purchases(customer, f64::from(i) * month)?;
        discount /= 1.0 + settings.monthly_discount_rate;
        discounted += (cumulative - previous) * discount;
        previous = cumulative;
    }
    Ok(PatternValue {
        // The horizon is `months` whole months: the last cumulative value.
        expected_purchases: previous,
        p_alive: model.p_alive(customer)?,
        discounted_purchases: discounted,
    })
}

/// Customers as indices into their distinct `(x, t_x, T)` patterns.
fn distinct_patterns(customers: &[Customer]) -> Result<(Vec<Customer>, Vec<usize>)> {
    use std::collections::HashMap;
    // A fast non-cryptographic hash: the keys are the customers' own numbers.
    let mut index: HashMap<PatternKey, usize, foldhash::fast::RandomState> = HashMap::default();
    let mut patterns: Vec<Customer> = Vec::new();
    let mut slot = Vec::with_capacity(customers.len());
    for (i, c) in customers.iter().enumerate() {
        c.validate(i)?;
        let k = *index.entry(pattern_key(c)).or_insert_with(|| {
            patterns.push(*c);
            patterns.len() - 1
        });
        slot.push(k);
    }
    Ok((patterns, slot))
}

/// `E[Y(t)]` for many customers, in parallel, once per distinct pattern.
pub fn expected_purchases_many<M: TransactionModel + ?Sized>(
    model: &M,
    customers: &[Customer],
    t: f64,
) -> Result<Vec<f64>> {
    use rayon::prelude::*;
    let (patterns, slot) = distinct_patterns(customers)?;
    let values: Vec<f64> = patterns
        .par_iter()
        .map(|c| model.expected_purchases(c, t))
        .collect::<Result<_>>()?;
    Ok(slot.into_iter().map(|k| values[k]).collect())
}

fn pattern_values<M: TransactionModel + ?Sized>(
    model: &M,
    patterns: &[Customer],
    settings: &ClvSettings,
) -> Result<Vec<PatternValue>> {
    use rayon::prelude::*;
    settings.validate()?;
    patterns
        .par_iter()
        .map(|c| pattern_value(model, c, settings))
        .collect()
}

/// A customer's outputs from the pattern's values and the expected spend.
fn customer_value(v: &PatternValue, expected_spend: f64) -> Result<CustomerValue> {
    if !expected_spend.is_finite() {
        return Err(Error::InvalidOption(format!(
            "expected spend must be finite, found {expected_spend}"
        )));
    }
    Ok(CustomerValue {
        expected_purchases: v.expected_purchases,
        p_alive: v.p_alive,
        expected_spend,
        clv: finite_output(expected_spend * v.discounted_purchases, "CLV")?,
    })
}

/// Scores many customers in parallel: expected purchases over the CLV horizon, P(alive), expected
/// spend and CLV. `expected_spend[i]` belongs to `customers[i]`.
///
/// The model is evaluated once per distinct `(x, t_x, T)` pattern, not per customer: many
/// customers share one (the same purchase days, the same first purchase), and the work and the
/// memory of the model part then grow with the patterns. CLV is the customer's expected spend
/// times the pattern's discounted expected purchases.
pub fn score_customers<M: TransactionModel + ?Sized>(
    model: &M,
    customers: &[Customer],
    expected_spend: &[f64],
    settings: &ClvSettings,
) -> Result<Vec<CustomerValue>> {
    if customers.len() != expected_spend.len() {
        return Err(Error::InvalidOption(format!(
            "{} customers but {} expected spends",
            customers.len(),
            expected_spend.len()
        )));
    }
    let (patterns, slot) = distinct_patterns(customers)?;
    let values = pattern_values(model, &patterns, settings)?;
    expected_spend
        .iter()
        .zip(slot)
        .map(|(&m, k)| customer_value(&values[k], m))
        .collect()
}

/// The model's values of a set of patterns, computed once (in parallel) and
/// then looked up customer by customer: scoring a summary read in batches
/// holds this table, one entry per pattern, and nothing per customer.
pub struct PatternScorer {
    values: std::collections::HashMap<PatternKey, PatternValue, foldhash::fast::RandomState>,
}

impl PatternScorer {
    /// Evaluates `model` on every pattern; each later customer must have one
    /// of them.
    pub fn new<M: TransactionModel + ?Sized>(
        model: &M,
        patterns: &[RfmPattern],
        settings: &ClvSettings,
    ) -> Result<PatternScorer> {
        let customers: Vec<Customer> = patterns.iter().map(RfmPattern::customer).collect();
        let values = pattern_values(model, &customers, settings)?;
        Ok(PatternScorer {
            values: customers.iter().map(pattern_key).zip(values).collect(),
        })
    }

    /// Patterns in the table.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// One customer's outputs, as [`score_customers`] gives them.
    pub fn score(&self, customer: &Customer, expected_spend: f64) -> Result<CustomerValue> {
        let v = self.values.get(&pattern_key(customer)).ok_or_else(|| {
            Error::InvalidOption(format!(
                "customer (x = {}, t_x = {}, T = {}) is not among the scored patterns",
                customer.frequency, customer.recency, customer.age
            ))
        })?;
        customer_value(v, expected_spend)
    }
}
