//! The history window and its seasonality. Days are numbered from the first
//! day of the window (day 0) to `end_date` (day `days - 1`). Each day has a
//! weight: a weekly rhythm (Friday and the weekend busiest), a yearly one
//! (the December run-up to New Year, a January dip, 8 March and Black
//! Friday), and a gentle growth trend. Purchase and acquisition days are
//! drawn in proportion to these weights; times of day follow shop hours.

use chrono::{Datelike, Months, NaiveDate, Weekday};
use rand::Rng;

use crate::error::{Error, Result};

pub(crate) const MICROS_PER_SECOND: i64 = 1_000_000;
pub(crate) const MICROS_PER_HOUR: i64 = 3_600 * MICROS_PER_SECOND;
pub(crate) const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// Relative traffic per hour of the day (0–23): quiet nights, a lunch bump,
/// the evening peak.
const HOUR_WEIGHTS: [f64; 24] = [
    0.20, 0.10, 0.05, 0.05, 0.05, 0.10, 0.30, 0.60, 1.00, 1.50, 2.00, 2.30, 2.50, 2.50, 2.40, 2.40,
    2.50, 2.80, 3.00, 3.00, 2.60, 2.00, 1.20, 0.60,
];

/// The window of history and the cumulative day weights used to sample it.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    /// Days since 1970-01-01 of day 0.
    epoch_day0: i64,
    days: u32,
    /// `cum[d]` is the total weight of days before `d`; length `days + 1`.
    cum: Vec<f64>,
    hour_cum: [f64; 25],
}

impl Calendar {
    pub(crate) fn new(end_date: NaiveDate, years: u32) -> Result<Self> {
        let start = end_date
            .checked_sub_months(Months::new(years * 12))
            .and_then(|d| d.succ_opt())
            .ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "years = {years} before end_date = {end_date} is out of the calendar's range"
                ))
            })?;
        let days = u32::try_from((end_date - start).num_days() + 1)
            .map_err(|_| Error::InvalidConfig("history window is empty".into()))?;
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        let mut cum = Vec::with_capacity(days as usize + 1);
        cum.push(0.0);
        let mut total = 0.0;
        for d in 0..days {
            let date = start + chrono::Days::new(u64::from(d));
            let trend = 1.0 + 0.4 * f64::from(d) / f64::from(days);
            total += day_weight(date) * trend;
            cum.push(total);
        }
        let mut hour_cum = [0.0; 25];
        for h in 0..24 {
            hour_cum[h + 1] = hour_cum[h] + HOUR_WEIGHTS[h];
        }
        Ok(Calendar {
            epoch_day0: (start - epoch).num_days(),
            days,
            cum,
            hour_cum,
        })
    }

    pub(crate) fn days(&self) -> u32 {
        self.days
    }

    /// Microseconds since the epoch (local wall clock) of midnight of `day`.
    pub(crate) fn day_start(&self, day: u32) -> i64 {
        (self.epoch_day0 + i64::from(day)) * MICROS_PER_DAY
    }

    /// The last microsecond-aligned second of the window: `end_date 23:59:59`.
    pub(crate) fn end_ts(&self) -> i64 {
        self.day_start(self.days) - MICROS_PER_SECOND
    }

    /// The window's first instant.
    #[cfg(test)]
    pub(crate) fn start_ts(&self) -> i64 {
        self.day_start(0)
    }

    /// Day index of a timestamp, clamped into the window.
    pub(crate) fn day_of(&self, ts: i64) -> u32 {
        let d = ts.div_euclid(MICROS_PER_DAY) - self.epoch_day0;
        d.clamp(0, i64::from(self.days) - 1) as u32
    }

    /// Days since the epoch of day 0 (for `Date32` columns).
    pub(crate) fn epoch_day0(&self) -> i64 {
        self.epoch_day0
    }

    /// A day in `lo..=hi`, drawn in proportion to the day weights.
    pub(crate) fn sample_day<R: Rng>(&self, rng: &mut R, lo: u32, hi: u32) -> u32 {
        debug_assert!(lo <= hi && hi < self.days);
        let a = self.cum[lo as usize];
        let b = self.cum[hi as usize + 1];
        let u = a + rng.random::<f64>() * (b - a);
        let d = self.cum.partition_point(|c| *c <= u).saturating_sub(1) as u32;
        d.clamp(lo, hi)
    }

    /// A whole-second time of day, in microseconds, following shop hours.
    pub(crate) fn sample_time_of_day<R: Rng>(&self, rng: &mut R) -> i64 {
        let u = rng.random::<f64>() * self.hour_cum[24];
        let hour = (self.hour_cum.partition_point(|c| *c <= u).saturating_sub(1)).min(23) as i64;
        let second = rng.random_range(0..3_600i64);
        hour * MICROS_PER_HOUR + second * MICROS_PER_SECOND
    }

    /// A timestamp on a day in `lo..=hi` drawn by the day weights and shop hours.
    pub(crate) fn sample_ts<R: Rng>(&self, rng: &mut R, lo: u32, hi: u32) -> i64 {
        let day = self.sample_day(rng, lo, hi);
        self.day_start(day) + self.sample_time_of_day(rng)
    }
}

/// The seasonal weight of one calendar day (trend excluded).
fn day_weight(date: NaiveDate) -> f64 {
    let weekly = match date.weekday() {
        Weekday::Mon => 0.90,
        Weekday::Tue => 0.92,
        Weekday::Wed => 0.95,
        Weekday::Thu => 1.00,
        Weekday::Fri => 1.15,
        Weekday::Sat => 1.30,
        Weekday::Sun => 1.10,
    };
    let (m, d) = (date.month(), date.day());
    let yearly = match m {
        1 if d <= 2 => 0.40,
        1 => 0.75,
        2 => 0.85,
        3 if d <= 8 => 1.40,
        3 => 0.95,
        4..=7 => 0.90,
        8 => 0.95,
        9 | 10 => 1.00,
        11 if d >= 24 => 1.50,
        11 => 1.10,
        12 if d == 31 => 1.20,
        12 if d >= 15 => 2.00,
        12 => 1.40,
        _ => 1.0,
    };
    weekly * yearly
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream};

    fn cal() -> Calendar {
        Calendar::new(NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(), 3).unwrap()
    }

    #[test]
    fn window_covers_whole_years_ending_on_end_date() {
        let c = cal();
        assert_eq!(c.days(), 365 * 3 + 1); // 2024 is a leap year
        let end = chrono::DateTime::from_timestamp_micros(c.end_ts())
            .unwrap()
            .naive_utc();
        assert_eq!(end.to_string(), "2025-12-31 23:59:59");
        let start = chrono::DateTime::from_timestamp_micros(c.start_ts())
            .unwrap()
            .naive_utc();
        assert_eq!(start.to_string(), "2023-01-01 00:00:00");
    }

    #[test]
    fn december_outsells_january_and_saturday_outsells_monday() {
        let c = cal();
        let mut rng = stream(1, Stream::Transactions, 0);
        let (mut dec, mut jan, mut sat, mut mon) = (0, 0, 0, 0);
        for _ in 0..200_000 {
            let d = c.sample_day(&mut rng, 0, c.days() - 1);
            let date = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap() + chrono::Days::new(d.into());
            match date.month() {
                12 => dec += 1,
                1 => jan += 1,
                _ => {}
            }
            match date.weekday() {
                Weekday::Sat => sat += 1,
                Weekday::Mon => mon += 1,
                _ => {}
            }
        }
        assert!(f64::from(dec) > 1.8 * f64::from(jan), "dec {dec} jan {jan}");
        assert!(f64::from(sat) > 1.3 * f64::from(mon), "sat {sat} mon {mon}");
    }

    #[test]
    fn sampled_days_stay_in_range() {
        let c = cal();
        let mut rng = stream(2, Stream::Transactions, 0);
        for _ in 0..10_000 {
            let d = c.sample_day(&mut rng, 100, 103);
            assert!((100..=103).contains(&d));
            let t = c.sample_time_of_day(&mut rng);
            assert!((0..MICROS_PER_DAY).contains(&t));
        }
        assert_eq!(c.sample_day(&mut rng, 5, 5), 5);
    }
}
