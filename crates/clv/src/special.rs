//! Special functions the likelihoods need and no small crate provides in the form we want.
//!
//! `ln Γ` comes from `libm` (musl's `lgamma_r`, accurate to a few ulp); the Gauss hypergeometric
//! function is hand-written because every BTYD expectation needs `ln ₂F₁` for arguments where the
//! plain value overflows (large `x`) and no maintained Rust crate offers it in log space.

use crate::{Error, Result};

/// `ln Γ(x)` for `x > 0`.
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma_r(x).0
}

/// `ln B(a, b)` for `a, b > 0`.
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// `ln(e^a + e^b)` without overflow; `-inf` inputs are neutral.
pub fn log_add_exp(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if hi == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// `ln(e^a - e^b)` for `a >= b`; returns `-inf` when the two are equal.
pub fn log_sub_exp(a: f64, b: f64) -> f64 {
    if b == f64::NEG_INFINITY {
        return a;
    }
    // -expm1 keeps full precision when a and b are close, where 1 - e^(b-a) would cancel.
    a + (-(b - a).exp_m1()).ln()
}

/// Logistic `1 / (1 + e^u)` evaluated so that large `u` gives a tiny positive number, not 0 via
/// `1/inf` cancellation, and its logarithm stays finite.
pub fn ln_one_over_one_plus_exp(u: f64) -> f64 {
    if u > 0.0 {
        -u - (-u).exp().ln_1p()
    } else {
        -(u.exp().ln_1p())
    }
}

/// A value held as `sign · e^ln_abs`, so that huge or tiny hypergeometric values survive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignedLog {
    pub ln_abs: f64,
    pub sign: f64,
}

const MAX_SERIES_TERMS: usize = 2_000_000;

/// `ln ₂F₁(a, b; c; z)` for real `z < 1`, returning the sign separately.
///
/// The defining series is summed in log space with running rescaling, so terms that grow to
/// 1e400 before decaying (large `a + b − c`) never overflow. For `z < −0.5` the Pfaff transform
/// `₂F₁(a,b;c;z) = (1−z)^{−a} ₂F₁(a, c−b; c; z/(z−1))` maps the argument into `[1/3, 1)` where the
/// alternating series would otherwise converge slowly and cancel badly. Close to `z = 1` with
/// `a, b, c > 0` the Euler transform `(1−z)^{c−a−b} ₂F₁(c−a, c−b; c; z)` is used when it turns
/// growing terms into terminating or faster-shrinking ones (both `c−a` and `c−b` are then
/// non-negative, so no cancellation is introduced).
pub fn ln_hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Result<SignedLog> {
    if !(a.is_finite() && b.is_finite() && c.is_finite() && z.is_finite()) || z >= 1.0 {
        return Err(Error::Numerical(format!(
            "2F1({a}, {b}; {c}; {z}) is outside the supported domain (finite arguments, z < 1)"
        )));
    }
    if c <= 0.0 && c.fract() == 0.0 {
        return Err(Error::Numerical(format!(
            "2F1({a}, {b}; {c}; {z}) has a pole: c is a non-positive integer"
        )));
    }
    if z < -0.5 {
        let w = z / (z - 1.0);
        let inner = hyp2f1_series(a, c - b, c, w)?;
        return Ok(SignedLog {
            ln_abs: inner.ln_abs - a * (-z).ln_1p(),
            sign: inner.sign,
        });
    }
    let (ca, cb) = (c - a, c - b);
    if z > 0.5 && a > 0.0 && b > 0.0 && c > 0.0 && ca >= 0.0 && cb >= 0.0 && ca + cb < a + b {
        let inner = hyp2f1_series(ca, cb, c, z)?;
        return Ok(SignedLog {
            ln_abs: inner.ln_abs + (c - a - b) * (-z).ln_1p(),
            sign: inner.sign,
        });
    }
    hyp2f1_series(a, b, c, z)
}

/// Positive-valued convenience wrapper: the BTYD formulas only call ₂F₁ where it is positive.
pub fn ln_hyp2f1_positive(a: f64, b: f64, c: f64, z: f64) -> Result<f64> {
    let v = ln_hyp2f1(a, b, c, z)?;
    if v.sign > 0.0 && !v.ln_abs.is_nan() {
        Ok(v.ln_abs)
    } else {
        Err(Error::Numerical(format!(
            "2F1({a}, {b}; {c}; {z}) is not positive; the model parameters are outside the range where this expectation exists"
        )))
    }
}

fn hyp2f1_series(a: f64, b: f64, c: f64, z: f64) -> Result<SignedLog> {
    if z == 0.0 {
        return Ok(SignedLog {
            ln_abs: 0.0,
            sign: 1.0,
        });
    }
    // term_n = (a)_n (b)_n / ((c)_n n!) z^n by plain multiplication (no logarithms in the loop:
    // this series sits inside every Pareto/NBD likelihood evaluation). Sum and term are rescaled
    // together, with the scale kept as a logarithm, whenever the term grows large.
    const RESCALE_ABOVE: f64 = 1e200;
    let mut term = 1.0_f64;
    let mut sum = 1.0_f64;
    let mut ln_scale = 0.0_f64;
    for n in 0..MAX_SERIES_TERMS {
        let nf = n as f64;
        let (an, bn) = (a + nf, b + nf);
        if an == 0.0 || bn == 0.0 {
            // A non-positive integer a or b terminates the series: a polynomial.
            return finish(sum, ln_scale);
        }
        let ratio = an * bn / ((c + nf) * (nf + 1.0)) * z;
        term *= ratio;
        sum += term;
        if term.abs() > RESCALE_ABOVE {
            ln_scale += RESCALE_ABOVE.ln();
            term /= RESCALE_ABOVE;
            sum /= RESCALE_ABOVE;
        }
        // Stop when the tail cannot move the sum: once the ratio is below one it tends to |z|
        // from there on, so the tail is bounded by a geometric series with q = max(|ratio|, |z|).
        let q = ratio.abs().max(z.abs());
        if q < 1.0 && term.abs() * q / (1.0 - q) <= 1e-17 * sum.abs() {
            return finish(sum, ln_scale);
        }
    }
    Err(Error::Numerical(format!(
        "2F1({a}, {b}; {c}; {z}) did not converge in {MAX_SERIES_TERMS} terms (z too close to 1)"
    )))
}

fn finish(sum: f64, scale: f64) -> Result<SignedLog> {
    if sum == 0.0 || !sum.is_finite() {
        return Err(Error::Numerical(
            "2F1 series cancelled to zero or overflowed".to_owned(),
        ));
    }
    Ok(SignedLog {
        ln_abs: sum.abs().ln() + scale,
        sign: sum.signum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hyp(a: f64, b: f64, c: f64, z: f64) -> f64 {
        let v = ln_hyp2f1(a, b, c, z).unwrap();
        v.sign * v.ln_abs.exp()
    }

    fn close(got: f64, want: f64, rtol: f64) {
        assert!(
            (got - want).abs() <= rtol * want.abs(),
            "got {got}, want {want}"
        );
    }

    #[test]
    fn closed_forms() {
        for &z in &[-0.9, -0.3, 0.1, 0.5, 0.7, 0.95, 0.999] {
            // 2F1(1,1;2;z) = -ln(1-z)/z
            close(hyp(1.0, 1.0, 2.0, z), -(-z).ln_1p() / z, 1e-12);
            // 2F1(a,b;b;z) = (1-z)^-a
            close(hyp(0.7, 2.3, 2.3, z), (1.0 - z).powf(-0.7), 1e-12);
        }
        for &x in &[0.1_f64, 0.5, 0.9] {
            // 2F1(1/2,1/2;3/2;x^2) = asin(x)/x
            close(hyp(0.5, 0.5, 1.5, x * x), x.asin() / x, 1e-12);
        }
    }

    #[test]
    fn huge_values_stay_in_log_space() {
        // (1-z)^-a with a = 2000 overflows f64 as a plain number but not as a logarithm.
        let v = ln_hyp2f1(2000.0, 3.0, 3.0, 0.9).unwrap();
        close(v.ln_abs, -2000.0 * (0.1_f64).ln(), 1e-12);
    }

    #[test]
    fn rejects_bad_domain() {
        assert!(ln_hyp2f1(1.0, 1.0, 2.0, 1.0).is_err());
        assert!(ln_hyp2f1(1.0, 1.0, -2.0, 0.5).is_err());
        assert!(ln_hyp2f1(f64::NAN, 1.0, 2.0, 0.5).is_err());
    }

    #[test]
    fn log_helpers() {
        close(log_add_exp(1.0, 2.0), (1f64.exp() + 2f64.exp()).ln(), 1e-15);
        assert_eq!(log_add_exp(f64::NEG_INFINITY, 3.0), 3.0);
        close(log_sub_exp(2.0, 1.0), (2f64.exp() - 1f64.exp()).ln(), 1e-15);
        assert_eq!(log_sub_exp(1.0, 1.0), f64::NEG_INFINITY);
        close(ln_one_over_one_plus_exp(800.0), -800.0, 1e-15);
        close(
            ln_one_over_one_plus_exp(-3.0),
            -((-3.0_f64).exp().ln_1p()),
            1e-15,
        );
    }
}
