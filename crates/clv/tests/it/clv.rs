//! Per-customer predictions and CLV against lifetimes: the five showcase customers at the
//! published parameters, and all 2,357 customers at lifetimes' fitted parameters.

use crm_clv::bgnbd::BgNbdParams;
use crm_clv::clv::{ClvSettings, TimeUnit, customer_lifetime_value, score_customers};
use crm_clv::gamma_gamma::{GammaGammaParams, SpendCustomer};
use crm_clv::mbgnbd::MbgNbdParams;
use crm_clv::pareto_nbd::ParetoNbdParams;
use crm_clv::{Customer, TransactionModel};

use crate::common::*;

const SETTINGS: ClvSettings = ClvSettings {
    months: 12,
    monthly_discount_rate: 0.01,
    time_unit: TimeUnit::Week,
};

fn fitted<T>(
    model: &str,
    names: [&str; 4],
    make: fn(f64, f64, f64, f64) -> crm_clv::Result<T>,
) -> T {
    let p = |n: &str| {
        r(&format!(
            "transaction_model_fits/shipped_weeks/{model}/params_lifetimes/{n}"
        ))
    };
    make(p(names[0]), p(names[1]), p(names[2]), p(names[3])).unwrap()
}

fn fitted_gg() -> GammaGammaParams {
    let p = |n: &str| {
        r(&format!(
            "gamma_gamma_fits/shipped_zbar/params_lifetimes/{n}"
        ))
    };
    GammaGammaParams::new(p("p"), p("q"), p("v")).unwrap()
}

#[test]
fn clv_of_showcase_customers_at_published_parameters() {
    let bg = BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap();
    let gg = GammaGammaParams::new(6.25, 3.74, 15.44).unwrap();
    for id in SHOWCASE {
        let row = cdnow_customer(id);
        let m = gg
            .expected_average_spend(&SpendCustomer::new(row.customer.frequency, row.monetary))
            .unwrap();
        let base = format!("fixed_parameter_checks/customers/{id}");
        assert_rel(
            m,
            r(&format!("{base}/gg_expected_avg_profit")),
            1e-8,
            "E[M]",
        );
        assert_rel(
            customer_lifetime_value(&bg, &row.customer, m, &SETTINGS).unwrap(),
            r(&format!("{base}/clv_bgnbd_12m_1pct")),
            1e-8,
            &format!("CLV customer {id}"),
        );
    }
}

#[test]
fn clv_of_showcase_customers_at_fitted_parameters_all_models() {
    let bg = fitted("bgnbd", ["r", "alpha", "a", "b"], BgNbdParams::new);
    let pnbd = fitted(
        "pareto_nbd",
        ["r", "alpha", "s", "beta"],
        ParetoNbdParams::new,
    );
    let mbg = fitted("mbgnbd", ["r", "alpha", "a", "b"], MbgNbdParams::new);
    let gg = fitted_gg();
    let models: [(&str, &dyn TransactionModel); 3] =
        [("bgnbd", &bg), ("pnbd", &pnbd), ("mbgnbd", &mbg)];
    for id in SHOWCASE {
        let row = cdnow_customer(id);
        let m = gg
            .expected_average_spend(&SpendCustomer::new(row.customer.frequency, row.monetary))
            .unwrap();
        let base = format!("customers_shipped_weeks/{id}");
        for (name, model) in models {
            assert_rel(
                customer_lifetime_value(model, &row.customer, m, &SETTINGS).unwrap(),
                r(&format!("{base}/clv_{name}_12m_1pct")),
                1e-8,
                &format!("{name} CLV customer {id}"),
            );
        }
    }
}

#[test]
fn all_2357_customers_match_lifetimes_predictions() {
    let bg = fitted("bgnbd", ["r", "alpha", "a", "b"], BgNbdParams::new);
    let pnbd = fitted(
        "pareto_nbd",
        ["r", "alpha", "s", "beta"],
        ParetoNbdParams::new,
    );
    let mbg = fitted("mbgnbd", ["r", "alpha", "a", "b"], MbgNbdParams::new);
    let gg = fitted_gg();
    let rows = csv_rows("predictions_cdnow_shipped_weeks.csv");
    assert_eq!(rows.len(), 2357);
    // The CSV carries 12 significant digits: that bounds the achievable agreement.
    let rtol = 1e-9;
    let mut customers = Vec::new();
    let mut spends = Vec::new();
    for row in &rows {
        let c = Customer::new(row[1].parse().unwrap(), num(&row[2]), num(&row[3]));
        let m = gg
            .expected_average_spend(&SpendCustomer::new(c.frequency, num(&row[4])))
            .unwrap();
        let id = &row[0];
        let check = |got: f64, col: usize, what: &str| {
            assert_rel(got, num(&row[col]), rtol, &format!("{what}, customer {id}"));
        };
        check(
            bg.expected_purchases(&c, 39.0).unwrap(),
            5,
            "BG/NBD E[Y(39)]",
        );
        check(bg.p_alive(&c).unwrap(), 6, "BG/NBD P(alive)");
        check(
            pnbd.expected_purchases(&c, 39.0).unwrap(),
            7,
            "Pareto/NBD E[Y(39)]",
        );
        check(pnbd.p_alive(&c).unwrap(), 8, "Pareto/NBD P(alive)");
        check(
            mbg.expected_purchases(&c, 39.0).unwrap(),
            9,
            "MBG/NBD E[Y(39)]",
        );
        check(mbg.p_alive(&c).unwrap(), 10, "MBG/NBD P(alive)");
        check(m, 11, "GG E[M]");
        check(
            customer_lifetime_value(&bg, &c, m, &SETTINGS).unwrap(),
            12,
            "CLV",
        );
        customers.push(c);
        spends.push(m);
    }
    // Population totals (REFERENCE.md §5) through the parallel scorer.
    let scored = score_customers(&bg, &customers, &spends, &SETTINGS).unwrap();
    // The scorer evaluates each distinct pattern once; per customer it must
    // agree with the direct formulas.
    let many = crm_clv::clv::expected_purchases_many(&bg, &customers, 39.0).unwrap();
    for (i, (c, s)) in customers.iter().zip(&scored).enumerate() {
        let direct = customer_lifetime_value(&bg, c, spends[i], &SETTINGS).unwrap();
        assert!(
            (s.clv - direct).abs() <= 1e-12 * direct.abs().max(1.0),
            "CLV of {i}"
        );
        assert_eq!(s.p_alive, bg.p_alive(c).unwrap());
        assert_eq!(many[i], bg.expected_purchases(c, 39.0).unwrap());
    }
    // Scoring a summary read in batches: the patterns counted one customer at
    // a time, then each customer looked up, gives exactly the same outputs.
    let mut counter = crm_clv::data::PatternCounter::default();
    for c in &customers {
        counter.add(c).unwrap();
    }
    let patterns = counter.patterns();
    let scorer = crm_clv::clv::PatternScorer::new(&bg, &patterns, &SETTINGS).unwrap();
    assert_eq!(scorer.len(), patterns.len());
    assert!(patterns.len() < customers.len());
    for (i, c) in customers.iter().enumerate() {
        assert_eq!(
            scorer.score(c, spends[i]).unwrap(),
            scored[i],
            "customer {i}"
        );
    }
    assert!(scorer.score(&Customer::new(1, 0.5, 1e6), 1.0).is_err());
    let total_clv: f64 = scored.iter().map(|s| s.clv).sum();
    let totals = "population_and_holdout/shipped_fit_totals";
    assert_rel(
        total_clv,
        r(&format!("{totals}/sum_clv_bgnbd_gg_12m_1pct_all_customers")),
        1e-9,
        "Σ CLV",
    );
    assert_rel(
        spends.iter().sum(),
        r(&format!(
            "{totals}/sum_gg_expected_avg_profit_all_customers"
        )),
        1e-9,
        "Σ E[M]",
    );
    let sum_y: f64 = customers
        .iter()
        .map(|c| pnbd.expected_purchases(c, 39.0).unwrap())
        .sum();
    assert_rel(
        sum_y,
        r(&format!("{totals}/sum_pnbd_exp_39w")),
        1e-9,
        "Σ Pareto E[Y(39)]",
    );
    let pnbd_clv: f64 = customers
        .iter()
        .zip(&spends)
        .map(|(c, m)| customer_lifetime_value(&pnbd, c, *m, &SETTINGS).unwrap())
        .sum();
    assert_rel(
        pnbd_clv,
        r(&format!("{totals}/sum_clv_pnbd_gg_12m_1pct_all_customers")),
        1e-9,
        "Σ Pareto CLV",
    );
}

#[test]
fn month_length_follows_the_time_unit() {
    // Same customer in days and in weeks: the CLV must agree (α scales with the unit).
    let bg = BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap();
    let bg_days = BgNbdParams::new(0.243, 4.414 * 7.0, 0.793, 2.426).unwrap();
    let weeks = Customer::new(2, 30.43, 38.86);
    let days = Customer::new(2, 30.43 * 7.0, 38.86 * 7.0);
    let w = customer_lifetime_value(&bg, &weeks, 20.0, &SETTINGS).unwrap();
    let d = customer_lifetime_value(
        &bg_days,
        &days,
        20.0,
        &ClvSettings {
            time_unit: TimeUnit::Day,
            ..SETTINGS
        },
    )
    .unwrap();
    // 30.415 days vs 4.345 weeks (= 30.415 days): identical horizons.
    assert_rel(d, w, 1e-10, "days vs weeks");
}
