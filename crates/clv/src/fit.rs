//! Maximum-likelihood engine shared by every model.
//!
//! Parameters are optimised in log space (so positivity needs no constraints) on the mean
//! negative log-likelihood plus an optional L2 penalty, as lifetimes does. Nelder–Mead from
//! `argmin` finds the basin robustly without gradients; a few Newton steps with a
//! finite-difference Hessian then drive the gradient to round-off, which is what lets the fitted
//! parameters match published values to 6 digits. The same Hessian gives the standard errors.

use std::collections::BTreeMap;

use argmin::core::{CostFunction, Executor, State};
use argmin::solver::neldermead::NelderMead;
use rayon::prelude::*;
use serde::Serialize;

use crate::{Error, Result};

/// Options common to every fit.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// L2 penalty `λ Σ θ²` added to the *mean* negative log-likelihood, as lifetimes'
    /// `penalizer_coef`. Rate parameters (α, β of the transaction models) enter the penalty in
    /// units of the largest customer age, as in lifetimes, so the penalty does not depend on
    /// whether time is measured in days or weeks.
    pub penalizer: f64,
    /// Iteration budget of each stage: Nelder–Mead gets this many iterations, the Newton polish
    /// at most this many (and never more than 60) steps.
    pub max_iterations: u64,
    /// Starting values in natural units, in the model's parameter order; `None` uses defaults.
    pub initial: Option<Vec<f64>>,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            penalizer: 0.0,
            max_iterations: 4000,
            initial: None,
        }
    }
}

impl FitOptions {
    pub fn with_penalizer(penalizer: f64) -> Self {
        Self {
            penalizer,
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self, n_params: usize) -> Result<()> {
        if !(self.penalizer.is_finite() && self.penalizer >= 0.0) {
            return Err(Error::InvalidOption(format!(
                "penalizer must be a finite number >= 0, found {}",
                self.penalizer
            )));
        }
        if let Some(init) = &self.initial
            && (init.len() != n_params || init.iter().any(|v| !(v.is_finite() && *v > 0.0)))
        {
            return Err(Error::InvalidOption(format!(
                "initial values must be {n_params} finite positive numbers, found {init:?}"
            )));
        }
        Ok(())
    }
}

/// Why a fit is not trustworthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueReason {
    IterationsExhausted,
    NonFiniteLikelihood,
    ParameterAtBound,
    FlatLikelihood,
}

impl std::fmt::Display for IssueReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::IterationsExhausted => "iterations exhausted",
            Self::NonFiniteLikelihood => "non-finite likelihood",
            Self::ParameterAtBound => "parameter at a bound",
            Self::FlatLikelihood => "flat likelihood (Hessian not positive definite)",
        })
    }
}

/// A convergence problem, what it means, and what to try.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConvergenceIssue {
    pub reason: IssueReason,
    pub detail: String,
    pub suggestion: String,
}

/// Model parameters with their conventional names.
pub trait ModelParams: Sized + Copy + Serialize {
    const NAMES: &'static [&'static str];
    fn from_slice(values: &[f64]) -> Self;
    fn to_vec(&self) -> Vec<f64>;
}

/// The outcome of a fit, ready to print as one JSON object: parameters at the top level under
/// their usual names, then the log-likelihood (total over customers, in the data's time unit),
/// standard errors and diagnostics.
#[derive(Debug, Clone, Serialize)]
pub struct FitResult<P: ModelParams> {
    pub model: &'static str,
    #[serde(flatten)]
    pub params: P,
    pub log_likelihood: f64,
    pub n_customers: u64,
    pub n_patterns: usize,
    /// Delta-method standard errors; `None` when the Hessian is not positive definite.
    pub std_errors: Option<P>,
    /// Customers left out of the fit, by reason code.
    pub excluded: BTreeMap<String, u64>,
    pub penalizer: f64,
    pub converged: bool,
    pub iterations: u64,
    pub issue: Option<ConvergenceIssue>,
}

impl<P: ModelParams> FitResult<P> {
    /// Turns a fit that did not converge into [`Error::NotConverged`], for callers that must not
    /// go on with doubtful parameters.
    pub fn require_converged(self) -> Result<Self> {
        match (&self.issue, self.converged) {
            (None, true) => Ok(self),
            (Some(issue), _) => Err(Error::NotConverged {
                model: self.model,
                reason: issue.reason,
                detail: issue.detail.clone(),
                suggestion: issue.suggestion.clone(),
            }),
            (None, false) => Err(Error::NotConverged {
                model: self.model,
                reason: IssueReason::IterationsExhausted,
                detail: "the optimiser stopped before the gradient vanished".to_owned(),
                suggestion: suggestion(IssueReason::IterationsExhausted, self.penalizer),
            }),
        }
    }
}

pub(crate) fn suggestion(reason: IssueReason, penalizer: f64) -> String {
    let stronger = if penalizer > 0.0 {
        penalizer * 10.0
    } else {
        0.001
    };
    match reason {
        IssueReason::IterationsExhausted => format!(
            "raise max_iterations, or try a penalizer of {stronger}; check that the data are in one time unit"
        ),
        IssueReason::NonFiniteLikelihood => format!(
            "check the input summary (x, t_x, T) for extreme values, or try a penalizer of {stronger}"
        ),
        IssueReason::ParameterAtBound => format!(
            "the data do not identify this parameter (too few repeat buyers or too short a history); try a penalizer of {stronger}"
        ),
        IssueReason::FlatLikelihood => format!(
            "the likelihood is flat around the optimum; try a penalizer of {stronger} or more data"
        ),
    }
}

/// Sum of `f` over items; chunked in parallel above a size where threads pay off. The chunking
/// is fixed, so the floating-point sum is the same on every run and every machine.
pub(crate) fn weighted_sum<T: Sync>(items: &[T], f: impl Fn(&T) -> f64 + Sync) -> f64 {
    const PARALLEL_MIN: usize = 8192;
    const CHUNK: usize = 2048;
    if items.len() < PARALLEL_MIN {
        return items.iter().map(&f).sum();
    }
    let partial: Vec<f64> = items
        .par_chunks(CHUNK)
        .map(|chunk| chunk.iter().map(&f).sum::<f64>())
        .collect();
    partial.iter().sum()
}

/// What a model hands to the engine.
pub(crate) struct MleProblem<'a> {
    pub model: &'static str,
    pub names: &'static [&'static str],
    /// Total (weighted) log-likelihood at natural parameters; may be non-finite.
    pub log_likelihood: &'a (dyn Fn(&[f64]) -> f64 + Sync),
    pub total_weight: f64,
    /// Divisors applied to parameters inside the penalty (1 except for rate parameters).
    pub penalty_scale: Vec<f64>,
    pub initial: Vec<f64>,
}

pub(crate) struct MleOutcome {
    pub params: Vec<f64>,
    pub log_likelihood: f64,
    pub std_errors: Option<Vec<f64>>,
    pub converged: bool,
    pub iterations: u64,
    pub issue: Option<ConvergenceIssue>,
}

/// |ln θ| beyond this is treated as a runaway parameter (θ outside about [1e-11, 1e11]).
const LOG_BOUND: f64 = 25.0;
/// Cost the simplex sees for an invalid point; finite so Nelder–Mead can sort its vertices.
const INVALID_COST: f64 = 1e100;

struct Objective<'p, 'a> {
    problem: &'p MleProblem<'a>,
    penalizer: f64,
}

impl Objective<'_, '_> {
    fn value(&self, log_params: &[f64]) -> f64 {
        if log_params
            .iter()
            .any(|u| !u.is_finite() || u.abs() > LOG_BOUND)
        {
            return f64::NAN;
        }
        let params: Vec<f64> = log_params.iter().map(|u| u.exp()).collect();
        let ll = (self.problem.log_likelihood)(&params);
        let penalty: f64 = params
            .iter()
            .zip(&self.problem.penalty_scale)
            .map(|(p, s)| (p / s).powi(2))
            .sum();
        -ll / self.problem.total_weight + self.penalizer * penalty
    }
}

impl CostFunction for Objective<'_, '_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, param: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        let v = self.value(param);
        Ok(if v.is_finite() { v } else { INVALID_COST })
    }
}

const GRAD_STEP: f64 = 1e-5;
const HESS_STEP: f64 = 1e-4;

fn gradient(f: &impl Fn(&[f64]) -> f64, u: &[f64]) -> Vec<f64> {
    let mut x = u.to_vec();
    (0..u.len())
        .map(|i| {
            x[i] = u[i] + GRAD_STEP;
            let up = f(&x);
            x[i] = u[i] - GRAD_STEP;
            let down = f(&x);
            x[i] = u[i];
            (up - down) / (2.0 * GRAD_STEP)
        })
        .collect()
}

fn hessian(f: &impl Fn(&[f64]) -> f64, u: &[f64]) -> Vec<Vec<f64>> {
    let n = u.len();
    let h = HESS_STEP;
    let f0 = f(u);
    let mut x = u.to_vec();
    let mut out = vec![vec![0.0; n]; n];
    for i in 0..n {
        x[i] = u[i] + h;
        let up = f(&x);
        x[i] = u[i] - h;
        let down = f(&x);
        x[i] = u[i];
        out[i][i] = (up - 2.0 * f0 + down) / (h * h);
        for j in 0..i {
            let mut corner = |si: f64, sj: f64| {
                x[i] = u[i] + si * h;
                x[j] = u[j] + sj * h;
                let v = f(&x);
                x[i] = u[i];
                x[j] = u[j];
                v
            };
            let v = (corner(1.0, 1.0) - corner(1.0, -1.0) - corner(-1.0, 1.0) + corner(-1.0, -1.0))
                / (4.0 * h * h);
            out[i][j] = v;
            out[j][i] = v;
        }
    }
    out
}

/// Cholesky factor of a symmetric matrix, or `None` if it is not positive definite.
fn cholesky(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = m[i][i] - s;
                if !(d > 0.0 && d.is_finite()) {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (m[i][j] - s) / l[j][j];
            }
        }
    }
    Some(l)
}

fn cholesky_solve(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let n = b.len();
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    x
}

/// Diagonal of the inverse of a positive-definite matrix given its Cholesky factor.
fn inverse_diagonal(l: &[Vec<f64>]) -> Vec<f64> {
    let n = l.len();
    (0..n)
        .map(|i| {
            let mut e = vec![0.0; n];
            e[i] = 1.0;
            cholesky_solve(l, &e)[i]
        })
        .collect()
}

/// Newton steps are taken until the mean-objective gradient (per log-parameter) is below this.
const GRAD_TOL: f64 = 1e-9;
/// ... or until a full Newton step moves no log-parameter by more than this.
const STEP_TOL: f64 = 1e-10;
const NEWTON_MAX: u64 = 60;

pub(crate) fn maximise(problem: &MleProblem<'_>, options: &FitOptions) -> Result<MleOutcome> {
    options.validate(problem.names.len())?;
    let objective = Objective {
        problem,
        penalizer: options.penalizer,
    };
    let init: Vec<f64> = options
        .initial
        .clone()
        .unwrap_or_else(|| problem.initial.clone())
        .iter()
        .map(|v| v.ln())
        .collect();
    if !objective.value(&init).is_finite() {
        return Err(Error::NotConverged {
            model: problem.model,
            reason: IssueReason::NonFiniteLikelihood,
            detail: format!(
                "the log-likelihood is not finite at the starting values {:?}",
                options.initial.as_ref().unwrap_or(&problem.initial)
            ),
            suggestion: suggestion(IssueReason::NonFiniteLikelihood, options.penalizer),
        });
    }

    // Stage 1: derivative-free search for the basin.
    let mut simplex = vec![init.clone()];
    for i in 0..init.len() {
        let mut v = init.clone();
        v[i] += 0.5;
        simplex.push(v);
    }
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(1e-8)
        .map_err(|e| Error::Numerical(format!("Nelder-Mead set-up failed: {e}")))?;
    let result = Executor::new(
        Objective {
            problem,
            penalizer: options.penalizer,
        },
        solver,
    )
    .configure(|state| state.max_iters(options.max_iterations))
    .run()
    .map_err(|e| Error::Numerical(format!("Nelder-Mead failed: {e}")))?;
    let nm_iterations = result.state().get_iter();
    let mut u = result
        .state()
        .get_best_param()
        .cloned()
        .unwrap_or_else(|| init.clone());
    let nm_exhausted = nm_iterations >= options.max_iterations;

    // Stage 2: Newton polish.
    let f = |x: &[f64]| objective.value(x);
    let mut fu = f(&u);
    let mut converged = false;
    let mut newton_iterations = 0;
    let newton_max = NEWTON_MAX.min(options.max_iterations);
    while newton_iterations < newton_max && fu.is_finite() {
        newton_iterations += 1;
        let g = gradient(&f, &u);
        if g.iter().all(|gi| gi.abs() < GRAD_TOL) {
            converged = true;
            break;
        }
        let h = hessian(&f, &u);
        let direction: Vec<f64> = match cholesky(&h) {
            Some(l) => cholesky_solve(&l, &g).iter().map(|d| -d).collect(),
            None => g.iter().map(|gi| -gi).collect(),
        };
        let slope: f64 = g.iter().zip(&direction).map(|(a, b)| a * b).sum();
        let mut step = 1.0;
        let mut accepted = false;
        while step > 1e-12 {
            let trial: Vec<f64> = u
                .iter()
                .zip(&direction)
                .map(|(ui, di)| ui + step * di)
                .collect();
            let ft = f(&trial);
            if ft.is_finite() && ft <= fu + 1e-4 * step * slope.min(0.0) {
                let moved = direction
                    .iter()
                    .map(|d| (step * d).abs())
                    .fold(0.0, f64::max);
                u = trial;
                fu = ft;
                accepted = true;
                if moved < STEP_TOL && g.iter().all(|gi| gi.abs() < GRAD_TOL * 1e3) {
                    converged = true;
                }
                break;
            }
            step *= 0.5;
        }
        if converged {
            break;
        }
        if !accepted {
            // No descent along Newton or gradient: we sit at the optimum to round-off, provided the
            // gradient is already small.
            converged = g.iter().all(|gi| gi.abs() < GRAD_TOL * 1e3);
            break;
        }
    }

    let params: Vec<f64> = u.iter().map(|v| v.exp()).collect();
    let log_likelihood = (problem.log_likelihood)(&params);
    let iterations = nm_iterations + newton_iterations;
    if !log_likelihood.is_finite() || !fu.is_finite() {
        return Err(Error::NotConverged {
            model: problem.model,
            reason: IssueReason::NonFiniteLikelihood,
            detail: format!("the log-likelihood became non-finite at {params:?}"),
            suggestion: suggestion(IssueReason::NonFiniteLikelihood, options.penalizer),
        });
    }

    // Standard errors from the Hessian of the total objective in log space, mapped to natural
    // units by the delta method (Var θ = θ² Var ln θ).
    let total = |x: &[f64]| objective.value(x) * problem.total_weight;
    let h = hessian(&total, &u);
    let std_errors = cholesky(&h).map(|l| {
        inverse_diagonal(&l)
            .iter()
            .zip(&params)
            .map(|(v, p)| p * v.sqrt())
            .collect::<Vec<f64>>()
    });
    let std_errors = std_errors.filter(|se| se.iter().all(|v| v.is_finite()));

    let mut issue = None;
    if let Some(i) = u.iter().position(|v| v.abs() > LOG_BOUND - 2.0) {
        issue = Some(ConvergenceIssue {
            reason: IssueReason::ParameterAtBound,
            detail: format!(
                "{} = {:e} ran to the edge of the search range",
                problem.names[i], params[i]
            ),
            suggestion: suggestion(IssueReason::ParameterAtBound, options.penalizer),
        });
        converged = false;
    } else if !converged {
        let reason = if nm_exhausted || newton_iterations >= newton_max {
            IssueReason::IterationsExhausted
        } else {
            IssueReason::FlatLikelihood
        };
        issue = Some(ConvergenceIssue {
            reason,
            detail: format!("stopped after {iterations} iterations with the gradient not yet zero"),
            suggestion: suggestion(reason, options.penalizer),
        });
    } else if std_errors.is_none() {
        issue = Some(ConvergenceIssue {
            reason: IssueReason::FlatLikelihood,
            detail: "the Hessian at the optimum is not positive definite, so no standard errors"
                .to_owned(),
            suggestion: suggestion(IssueReason::FlatLikelihood, options.penalizer),
        });
    }

    Ok(MleOutcome {
        params,
        log_likelihood,
        std_errors,
        converged,
        iterations,
        issue,
    })
}

/// Assembles the public result from the engine's outcome.
pub(crate) fn into_result<P: ModelParams>(
    model: &'static str,
    outcome: MleOutcome,
    n_customers: u64,
    n_patterns: usize,
    excluded: BTreeMap<String, u64>,
    penalizer: f64,
) -> FitResult<P> {
    FitResult {
        model,
        params: P::from_slice(&outcome.params),
        log_likelihood: outcome.log_likelihood,
        n_customers,
        n_patterns,
        std_errors: outcome.std_errors.map(|v| P::from_slice(&v)),
        excluded,
        penalizer,
        converged: outcome.converged,
        iterations: outcome.iterations,
        issue: outcome.issue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_known_optimum_with_standard_errors() {
        // A normal-like log-likelihood in log space: maximum at θ = (2, 0.5), curvature known.
        let ll = |p: &[f64]| -> f64 {
            let (u, v) = (p[0].ln() - 2f64.ln(), p[1].ln() - 0.5f64.ln());
            -50.0 * (u * u + 2.0 * v * v)
        };
        let problem = MleProblem {
            model: "test",
            names: &["a", "b"],
            log_likelihood: &ll,
            total_weight: 100.0,
            penalty_scale: vec![1.0, 1.0],
            initial: vec![1.0, 1.0],
        };
        let out = maximise(&problem, &FitOptions::default()).unwrap();
        assert!(out.converged, "{:?}", out.issue);
        assert!((out.params[0] - 2.0).abs() < 1e-7);
        assert!((out.params[1] - 0.5).abs() < 1e-7);
        // Var ln a = 1/100, so se(a) = 2 * 0.1.
        let se = out.std_errors.unwrap();
        assert!((se[0] - 0.2).abs() < 1e-5, "{se:?}");
        assert!((se[1] - 0.5 * (1.0f64 / 200.0).sqrt()).abs() < 1e-5);
    }

    #[test]
    fn deterministic_parallel_sum() {
        let v: Vec<f64> = (0..100_000).map(|i| (i as f64).sin()).collect();
        let a = weighted_sum(&v, |x| *x);
        let b = weighted_sum(&v, |x| *x);
        assert_eq!(a.to_bits(), b.to_bits());
        assert!((a - v.iter().sum::<f64>()).abs() < 1e-9);
    }
}
