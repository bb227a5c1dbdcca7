use crm_clv::FitOptions;
use crm_clv::bgbb::{self, BgBbParams, BgBbPattern};

use crate::common::*;

fn donations() -> Vec<BgBbPattern> {
    csv_rows("donations.csv")
        .iter()
        .map(|r| BgBbPattern {
            frequency: r[0].parse().unwrap(),
            recency: r[1].parse().unwrap(),
            periods: r[2].parse().unwrap(),
            count: r[3].parse().unwrap(),
        })
        .collect()
}

#[test]
fn fit_on_donations_reproduces_fhs_2010() {
    let data = donations();
    let fit = bgbb::fit(&data, &FitOptions::default()).unwrap();
    assert!(fit.converged, "{:?}", fit.issue);
    assert_eq!(fit.n_customers, 11_104);
    assert_eq!(fit.n_patterns, 22);
    // lifetimes' LL for this fit; ours may only be higher (a better optimum), and not by much.
    let lifetimes_ll = r("bgbb_donations/ll_lifetimes_params_total");
    assert!(
        fit.log_likelihood >= lifetimes_ll - 1e-6,
        "{}",
        fit.log_likelihood
    );
    assert_abs(fit.log_likelihood, lifetimes_ll, 1e-3, "LL vs lifetimes");
    // FHS 2010: α = 1.204, β = 0.750, γ = 0.657, δ = 2.783, LL = −33,225.6.
    assert_abs(fit.log_likelihood, -33_225.6, 0.05, "LL vs paper");
    assert_abs(fit.params.alpha, 1.204, 1e-3, "alpha");
    assert_abs(fit.params.beta, 0.750, 1e-3, "beta");
    assert_abs(fit.params.gamma, 0.657, 1e-3, "gamma");
    assert_abs(fit.params.delta, 2.783, 1e-3, "delta");
    for (name, got) in [
        ("alpha", fit.params.alpha),
        ("beta", fit.params.beta),
        ("gamma", fit.params.gamma),
        ("delta", fit.params.delta),
    ] {
        assert_rel(
            got,
            r(&format!("bgbb_donations/params_lifetimes/{name}")),
            1e-4,
            name,
        );
    }
}

#[test]
fn expectations_at_lifetimes_parameters() {
    let p = BgBbParams::new(
        r("bgbb_donations/params_lifetimes/alpha"),
        r("bgbb_donations/params_lifetimes/beta"),
        r("bgbb_donations/params_lifetimes/gamma"),
        r("bgbb_donations/params_lifetimes/delta"),
    )
    .unwrap();
    let data = donations();
    assert_abs(
        bgbb::log_likelihood(&p, &data).unwrap(),
        r("bgbb_donations/ll_lifetimes_params_total"),
        1e-6,
        "LL",
    );
    let total: f64 = data
        .iter()
        .map(|d| d.count as f64 * p.expected_purchases(d, 5).unwrap())
        .sum();
    assert_rel(
        total,
        r("bgbb_donations/sum_cond_exp_next5_weighted"),
        1e-8,
        "Σ E[X(5)]",
    );
    // Hardie's spreadsheet: 12,884.2.
    assert_abs(total, 12_884.2, 0.05, "spreadsheet");
    // New-customer distribution over 6 opportunities sums to one and matches its mean.
    let probs: Vec<f64> = (0..=6)
        .map(|x| p.probability_of_n_purchases(6, x).unwrap())
        .collect();
    assert_abs(probs.iter().sum(), 1.0, 1e-12, "Σ P(X(6) = x)");
    let mean: f64 = probs.iter().enumerate().map(|(x, q)| x as f64 * q).sum();
    assert_rel(
        mean,
        p.expected_purchases_new_customer(6).unwrap(),
        1e-12,
        "E[X(6)]",
    );
    // The model's implied share of 0-donors in the calibration data.
    let observed_zero = data[0].count as f64 / data.iter().map(|d| d.count as f64).sum::<f64>();
    assert_abs(probs[0], observed_zero, 0.01, "P(X(6)=0) vs data");
    // P(alive) is a probability and falls with the gap since the last donation.
    let recent = p
        .p_alive(
            &BgBbPattern {
                frequency: 3,
                recency: 6,
                periods: 6,
                count: 1,
            },
            1,
        )
        .unwrap();
    let lapsed = p
        .p_alive(
            &BgBbPattern {
                frequency: 3,
                recency: 3,
                periods: 6,
                count: 1,
            },
            1,
        )
        .unwrap();
    assert!(0.0 < lapsed && lapsed < recent && recent <= 1.0);
}
