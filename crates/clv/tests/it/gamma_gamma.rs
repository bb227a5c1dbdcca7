use crm_clv::FitOptions;
use crm_clv::gamma_gamma::{self, GammaGammaParams, SpendCustomer};

use crate::common::*;

const FIT: &str = "gamma_gamma_fits/shipped_zbar";

fn spend_customers() -> Vec<SpendCustomer> {
    cdnow()
        .iter()
        .map(|r| SpendCustomer::new(r.customer.frequency, r.monetary))
        .collect()
}

#[test]
fn fit_on_946_repeat_buyers_reproduces_note_025() {
    let fit = gamma_gamma::fit(&spend_customers(), &FitOptions::default()).unwrap();
    assert!(fit.converged, "{:?}", fit.issue);
    assert_eq!(fit.n_customers, 946);
    assert_eq!(fit.excluded["one_time_buyer"], 1411);
    assert_eq!(fit.excluded["non_positive_spend"], 0);
    assert_abs(
        fit.log_likelihood,
        r(&format!("{FIT}/ll_refined_mle")),
        1e-5,
        "LL",
    );
    // Fader & Hardie note 025: p = 6.25, q = 3.74, γ = 15.44.
    assert_abs(fit.params.p, 6.25, 5e-3, "p vs note");
    assert_abs(fit.params.q, 3.74, 5e-3, "q vs note");
    assert_abs(fit.params.v, 15.44, 1e-2, "v vs note");
    let se = fit.std_errors.expect("standard errors");
    for (name, got, got_se) in [
        ("p", fit.params.p, se.p),
        ("q", fit.params.q, se.q),
        ("v", fit.params.v, se.v),
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
fn expected_spend_at_published_and_fitted_parameters() {
    let published = GammaGammaParams::new(6.25, 3.74, 15.44).unwrap();
    let fitted = GammaGammaParams::new(
        r(&format!("{FIT}/params_lifetimes/p")),
        r(&format!("{FIT}/params_lifetimes/q")),
        r(&format!("{FIT}/params_lifetimes/v")),
    )
    .unwrap();
    for (i, row) in cdnow().iter().take(10).enumerate() {
        let c = SpendCustomer::new(row.customer.frequency, row.monetary);
        assert_rel(
            published.expected_average_spend(&c).unwrap(),
            r(&format!(
                "fixed_parameter_checks/gg_first10_expected_avg_profit/values/{i}"
            )),
            1e-8,
            &format!("E[M] customer {}", row.id),
        );
        // Hardie's spreadsheet shows the unrounded fit's values cut to 2 decimals.
        let got = fitted.expected_average_spend(&c).unwrap();
        let sheet = r(&format!(
            "fixed_parameter_checks/gg_first10_expected_avg_profit/hardie_spreadsheet/{i}"
        ));
        assert!(
            ((got * 100.0).floor() / 100.0 - sheet).abs() < 1e-9,
            "customer {}: {got} vs spreadsheet {sheet}",
            row.id
        );
    }
    // One-time buyers get the population mean p·v/(q−1).
    assert_rel(
        fitted
            .expected_average_spend(&SpendCustomer::new(0, 0.0))
            .unwrap(),
        r(&format!("{FIT}/population_mean_spend_p_v_over_q_minus_1")),
        1e-12,
        "population mean",
    );
    assert_abs(
        gamma_gamma::log_likelihood(&published, &spend_customers()).unwrap(),
        r("fixed_parameter_checks/ll_at_published/gamma_gamma"),
        1e-6,
        "LL at published parameters",
    );
}
