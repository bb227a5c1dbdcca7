use crm_clv::bgnbd::{self, BgNbdParams};
use crm_clv::{FitOptions, TransactionModel};

use crate::common::*;

const FIT: &str = "transaction_model_fits/shipped_weeks/bgnbd";

fn lifetimes_params() -> BgNbdParams {
    BgNbdParams::new(
        r(&format!("{FIT}/params_lifetimes/r")),
        r(&format!("{FIT}/params_lifetimes/alpha")),
        r(&format!("{FIT}/params_lifetimes/a")),
        r(&format!("{FIT}/params_lifetimes/b")),
    )
    .unwrap()
}

#[test]
fn fit_reproduces_fhl_2005_and_lifetimes() {
    let fit = bgnbd::fit(&cdnow_patterns(), &FitOptions::default()).unwrap();
    assert!(fit.converged, "{:?}", fit.issue);
    assert_eq!(fit.n_customers, 2357);
    // Log-likelihood first: the robust check (REFERENCE.md §9: atol 1e-5).
    assert_abs(
        fit.log_likelihood,
        r(&format!("{FIT}/ll_refined_mle")),
        1e-5,
        "LL",
    );
    // Published (FHL 2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4.
    assert_abs(fit.params.r, 0.243, 5e-4, "r vs paper");
    assert_abs(fit.params.alpha, 4.414, 5e-4, "alpha vs paper");
    assert_abs(fit.params.a, 0.793, 5e-4, "a vs paper");
    assert_abs(fit.params.b, 2.426, 5e-4, "b vs paper");
    assert_abs(fit.log_likelihood, -9582.4, 0.05, "LL vs paper");
    for (name, got) in [
        ("r", fit.params.r),
        ("alpha", fit.params.alpha),
        ("a", fit.params.a),
        ("b", fit.params.b),
    ] {
        assert_rel(
            got,
            r(&format!("{FIT}/params_refined_mle/{name}")),
            1e-6,
            name,
        );
        assert_rel(
            got,
            r(&format!("{FIT}/params_lifetimes/{name}")),
            1e-5,
            name,
        );
    }
    let se = fit.std_errors.expect("standard errors");
    for (name, got) in [("r", se.r), ("alpha", se.alpha), ("a", se.a), ("b", se.b)] {
        assert_rel(
            got,
            r(&format!("{FIT}/se_refined_numerical_hessian/{name}")),
            1e-3,
            &format!("se {name}"),
        );
    }
}

#[test]
fn predictions_at_published_parameters() {
    let p = BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap();
    for id in SHOWCASE {
        let c = cdnow_customer(id).customer;
        let base = format!("fixed_parameter_checks/customers/{id}");
        assert_rel(
            p.expected_purchases(&c, 39.0).unwrap(),
            r(&format!("{base}/bgnbd_exp_purchases_39w")),
            1e-8,
            &format!("E[Y(39)] customer {id}"),
        );
        assert_rel(
            p.p_alive(&c).unwrap(),
            r(&format!("{base}/bgnbd_p_alive")),
            1e-8,
            &format!("P(alive) customer {id}"),
        );
    }
    assert_abs(
        bgnbd::log_likelihood(&p, &cdnow_patterns()).unwrap(),
        r("fixed_parameter_checks/ll_at_published/bgnbd"),
        1e-6,
        "LL at published parameters",
    );
    // Hardie's spreadsheet example customer (x = 2, t_x = 30.43, T = 38.86): 1.226.
    let hardie = p
        .expected_purchases(&crm_clv::Customer::new(2, 30.43, 38.86), 39.0)
        .unwrap();
    assert_abs(hardie, 1.226, 5e-4, "Hardie spreadsheet");
    for (i, t) in [0.1429, 1.0, 3.0, 31.8571, 32.0, 78.0]
        .into_iter()
        .enumerate()
    {
        assert_rel(
            p.expected_purchases_new_customer(t).unwrap(),
            r(&format!(
                "fixed_parameter_checks/bgnbd_unconditional_hardie_times/at_published/{i}"
            )),
            1e-8,
            &format!("E[X({t})]"),
        );
    }
}

#[test]
fn probability_of_n_purchases_matches_r_btyd() {
    let p = BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap();
    let base = "fixed_parameter_checks/bgnbd_prob_n_purchases";
    assert_rel(
        p.probability_of_n_purchases(2.0, 10).unwrap(),
        r(&format!("{base}/P(N(2)=10)")),
        1e-8,
        "P(N(2)=10)",
    );
    assert_rel(
        p.probability_of_n_purchases(2.0, 10).unwrap(),
        1.07869e-07,
        1e-5,
        "R BTYD",
    );
    assert_rel(
        p.probability_of_n_purchases(39.0, 0).unwrap(),
        r(&format!("{base}/P(N(39)=0)")),
        1e-8,
        "P(N(39)=0)",
    );
    for (i, n) in (11..=20).enumerate() {
        assert_rel(
            p.probability_of_n_purchases(30.0, n).unwrap(),
            r(&format!("{base}/P(N(30)=n), n=11..20/{i}")),
            1e-8,
            &format!("P(N(30)={n})"),
        );
    }
    // Probabilities over n sum to one.
    let total: f64 = (0..400)
        .map(|n| p.probability_of_n_purchases(30.0, n).unwrap())
        .sum();
    assert_abs(total, 1.0, 1e-9, "sum over n");
}

#[test]
fn new_customer_and_p_alive_matrix_at_lifetimes_fit() {
    let p = lifetimes_params();
    let base =
        "population_and_holdout/unconditional_expected_repeat_purchases_new_customer_shipped_fit";
    for i in 0..8 {
        let t = r(&format!("{base}/t_weeks/{i}"));
        assert_rel(
            p.expected_purchases_new_customer(t).unwrap(),
            r(&format!("{base}/bgnbd/{i}")),
            1e-8,
            &format!("E[X({t})]"),
        );
    }
    // lifetimes' conditional_probability_alive_matrix: rows recency 0..5, columns x 0..5, T = 38.
    // Stored rounded to 10 decimals.
    for tx in 0..6 {
        for x in 0..6 {
            let recency = if x == 0 { 0.0 } else { f64::from(tx) };
            if x == 0 && tx > 0 {
                continue;
            }
            let got = p
                .p_alive(&crm_clv::Customer::new(x, recency, 38.0))
                .unwrap();
            let want = r(&format!(
                "bgnbd_p_alive_matrix/corner_recency0_5_by_freq0_5/{tx}/{x}"
            ));
            assert_abs(got, want, 1e-10, &format!("P(alive) x={x} t_x={tx}"));
        }
    }
}

#[test]
fn both_shipped_summaries_agree() {
    // lifetimes ships the calibration summary twice; x, t_x and T must be the same rows.
    let plain = csv_rows("cdnow_customers_summary.csv");
    assert_eq!(plain.len(), cdnow().len());
    for (row, full) in plain.iter().zip(cdnow()) {
        assert_eq!(row[0].parse::<u32>().unwrap(), full.id);
        assert_eq!(row[1].parse::<u32>().unwrap(), full.customer.frequency);
        assert_eq!(num(&row[2]), full.customer.recency);
        assert_eq!(num(&row[3]), full.customer.age);
    }
    let sum_x: u32 = cdnow().iter().map(|c| c.customer.frequency).sum();
    assert_eq!(
        f64::from(sum_x),
        r("transaction_model_fits/shipped_weeks/sum_frequency")
    );
}

#[test]
fn log_likelihood_is_unit_invariant_up_to_the_known_shift() {
    // REFERENCE.md §3.1: in days α scales by 7 and LL_days = LL_weeks − Σx·ln 7.
    let weeks = lifetimes_params();
    let days = BgNbdParams::new(weeks.r, weeks.alpha * 7.0, weeks.a, weeks.b).unwrap();
    let in_days: Vec<crm_clv::Customer> = cdnow()
        .iter()
        .map(|c| {
            crm_clv::Customer::new(
                c.customer.frequency,
                c.customer.recency * 7.0,
                c.customer.age * 7.0,
            )
        })
        .collect();
    let ll_w = bgnbd::log_likelihood(&weeks, &cdnow_patterns()).unwrap();
    let ll_d =
        bgnbd::log_likelihood(&days, &crm_clv::compress_customers(&in_days).unwrap()).unwrap();
    assert_abs(ll_d, ll_w - 2457.0 * 7f64.ln(), 1e-7, "LL shift");
}
