//! Buy-till-you-die customer-lifetime-value models, as pure math.
//!
//! `crm-clv` fits the classic probabilistic models of non-contractual customer bases — BG/NBD,
//! Pareto/NBD, MBG/NBD and BG/BB for purchase counts, Gamma-Gamma for spend — by maximum
//! likelihood on customers compressed into unique `(x, t_x, T)` patterns, and turns fitted
//! parameters into per-customer predictions: expected purchases, P(alive), expected spend, and a
//! discounted CLV. It also holds the validation metrics that compare a model's holdout forecast
//! with a simple baseline. It knows nothing of Arrow, SQL or files: callers hand it numbers.
//!
//! The numbers are checked against lifetimes, pymc-marketing and the published CDNOW fits
//! (Fader, Hardie & Lee 2005), see `tests/it`.
//!
//! ```
//! use crm_clv::{Customer, FitOptions, TransactionModel, bgnbd, compress_customers};
//!
//! // Four customers in weeks: (repeat purchase days x, recency t_x, age T).
//! let customers = [
//!     Customer::new(2, 30.43, 38.86),
//!     Customer::new(1, 1.71, 38.86),
//!     Customer::new(0, 0.0, 38.86),
//!     Customer::new(0, 0.0, 38.86),
//! ];
//! let patterns = compress_customers(&customers)?;
//! assert_eq!(patterns.len(), 3);
//!
//! // At the published CDNOW parameters, Hardie's example customer expects 1.226 purchases in 39 weeks.
//! let published = bgnbd::BgNbdParams::new(0.243, 4.414, 0.793, 2.426)?;
//! let e = published.expected_purchases(&customers[0], 39.0)?;
//! assert!((e - 1.226).abs() < 1e-3);
//!
//! // Fitting works the same on four customers or ten million: cost follows the patterns.
//! let fit = bgnbd::fit(&patterns, &FitOptions::with_penalizer(0.01))?;
//! assert!(fit.log_likelihood.is_finite());
//! # Ok::<(), crm_clv::Error>(())
//! ```

pub mod bgbb;
pub mod bgnbd;
pub mod clv;
pub mod data;
pub mod fit;
pub mod gamma_gamma;
pub mod mbgnbd;
pub mod pareto_nbd;
pub mod special;
pub mod validation;

pub use data::{Customer, RfmPattern, compress_customers};
pub use fit::{ConvergenceIssue, FitOptions, FitResult, IssueReason, ModelParams};

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no customers to fit: the input is empty or every weight is zero")]
    EmptyInput,
    #[error("customer at position {index}: {message}")]
    InvalidInput { index: usize, message: String },
    #[error("invalid option: {0}")]
    InvalidOption(String),
    #[error("invalid model parameters: {0}")]
    InvalidParameters(String),
    #[error("numerical problem: {0}")]
    Numerical(String),
    #[error("{model} fit did not converge ({reason}): {detail}; {suggestion}")]
    NotConverged {
        model: &'static str,
        reason: IssueReason,
        detail: String,
        suggestion: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Predictions every purchase-count model offers, given one customer's history. `t` is a
/// horizon in the same time unit as the history.
pub trait TransactionModel: Sync {
    /// `E[Y(t) | x, t_x, T]`: expected repeat purchases in `(T, T + t]`.
    fn expected_purchases(&self, customer: &Customer, t: f64) -> Result<f64>;
    /// `ln P(alive at T | x, t_x, T)`; kept in logs because it reaches 1e-11 for lapsed heavy buyers.
    fn ln_p_alive(&self, customer: &Customer) -> Result<f64>;
    /// `P(alive at T | x, t_x, T)`.
    fn p_alive(&self, customer: &Customer) -> Result<f64> {
        Ok(self.ln_p_alive(customer)?.exp())
    }
    /// `E[X(t)]`: expected repeat purchases of a customer just acquired, in `(0, t]`.
    fn expected_purchases_new_customer(&self, t: f64) -> Result<f64>;
}

pub(crate) fn check_horizon(t: f64) -> Result<()> {
    if t.is_finite() && t >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidOption(format!(
            "the horizon t must be a finite number >= 0, found {t}"
        )))
    }
}

/// Guards every public number: a NaN or infinity becomes a typed error, never an output.
pub(crate) fn finite_output(v: f64, what: &str) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::Numerical(format!(
            "{what} is not finite ({v}); the parameters or inputs are outside the model's range"
        )))
    }
}

pub(crate) fn total_count(patterns: &[RfmPattern]) -> u64 {
    patterns.iter().map(|p| p.count).sum()
}

/// Largest age, used to put rate parameters on a unit-free scale (as lifetimes does).
pub(crate) fn max_age(patterns: &[RfmPattern]) -> f64 {
    let m = patterns.iter().map(|p| p.age).fold(0.0, f64::max);
    if m > 0.0 { m } else { 1.0 }
}
