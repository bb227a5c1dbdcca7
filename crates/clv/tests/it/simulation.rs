//! Parameter recovery: simulate from known parameters with a seeded RNG, fit, and require the
//! estimates to lie within sampling error (4 standard errors, using the fit's own SEs).

use crm_clv::bgnbd::{self, BgNbdParams};
use crm_clv::gamma_gamma::{self, SpendCustomer};
use crm_clv::{Customer, FitOptions, compress_customers};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Beta, Distribution, Exp, Gamma};

/// One BG/NBD customer observed for `age`: Poisson purchases at rate λ, and after each repeat
/// purchase a coin with probability p decides whether the customer drops out.
pub fn simulate_bgnbd(rng: &mut impl Rng, truth: &BgNbdParams, age: f64) -> Customer {
    let lambda = Gamma::new(truth.r, 1.0 / truth.alpha).unwrap().sample(rng);
    let p = Beta::new(truth.a, truth.b).unwrap().sample(rng);
    let gap = Exp::new(lambda).unwrap();
    let (mut t, mut x, mut last) = (0.0, 0_u32, 0.0);
    loop {
        t += gap.sample(rng);
        if t > age {
            break;
        }
        x += 1;
        last = t;
        if rng.random::<f64>() < p {
            break;
        }
    }
    Customer::new(x, last, age)
}

#[test]
fn bgnbd_parameters_are_recovered() {
    let truth = BgNbdParams::new(0.25, 4.0, 0.8, 2.5).unwrap();
    let mut rng = StdRng::seed_from_u64(20_240_101);
    let customers: Vec<Customer> = (0..20_000)
        .map(|_| {
            let age = rng.random_range(26.0..52.0);
            simulate_bgnbd(&mut rng, &truth, age)
        })
        .collect();
    let fit = bgnbd::fit(
        &compress_customers(&customers).unwrap(),
        &FitOptions::default(),
    )
    .unwrap();
    assert!(fit.converged, "{:?}", fit.issue);
    let se = fit.std_errors.unwrap();
    for (name, got, want, s) in [
        ("r", fit.params.r, truth.r, se.r),
        ("alpha", fit.params.alpha, truth.alpha, se.alpha),
        ("a", fit.params.a, truth.a, se.a),
        ("b", fit.params.b, truth.b, se.b),
    ] {
        assert!(
            (got - want).abs() < 4.0 * s,
            "{name}: fitted {got} ± {s}, true {want}"
        );
        // The standard errors themselves must be of a plausible size for 20,000 customers.
        assert!(s < 0.5 * want, "{name}: se {s} too large");
    }
}

#[test]
fn gamma_gamma_parameters_are_recovered() {
    let (p, q, v) = (6.0, 3.5, 15.0);
    let mut rng = StdRng::seed_from_u64(7);
    let customers: Vec<SpendCustomer> = (0..20_000)
        .map(|_| {
            let x: u32 = rng.random_range(1..=8);
            // Spend rate ν ~ Gamma(q, rate v); a mean of x values ~ Gamma(p·x, rate ν) / x.
            let nu = Gamma::new(q, 1.0 / v).unwrap().sample(&mut rng);
            let total = Gamma::new(p * f64::from(x), 1.0 / nu)
                .unwrap()
                .sample(&mut rng);
            SpendCustomer::new(x, total / f64::from(x))
        })
        .collect();
    let fit = gamma_gamma::fit(&customers, &FitOptions::default()).unwrap();
    assert!(fit.converged, "{:?}", fit.issue);
    let se = fit.std_errors.unwrap();
    for (name, got, want, s) in [
        ("p", fit.params.p, p, se.p),
        ("q", fit.params.q, q, se.q),
        ("v", fit.params.v, v, se.v),
    ] {
        assert!(
            (got - want).abs() < 4.0 * s,
            "{name}: fitted {got} ± {s}, true {want}"
        );
    }
}
