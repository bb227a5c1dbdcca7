use crm_clv::mbgnbd::{self, MbgNbdParams};
use crm_clv::{FitOptions, TransactionModel};

use crate::common::*;

const FIT: &str = "transaction_model_fits/shipped_weeks/mbgnbd";

#[test]
fn fit_reproduces_btydplus_and_lifetimes() {
    let fit = mbgnbd::fit(&cdnow_patterns(), &FitOptions::default()).unwrap();
    assert!(fit.converged, "{:?}", fit.issue);
    assert_abs(
        fit.log_likelihood,
        r(&format!("{FIT}/ll_refined_mle")),
        1e-5,
        "LL",
    );
    // BTYDplus (as quoted by lifetimes' tests): r = 0.525, α = 6.183, a = 0.891, b = 1.614.
    assert_abs(fit.params.r, 0.525, 5e-4, "r vs BTYDplus");
    assert_abs(fit.params.alpha, 6.183, 5e-4, "alpha vs BTYDplus");
    assert_abs(fit.params.a, 0.891, 5e-4, "a vs BTYDplus");
    assert_abs(fit.params.b, 1.614, 5e-4, "b vs BTYDplus");
    let se = fit.std_errors.expect("standard errors");
    for (name, got, got_se) in [
        ("r", fit.params.r, se.r),
        ("alpha", fit.params.alpha, se.alpha),
        ("a", fit.params.a, se.a),
        ("b", fit.params.b, se.b),
    ] {
        assert_rel(
            got,
            r(&format!("{FIT}/params_refined_mle/{name}")),
            1e-6,
            name,
        );
        assert_rel(
            got_se,
            r(&format!("{FIT}/se_refined_numerical_hessian/{name}")),
            1e-3,
            &format!("se {name}"),
        );
    }
}

#[test]
fn predictions_at_published_parameters() {
    let p = MbgNbdParams::new(0.525, 6.183, 0.891, 1.614).unwrap();
    for id in SHOWCASE {
        let c = cdnow_customer(id).customer;
        let base = format!("fixed_parameter_checks/customers/{id}");
        assert_rel(
            p.expected_purchases(&c, 39.0).unwrap(),
            r(&format!("{base}/mbgnbd_exp_purchases_39w")),
            1e-8,
            &format!("E[Y(39)] customer {id}"),
        );
        assert_rel(
            p.p_alive(&c).unwrap(),
            r(&format!("{base}/mbgnbd_p_alive")),
            1e-8,
            &format!("P(alive) customer {id}"),
        );
    }
    assert_abs(
        mbgnbd::log_likelihood(&p, &cdnow_patterns()).unwrap(),
        r("fixed_parameter_checks/ll_at_published/mbgnbd"),
        1e-6,
        "LL at published parameters",
    );
}

#[test]
fn new_customer_expectations_at_lifetimes_fit() {
    let p = MbgNbdParams::new(
        r(&format!("{FIT}/params_lifetimes/r")),
        r(&format!("{FIT}/params_lifetimes/alpha")),
        r(&format!("{FIT}/params_lifetimes/a")),
        r(&format!("{FIT}/params_lifetimes/b")),
    )
    .unwrap();
    let base =
        "population_and_holdout/unconditional_expected_repeat_purchases_new_customer_shipped_fit";
    for i in 0..8 {
        let t = r(&format!("{base}/t_weeks/{i}"));
        assert_rel(
            p.expected_purchases_new_customer(t).unwrap(),
            r(&format!("{base}/mbgnbd/{i}")),
            1e-8,
            &format!("E[X({t})]"),
        );
    }
}
