//! Loading the reference data shipped in `sample_data/clv/` and tolerance helpers.

use std::path::PathBuf;
use std::sync::OnceLock;

use crm_clv::{Customer, RfmPattern, compress_customers};
use serde_json::Value;

pub fn sample_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sample_data/clv").join(name)
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
    s.parse().unwrap_or_else(|e| panic!("bad number {s:?}: {e}"))
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
