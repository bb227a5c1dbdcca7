//! Prints the shapes the README documents (one-time buyers, refunds,
//! anonymous receipts, win rate, overdue interactions) for a size.
//!
//! `cargo run --release -p crm-datagen --example shape_report -- [TRANSACTIONS]`

use std::collections::HashMap;

use arrow::array::{Array, AsArray, Decimal128Array, RecordBatch, StringArray};
use chrono::NaiveDate;
use crm_core::Table;
use crm_datagen::{GenConfig, generate_batches};

fn strings<'a>(batches: &'a [RecordBatch], col: &str) -> Vec<Option<&'a str>> {
    batches
        .iter()
        .flat_map(|b| {
            let a: &StringArray = b.column_by_name(col).expect("column").as_string();
            a.iter()
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(Ok(1_000_000), |s| s.parse())?;
    let cfg = GenConfig::new(n, NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"));
    let tx = generate_batches(&cfg, Table::Transactions)?;
    let customers = strings(&tx, "customer_id");
    let amounts: Vec<i128> = tx
        .iter()
        .flat_map(|b| {
            let a: &Decimal128Array = b
                .column_by_name("amount")
                .expect("amount")
                .as_any()
                .downcast_ref()
                .expect("decimal");
            a.values().to_vec()
        })
        .collect();
    let rows = customers.len() as f64;
    let mut per: HashMap<&str, u32> = HashMap::new();
    for (c, a) in customers.iter().zip(&amounts) {
        if let Some(c) = c
            && *a >= 0
        {
            *per.entry(c).or_default() += 1;
        }
    }
    let buyers = per.len() as f64;
    let share = |k: usize| k as f64 / buyers;
    println!(
        "transactions {rows}, customers {}, buyers {buyers}",
        cfg.customer_count()
    );
    println!(
        "anonymous {:.4}",
        customers.iter().filter(|c| c.is_none()).count() as f64 / rows
    );
    println!(
        "refunds {:.4}",
        amounts.iter().filter(|a| **a < 0).count() as f64 / rows
    );
    println!(
        "one-time buyers {:.4}",
        share(per.values().filter(|&&k| k == 1).count())
    );
    println!(
        "2-5 purchases {:.4}",
        share(per.values().filter(|&&k| (2..=5).contains(&k)).count())
    );
    println!(
        "100+ purchases {:.4}",
        share(per.values().filter(|&&k| k >= 100).count())
    );
    println!("max purchases {}", per.values().max().unwrap_or(&0));
    let interests = generate_batches(&cfg, Table::Interests)?;
    let outcome = strings(&interests, "outcome");
    let count =
        |o: &str| outcome.iter().filter(|x| **x == Some(o)).count() as f64 / outcome.len() as f64;
    println!(
        "interests {} won {:.3} lost {:.3} open {:.3}",
        outcome.len(),
        count("won"),
        count("lost"),
        count("open")
    );
    let inter = generate_batches(&cfg, Table::Interactions)?;
    let status = strings(&inter, "status");
    let c = |o: &str| status.iter().filter(|x| **x == Some(o)).count() as f64 / status.len() as f64;
    println!(
        "interactions {} done {:.3} planned {:.3} cancelled {:.3}",
        status.len(),
        c("done"),
        c("planned"),
        c("cancelled")
    );
    Ok(())
}
