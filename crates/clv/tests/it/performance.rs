//! Fitting cost follows distinct patterns, not customers. Heavy timing lives in
//! `examples/bench_fit.rs`; this only proves a million customers compress quickly and exactly.

use std::time::Instant;

use crm_clv::{Customer, bgnbd, compress_customers};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[test]
fn a_million_customers_compress_into_patterns() {
    let mut rng = StdRng::seed_from_u64(1);
    // Integer-day histories over one year, expressed in weeks, as a real summary would be.
    let customers: Vec<Customer> = (0..1_000_000)
        .map(|_| {
            let age_days: u32 = rng.random_range(1..=365);
            let x: u32 = if rng.random::<f64>() < 0.6 {
                0
            } else {
                rng.random_range(1..=12)
            };
            let recency_days = if x == 0 {
                0
            } else {
                rng.random_range(x.min(age_days)..=age_days)
            };
            Customer::new(x, f64::from(recency_days) / 7.0, f64::from(age_days) / 7.0)
        })
        .collect();
    let started = Instant::now();
    let patterns = compress_customers(&customers).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(patterns.iter().map(|p| p.count).sum::<u64>(), 1_000_000);
    assert!(patterns.len() < 300_000, "{} patterns", patterns.len());
    // Generous bound for a debug build on a loaded machine; release does it in well under 0.1 s.
    assert!(elapsed.as_secs_f64() < 10.0, "compression took {elapsed:?}");
    // The likelihood over the patterns equals the one over customers, by construction.
    let params = bgnbd::BgNbdParams::new(0.3, 5.0, 0.8, 2.5).unwrap();
    let by_pattern = bgnbd::log_likelihood(&params, &patterns).unwrap();
    let by_customer: f64 = customers[..1000]
        .iter()
        .map(|c| params.ln_likelihood(c))
        .sum();
    assert!(by_pattern.is_finite() && by_customer.is_finite());
    let first = compress_customers(&customers[..1000]).unwrap();
    let first_ll = bgnbd::log_likelihood(&params, &first).unwrap();
    assert!((first_ll - by_customer).abs() < 1e-9 * by_customer.abs());
}
