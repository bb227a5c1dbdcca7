use crm_clv::pareto_nbd::{self, ParetoNbdParams};
use crm_clv::{FitOptions, TransactionModel};

use crate::common::*;

const FIT: &str = "transaction_model_fits/shipped_weeks/pareto_nbd";

#[test]
fn fit_reproduces_fhl_2005_and_lifetimes() {
    let fit = pareto_nbd::fit(&cdnow_patterns(), &FitOptions::default()).unwrap();
    assert!(fit.converged, "{:?}", fit.issue);
    assert_abs(
        fit.log_likelihood,
        r(&format!("{FIT}/ll_refined_mle")),
        1e-5,
        "LL",
    );
    // FHL 2005: r = 0.553, α = 10.578, s = 0.606, β = 11.669, LL = −9595.0.
    assert_abs(fit.params.r, 0.553, 5e-4, "r vs paper");
    assert_abs(fit.params.alpha, 10.578, 5e-3, "alpha vs paper");
    assert_abs(fit.params.s, 0.606, 5e-4, "s vs paper");
    assert_abs(fit.params.beta, 11.669, 5e-3, "beta vs paper");
    assert_abs(fit.log_likelihood, -9595.0, 0.05, "LL vs paper");
    // REFERENCE.md §9: the (s, β) ridge is flat; compare Pareto/NBD parameters at rtol 1e-3.
    let se = fit.std_errors.expect("standard errors");
    for (name, got, got_se) in [
        ("r", fit.params.r, se.r),
        ("alpha", fit.params.alpha, se.alpha),
        ("s", fit.params.s, se.s),
        ("beta", fit.params.beta, se.beta),
    ] {
        assert_rel(
            got,
            r(&format!("{FIT}/params_refined_mle/{name}")),
            1e-3,
            name,
        );
        assert_rel(
            got,
            r(&format!("{FIT}/params_lifetimes/{name}")),
            1e-3,
            name,
        );
        assert_rel(
            got_se,
            r(&format!("{FIT}/se_refined_numerical_hessian/{name}")),
            1e-2,
            &format!("se {name}"),
        );
    }
}

#[test]
fn predictions_at_published_parameters() {
    let p = ParetoNbdParams::new(0.553, 10.578, 0.606, 11.669).unwrap();
    for id in SHOWCASE {
        let c = cdnow_customer(id).customer;
        let base = format!("fixed_parameter_checks/customers/{id}");
        assert_rel(
            p.expected_purchases(&c, 39.0).unwrap(),
            r(&format!("{base}/pnbd_exp_purchases_39w")),
            1e-8,
            &format!("E[Y(39)] customer {id}"),
        );
        assert_rel(
            p.p_alive(&c).unwrap(),
            r(&format!("{base}/pnbd_p_alive")),
            1e-8,
            &format!("P(alive) customer {id}"),
        );
    }
    assert_abs(
        pareto_nbd::log_likelihood(&p, &cdnow_patterns()).unwrap(),
        r("fixed_parameter_checks/ll_at_published/pareto_nbd"),
        1e-6,
        "LL at published parameters",
    );
    // R BTYD walkthrough: E[Y(52) | x = 26, t_x = 30.86, T = 31] = 25.46.
    let c = crm_clv::Customer::new(26, 30.86, 31.0);
    assert_rel(
        p.expected_purchases(&c, 52.0).unwrap(),
        r("fixed_parameter_checks/pnbd_cond_exp_x26_tx30.86_T31_t52/value_at_published"),
        1e-8,
        "E[Y(52)] BTYD example",
    );
    assert_abs(
        p.expected_purchases(&c, 52.0).unwrap(),
        25.46,
        5e-3,
        "BTYD 25.46",
    );
}

#[test]
fn new_customer_expectations_at_lifetimes_fit() {
    let p = ParetoNbdParams::new(
        r(&format!("{FIT}/params_lifetimes/r")),
        r(&format!("{FIT}/params_lifetimes/alpha")),
        r(&format!("{FIT}/params_lifetimes/s")),
        r(&format!("{FIT}/params_lifetimes/beta")),
    )
    .unwrap();
    let base =
        "population_and_holdout/unconditional_expected_repeat_purchases_new_customer_shipped_fit";
    for i in 0..8 {
        let t = r(&format!("{base}/t_weeks/{i}"));
        assert_rel(
            p.expected_purchases_new_customer(t).unwrap(),
            r(&format!("{base}/pareto_nbd/{i}")),
            1e-8,
            &format!("E[X({t})]"),
        );
    }
}
