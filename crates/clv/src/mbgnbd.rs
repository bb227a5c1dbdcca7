//! MBG/NBD (Batislam, Denizel & Filiztekin 2007): BG/NBD in which a customer may also drop out
//! right after the first purchase, so P(alive) < 1 even without repeat purchases.

use serde::Serialize;

use crate::bgnbd::check_positive;
use crate::data::{Customer, PreparedPatterns, RfmPattern, validate_patterns};
use crate::fit::{
    FitOptions, FitResult, MleProblem, ModelParams, into_result, maximise, weighted_sum,
};
use crate::special::{
    ln_beta, ln_gamma, ln_hyp2f1_positive, ln_one_over_one_plus_exp, log_add_exp,
};
use crate::{Result, TransactionModel, check_horizon, finite_output, max_age, total_count};

/// MBG/NBD parameters: λ ~ Gamma(r, α); dropout p ~ Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MbgNbdParams {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl ModelParams for MbgNbdParams {
    const NAMES: &'static [&'static str] = &["r", "alpha", "a", "b"];
    fn from_slice(v: &[f64]) -> Self {
        Self {
            r: v[0],
            alpha: v[1],
            a: v[2],
            b: v[3],
        }
    }
    fn to_vec(&self) -> Vec<f64> {
        vec![self.r, self.alpha, self.a, self.b]
    }
}

impl MbgNbdParams {
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self> {
        let p = Self { r, alpha, a, b };
        check_positive("MBG/NBD", Self::NAMES, &p.to_vec())?;
        Ok(p)
    }

    fn ln_dropout_odds(&self, c: &Customer) -> f64 {
        let x = f64::from(c.frequency);
        self.a.ln() - (self.b + x).ln()
            + (self.r + x) * ((self.alpha + c.age).ln() - (self.alpha + c.recency).ln())
    }

    /// x-only parts of the log-likelihood: `A1 + A2` without the age term, and `ln a − ln(b + x)`.
    fn x_terms(&self, x: u32) -> (f64, f64) {
        let Self { r, alpha, a, b } = *self;
        let xf = f64::from(x);
        let a1 = ln_gamma(r + xf) - ln_gamma(r) + r * alpha.ln();
        let a2 =
            ln_gamma(a + b) + ln_gamma(b + xf + 1.0) - ln_gamma(b) - ln_gamma(a + b + xf + 1.0);
        (a1 + a2, a.ln() - (b + xf).ln())
    }

    fn ln_likelihood_with(&self, c: &Customer, x_terms: (f64, f64)) -> f64 {
        self.ln_likelihood_from_logs(
            c.frequency,
            x_terms,
            (self.alpha + c.recency).ln(),
            (self.alpha + c.age).ln(),
        )
    }

    /// The likelihood from precomputed `ln(α + t_x)` and `ln(α + T)`.
    fn ln_likelihood_from_logs(
        &self,
        x: u32,
        (a12, ln_odds): (f64, f64),
        ln_alpha_recency: f64,
        ln_alpha_age: f64,
    ) -> f64 {
        let rx = self.r + f64::from(x);
        let odds = ln_odds + rx * (ln_alpha_age - ln_alpha_recency);
        a12 - rx * ln_alpha_age + log_add_exp(0.0, odds)
    }

    /// Per-customer log-likelihood.
    pub fn ln_likelihood(&self, c: &Customer) -> f64 {
        self.ln_likelihood_with(c, self.x_terms(c.frequency))
    }

    fn total_ln_likelihood(&self, prepared: &PreparedPatterns) -> f64 {
        let table: Vec<(f64, f64)> = prepared
            .distinct_x
            .iter()
            .map(|&x| self.x_terms(x))
            .collect();
        let ln_alpha_time: Vec<f64> = prepared
            .distinct_time
            .iter()
            .map(|t| (self.alpha + t).ln())
            .collect();
        weighted_sum(&prepared.rows, |row| {
            row.weight
                * self.ln_likelihood_from_logs(
                    row.customer.frequency,
                    table[row.x_index],
                    ln_alpha_time[row.recency_time_index],
                    ln_alpha_time[row.age_time_index],
                )
        })
    }

    /// Unconditional probability that a new customer makes exactly `n` repeat purchases in `(0, t]`.
    pub fn probability_of_n_purchases(&self, t: f64, n: u32) -> Result<f64> {
        check_horizon(t)?;
        let Self { r, alpha, a, b } = *self;
        let nf = f64::from(n);
        let ln_p0 = r * (alpha / (alpha + t)).ln();
        let ln_q = (t / (alpha + t)).ln();
        let ln_nb = |j: f64| {
            ln_gamma(r + j) - ln_gamma(r) - ln_gamma(j + 1.0)
                + ln_p0
                + if j > 0.0 { j * ln_q } else { 0.0 }
        };
        let first = (ln_beta(a, b + nf + 1.0) - ln_beta(a, b) + ln_nb(nf)).exp();
        let cdf: f64 = (0..n).map(|j| ln_nb(f64::from(j)).exp()).sum();
        let second = (ln_beta(a + 1.0, b + nf) - ln_beta(a, b)).exp() * (1.0 - cdf).max(0.0);
        finite_output(first + second, "MBG/NBD P(N(t) = n)")
    }
}

impl TransactionModel for MbgNbdParams {
    fn expected_purchases(&self, c: &Customer, t: f64) -> Result<f64> {
        check_horizon(t)?;
        c.validate(0)?;
        if t == 0.0 {
            return Ok(0.0);
        }
        let Self { r, alpha, a, b } = *self;
        let x = f64::from(c.frequency);
        let z = t / (alpha + c.age + t);
        let ln_hyp = ln_hyp2f1_positive(r + x, b + x + 1.0, a + b + x, z)?;
        let ln_y = ln_hyp + (r + x) * ((alpha + c.age).ln() - (alpha + c.age + t).ln());
        let first = (a + b + x) / (a - 1.0);
        let p_alive = self.ln_p_alive(c)?.exp();
        finite_output(
            first * -ln_y.exp_m1() * p_alive,
            "MBG/NBD expected purchases",
        )
    }

    fn ln_p_alive(&self, c: &Customer) -> Result<f64> {
        c.validate(0)?;
        Ok(ln_one_over_one_plus_exp(self.ln_dropout_odds(c)))
    }

    fn expected_purchases_new_customer(&self, t: f64) -> Result<f64> {
        check_horizon(t)?;
        if t == 0.0 {
            return Ok(0.0);
        }
        let Self { r, alpha, a, b } = *self;
        let ln_hyp = ln_hyp2f1_positive(r, b + 1.0, a + b, t / (alpha + t))?;
        let ln_y = ln_hyp + r * (alpha / (alpha + t)).ln();
        finite_output(
            b / (a - 1.0) * -ln_y.exp_m1(),
            "MBG/NBD expected purchases of a new customer",
        )
    }
}

/// Total log-likelihood over weighted patterns.
pub fn log_likelihood(params: &MbgNbdParams, patterns: &[RfmPattern]) -> Result<f64> {
    validate_patterns(patterns)?;
    let ll = params.total_ln_likelihood(&PreparedPatterns::new(patterns));
    finite_output(ll, "MBG/NBD log-likelihood")
}

/// Fits MBG/NBD by maximum likelihood on compressed patterns.
pub fn fit(patterns: &[RfmPattern], options: &FitOptions) -> Result<FitResult<MbgNbdParams>> {
    validate_patterns(patterns)?;
    let scale = max_age(patterns);
    let prepared = PreparedPatterns::new(patterns);
    let ll = |v: &[f64]| MbgNbdParams::from_slice(v).total_ln_likelihood(&prepared);
    let problem = MleProblem {
        model: "mbgnbd",
        names: MbgNbdParams::NAMES,
        log_likelihood: &ll,
        total_weight: total_count(patterns) as f64,
        penalty_scale: vec![1.0, scale, 1.0, 1.0],
        initial: vec![1.0, scale, 1.0, 1.0],
    };
    let outcome = maximise(&problem, options)?;
    Ok(into_result(
        "mbgnbd",
        outcome,
        total_count(patterns),
        patterns.len(),
        Default::default(),
        options.penalizer,
    ))
}
