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
    assert_abs(fit.log_likelihood, r(&format!("{FIT}/ll_refined_mle")), 1e-5, "LL");
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
        assert_rel(got, r(&format!("{FIT}/params_refined_mle/{name}")), 1e-6, name);
        assert_rel(got, r(&format!("{FIT}/params_lifetimes/{name}")), 1e-5, name);
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
