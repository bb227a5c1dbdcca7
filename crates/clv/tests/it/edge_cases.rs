//! Inputs at the edges: degenerate data, extreme ages, bad values, penalties, budgets.

use crm_clv::bgnbd::{self, BgNbdParams};
use crm_clv::gamma_gamma::{self, SpendCustomer};
use crm_clv::mbgnbd::MbgNbdParams;
use crm_clv::pareto_nbd::{self, ParetoNbdParams};
use crm_clv::{
    Customer, Error, FitOptions, IssueReason, RfmPattern, TransactionModel, compress_customers,
};

use crate::common::*;

fn pattern(x: u32, tx: f64, t: f64, count: u64) -> RfmPattern {
    RfmPattern {
        frequency: x,
        recency: tx,
        age: t,
        count,
    }
}

/// Every number a CLI would print must be finite.
fn assert_json_finite<T: serde::Serialize>(v: &T) {
    let json = serde_json::to_value(v).unwrap();
    fn walk(v: &serde_json::Value, path: &str) {
        match v {
            serde_json::Value::Number(n) => {
                assert!(n.as_f64().unwrap().is_finite(), "{path} not finite")
            }
            serde_json::Value::Object(m) => {
                m.iter().for_each(|(k, v)| walk(v, &format!("{path}.{k}")))
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, path)),
            _ => {}
        }
    }
    walk(&json, "");
}

#[test]
fn single_pattern_reports_instead_of_panicking() {
    let data = [pattern(2, 10.0, 20.0, 100)];
    match bgnbd::fit(&data, &FitOptions::default()) {
        Ok(fit) => {
            assert_json_finite(&fit);
            if !fit.converged {
                let issue = fit
                    .issue
                    .clone()
                    .expect("a non-converged fit names its issue");
                assert!(issue.suggestion.contains("penalizer"), "{issue:?}");
            }
        }
        Err(Error::NotConverged { suggestion, .. }) => assert!(suggestion.contains("penalizer")),
        Err(other) => panic!("unexpected error {other}"),
    }
    // With a penalty the same data give a finite, converged, regularised answer.
    let fit = bgnbd::fit(&data, &FitOptions::with_penalizer(0.01)).unwrap();
    assert_json_finite(&fit);
    assert!(fit.converged, "{:?}", fit.issue);
}

#[test]
fn all_one_time_buyers_run_to_a_bound_and_say_so() {
    // With x = 0 for everyone the likelihood keeps rising as the purchase rate goes to zero.
    let data = [pattern(0, 0.0, 30.0, 500), pattern(0, 0.0, 10.0, 200)];
    let fit = bgnbd::fit(&data, &FitOptions::default()).unwrap();
    assert!(!fit.converged);
    let issue = fit.issue.clone().unwrap();
    assert_eq!(issue.reason, IssueReason::ParameterAtBound, "{issue:?}");
    assert!(issue.suggestion.contains("penalizer of 0.001"));
    assert_json_finite(&fit);
    match fit.clone().require_converged() {
        Err(e @ Error::NotConverged { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("parameter at a bound") && msg.contains("penalizer"),
                "{msg}"
            );
        }
        other => panic!("expected NotConverged, got {other:?}"),
    }
    // Predictions from the degenerate fit stay finite.
    let c = Customer::new(0, 0.0, 30.0);
    assert!(fit.params.expected_purchases(&c, 39.0).unwrap().is_finite());
}

#[test]
fn iteration_budget_exhaustion_is_reported() {
    let options = FitOptions {
        max_iterations: 3,
        ..FitOptions::default()
    };
    let fit = pareto_nbd::fit(&cdnow_patterns(), &options).unwrap();
    assert!(!fit.converged);
    let issue = fit.issue.clone().unwrap();
    assert_eq!(issue.reason, IssueReason::IterationsExhausted);
    assert!(issue.suggestion.contains("max_iterations"), "{issue:?}");
    assert!(fit.clone().require_converged().is_err());
    assert_json_finite(&fit);
}

#[test]
fn huge_ages_and_horizons_stay_finite() {
    let bg = BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap();
    let pnbd = ParetoNbdParams::new(0.553, 10.578, 0.606, 11.669).unwrap();
    let mbg = MbgNbdParams::new(0.525, 6.183, 0.891, 1.614).unwrap();
    let models: [&dyn TransactionModel; 3] = [&bg, &pnbd, &mbg];
    for c in [
        Customer::new(0, 0.0, 1e7),
        Customer::new(5, 1.0, 1e7),
        Customer::new(5000, 1e7, 1e7),
        Customer::new(300, 1.0, 1e5),
    ] {
        for m in models {
            let e = m.expected_purchases(&c, 52.0).unwrap();
            let p = m.p_alive(&c).unwrap();
            let ln_p = m.ln_p_alive(&c).unwrap();
            assert!(e.is_finite() && e >= 0.0, "{c:?}: {e}");
            assert!(
                (0.0..=1.0).contains(&p) && ln_p.is_finite() && ln_p <= 0.0,
                "{c:?}: {p}"
            );
        }
    }
    // A lapsed customer with x = 300 has P(alive) below f64's range; its logarithm still carries it.
    let ln_p = bg.ln_p_alive(&Customer::new(300, 1.0, 1e5)).unwrap();
    assert!(ln_p < -700.0 && ln_p.is_finite());
    // Long horizons (10 years in weeks) push the 2F1 argument towards 1.
    for m in models {
        let e = m
            .expected_purchases(&Customer::new(3, 20.0, 30.0), 520.0)
            .unwrap();
        assert!(e.is_finite() && e > 0.0);
    }
    let ll = bgnbd::log_likelihood(&bg, &[pattern(3, 1e6, 1e7, 1)]).unwrap();
    assert!(ll.is_finite());
}

#[test]
fn spend_exclusions_are_counted_with_reasons() {
    let mut customers: Vec<SpendCustomer> = cdnow()
        .iter()
        .map(|r| SpendCustomer::new(r.customer.frequency, r.monetary))
        .collect();
    customers.push(SpendCustomer::new(3, 0.0));
    customers.push(SpendCustomer::new(2, -12.5));
    customers.push(SpendCustomer::new(1, -0.0));
    let fit = gamma_gamma::fit(&customers, &FitOptions::default()).unwrap();
    assert_eq!(fit.excluded["non_positive_spend"], 3);
    assert_eq!(fit.excluded["one_time_buyer"], 1411);
    assert_eq!(fit.n_customers, 946);
    // The excluded rows do not move the fit.
    assert_abs(
        fit.log_likelihood,
        r("gamma_gamma_fits/shipped_zbar/ll_refined_mle"),
        1e-5,
        "LL",
    );
    let json = serde_json::to_value(&fit).unwrap();
    assert_eq!(json["excluded"]["non_positive_spend"], 3);
    for key in [
        "p",
        "q",
        "v",
        "log_likelihood",
        "n_customers",
        "std_errors",
        "converged",
        "iterations",
    ] {
        assert!(json.get(key).is_some(), "JSON lacks {key}: {json}");
    }
    // Only non-finite spend is an error, and it names the row.
    customers.push(SpendCustomer::new(2, f64::NAN));
    match gamma_gamma::fit(&customers, &FitOptions::default()) {
        Err(Error::InvalidInput { index, .. }) => assert_eq!(index, customers.len() - 1),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn penalizer_shrinks_parameters_and_costs_likelihood() {
    let data = cdnow_patterns();
    let free = bgnbd::fit(&data, &FitOptions::default()).unwrap();
    let penalised = bgnbd::fit(&data, &FitOptions::with_penalizer(0.1)).unwrap();
    assert!(penalised.converged, "{:?}", penalised.issue);
    assert_eq!(penalised.penalizer, 0.1);
    assert!(penalised.log_likelihood < free.log_likelihood);
    // The penalty is Σθ² with α in units of the largest age: it must be smaller when penalised.
    let max_t = data.iter().map(|p| p.age).fold(0.0, f64::max);
    let size = |r: f64, alpha: f64, a: f64, b: f64| r * r + (alpha / max_t).powi(2) + a * a + b * b;
    assert!(
        size(
            penalised.params.r,
            penalised.params.alpha,
            penalised.params.a,
            penalised.params.b
        ) < size(
            free.params.r,
            free.params.alpha,
            free.params.a,
            free.params.b
        )
    );
    assert!(matches!(
        bgnbd::fit(&data, &FitOptions::with_penalizer(-1.0)),
        Err(Error::InvalidOption(_))
    ));
}

#[test]
fn invalid_inputs_are_typed_errors() {
    assert!(matches!(compress_customers(&[]), Err(Error::EmptyInput)));
    for bad in [
        Customer::new(1, f64::NAN, 10.0),
        Customer::new(1, 5.0, f64::INFINITY),
        Customer::new(1, 11.0, 10.0),
        Customer::new(0, 2.0, 10.0),
        Customer::new(2, -1.0, 10.0),
    ] {
        assert!(matches!(
            compress_customers(&[Customer::new(1, 1.0, 2.0), bad]),
            Err(Error::InvalidInput { index: 1, .. })
        ));
    }
    assert!(BgNbdParams::new(0.2, -1.0, 0.5, 1.0).is_err());
    assert!(BgNbdParams::new(f64::NAN, 1.0, 0.5, 1.0).is_err());
    let bg = BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap();
    assert!(
        bg.expected_purchases(&Customer::new(1, 2.0, 3.0), -1.0)
            .is_err()
    );
    assert!(
        bg.expected_purchases(&Customer::new(1, 2.0, 3.0), f64::NAN)
            .is_err()
    );
    // a = 1 makes the BG/NBD expectation 0/0: an error, never a NaN.
    let singular = BgNbdParams::new(0.243, 4.414, 1.0, 2.426).unwrap();
    assert!(singular.expected_purchases_new_customer(10.0).is_err());
    let initial = FitOptions {
        initial: Some(vec![1.0, 2.0]),
        ..FitOptions::default()
    };
    assert!(matches!(
        bgnbd::fit(&cdnow_patterns(), &initial),
        Err(Error::InvalidOption(_))
    ));
}

#[test]
fn fit_output_is_one_json_object_with_usual_names() {
    let fit = bgnbd::fit(&cdnow_patterns(), &FitOptions::default()).unwrap();
    let json = serde_json::to_value(&fit).unwrap();
    for key in [
        "r",
        "alpha",
        "a",
        "b",
        "log_likelihood",
        "n_customers",
        "excluded",
        "converged",
        "iterations",
    ] {
        assert!(json.get(key).is_some(), "JSON lacks {key}: {json}");
    }
    assert!(json["std_errors"]["alpha"].as_f64().unwrap() > 0.0);
    assert_eq!(json["model"], "bgnbd");
    assert_json_finite(&fit);
}
