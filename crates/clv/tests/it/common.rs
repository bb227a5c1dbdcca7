//! Loading the reference data shipped in `sample_data/clv/` and tolerance helpers.

use std::path::PathBuf;
use std::sync::OnceLock;

use crm_clv::{Customer, RfmPattern, compress_customers};
use serde_json::Value;

pub fn sample_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample_data/clv")
        .join(name)
}

/// Rows of a small comma-separated file (header skipped; CRLF tolerated).
pub fn csv_rows(name: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(sample_path(name))
        .unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
    text.lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

pub fn num(s: &str) -> f64 {
    s.parse()
        .unwrap_or_else(|e| panic!("bad number {s:?}: {e}"))
}

/// One row of the CDNOW calibration summary (weeks, 2 decimals, as shipped in lifetimes).
#[derive(Debug, Clone)]
pub struct CdnowRow {
    pub id: u32,
    pub customer: Customer,
    pub monetary: f64,
}

pub fn cdnow() -> &'static [CdnowRow] {
    static ROWS: OnceLock<Vec<CdnowRow>> = OnceLock::new();
    ROWS.get_or_init(|| {
        csv_rows("cdnow_customers_summary_with_transactions.csv")
            .iter()
            .map(|r| CdnowRow {
                id: r[0].parse().unwrap(),
                customer: Customer::new(r[1].parse().unwrap(), num(&r[2]), num(&r[3])),
                monetary: num(&r[4]),
            })
            .collect()
    })
}

pub fn cdnow_patterns() -> Vec<RfmPattern> {
    let customers: Vec<Customer> = cdnow().iter().map(|r| r.customer).collect();
    compress_customers(&customers).unwrap()
}

pub fn reference() -> &'static Value {
    static REF: OnceLock<Value> = OnceLock::new();
    REF.get_or_init(|| {
        let text = std::fs::read_to_string(sample_path("reference.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

/// A number at a `/`-separated path in reference.json.
pub fn r(path: &str) -> f64 {
    let mut v = reference();
    for key in path.split('/') {
        v = match v {
            Value::Array(a) => &a[key.parse::<usize>().unwrap()],
            _ => &v[key],
        };
    }
    v.as_f64()
        .unwrap_or_else(|| panic!("reference.json has no number at {path}: {v}"))
}

#[track_caller]
pub fn assert_rel(got: f64, want: f64, rtol: f64, what: &str) {
    let err = (got - want).abs() / want.abs().max(f64::MIN_POSITIVE);
    assert!(
        err <= rtol,
        "{what}: got {got}, want {want} (relative error {err:.3e} > {rtol:e})"
    );
}

#[track_caller]
pub fn assert_abs(got: f64, want: f64, atol: f64, what: &str) {
    assert!(
        (got - want).abs() <= atol,
        "{what}: got {got}, want {want} (|diff| {:.3e} > {atol:e})",
        (got - want).abs()
    );
}

/// The five showcase customers of REFERENCE.md §4.
pub const SHOWCASE: [u32; 5] = [1, 3, 6, 1516, 1901];

pub fn cdnow_customer(id: u32) -> &'static CdnowRow {
    cdnow().iter().find(|r| r.id == id).unwrap()
}

/// Days since 1970-01-01 of a `YYYYMMDD` date (proleptic Gregorian).
pub fn day_number(yyyymmdd: &str) -> i64 {
    let y: i64 = yyyymmdd[0..4].parse().unwrap();
    let m: i64 = yyyymmdd[4..6].parse().unwrap();
    let d: i64 = yyyymmdd[6..8].parse().unwrap();
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A customer's calibration summary in weeks (days / 7) and their holdout repeat purchase days,
/// derived from the raw CDNOW sample as lifetimes' `calibration_and_holdout_data` does.
pub struct CalibrationHoldout {
    pub customer: Customer,
    pub monetary: f64,
    pub holdout_purchases: f64,
    pub holdout_value: f64,
}

pub fn cdnow_calibration_holdout() -> Vec<CalibrationHoldout> {
    use std::collections::BTreeMap;
    let text = std::fs::read_to_string(sample_path("CDNOW_sample.txt")).unwrap();
    let cal_end = day_number("19970930");
    let hold_end = day_number("19980630");
    // customer → day → amount (same-day transactions merged, as lifetimes groups by day)
    let mut days: BTreeMap<u32, BTreeMap<i64, f64>> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 5 {
            continue;
        }
        let id: u32 = f[1].parse().unwrap();
        *days
            .entry(id)
            .or_default()
            .entry(day_number(f[2]))
            .or_insert(0.0) += num(f[4]);
    }
    days.values()
        .map(|d| {
            let first = *d.keys().next().unwrap();
            let cal: Vec<(i64, f64)> = d.range(..=cal_end).map(|(k, v)| (*k, *v)).collect();
            let hold: Vec<f64> = d.range(cal_end + 1..=hold_end).map(|(_, v)| *v).collect();
            let x = cal.len() as u32 - 1;
            let last = cal.last().unwrap().0;
            let monetary = if x == 0 {
                0.0
            } else {
                cal[1..].iter().map(|(_, v)| v).sum::<f64>() / f64::from(x)
            };
            CalibrationHoldout {
                customer: Customer::new(
                    x,
                    (last - first) as f64 / 7.0,
                    (cal_end - first) as f64 / 7.0,
                ),
                monetary,
                holdout_purchases: hold.len() as f64,
                holdout_value: hold.iter().sum(),
            }
        })
        .collect()
}
