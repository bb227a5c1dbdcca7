//! Fits BG/NBD (and Pareto/NBD) to 10 million synthetic customers and prints wall times.
//!
//! `cargo run --release --example bench_fit -p crm-clv [-- N_CUSTOMERS [--pareto]]`
//!
//! Customers are simulated from known BG/NBD parameters with integer-day histories over two
//! years (time unit: days), the shape real transaction summaries have. Fitting cost follows the
//! number of distinct (x, t_x, T) patterns, which is what this benchmark shows.

use std::time::Instant;

use crm_clv::bgnbd::{self, BgNbdParams};
use crm_clv::pareto_nbd;
use crm_clv::{Customer, FitOptions, compress_customers};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Beta, Distribution, Exp, Gamma};
use rayon::prelude::*;

fn simulate(rng: &mut impl Rng, truth: &BgNbdParams, age_days: u32) -> Customer {
    let lambda: f64 = Gamma::new(truth.r, 1.0 / truth.alpha).unwrap().sample(rng);
    let p: f64 = Beta::new(truth.a, truth.b).unwrap().sample(rng);
    let gap = Exp::new(lambda).unwrap();
    let (mut t, mut days) = (0.0_f64, Vec::new());
    loop {
        t += gap.sample(rng);
        if t > f64::from(age_days) {
            break;
        }
        // Purchases are recorded by calendar day; several on one day count once.
        let day = t.floor() as u32;
        if day > 0 && days.last() != Some(&day) {
            days.push(day);
        }
        if rng.random::<f64>() < p {
            break;
        }
    }
    let last = days.last().copied().unwrap_or(0);
    Customer::new(days.len() as u32, f64::from(last), f64::from(age_days))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000_000);
    // CDNOW's BG/NBD parameters in days (α = 7 × 4.414).
    let truth = BgNbdParams::new(0.243, 30.9, 0.793, 2.426)?;

    let started = Instant::now();
    let chunk = 100_000;
    let customers: Vec<Customer> = (0..n.div_ceil(chunk))
        .into_par_iter()
        .flat_map_iter(|c| {
            let mut rng = StdRng::seed_from_u64(c as u64);
            let len = chunk.min(n - c * chunk);
            (0..len)
                .map(|_| {
                    let age = rng.random_range(1..=730);
                    simulate(&mut rng, &truth, age)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let simulate_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let patterns = compress_customers(&customers)?;
    let compress_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let fit = bgnbd::fit(&patterns, &FitOptions::default())?;
    let fit_s = started.elapsed().as_secs_f64();

    let with_pareto = std::env::args().any(|a| a == "--pareto");

    println!("customers            {n}");
    println!("distinct patterns    {}", patterns.len());
    println!("simulate             {simulate_s:.2} s");
    println!("compress             {compress_s:.2} s");
    println!(
        "BG/NBD fit           {fit_s:.2} s  ({} iterations, converged {})",
        fit.iterations, fit.converged
    );
    println!(
        "  r {:.4} alpha {:.3} a {:.4} b {:.4}   (truth 0.243, 30.9, 0.793, 2.426)",
        fit.params.r, fit.params.alpha, fit.params.a, fit.params.b
    );
    println!("compress + BG/NBD    {:.2} s wall", compress_s + fit_s);
    if with_pareto {
        let started = Instant::now();
        let pareto = pareto_nbd::fit(&patterns, &FitOptions::default())?;
        println!(
            "Pareto/NBD fit       {:.2} s  ({} iterations, converged {})",
            started.elapsed().as_secs_f64(),
            pareto.iterations,
            pareto.converged
        );
    }
    Ok(())
}
