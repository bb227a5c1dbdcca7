//! Gamma-Gamma model of spend per transaction (Fader & Hardie 2013, note 025).
//!
//! Each transaction's value is Gamma(p, ν) and ν ~ Gamma(q, γ) across customers (γ is called
//! `v`, as in lifetimes). The model sees a customer only through `x` (repeat purchases) and
//! `m̄` (their mean value), and it is fitted on repeat buyers whose mean spend is positive.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::bgnbd::check_positive;
use crate::fit::{
    FitOptions, FitResult, MleProblem, ModelParams, into_result, maximise, weighted_sum,
};
use crate::special::ln_gamma;
use crate::{Error, Result, finite_output};

/// Reason code: no repeat purchase, so no mean repeat spend to fit on.
pub const EXCLUDED_ONE_TIME_BUYER: &str = "one_time_buyer";
/// Reason code: repeat buyer whose mean spend is zero or negative (the gamma density needs m̄ > 0).
pub const EXCLUDED_NON_POSITIVE_SPEND: &str = "non_positive_spend";

/// Gamma-Gamma parameters `p, q, v` (v = γ in Fader & Hardie's notation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GammaGammaParams {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

impl ModelParams for GammaGammaParams {
    const NAMES: &'static [&'static str] = &["p", "q", "v"];
    fn from_slice(v: &[f64]) -> Self {
        Self {
            p: v[0],
            q: v[1],
            v: v[2],
        }
    }
    fn to_vec(&self) -> Vec<f64> {
        vec![self.p, self.q, self.v]
    }
}

/// One customer's spend summary: repeat purchases `x` and their mean value `m̄` (first purchase
/// excluded; any value when x = 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SpendCustomer {
    pub frequency: u32,
    pub monetary: f64,
}

impl SpendCustomer {
    pub fn new(frequency: u32, monetary: f64) -> Self {
        Self {
            frequency,
            monetary,
        }
    }
}

impl GammaGammaParams {
    pub fn new(p: f64, q: f64, v: f64) -> Result<Self> {
        let s = Self { p, q, v };
        check_positive("Gamma-Gamma", Self::NAMES, &s.to_vec())?;
        Ok(s)
    }

    /// Per-customer log-likelihood of `m̄` given `x` (x > 0, m̄ > 0).
    pub fn ln_likelihood(&self, x: f64, m: f64) -> f64 {
        let Self { p, q, v } = *self;
        let px = p * x;
        ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
            + q * v.ln()
            + (px - 1.0) * m.ln()
            + px * x.ln()
            - (px + q) * (x * m + v).ln()
    }

    /// Population mean spend per transaction, `E[Z] = p·v/(q−1)`; finite only for q > 1.
    pub fn population_mean_spend(&self) -> Result<f64> {
        if self.q <= 1.0 {
            return Err(Error::InvalidParameters(format!(
                "Gamma-Gamma: q = {} <= 1 means the population mean spend is infinite",
                self.q
            )));
        }
        finite_output(
            self.p * self.v / (self.q - 1.0),
            "Gamma-Gamma population mean",
        )
    }

    /// `E[M | x, m̄] = (1−w)·p·v/(q−1) + w·m̄` with `w = p·x/(p·x + q − 1)`.
    ///
    /// One-time buyers (x = 0) have w = 0 and so get exactly the population mean `p·v/(q−1)`,
    /// whatever `monetary` holds. Repeat buyers excluded from the fit for a non-positive mean
    /// spend are still scored by the same formula, which shrinks their m̄ towards the mean.
    pub fn expected_average_spend(&self, customer: &SpendCustomer) -> Result<f64> {
        let population = self.population_mean_spend()?;
        if customer.frequency == 0 {
            return Ok(population);
        }
        if !customer.monetary.is_finite() {
            return Err(Error::InvalidInput {
                index: 0,
                message: format!("monetary value must be finite, found {}", customer.monetary),
            });
        }
        let px = self.p * f64::from(customer.frequency);
        let w = px / (px + self.q - 1.0);
        finite_output(
            (1.0 - w) * population + w * customer.monetary,
            "Gamma-Gamma expected spend",
        )
    }
}

/// A unique `(x, m̄)` among repeat buyers with positive spend, with its count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SpendPattern {
    pub frequency: u32,
    pub monetary: f64,
    pub count: u64,
}

/// Splits customers into fit patterns and exclusion counts (by reason code).
pub fn spend_patterns(
    customers: &[SpendCustomer],
) -> Result<(Vec<SpendPattern>, BTreeMap<String, u64>)> {
    let mut counter = SpendCounter::default();
    for c in customers {
        counter.add(c)?;
    }
    Ok(counter.finish())
}

/// Collects customers one at a time into Gamma-Gamma's fit patterns and
/// exclusion counts, for summaries read in batches: it keeps one entry per
/// distinct `(x, m̄)` of a repeat buyer, never the customers themselves.
#[derive(Debug, Default)]
pub struct SpendCounter {
    map: HashMap<(u32, u64), u64, foldhash::fast::RandomState>,
    one_time: u64,
    non_positive: u64,
    seen: usize,
}

impl SpendCounter {
    /// Counts one customer: a one-time buyer, a repeat buyer with no
    /// positive mean spend, or one more of its `(x, m̄)` pattern.
    pub fn add(&mut self, c: &SpendCustomer) -> Result<()> {
        let index = self.seen;
        self.seen += 1;
        if c.frequency == 0 {
            self.one_time += 1;
            return Ok(());
        }
        if !c.monetary.is_finite() {
            return Err(Error::InvalidInput {
                index,
                message: format!("monetary value must be finite, found {}", c.monetary),
            });
        }
        if c.monetary <= 0.0 {
            self.non_positive += 1;
            return Ok(());
        }
        *self
            .map
            .entry((c.frequency, c.monetary.to_bits()))
            .or_insert(0) += 1;
        Ok(())
    }

    /// The patterns, sorted by `(x, m̄)` so that every sum over them is the
    /// same from run to run, and the exclusions by reason code.
    pub fn finish(self) -> (Vec<SpendPattern>, BTreeMap<String, u64>) {
        let excluded = BTreeMap::from([
            (EXCLUDED_ONE_TIME_BUYER.to_owned(), self.one_time),
            (EXCLUDED_NON_POSITIVE_SPEND.to_owned(), self.non_positive),
        ]);
        let mut patterns: Vec<SpendPattern> = self
            .map
            .into_iter()
            .map(|((x, m), count)| SpendPattern {
                frequency: x,
                monetary: f64::from_bits(m),
                count,
            })
            .collect();
        patterns.sort_by(|a, b| {
            a.frequency
                .cmp(&b.frequency)
                .then(a.monetary.total_cmp(&b.monetary))
        });
        (patterns, excluded)
    }
}

/// The Gamma-Gamma log-likelihood, summed so that one evaluation costs one
/// logarithm per pattern. Per pattern it is
/// `lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q·ln v + (px−1)·ln m + px·ln x − (px+q)·ln(xm+v)`:
/// the Gamma terms depend on x only (summed per distinct x), the `ln m` and
/// `ln x` terms are parameter-free sums scaled by p, and only `ln(xm+v)` needs
/// every pattern at every step of the optimiser.
struct SpendSums {
    /// (x, customers with that x).
    by_frequency: Vec<(f64, f64)>,
    customers: f64,
    /// Σ c·x·ln m, Σ c·ln m, Σ c·x·ln x.
    x_ln_m: f64,
    ln_m: f64,
    x_ln_x: f64,
    /// (x, m, c) per pattern.
    patterns: Vec<(f64, f64, f64)>,
}

impl SpendSums {
    fn new(patterns: &[SpendPattern]) -> Self {
        let mut by_frequency: BTreeMap<u32, f64> = BTreeMap::new();
        let (mut customers, mut x_ln_m, mut ln_m, mut x_ln_x) = (0.0, 0.0, 0.0, 0.0);
        for s in patterns {
            let (x, m, c) = (f64::from(s.frequency), s.monetary, s.count as f64);
            *by_frequency.entry(s.frequency).or_insert(0.0) += c;
            customers += c;
            x_ln_m += c * x * m.ln();
            ln_m += c * m.ln();
            x_ln_x += c * x * x.ln();
        }
        SpendSums {
            by_frequency: by_frequency
                .into_iter()
                .map(|(x, n)| (f64::from(x), n))
                .collect(),
            customers,
            x_ln_m,
            ln_m,
            x_ln_x,
            patterns: patterns
                .iter()
                .map(|s| (f64::from(s.frequency), s.monetary, s.count as f64))
                .collect(),
        }
    }

    fn total_ll(&self, params: &GammaGammaParams) -> f64 {
        let GammaGammaParams { p, q, v } = *params;
        let gammas: f64 = self
            .by_frequency
            .iter()
            .map(|&(x, n)| n * (ln_gamma(p * x + q) - ln_gamma(p * x)))
            .sum();
        let fixed = self.customers * (q * v.ln() - ln_gamma(q)) + p * self.x_ln_m - self.ln_m
            + p * self.x_ln_x;
        let tail = weighted_sum(&self.patterns, |&(x, m, c)| {
            c * (p * x + q) * (x * m + v).ln()
        });
        gammas + fixed - tail
    }
}

fn total_ll(params: &GammaGammaParams, patterns: &[SpendPattern]) -> f64 {
    SpendSums::new(patterns).total_ll(params)
}

/// Total log-likelihood over the repeat buyers with positive spend.
pub fn log_likelihood(params: &GammaGammaParams, customers: &[SpendCustomer]) -> Result<f64> {
    let (patterns, _) = spend_patterns(customers)?;
    if patterns.is_empty() {
        return Err(Error::EmptyInput);
    }
    finite_output(total_ll(params, &patterns), "Gamma-Gamma log-likelihood")
}

/// Fits Gamma-Gamma on all customers given; one-time buyers and repeat buyers with non-positive
/// mean spend are left out and counted in `excluded`.
pub fn fit(
    customers: &[SpendCustomer],
    options: &FitOptions,
) -> Result<FitResult<GammaGammaParams>> {
    let (patterns, excluded) = spend_patterns(customers)?;
    fit_patterns(&patterns, excluded, options)
}

/// Fits Gamma-Gamma on spend patterns (see [`SpendCounter`]); `excluded`
/// carries the customers left out, by reason code, into the result.
pub fn fit_patterns(
    patterns: &[SpendPattern],
    excluded: BTreeMap<String, u64>,
    options: &FitOptions,
) -> Result<FitResult<GammaGammaParams>> {
    if patterns.is_empty() {
        return Err(Error::EmptyInput);
    }
    let n: u64 = patterns.iter().map(|p| p.count).sum();
    let sums = SpendSums::new(patterns);
    let ll = |v: &[f64]| sums.total_ll(&GammaGammaParams::from_slice(v));
    let problem = MleProblem {
        model: "gamma_gamma",
        names: GammaGammaParams::NAMES,
        log_likelihood: &ll,
        total_weight: n as f64,
        penalty_scale: vec![1.0, 1.0, 1.0],
        initial: vec![1.0, 1.0, 1.0],
    };
    let outcome = maximise(&problem, options)?;
    Ok(into_result(
        "gamma_gamma",
        outcome,
        n,
        patterns.len(),
        excluded,
        options.penalizer,
    ))
}
