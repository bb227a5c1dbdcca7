//! BG/NBD (Fader, Hardie & Lee 2005): Poisson purchasing with gamma-distributed rates, and a
//! beta-geometric chance of dropping out after each repeat purchase.

use serde::Serialize;

use crate::data::{Customer, PreparedPatterns, RfmPattern, validate_patterns};
use crate::fit::{
    FitOptions, FitResult, MleProblem, ModelParams, into_result, maximise, weighted_sum,
};
use crate::special::{ln_beta, ln_gamma, ln_hyp2f1_positive, ln_one_over_one_plus_exp};
use crate::{Error, Result, TransactionModel, check_horizon, finite_output, max_age, total_count};

/// BG/NBD parameters: purchase rate λ ~ Gamma(shape r, rate α); dropout p ~ Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BgNbdParams {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl ModelParams for BgNbdParams {
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

pub(crate) fn check_positive(model: &str, names: &[&str], values: &[f64]) -> Result<()> {
    for (n, v) in names.iter().zip(values) {
        if !(v.is_finite() && *v > 0.0) {
            return Err(Error::InvalidParameters(format!(
                "{model}: parameter {n} must be finite and > 0, found {v}"
            )));
        }
    }
    Ok(())
}

impl BgNbdParams {
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self> {
        let p = Self { r, alpha, a, b };
        check_positive("BG/NBD", Self::NAMES, &p.to_vec())?;
        Ok(p)
    }

    /// The parts of the log-likelihood that depend on x only: `A1 + A2` without the age term,
    /// and `ln a − ln(b + x − 1)`.
    fn x_terms(&self, x: u32) -> (f64, f64) {
        let Self { r, alpha, a, b } = *self;
        let xf = f64::from(x);
        let a1 = ln_gamma(r + xf) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + xf) - ln_gamma(b) - ln_gamma(a + b + xf);
        let odds = if x == 0 {
            0.0
        } else {
            a.ln() - (b + xf - 1.0).ln()
        };
        (a1 + a2, odds)
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
        let a3 = -rx * ln_alpha_age;
        if x == 0 {
            return a12 + a3;
        }
        a12 + crate::special::log_add_exp(a3, ln_odds - rx * ln_alpha_recency)
    }

    /// Per-customer log-likelihood (FHL 2005 eq. 6, in log-sum-exp form).
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

    /// `ln P(alive)` minus its complement's odds: `a/(b+x−1) · ((α+T)/(α+t_x))^{r+x}`, in logs.
    fn ln_dropout_odds(&self, c: &Customer) -> Option<f64> {
        if c.frequency == 0 {
            return None;
        }
        let x = f64::from(c.frequency);
        Some(
            self.a.ln() - (self.b + x - 1.0).ln()
                + (self.r + x) * ((self.alpha + c.age).ln() - (self.alpha + c.recency).ln()),
        )
    }

    /// Unconditional probability that a new customer makes exactly `n` repeat purchases in
    /// `(0, t]` (FHL 2005 eq. 8).
    pub fn probability_of_n_purchases(&self, t: f64, n: u32) -> Result<f64> {
        check_horizon(t)?;
        let Self { r, alpha, a, b } = *self;
        let nf = f64::from(n);
        let ln_p0 = r * (alpha / (alpha + t)).ln();
        let ln_q = (t / (alpha + t)).ln();
        // NB pmf: Γ(r+j)/(Γ(r) j!) (α/(α+t))^r (t/(α+t))^j
        let ln_nb = |j: f64| {
            ln_gamma(r + j) - ln_gamma(r) - ln_gamma(j + 1.0)
                + ln_p0
                + if j > 0.0 { j * ln_q } else { 0.0 }
        };
        let first = (ln_beta(a, b + nf) - ln_beta(a, b) + ln_nb(nf)).exp();
        let second = if n > 0 {
            let cdf: f64 = (0..n).map(|j| ln_nb(f64::from(j)).exp()).sum();
            (ln_beta(a + 1.0, b + nf - 1.0) - ln_beta(a, b)).exp() * (1.0 - cdf).max(0.0)
        } else {
            0.0
        };
        finite_output(first + second, "BG/NBD P(N(t) = n)")
    }
}

impl TransactionModel for BgNbdParams {
    fn expected_purchases(&self, c: &Customer, t: f64) -> Result<f64> {
        check_horizon(t)?;
        c.validate(0)?;
        if t == 0.0 {
            return Ok(0.0);
        }
        let Self { r, alpha, a, b } = *self;
        let x = f64::from(c.frequency);
        let z = t / (alpha + c.age + t);
        let ln_hyp = ln_hyp2f1_positive(r + x, b + x, a + b + x - 1.0, z)?;
        // 1 − ((α+T)/(α+T+t))^{r+x} ₂F₁(…): −expm1 keeps it exact for small t.
        let ln_y = ln_hyp + (r + x) * ((alpha + c.age).ln() - (alpha + c.age + t).ln());
        let bracket = -ln_y.exp_m1();
        let first = (a + b + x - 1.0) / (a - 1.0);
        let p_alive = self.ln_p_alive(c)?.exp();
        finite_output(first * bracket * p_alive, "BG/NBD expected purchases")
    }

    fn ln_p_alive(&self, c: &Customer) -> Result<f64> {
        c.validate(0)?;
        Ok(match self.ln_dropout_odds(c) {
            None => 0.0,
            Some(odds) => ln_one_over_one_plus_exp(odds),
        })
    }

    fn expected_purchases_new_customer(&self, t: f64) -> Result<f64> {
        check_horizon(t)?;
        if t == 0.0 {
            return Ok(0.0);
        }
        let Self { r, alpha, a, b } = *self;
        let ln_hyp = ln_hyp2f1_positive(r, b, a + b - 1.0, t / (alpha + t))?;
        let ln_y = ln_hyp + r * (alpha / (alpha + t)).ln();
        finite_output(
            (a + b - 1.0) / (a - 1.0) * -ln_y.exp_m1(),
            "BG/NBD expected purchases of a new customer",
        )
    }
}

/// Total log-likelihood over weighted patterns.
pub fn log_likelihood(params: &BgNbdParams, patterns: &[RfmPattern]) -> Result<f64> {
    validate_patterns(patterns)?;
    let ll = params.total_ln_likelihood(&PreparedPatterns::new(patterns));
    finite_output(ll, "BG/NBD log-likelihood")
}

/// Fits BG/NBD by maximum likelihood on compressed patterns.
pub fn fit(patterns: &[RfmPattern], options: &FitOptions) -> Result<FitResult<BgNbdParams>> {
    validate_patterns(patterns)?;
    let scale = max_age(patterns);
    let prepared = PreparedPatterns::new(patterns);
    let ll = |v: &[f64]| BgNbdParams::from_slice(v).total_ln_likelihood(&prepared);
    let problem = MleProblem {
        model: "bgnbd",
        names: BgNbdParams::NAMES,
        log_likelihood: &ll,
        total_weight: total_count(patterns) as f64,
        penalty_scale: vec![1.0, scale, 1.0, 1.0],
        initial: vec![1.0, scale, 1.0, 1.0],
    };
    let outcome = maximise(&problem, options)?;
    Ok(into_result(
        "bgnbd",
        outcome,
        total_count(patterns),
        patterns.len(),
        Default::default(),
        options.penalizer,
    ))
}
