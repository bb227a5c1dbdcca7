//! BG/BB (Fader, Hardie & Shang 2010): the discrete-time analogue of BG/NBD for settings with
//! fixed transaction opportunities (annual donations, yearly events). In each opportunity an
//! alive customer transacts with probability p ~ Beta(α, β) and, before the next one, dies with
//! probability θ ~ Beta(γ, δ).

use serde::Serialize;

use crate::bgnbd::check_positive;
use crate::fit::{
    FitOptions, FitResult, MleProblem, ModelParams, into_result, maximise, weighted_sum,
};
use crate::special::{ln_beta, ln_gamma, log_add_exp};
use crate::{Error, Result, finite_output};

/// BG/BB parameters: transaction probability ~ Beta(alpha, beta), dropout ~ Beta(gamma, delta).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BgBbParams {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub delta: f64,
}

impl ModelParams for BgBbParams {
    const NAMES: &'static [&'static str] = &["alpha", "beta", "gamma", "delta"];
    fn from_slice(v: &[f64]) -> Self {
        Self {
            alpha: v[0],
            beta: v[1],
            gamma: v[2],
            delta: v[3],
        }
    }
    fn to_vec(&self) -> Vec<f64> {
        vec![self.alpha, self.beta, self.gamma, self.delta]
    }
}

/// A discrete-time history: `frequency` transactions (x) in `periods` opportunities (n), the last
/// one at opportunity `recency` (t_x, 0 when x = 0), shared by `count` customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BgBbPattern {
    pub frequency: u32,
    pub recency: u32,
    pub periods: u32,
    pub count: u64,
}

impl BgBbPattern {
    pub fn validate(&self, index: usize) -> Result<()> {
        let Self {
            frequency: x,
            recency: tx,
            periods: n,
            ..
        } = *self;
        let ok = tx <= n && x <= tx && (x > 0 || tx == 0);
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidInput {
                index,
                message: format!(
                    "BG/BB needs x <= t_x <= n and t_x = 0 when x = 0; found x = {x}, t_x = {tx}, n = {n}"
                ),
            })
        }
    }
}

fn validate_all(patterns: &[BgBbPattern]) -> Result<()> {
    if patterns.is_empty() || patterns.iter().all(|p| p.count == 0) {
        return Err(Error::EmptyInput);
    }
    patterns
        .iter()
        .enumerate()
        .try_for_each(|(i, p)| p.validate(i))
}

fn ln_choose(n: f64, k: f64) -> f64 {
    ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
}

impl BgBbParams {
    pub fn new(alpha: f64, beta: f64, gamma: f64, delta: f64) -> Result<Self> {
        let p = Self {
            alpha,
            beta,
            gamma,
            delta,
        };
        check_positive("BG/BB", Self::NAMES, &p.to_vec())?;
        Ok(p)
    }

    /// Per-history log-likelihood (FHS 2010 eq. 5).
    pub fn ln_likelihood(&self, x: u32, tx: u32, n: u32) -> f64 {
        let Self {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let (x, txf, nf) = (f64::from(x), f64::from(tx), f64::from(n));
        let base_ab = ln_beta(alpha, beta);
        let base_gd = ln_beta(gamma, delta);
        let mut ll =
            ln_beta(alpha + x, beta + nf - x) - base_ab + ln_beta(gamma, delta + nf) - base_gd;
        for i in 0..n.saturating_sub(tx) {
            let i = f64::from(i);
            ll = log_add_exp(
                ll,
                ln_beta(alpha + x, beta + txf - x + i) - base_ab
                    + ln_beta(gamma + 1.0, delta + txf + i)
                    - base_gd,
            );
        }
        ll
    }

    /// Probability the customer is still alive at opportunity `n + m` (m = 1: the next one).
    pub fn p_alive(&self, pattern: &BgBbPattern, m: u32) -> Result<f64> {
        pattern.validate(0)?;
        let (x, nf) = (f64::from(pattern.frequency), f64::from(pattern.periods));
        let ln = ln_beta(self.alpha + x, self.beta + nf - x) - ln_beta(self.alpha, self.beta)
            + ln_beta(self.gamma, self.delta + nf + f64::from(m))
            - ln_beta(self.gamma, self.delta)
            - self.ln_likelihood(pattern.frequency, pattern.recency, pattern.periods);
        finite_output(ln.exp(), "BG/BB P(alive)")
    }

    /// Expected transactions in the next `m` opportunities given the history (FHS 2010 eq. 13).
    pub fn expected_purchases(&self, pattern: &BgBbPattern, m: u32) -> Result<f64> {
        pattern.validate(0)?;
        let Self {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let (x, nf, mf) = (
            f64::from(pattern.frequency),
            f64::from(pattern.periods),
            f64::from(m),
        );
        let ll = self.ln_likelihood(pattern.frequency, pattern.recency, pattern.periods);
        let ln_front = ln_beta(alpha + x + 1.0, beta + nf - x) - ln_beta(alpha, beta) - ll
            + ln_gamma(gamma + delta)
            - ln_gamma(1.0 + delta);
        let ln_p4 = ln_gamma(1.0 + delta + nf) - ln_gamma(gamma + delta + nf);
        let ln_p5 = ln_gamma(1.0 + delta + nf + mf) - ln_gamma(gamma + delta + nf + mf);
        // δ/(γ−1)·(p4 − p5), written so both signs of γ − 1 stay exact.
        let diff = ln_p4.exp() * -(ln_p5 - ln_p4).exp_m1();
        finite_output(
            ln_front.exp() * delta / (gamma - 1.0) * diff,
            "BG/BB expected purchases",
        )
    }

    /// Expected transactions of a new customer in the first `n` opportunities.
    pub fn expected_purchases_new_customer(&self, n: u32) -> Result<f64> {
        let Self {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let nf = f64::from(n);
        let ln_ratio = ln_gamma(gamma + delta) + ln_gamma(1.0 + delta + nf)
            - ln_gamma(gamma + delta + nf)
            - ln_gamma(1.0 + delta);
        finite_output(
            alpha / (alpha + beta) * delta / (gamma - 1.0) * -ln_ratio.exp_m1(),
            "BG/BB expected purchases of a new customer",
        )
    }

    /// Probability a new customer makes exactly `x` transactions in the first `n` opportunities.
    pub fn probability_of_n_purchases(&self, n: u32, x: u32) -> Result<f64> {
        if x > n {
            return Ok(0.0);
        }
        let Self {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let (xf, nf) = (f64::from(x), f64::from(n));
        let base_ab = ln_beta(alpha, beta);
        let base_gd = ln_beta(gamma, delta);
        let mut ln_p = ln_choose(nf, xf) + ln_beta(alpha + xf, beta + nf - xf) - base_ab
            + ln_beta(gamma, delta + nf)
            - base_gd;
        for i in x..n {
            let i = f64::from(i);
            ln_p = log_add_exp(
                ln_p,
                ln_choose(i, xf) + ln_beta(alpha + xf, beta + i - xf) - base_ab
                    + ln_beta(gamma + 1.0, delta + i)
                    - base_gd,
            );
        }
        finite_output(ln_p.exp(), "BG/BB P(X(n) = x)")
    }
}

fn total_ll(params: &BgBbParams, patterns: &[BgBbPattern]) -> f64 {
    weighted_sum(patterns, |p| {
        p.count as f64 * params.ln_likelihood(p.frequency, p.recency, p.periods)
    })
}

/// Total log-likelihood over weighted histories.
pub fn log_likelihood(params: &BgBbParams, patterns: &[BgBbPattern]) -> Result<f64> {
    validate_all(patterns)?;
    finite_output(total_ll(params, patterns), "BG/BB log-likelihood")
}

/// Fits BG/BB by maximum likelihood on weighted histories.
pub fn fit(patterns: &[BgBbPattern], options: &FitOptions) -> Result<FitResult<BgBbParams>> {
    validate_all(patterns)?;
    let n: u64 = patterns.iter().map(|p| p.count).sum();
    let ll = |v: &[f64]| total_ll(&BgBbParams::from_slice(v), patterns);
    let problem = MleProblem {
        model: "bgbb",
        names: BgBbParams::NAMES,
        log_likelihood: &ll,
        total_weight: n as f64,
        penalty_scale: vec![1.0; 4],
        initial: vec![1.0; 4],
    };
    let outcome = maximise(&problem, options)?;
    Ok(into_result(
        "bgbb",
        outcome,
        n,
        patterns.len(),
        Default::default(),
        options.penalizer,
    ))
}
