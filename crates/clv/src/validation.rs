//! Holdout validation: how well a model's forecast matches what customers actually did, and
//! whether it beats a simple baseline at finding the best customers.
//!
//! Everything here is a pure function over per-customer vectors in the same order.

use serde::Serialize;

use crate::clv::TimeUnit;
use crate::data::Customer;
use crate::{Error, Result};

/// Calibration frequencies 0..=6 get a bucket each; 7 and above are pooled, as in FHL 2005.
pub const POOLED_FREQUENCY: u32 = 7;

/// Mean predicted and actual holdout purchases of the customers with one calibration frequency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrequencyBucket {
    /// "0" … "6", or "7+".
    pub bucket: String,
    pub customers: u64,
    pub mean_predicted: f64,
    pub mean_actual: f64,
}

fn check_lengths(what: &str, a: usize, b: usize) -> Result<()> {
    if a != b {
        return Err(Error::InvalidOption(format!(
            "{what}: vectors differ in length ({a} vs {b})"
        )));
    }
    if a == 0 {
        return Err(Error::EmptyInput);
    }
    Ok(())
}

fn check_finite(what: &str, v: &[f64]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(Error::InvalidInput {
            index,
            message: format!("{what} must be finite, found {}", v[index]),
        }),
        None => Ok(()),
    }
}

/// Predicted vs actual holdout purchases by calibration frequency (buckets without customers are
/// left out).
pub fn holdout_by_frequency(
    frequency: &[u32],
    predicted: &[f64],
    actual: &[f64],
) -> Result<Vec<FrequencyBucket>> {
    check_lengths("holdout_by_frequency", frequency.len(), predicted.len())?;
    check_lengths("holdout_by_frequency", frequency.len(), actual.len())?;
    check_finite("predicted", predicted)?;
    check_finite("actual", actual)?;
    let n_buckets = POOLED_FREQUENCY as usize + 1;
    let mut sums = vec![(0_u64, 0.0_f64, 0.0_f64); n_buckets];
    for ((&x, &p), &a) in frequency.iter().zip(predicted).zip(actual) {
        let b = x.min(POOLED_FREQUENCY) as usize;
        sums[b].0 += 1;
        sums[b].1 += p;
        sums[b].2 += a;
    }
    Ok(sums
        .into_iter()
        .enumerate()
        .filter(|(_, (n, _, _))| *n > 0)
        .map(|(b, (n, p, a))| FrequencyBucket {
            bucket: if b == POOLED_FREQUENCY as usize {
                format!("{POOLED_FREQUENCY}+")
            } else {
                b.to_string()
            },
            customers: n,
            mean_predicted: p / n as f64,
            mean_actual: a / n as f64,
        })
        .collect())
}

/// Mean absolute error.
pub fn mae(predicted: &[f64], actual: &[f64]) -> Result<f64> {
    check_lengths("mae", predicted.len(), actual.len())?;
    check_finite("predicted", predicted)?;
    check_finite("actual", actual)?;
    Ok(predicted
        .iter()
        .zip(actual)
        .map(|(p, a)| (p - a).abs())
        .sum::<f64>()
        / predicted.len() as f64)
}

/// Root mean squared error.
pub fn rmse(predicted: &[f64], actual: &[f64]) -> Result<f64> {
    check_lengths("rmse", predicted.len(), actual.len())?;
    check_finite("predicted", predicted)?;
    check_finite("actual", actual)?;
    Ok((predicted
        .iter()
        .zip(actual)
        .map(|(p, a)| (p - a).powi(2))
        .sum::<f64>()
        / predicted.len() as f64)
        .sqrt())
}

/// Indices of the `k` largest values, ties broken by position so the answer is reproducible.
fn top_k(values: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&i, &j| values[j].total_cmp(&values[i]).then(i.cmp(&j)));
    idx.truncate(k);
    idx
}

/// How much of the best customers' holdout value a ranking finds.
///
/// With `k = ceil(share · n)`: the sum of `truth` over the `k` customers with the highest `scores`,
/// divided by the sum of `truth` over the true top `k`. `truth` is actual holdout purchases or
/// value. Measuring captured value rather than set overlap makes the result independent of how
/// ties among the many zero-purchase customers are broken. 1 means the ranking found the best
/// customers exactly; 0 is returned when nobody bought anything in the holdout.
pub fn top_share_capture(scores: &[f64], truth: &[f64], share: f64) -> Result<f64> {
    check_lengths("top_share_capture", scores.len(), truth.len())?;
    check_finite("scores", scores)?;
    check_finite("truth", truth)?;
    if !(share > 0.0 && share <= 1.0) {
        return Err(Error::InvalidOption(format!(
            "share must be in (0, 1], found {share}"
        )));
    }
    let k = ((share * scores.len() as f64).ceil() as usize).max(1);
    let best: f64 = top_k(truth, k).iter().map(|&i| truth[i]).sum();
    if best <= 0.0 {
        return Ok(0.0);
    }
    let found: f64 = top_k(scores, k).iter().map(|&i| truth[i]).sum();
    Ok(found / best)
}

/// A model's grade against a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Grade {
    /// The model captures at least 5 % more (relative) than the baseline.
    A,
    /// Between 0 and 5 % more.
    B,
    /// Less than the baseline.
    C,
}

/// The comparison behind a [`Grade`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TopCustomerGrade {
    pub model_capture: f64,
    pub baseline_capture: f64,
    /// `model / baseline − 1`; 0 when both capture nothing, 1 (+100 %) when only the model does.
    pub relative_gain: f64,
    pub grade: Grade,
}

/// Grades a model by its capture of the true top `share` of holdout customers versus the
/// baseline's: A for a relative gain of 5 % or more, B for 0–5 %, C for a loss.
pub fn grade_top_customers(
    model_scores: &[f64],
    baseline_scores: &[f64],
    truth: &[f64],
    share: f64,
) -> Result<TopCustomerGrade> {
    let model_capture = top_share_capture(model_scores, truth, share)?;
    let baseline_capture = top_share_capture(baseline_scores, truth, share)?;
    let relative_gain = if baseline_capture > 0.0 {
        model_capture / baseline_capture - 1.0
    } else if model_capture > 0.0 {
        1.0
    } else {
        0.0
    };
    let grade = if relative_gain >= 0.05 {
        Grade::A
    } else if relative_gain >= 0.0 {
        Grade::B
    } else {
        Grade::C
    };
    Ok(TopCustomerGrade {
        model_capture,
        baseline_capture,
        relative_gain,
        grade,
    })
}

/// Retention rate of the simple baseline: the share of calibration customers whose last purchase
/// (the first one when x = 0) lies within the last `window` time units of calibration, i.e. with
/// `T − t_x <= window`. With a window of 90 days this is "bought in the last quarter".
pub fn retention_rate(customers: &[Customer], window: f64) -> Result<f64> {
    if customers.is_empty() {
        return Err(Error::EmptyInput);
    }
    if !(window.is_finite() && window >= 0.0) {
        return Err(Error::InvalidOption(format!(
            "the retention window must be a finite number >= 0, found {window}"
        )));
    }
    let mut retained = 0_u64;
    for (i, c) in customers.iter().enumerate() {
        c.validate(i)?;
        if c.age - c.recency <= window {
            retained += 1;
        }
    }
    Ok(retained as f64 / customers.len() as f64)
}

/// The Microsoft Dynamics 365 Customer Insights style simple CLV forecast of purchases:
/// `average monthly purchases × months × retention rate`.
///
/// A customer's average monthly purchases are all their purchase days in calibration, the first
/// included (`x + 1`), divided by their tenure `T` in months, where tenure is floored at one month
/// so a customer acquired last week is not extrapolated to dozens of purchases a month.
/// `retention_rate` is one number for the whole base (see [`retention_rate`]).
pub fn baseline_expected_purchases(
    customer: &Customer,
    months: f64,
    retention_rate: f64,
    time_unit: TimeUnit,
) -> Result<f64> {
    customer.validate(0)?;
    if !(months.is_finite() && months >= 0.0 && (0.0..=1.0).contains(&retention_rate)) {
        return Err(Error::InvalidOption(format!(
            "months must be >= 0 and the retention rate in [0, 1]; found {months} and {retention_rate}"
        )));
    }
    let tenure_months = (customer.age / time_unit.periods_per_month()).max(1.0);
    let monthly = (f64::from(customer.frequency) + 1.0) / tenure_months;
    Ok(monthly * months * retention_rate)
}

/// The baseline's CLV: forecast purchases times the customer's average purchase value.
pub fn baseline_clv(
    customer: &Customer,
    average_purchase_value: f64,
    months: f64,
    retention_rate: f64,
    time_unit: TimeUnit,
) -> Result<f64> {
    if !average_purchase_value.is_finite() {
        return Err(Error::InvalidOption(format!(
            "average purchase value must be finite, found {average_purchase_value}"
        )));
    }
    Ok(
        baseline_expected_purchases(customer, months, retention_rate, time_unit)?
            * average_purchase_value,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_pool_seven_plus() {
        let b = holdout_by_frequency(
            &[0, 0, 1, 7, 12],
            &[0.1, 0.3, 1.0, 5.0, 7.0],
            &[0.0, 1.0, 2.0, 4.0, 8.0],
        )
        .unwrap();
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].bucket, "0");
        assert!((b[0].mean_predicted - 0.2).abs() < 1e-15);
        assert!((b[0].mean_actual - 0.5).abs() < 1e-15);
        assert_eq!(b[2].bucket, "7+");
        assert_eq!(b[2].customers, 2);
        assert!((b[2].mean_actual - 6.0).abs() < 1e-15);
    }

    #[test]
    fn errors_by_hand() {
        let p = [1.0, 2.0, 3.0];
        let a = [2.0, 2.0, 0.0];
        assert!((mae(&p, &a).unwrap() - 4.0 / 3.0).abs() < 1e-15);
        assert!((rmse(&p, &a).unwrap() - (10.0_f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!(mae(&p, &a[..2]).is_err());
        assert!(rmse(&[f64::NAN], &[1.0]).is_err());
    }

    #[test]
    fn capture_and_grades() {
        let truth = [10.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let perfect = [9.0, 0.0, 0.0, 0.0, 8.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let half = [0.0, 0.0, 0.0, 0.0, 8.0, 9.0, 0.0, 0.0, 0.0, 0.0];
        // share 0.2 of 10 → k = 2; true top value 15.
        assert_eq!(top_share_capture(&perfect, &truth, 0.2).unwrap(), 1.0);
        assert!((top_share_capture(&half, &truth, 0.2).unwrap() - 5.0 / 15.0).abs() < 1e-15);
        assert_eq!(
            grade_top_customers(&perfect, &half, &truth, 0.2)
                .unwrap()
                .grade,
            Grade::A
        );
        assert_eq!(
            grade_top_customers(&half, &perfect, &truth, 0.2)
                .unwrap()
                .grade,
            Grade::C
        );
        let g = grade_top_customers(&perfect, &perfect, &truth, 0.2).unwrap();
        assert_eq!((g.grade, g.relative_gain), (Grade::B, 0.0));
    }

    #[test]
    fn baseline_by_hand() {
        let cs = [
            Customer::new(2, 30.0, 38.0),
            Customer::new(0, 0.0, 38.0),
            Customer::new(1, 10.0, 12.0),
            Customer::new(0, 0.0, 2.0),
        ];
        // T − t_x: 8, 38, 2, 2 → within 4 weeks: customers 3 and 4.
        assert_eq!(retention_rate(&cs, 4.0).unwrap(), 0.5);
        // 3 purchases over 38/4.345 months, 12 months, retention 0.5.
        let want = 3.0 / (38.0 / 4.345) * 12.0 * 0.5;
        let got = baseline_expected_purchases(&cs[0], 12.0, 0.5, TimeUnit::Week).unwrap();
        assert!((got - want).abs() < 1e-12);
        // Tenure below one month is floored at a month.
        let got = baseline_expected_purchases(&cs[3], 1.0, 1.0, TimeUnit::Week).unwrap();
        assert!((got - 1.0).abs() < 1e-12);
        assert!(
            (baseline_clv(&cs[3], 20.0, 1.0, 1.0, TimeUnit::Week).unwrap() - 20.0).abs() < 1e-12
        );
    }
}
