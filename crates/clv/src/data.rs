//! Customer summaries and their compression into unique patterns.
//!
//! Every likelihood here depends on a customer only through `(x, t_x, T)`, so a million customers
//! with integer-day histories collapse into a few thousand patterns with counts. Fitting cost then
//! scales with the number of patterns, not customers.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::{Error, Result};

/// One customer's calibration summary, in one time unit (days, or weeks = days / 7).
///
/// * `frequency` (x): repeat purchase *days*, the first purchase not counted.
/// * `recency` (t_x): time from the first to the last purchase (0 when x = 0).
/// * `age` (T): time from the first purchase to the end of calibration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Customer {
    pub frequency: u32,
    pub recency: f64,
    pub age: f64,
}

/// A unique `(x, t_x, T)` with the number of customers who share it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RfmPattern {
    pub frequency: u32,
    pub recency: f64,
    pub age: f64,
    pub count: u64,
}

impl Customer {
    pub fn new(frequency: u32, recency: f64, age: f64) -> Self {
        Self {
            frequency,
            recency,
            age,
        }
    }

    /// Checks the summary can enter a likelihood: finite, `0 <= t_x <= T`, and `t_x = 0` when x = 0.
    pub fn validate(&self, index: usize) -> Result<()> {
        let Customer {
            frequency,
            recency,
            age,
        } = *self;
        let problem = if !recency.is_finite() || !age.is_finite() {
            Some("recency and age must be finite numbers")
        } else if recency < 0.0 || age < 0.0 {
            Some("recency and age must not be negative")
        } else if recency > age {
            Some("recency (time of the last purchase) must not exceed age T")
        } else if frequency == 0 && recency != 0.0 {
            Some("a customer without repeat purchases (x = 0) must have recency 0")
        } else {
            None
        };
        match problem {
            Some(what) => Err(Error::InvalidInput {
                index,
                message: format!("{what}; found x = {frequency}, t_x = {recency}, T = {age}"),
            }),
            None => Ok(()),
        }
    }
}

impl RfmPattern {
    pub fn customer(&self) -> Customer {
        Customer::new(self.frequency, self.recency, self.age)
    }
}

/// Above this many customers validation and sorting run in parallel.
const PARALLEL_COMPRESS_MIN: usize = 100_000;

/// A pattern as a hash and sort key: `(x, t_x bits, T bits)`.
pub(crate) type PatternKey = (u32, u64, u64);

pub(crate) fn pattern_key(c: &Customer) -> PatternKey {
    // -0.0 and 0.0 must meet in one pattern; bit patterns would keep them apart. For validated
    // (non-negative) values the bit order is the numeric order, so sorted keys are sorted patterns.
    let norm = |v: f64| if v == 0.0 { 0.0_f64 } else { v };
    (
        c.frequency,
        norm(c.recency).to_bits(),
        norm(c.age).to_bits(),
    )
}

/// Validates customers and compresses them into unique patterns, sorted by `(x, t_x, T)` so that
/// the result (and every sum over it) is the same from run to run.
///
/// Sorting the keys and counting runs beats hashing here: it is one parallel pass with no merge
/// of large maps, and its output comes out ordered.
pub fn compress_customers(customers: &[Customer]) -> Result<Vec<RfmPattern>> {
    if customers.is_empty() {
        return Err(Error::EmptyInput);
    }
    let mut keys: Vec<PatternKey> = if customers.len() >= PARALLEL_COMPRESS_MIN {
        customers
            .par_iter()
            .enumerate()
            .map(|(i, c)| c.validate(i).map(|()| pattern_key(c)))
            .collect::<Result<_>>()?
    } else {
        customers
            .iter()
            .enumerate()
            .map(|(i, c)| c.validate(i).map(|()| pattern_key(c)))
            .collect::<Result<_>>()?
    };
    if keys.len() >= PARALLEL_COMPRESS_MIN {
        keys.par_sort_unstable();
    } else {
        keys.sort_unstable();
    }
    let mut patterns: Vec<RfmPattern> = Vec::new();
    for key in keys {
        push_pattern(&mut patterns, key, 1);
    }
    Ok(patterns)
}

/// Adds `count` customers of pattern `key` to `patterns`, which are built
/// from keys in sorted order: a run of equal keys makes one pattern.
pub(crate) fn push_pattern(patterns: &mut Vec<RfmPattern>, (x, tx, t): PatternKey, count: u64) {
    match patterns.last_mut() {
        Some(last)
            if last.frequency == x && last.recency.to_bits() == tx && last.age.to_bits() == t =>
        {
            last.count += count;
        }
        _ => patterns.push(RfmPattern {
            frequency: x,
            recency: f64::from_bits(tx),
            age: f64::from_bits(t),
            count,
        }),
    }
}

/// Compresses customers into patterns one at a time, for summaries read in
/// batches: it keeps one count per distinct `(x, t_x, T)`, never the
/// customers themselves.
#[derive(Debug, Default)]
pub struct PatternCounter {
    counts: HashMap<PatternKey, u64, foldhash::fast::RandomState>,
    customers: usize,
}

impl PatternCounter {
    /// Validates one more customer and counts it in its pattern; an error
    /// names the customer by its position in the stream.
    pub fn add(&mut self, c: &Customer) -> Result<()> {
        c.validate(self.customers)?;
        self.customers += 1;
        *self.counts.entry(pattern_key(c)).or_insert(0) += 1;
        Ok(())
    }

    /// Customers counted so far.
    pub fn customers(&self) -> usize {
        self.customers
    }

    /// The patterns, sorted by `(x, t_x, T)` as [`compress_customers`] gives them.
    pub fn patterns(&self) -> Vec<RfmPattern> {
        let mut keys: Vec<(PatternKey, u64)> = self.counts.iter().map(|(k, c)| (*k, *c)).collect();
        keys.sort_unstable_by_key(|(k, _)| *k);
        keys.into_iter()
            .map(|((x, tx, t), count)| RfmPattern {
                frequency: x,
                recency: f64::from_bits(tx),
                age: f64::from_bits(t),
                count,
            })
            .collect()
    }
}

/// Checks already-compressed patterns (e.g. read from a file with weights).
pub fn validate_patterns(patterns: &[RfmPattern]) -> Result<()> {
    if patterns.is_empty() {
        return Err(Error::EmptyInput);
    }
    for (i, p) in patterns.iter().enumerate() {
        p.customer().validate(i)?;
    }
    if patterns.iter().all(|p| p.count == 0) {
        return Err(Error::EmptyInput);
    }
    Ok(())
}

/// Patterns laid out for repeated likelihood evaluation. Terms that depend on `x` alone (the
/// log-gamma functions) are computed once per distinct `x`, and terms that depend on `x` and one
/// time point (Pareto/NBD's ₂F₁ at t_x and at T) once per distinct `(x, time)` pair, then looked
/// up by index; likewise `ln(α + time)` once per distinct time. With integer-day histories there
/// are ten times fewer `(x, time)` pairs, and a thousand times fewer times, than patterns.
pub(crate) struct PreparedPatterns {
    pub distinct_x: Vec<u32>,
    /// Distinct `(x, time)` pairs among all `(x, t_x)` and `(x, T)`.
    pub distinct_x_time: Vec<(u32, f64)>,
    /// Distinct time points among all `t_x` and `T` (BG/NBD needs `ln(α + time)` of each).
    pub distinct_time: Vec<f64>,
    pub rows: Vec<PreparedRow>,
}

pub(crate) struct PreparedRow {
    pub x_index: usize,
    pub recency_index: usize,
    pub age_index: usize,
    pub recency_time_index: usize,
    pub age_time_index: usize,
    pub customer: Customer,
    pub weight: f64,
}

impl PreparedPatterns {
    pub fn new(patterns: &[RfmPattern]) -> Self {
        let mut distinct_x: Vec<u32> = patterns.iter().map(|p| p.frequency).collect();
        distinct_x.sort_unstable();
        distinct_x.dedup();
        let mut pairs: HashMap<(u32, u64), usize> = HashMap::new();
        let mut distinct_x_time = Vec::new();
        let mut pair_index = |x: u32, time: f64| -> usize {
            *pairs.entry((x, time.to_bits())).or_insert_with(|| {
                distinct_x_time.push((x, time));
                distinct_x_time.len() - 1
            })
        };
        let mut times: HashMap<u64, usize> = HashMap::new();
        let mut distinct_time = Vec::new();
        let mut time_index = |time: f64| -> usize {
            *times.entry(time.to_bits()).or_insert_with(|| {
                distinct_time.push(time);
                distinct_time.len() - 1
            })
        };
        let rows = patterns
            .iter()
            .filter(|p| p.count > 0)
            .map(|p| PreparedRow {
                x_index: distinct_x.binary_search(&p.frequency).unwrap_or(0),
                recency_index: pair_index(p.frequency, p.recency),
                age_index: pair_index(p.frequency, p.age),
                recency_time_index: time_index(p.recency),
                age_time_index: time_index(p.age),
                customer: p.customer(),
                weight: p.count as f64,
            })
            .collect();
        Self {
            distinct_x,
            distinct_x_time,
            distinct_time,
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_and_counts() {
        let cs = vec![
            Customer::new(2, 3.0, 5.0),
            Customer::new(0, 0.0, 5.0),
            Customer::new(2, 3.0, 5.0),
            Customer::new(0, -0.0, 5.0),
        ];
        let ps = compress_customers(&cs).unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].frequency, 0);
        assert_eq!(ps[0].count, 2);
        assert_eq!(ps[1].count, 2);
    }

    #[test]
    fn counter_gives_the_patterns_of_compress_customers() {
        let customers: Vec<Customer> = (0..500)
            .map(|i| {
                let x = i % 4;
                let tx = if x == 0 { 0.0 } else { f64::from(i % 7) };
                Customer::new(x, tx, 10.0 + f64::from(i % 3))
            })
            .chain([Customer::new(0, -0.0, 3.0), Customer::new(0, 0.0, 3.0)])
            .collect();
        let mut counter = PatternCounter::default();
        for c in &customers {
            counter.add(c).unwrap();
        }
        assert_eq!(counter.customers(), customers.len());
        assert_eq!(counter.patterns(), compress_customers(&customers).unwrap());
        let err = counter.add(&Customer::new(1, 5.0, 4.0)).unwrap_err();
        assert!(err.to_string().contains("502"), "{err}");
    }

    #[test]
    fn rejects_bad_rows_with_their_index() {
        let cs = vec![Customer::new(1, 2.0, 5.0), Customer::new(1, 6.0, 5.0)];
        match compress_customers(&cs) {
            Err(Error::InvalidInput { index, .. }) => assert_eq!(index, 1),
            other => panic!("unexpected {other:?}"),
        }
        assert!(compress_customers(&[Customer::new(0, 1.0, 5.0)]).is_err());
        assert!(compress_customers(&[Customer::new(1, f64::NAN, 5.0)]).is_err());
        assert!(matches!(compress_customers(&[]), Err(Error::EmptyInput)));
    }
}
