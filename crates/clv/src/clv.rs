//! Customer lifetime value: discounted expected revenue over a horizon of months.
//!
//! This is lifetimes' `customer_lifetime_value`: the expected purchases of each month (the
//! increment of the *conditional* expectation given the customer's history) times the
//! Gamma-Gamma expected spend, discounted once per month. No margin is applied; multiply the
//! result by a margin to get profit.

use serde::Serialize;

use crate::data::Customer;
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

/// Scores many customers in parallel: expected purchases over the CLV horizon, P(alive), expected
/// spend and CLV. `expected_spend[i]` belongs to `customers[i]`.
pub fn score_customers<M: TransactionModel + ?Sized>(
    model: &M,
    customers: &[Customer],
    expected_spend: &[f64],
    settings: &ClvSettings,
) -> Result<Vec<CustomerValue>> {
    use rayon::prelude::*;
    if customers.len() != expected_spend.len() {
        return Err(Error::InvalidOption(format!(
            "{} customers but {} expected spends",
            customers.len(),
            expected_spend.len()
        )));
    }
    let horizon = f64::from(settings.months) * settings.time_unit.periods_per_month();
    customers
        .par_iter()
        .zip(expected_spend.par_iter())
        .enumerate()
        .map(|(index, (c, &m))| {
            c.validate(index)?;
            Ok(CustomerValue {
                expected_purchases: model.expected_purchases(c, horizon)?,
                p_alive: model.p_alive(c)?,
                expected_spend: m,
                clv: customer_lifetime_value(model, c, m, settings)?,
            })
        })
        .collect()
}
