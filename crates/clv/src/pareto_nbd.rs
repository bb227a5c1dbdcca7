//! Pareto/NBD (Schmittlein, Morrison & Colombo 1987), in the form of Fader & Hardie's note
//! "A Note on Deriving the Pareto/NBD Model and Related Expressions" (2005): Poisson purchasing
//! with gamma rates, exponential lifetimes with gamma-distributed dropout rates.

use serde::Serialize;

use crate::bgnbd::check_positive;
use crate::data::{Customer, PreparedPatterns, RfmPattern, validate_patterns};
use crate::fit::{
    FitOptions, FitResult, MleProblem, ModelParams, into_result, maximise, weighted_sum,
};
use crate::special::{
    ln_gamma, ln_hyp2f1_positive, ln_one_over_one_plus_exp, log_add_exp, log_sub_exp,
};
use crate::{Result, TransactionModel, check_horizon, finite_output, max_age, total_count};

/// Pareto/NBD parameters: λ ~ Gamma(r, α); dropout rate μ ~ Gamma(s, β).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParetoNbdParams {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

impl ModelParams for ParetoNbdParams {
    const NAMES: &'static [&'static str] = &["r", "alpha", "s", "beta"];
    fn from_slice(v: &[f64]) -> Self {
        Self {
            r: v[0],
            alpha: v[1],
            s: v[2],
            beta: v[3],
        }
    }
    fn to_vec(&self) -> Vec<f64> {
        vec![self.r, self.alpha, self.s, self.beta]
    }
}

/// `(1 − e^{(s−1)·ln_ratio}) / (s − 1)` with its limit `−ln_ratio` at s = 1.
fn one_minus_pow_over(s_minus_1: f64, ln_ratio: f64) -> f64 {
    if s_minus_1.abs() < 1e-12 {
        -ln_ratio
    } else {
        -(s_minus_1 * ln_ratio).exp_m1() / s_minus_1
    }
}

impl ParetoNbdParams {
    pub fn new(r: f64, alpha: f64, s: f64, beta: f64) -> Result<Self> {
        let p = Self { r, alpha, s, beta };
        check_positive("Pareto/NBD", Self::NAMES, &p.to_vec())?;
        Ok(p)
    }

    /// `ln ₂F₁(r+s+x, b₂; r+s+x+1; |α−β|/(max(α,β)+y)) − (r+s+x)·ln(max(α,β)+y)`: one of the two
    /// halves of Fader & Hardie's `A₀` (eq. 19/20), with the roles of α and β swapped so the
    /// argument stays in [0, 1).
    fn ln_a0_half(&self, x: u32, y: f64) -> Result<f64> {
        let Self { r, alpha, s, beta } = *self;
        let x = f64::from(x);
        let rsx = r + s + x;
        let (max_ab, b2) = if alpha >= beta {
            (alpha, s + 1.0)
        } else {
            (beta, r + x)
        };
        let z = (alpha - beta).abs() / (max_ab + y);
        Ok(ln_hyp2f1_positive(rsx, b2, rsx + 1.0, z)? - rsx * (max_ab + y).ln())
    }

    /// `ln A₀ = ln(half(t_x) − half(T))`; `-inf` when t_x = T, where A₀ = 0.
    fn ln_a0_from_halves(at_recency: f64, at_age: f64) -> f64 {
        if at_age >= at_recency {
            f64::NEG_INFINITY
        } else {
            log_sub_exp(at_recency, at_age)
        }
    }

    fn ln_a0(&self, c: &Customer) -> Result<f64> {
        Ok(Self::ln_a0_from_halves(
            self.ln_a0_half(c.frequency, c.recency)?,
            self.ln_a0_half(c.frequency, c.age)?,
        ))
    }

    fn ln_a1(&self, x: f64) -> f64 {
        let Self { r, alpha, s, beta } = *self;
        ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln()
    }

    /// Per-customer log-likelihood (Fader & Hardie eq. 18–20).
    pub fn ln_likelihood(&self, c: &Customer) -> Result<f64> {
        Ok(self.ln_likelihood_with(c, self.ln_a1(f64::from(c.frequency)), self.ln_a0(c)?))
    }

    fn ln_likelihood_with(&self, c: &Customer, ln_a1: f64, ln_a0: f64) -> f64 {
        let Self { r, alpha, s, beta } = *self;
        let x = f64::from(c.frequency);
        let alive_all_along = -(r + x) * (alpha + c.age).ln() - s * (beta + c.age).ln();
        let died = s.ln() - (r + s + x).ln() + ln_a0;
        ln_a1 + log_add_exp(alive_all_along, died)
    }

    fn total_ln_likelihood(&self, prepared: &PreparedPatterns) -> f64 {
        use rayon::prelude::*;
        let a1: Vec<f64> = prepared
            .distinct_x
            .iter()
            .map(|&x| self.ln_a1(f64::from(x)))
            .collect();
        // The ₂F₁ halves depend on (x, time) only: evaluate each distinct pair once.
        let halves: Vec<f64> = prepared
            .distinct_x_time
            .par_iter()
            .with_min_len(1024)
            .map(|&(x, y)| self.ln_a0_half(x, y).unwrap_or(f64::NAN))
            .collect();
        weighted_sum(&prepared.rows, |row| {
            let ln_a0 = Self::ln_a0_from_halves(halves[row.recency_index], halves[row.age_index]);
            row.weight * self.ln_likelihood_with(&row.customer, a1[row.x_index], ln_a0)
        })
    }
}

impl TransactionModel for ParetoNbdParams {
    fn expected_purchases(&self, c: &Customer, t: f64) -> Result<f64> {
        check_horizon(t)?;
        c.validate(0)?;
        if t == 0.0 {
            return Ok(0.0);
        }
        let Self { r, alpha, s, beta } = *self;
        let x = f64::from(c.frequency);
        let ll = self.ln_likelihood(c)?;
        let first = self.ln_a1(x) - (r + x) * (alpha + c.age).ln() - s * (beta + c.age).ln();
        let second = (r + x).ln() + (beta + c.age).ln() - (alpha + c.age).ln();
        let ln_ratio = (beta + c.age).ln() - (beta + c.age + t).ln();
        let third = one_minus_pow_over(s - 1.0, ln_ratio).ln();
        finite_output(
            (first + second + third - ll).exp(),
            "Pareto/NBD expected purchases",
        )
    }

    fn ln_p_alive(&self, c: &Customer) -> Result<f64> {
        c.validate(0)?;
        let Self { r, alpha, s, beta } = *self;
        let x = f64::from(c.frequency);
        let odds = s.ln() - (r + s + x).ln()
            + (r + x) * (alpha + c.age).ln()
            + s * (beta + c.age).ln()
            + self.ln_a0(c)?;
        Ok(ln_one_over_one_plus_exp(odds))
    }

    fn expected_purchases_new_customer(&self, t: f64) -> Result<f64> {
        check_horizon(t)?;
        let Self { r, alpha, s, beta } = *self;
        let ln_ratio = beta.ln() - (beta + t).ln();
        finite_output(
            r * beta / alpha * one_minus_pow_over(s - 1.0, ln_ratio),
            "Pareto/NBD expected purchases of a new customer",
        )
    }
}

/// Total log-likelihood over weighted patterns.
pub fn log_likelihood(params: &ParetoNbdParams, patterns: &[RfmPattern]) -> Result<f64> {
    validate_patterns(patterns)?;
    finite_output(
        params.total_ln_likelihood(&PreparedPatterns::new(patterns)),
        "Pareto/NBD log-likelihood",
    )
}

/// Fits Pareto/NBD by maximum likelihood on compressed patterns.
pub fn fit(patterns: &[RfmPattern], options: &FitOptions) -> Result<FitResult<ParetoNbdParams>> {
    validate_patterns(patterns)?;
    let scale = max_age(patterns);
    let prepared = PreparedPatterns::new(patterns);
    let ll = |v: &[f64]| ParetoNbdParams::from_slice(v).total_ln_likelihood(&prepared);
    let problem = MleProblem {
        model: "pareto_nbd",
        names: ParetoNbdParams::NAMES,
        log_likelihood: &ll,
        total_weight: total_count(patterns) as f64,
        penalty_scale: vec![1.0, scale, 1.0, scale],
        initial: vec![1.0, scale, 1.0, scale],
    };
    let outcome = maximise(&problem, options)?;
    Ok(into_result(
        "pareto_nbd",
        outcome,
        total_count(patterns),
        patterns.len(),
        Default::default(),
        options.penalizer,
    ))
}
