//! Holdout validation: how well a model's forecast matches what customers actually did, and
//! whether it beats a simple baseline at finding the best customers.
//!
//! Everything here is a pure function, either over per-customer vectors in the same order or
//! over [`HoldoutGroups`]: customers grouped by `(x, t_x, T)` pattern and holdout purchases.
//! Every statistic depends on a customer only through those two, so a large cohort can be
//! validated in memory for its groups rather than its customers. Both forms share one
//! implementation of each statistic and give the same answers.

use std::collections::HashMap;

use serde::Serialize;

use crate::clv::TimeUnit;
use crate::data::{Customer, PatternKey, RfmPattern, pattern_key, push_pattern};
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
    Ok(frequency_buckets(
        frequency
            .iter()
            .zip(predicted)
            .zip(actual)
            .map(|((&x, &p), &a)| (x, p, a, 1)),
    ))
}

/// Frequency buckets of `(x, predicted, actual, customers)` rows.
fn frequency_buckets(rows: impl Iterator<Item = (u32, f64, f64, u64)>) -> Vec<FrequencyBucket> {
    let n_buckets = POOLED_FREQUENCY as usize + 1;
    let mut sums = vec![(0_u64, 0.0_f64, 0.0_f64); n_buckets];
    for (x, p, a, n) in rows {
        let b = x.min(POOLED_FREQUENCY) as usize;
        sums[b].0 += n;
        sums[b].1 += p * n as f64;
        sums[b].2 += a * n as f64;
    }
    sums.into_iter()
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
        .collect()
}

/// Mean absolute error.
pub fn mae(predicted: &[f64], actual: &[f64]) -> Result<f64> {
    check_lengths("mae", predicted.len(), actual.len())?;
    check_finite("predicted", predicted)?;
    check_finite("actual", actual)?;
    Ok(errors(predicted.iter().zip(actual).map(|(&p, &a)| (p, a, 1))).0)
}

/// Root mean squared error.
pub fn rmse(predicted: &[f64], actual: &[f64]) -> Result<f64> {
    check_lengths("rmse", predicted.len(), actual.len())?;
    check_finite("predicted", predicted)?;
    check_finite("actual", actual)?;
    Ok(errors(predicted.iter().zip(actual).map(|(&p, &a)| (p, a, 1))).1)
}

/// Mean absolute and root mean squared error of `(predicted, actual, customers)` rows.
fn errors(rows: impl Iterator<Item = (f64, f64, u64)>) -> (f64, f64) {
    let (mut n, mut abs, mut sq) = (0_u64, 0.0_f64, 0.0_f64);
    for (p, a, c) in rows {
        n += c;
        abs += (p - a).abs() * c as f64;
        sq += (p - a).powi(2) * c as f64;
    }
    (abs / n as f64, (sq / n as f64).sqrt())
}

/// How much of the best customers' holdout value a ranking finds.
///
/// With `k = ceil(share · n)`: the sum of `truth` over the `k` customers with the highest `scores`,
/// divided by the sum of `truth` over the true top `k`. `truth` is actual holdout purchases or
/// value. Measuring captured value rather than set overlap keeps the many zero-purchase
/// customers out of it. Customers whose scores tie across the cut share it: each contributes the
/// same fraction of its truth (the expected capture when ties are broken at random), so the
/// answer never depends on the order of the customers. 1 means the ranking found the best
/// customers exactly; 0 is returned when nobody bought anything in the holdout.
pub fn top_share_capture(scores: &[f64], truth: &[f64], share: f64) -> Result<f64> {
    check_lengths("top_share_capture", scores.len(), truth.len())?;
    check_finite("scores", scores)?;
    check_finite("truth", truth)?;
    capture(
        scores.iter().zip(truth).map(|(&s, &t)| (s, t, 1)).collect(),
        share,
    )
}

/// [`top_share_capture`] over `(score, truth, customers)` rows.
fn capture(mut rows: Vec<(f64, f64, u64)>, share: f64) -> Result<f64> {
    if !(share > 0.0 && share <= 1.0) {
        return Err(Error::InvalidOption(format!(
            "share must be in (0, 1], found {share}"
        )));
    }
    let n: u64 = rows.iter().map(|r| r.2).sum();
    let k = ((share * n as f64).ceil() as u64).max(1);
    // The true top k: the largest truths first (ties there do not change the sum).
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut best = 0.0;
    let mut left = k;
    for &(_, t, c) in &rows {
        let take = c.min(left);
        best += t * take as f64;
        left -= take;
        if left == 0 {
            break;
        }
    }
    if best <= 0.0 {
        return Ok(0.0);
    }
    // The ranking's top k: whole blocks of equal scores, then a share of the block at the cut.
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut found = 0.0;
    let mut left = k;
    for block in rows.chunk_by(|a, b| a.0.total_cmp(&b.0).is_eq()) {
        let customers: u64 = block.iter().map(|r| r.2).sum();
        let value: f64 = block.iter().map(|r| r.1 * r.2 as f64).sum();
        if customers <= left {
            found += value;
            left -= customers;
        } else {
            found += value * left as f64 / customers as f64;
            left = 0;
        }
        if left == 0 {
            break;
        }
    }
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
    Ok(grade(
        top_share_capture(model_scores, truth, share)?,
        top_share_capture(baseline_scores, truth, share)?,
    ))
}

/// The grade of a model's capture against the baseline's.
fn grade(model_capture: f64, baseline_capture: f64) -> TopCustomerGrade {
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
    TopCustomerGrade {
        model_capture,
        baseline_capture,
        relative_gain,
        grade,
    }
}

/// Retention rate of the simple baseline: the share of calibration customers whose last purchase
/// (the first one when x = 0) lies within the last `window` time units of calibration, i.e. with
/// `T − t_x <= window`. With a window of 90 days this is "bought in the last quarter".
pub fn retention_rate(customers: &[Customer], window: f64) -> Result<f64> {
    if customers.is_empty() {
        return Err(Error::EmptyInput);
    }
    retained_share(customers.iter().map(|c| (*c, 1)), window)
}

/// [`retention_rate`] of `(customer, count)` rows.
fn retained_share(rows: impl Iterator<Item = (Customer, u64)>, window: f64) -> Result<f64> {
    if !(window.is_finite() && window >= 0.0) {
        return Err(Error::InvalidOption(format!(
            "the retention window must be a finite number >= 0, found {window}"
        )));
    }
    let (mut retained, mut all) = (0_u64, 0_u64);
    for (i, (c, n)) in rows.enumerate() {
        c.validate(i)?;
        all += n;
        if c.age - c.recency <= window {
            retained += n;
        }
    }
    if all == 0 {
        return Err(Error::EmptyInput);
    }
    Ok(retained as f64 / all as f64)
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

/// Calibration customers grouped by `(x, t_x, T)` pattern and, within a pattern, by holdout
/// purchases: all that validation needs (see the module documentation).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HoldoutGroups {
    /// The patterns with their customer counts, sorted by `(x, t_x, T)` as
    /// [`crate::compress_customers`] gives them: what the models fit on.
    pub patterns: Vec<RfmPattern>,
    /// The groups, sorted by pattern and holdout purchases.
    pub groups: Vec<HoldoutGroup>,
}

/// Customers of one pattern with the same holdout purchases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldoutGroup {
    /// Index into [`HoldoutGroups::patterns`].
    pub pattern: usize,
    pub actual: f64,
    pub customers: u64,
}

/// Collects customers one at a time into [`HoldoutGroups`], for summaries read in batches.
#[derive(Debug, Default)]
pub struct HoldoutCounter {
    counts: HashMap<(PatternKey, u64), u64, foldhash::fast::RandomState>,
    customers: usize,
}

impl HoldoutCounter {
    /// Validates one more customer and its holdout purchases and counts them in their group; an
    /// error names the customer by its position in the stream.
    pub fn add(&mut self, c: &Customer, actual: f64) -> Result<()> {
        c.validate(self.customers)?;
        if !(actual.is_finite() && actual >= 0.0) {
            return Err(Error::InvalidInput {
                index: self.customers,
                message: format!("holdout purchases must be a finite number >= 0, found {actual}"),
            });
        }
        self.customers += 1;
        // -0.0 passes the check above; adding +0.0 makes it 0.0, one key with 0.0.
        let actual = actual + 0.0;
        *self
            .counts
            .entry((pattern_key(c), actual.to_bits()))
            .or_insert(0) += 1;
        Ok(())
    }

    /// Customers counted so far.
    pub fn customers(&self) -> usize {
        self.customers
    }

    pub fn finish(self) -> HoldoutGroups {
        let mut keys: Vec<((PatternKey, u64), u64)> = self.counts.into_iter().collect();
        keys.sort_unstable_by_key(|(k, _)| *k);
        let mut out = HoldoutGroups::default();
        for ((key, actual), customers) in keys {
            push_pattern(&mut out.patterns, key, customers);
            out.groups.push(HoldoutGroup {
                pattern: out.patterns.len() - 1,
                actual: f64::from_bits(actual),
                customers,
            });
        }
        out
    }
}

impl HoldoutGroups {
    /// Groups per-customer vectors (in the same order).
    pub fn from_customers(customers: &[Customer], actual: &[f64]) -> Result<HoldoutGroups> {
        check_lengths("HoldoutGroups", customers.len(), actual.len())?;
        let mut counter = HoldoutCounter::default();
        for (c, a) in customers.iter().zip(actual) {
            counter.add(c, *a)?;
        }
        Ok(counter.finish())
    }

    pub fn customers(&self) -> u64 {
        self.patterns.iter().map(|p| p.count).sum()
    }

    pub fn total_actual(&self) -> f64 {
        self.groups
            .iter()
            .map(|g| g.actual * g.customers as f64)
            .sum()
    }

    /// Checks one value per pattern, finite.
    fn per_pattern(&self, what: &str, values: &[f64]) -> Result<()> {
        check_lengths(what, self.patterns.len(), values.len())?;
        check_finite(what, values)
    }

    /// `(pattern value, actual, customers)` of every group.
    fn rows<'a>(&'a self, values: &'a [f64]) -> impl Iterator<Item = (f64, f64, u64)> + 'a {
        self.groups
            .iter()
            .map(|g| (values[g.pattern], g.actual, g.customers))
    }

    /// [`holdout_by_frequency`], with one prediction per pattern.
    pub fn by_frequency(&self, predicted: &[f64]) -> Result<Vec<FrequencyBucket>> {
        self.per_pattern("predicted", predicted)?;
        Ok(frequency_buckets(self.groups.iter().map(|g| {
            (
                self.patterns[g.pattern].frequency,
                predicted[g.pattern],
                g.actual,
                g.customers,
            )
        })))
    }

    /// [`mae`] and [`rmse`], with one prediction per pattern.
    pub fn errors(&self, predicted: &[f64]) -> Result<(f64, f64)> {
        self.per_pattern("predicted", predicted)?;
        Ok(errors(self.rows(predicted)))
    }

    /// [`grade_top_customers`], with one model and one baseline score per pattern.
    pub fn grade(&self, model: &[f64], baseline: &[f64], share: f64) -> Result<TopCustomerGrade> {
        self.per_pattern("model scores", model)?;
        self.per_pattern("baseline scores", baseline)?;
        Ok(grade(
            capture(self.rows(model).collect(), share)?,
            capture(self.rows(baseline).collect(), share)?,
        ))
    }

    /// [`retention_rate`] of the cohort.
    pub fn retention_rate(&self, window: f64) -> Result<f64> {
        retained_share(
            self.patterns.iter().map(|p| (p.customer(), p.count)),
            window,
        )
    }
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
    fn ties_across_the_cut_share_it() {
        // k = ceil(0.5 · 4) = 2. Scores 3, 1, 1, 1: the top customer (truth 0) and one of three
        // tied customers with truths 6, 0, 0: on average 2 of the best two's 6 + 0.
        let got = top_share_capture(&[3.0, 1.0, 1.0, 1.0], &[0.0, 6.0, 0.0, 0.0], 0.5).unwrap();
        assert!((got - 2.0 / 6.0).abs() < 1e-15, "{got}");
        // The order of the customers does not matter.
        let again = top_share_capture(&[1.0, 1.0, 3.0, 1.0], &[0.0, 0.0, 0.0, 6.0], 0.5).unwrap();
        assert_eq!(got, again);
    }

    #[test]
    fn groups_give_the_per_customer_answers() {
        // A cohort with many shared patterns and holdout counts, in scrambled order.
        let mut customers = Vec::new();
        let mut actual = Vec::new();
        let mut state = 7_u64;
        let mut next = |m: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % m
        };
        for _ in 0..5000 {
            let x = next(9) as u32;
            let age = 10.0 + next(30) as f64;
            let recency = if x == 0 {
                0.0
            } else {
                next(age as u64 + 1) as f64
            };
            customers.push(Customer::new(x, recency, age));
            actual.push(next(4) as f64 * f64::from(x.min(2)));
        }
        let h = HoldoutGroups::from_customers(&customers, &actual).unwrap();
        assert!(
            h.patterns.len() < h.groups.len() && h.groups.len() < 4500,
            "{}",
            h.groups.len()
        );
        assert_eq!(h.patterns, crate::compress_customers(&customers).unwrap());
        assert_eq!(h.customers(), 5000);
        assert_eq!(h.total_actual(), actual.iter().sum::<f64>());
        // Scores that depend on the pattern only, as a model's and the baseline's do.
        let model = |c: &Customer| f64::from(c.frequency) * (1.0 + c.recency) / (1.0 + c.age);
        let base = |c: &Customer| f64::from(c.frequency.min(3));
        let per_pattern = |f: &dyn Fn(&Customer) -> f64| -> Vec<f64> {
            h.patterns.iter().map(|p| f(&p.customer())).collect()
        };
        let (pm, pb) = (per_pattern(&model), per_pattern(&base));
        let (cm, cb): (Vec<f64>, Vec<f64>) = customers.iter().map(|c| (model(c), base(c))).unzip();
        let close = |a: f64, b: f64| assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{a} {b}");
        let (m, r) = h.errors(&pm).unwrap();
        close(m, mae(&cm, &actual).unwrap());
        close(r, rmse(&cm, &actual).unwrap());
        let freq: Vec<u32> = customers.iter().map(|c| c.frequency).collect();
        for (a, b) in h
            .by_frequency(&pm)
            .unwrap()
            .iter()
            .zip(holdout_by_frequency(&freq, &cm, &actual).unwrap())
        {
            assert_eq!((&a.bucket, a.customers), (&b.bucket, b.customers));
            close(a.mean_predicted, b.mean_predicted);
            close(a.mean_actual, b.mean_actual);
        }
        let g = h.grade(&pm, &pb, 0.2).unwrap();
        let want = grade_top_customers(&cm, &cb, &actual, 0.2).unwrap();
        close(g.model_capture, want.model_capture);
        close(g.baseline_capture, want.baseline_capture);
        assert_eq!(g.grade, want.grade);
        assert_eq!(
            h.retention_rate(5.0).unwrap(),
            retention_rate(&customers, 5.0).unwrap()
        );
        assert!(h.errors(&pm[1..]).is_err());
        let mut bad = HoldoutCounter::default();
        bad.add(&customers[0], 1.0).unwrap();
        let e = bad.add(&customers[1], -1.0).unwrap_err().to_string();
        assert!(e.contains("holdout purchases") && e.contains('1'), "{e}");
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
