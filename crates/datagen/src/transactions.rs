//! Transactions: each customer's purchases placed in time between their
//! first purchase and their dropout (weighted by the calendar's seasonality),
//! log-normal amounts around the customer's own typical check, refunds of
//! earlier purchases, and anonymous receipts. Rows of a chunk are ordered by
//! time and numbered from the chunk's offset, so `transaction_id` is unique
//! and dense (`1..=transactions`).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::DataType;
use crm_core::schema::{MONEY_PRECISION, MONEY_SCALE};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Zipf};

use crate::calendar::MICROS_PER_SECOND;
use crate::config::Plan;
use crate::customers::{CHANNELS, Latent, customer_id, latent_chunk};
use crate::error::Result;
use crate::managers::manager_id;
use crate::rng::{Stream, stream};

/// Probability that a customer's later transaction is a refund of an earlier purchase.
const REFUND_PROBABILITY: f64 = 0.048;
/// Share of purchases that are free (gifts, promo items): amount 0.
const FREE_SHARE: f64 = 0.003;
/// Share of rows without a known cost.
const COST_MISSING: f64 = 0.10;
/// Products in the catalogue; popularity is Zipf-distributed.
const PRODUCTS: u32 = 20_000;
/// Log-spread of one customer's purchase amounts around their own mean.
const AMOUNT_SIGMA: f64 = 0.5;

const SHOP: usize = 0;
const WEB: usize = 1;
const PHONE: usize = 3;

/// One transaction before it becomes Arrow columns.
#[derive(Debug, Clone, Copy)]
struct Row {
    /// Position of the customer in the chunk; `None` for an anonymous receipt.
    customer: Option<u32>,
    ts: i64,
    cents: i64,
    cost: Option<i64>,
    channel: usize,
    manager: Option<u32>,
    product: u32,
}

struct Draws {
    zipf: Zipf<f64>,
    spread: Normal<f64>,
    anonymous_amount: Normal<f64>,
}

impl Draws {
    fn new() -> Self {
        Draws {
            zipf: Zipf::new(f64::from(PRODUCTS), 1.07).expect("valid zipf"),
            spread: Normal::new(0.0, AMOUNT_SIGMA).expect("valid normal"),
            anonymous_amount: Normal::new(6.8, 0.8).expect("valid normal"),
        }
    }

    fn product(&self, rng: &mut ChaCha8Rng) -> u32 {
        (self.zipf.sample(rng) as u32).clamp(1, PRODUCTS)
    }
}

/// Rounds a price in roubles: most shelf prices are whole roubles.
fn price_cents(rng: &mut ChaCha8Rng, roubles: f64) -> i64 {
    let roubles = roubles.clamp(0.01, 50_000_000.0);
    if rng.random_bool(0.7) {
        (roubles.round().max(1.0) as i64) * 100
    } else {
        ((roubles * 100.0).round() as i64).max(1)
    }
}

/// Cost of goods: margin between 30% and 60%, or unknown.
fn cost_cents(rng: &mut ChaCha8Rng, cents: i64) -> Option<i64> {
    if rng.random_bool(COST_MISSING) {
        None
    } else {
        let margin = rng.random_range(0.30..0.60);
        Some((cents as f64 * (1.0 - margin)).round() as i64)
    }
}

fn customer_rows(
    plan: &Plan,
    rng: &mut ChaCha8Rng,
    draws: &Draws,
    pos: u32,
    l: &Latent,
    rows: &mut Vec<Row>,
) {
    let cal = &plan.calendar;
    let end_ts = cal.end_ts();
    let n = l.purchases as usize;
    if n == 0 {
        return;
    }
    let mut times = Vec::with_capacity(n);
    times.push(l.first_ts);
    for _ in 1..n {
        let ts = if l.active_until > l.first_day {
            cal.sample_ts(rng, l.first_day + 1, l.active_until)
        } else {
            (l.first_ts + rng.random_range(1..6 * 3_600) * MICROS_PER_SECOND).min(end_ts)
        };
        times.push(ts);
    }
    times.sort_unstable();
    let start = rows.len();
    // Whether each row of this customer may still be refunded: a positive
    // purchase not refunded yet. Refunds refer to one earlier purchase each.
    let mut refundable: Vec<bool> = Vec::with_capacity(n);
    for ts in times {
        let earlier = rows.len() - start;
        if earlier > 0 && rng.random_bool(REFUND_PROBABILITY) {
            let k = rng.random_range(0..earlier);
            if refundable[k] {
                refundable[k] = false;
                let original = rows[start + k];
                let cents = if rng.random_bool(0.8) {
                    original.cents
                } else {
                    ((original.cents as f64 * rng.random_range(0.1..0.9)).round() as i64).max(1)
                };
                let delay = rng.random_range(3_600..14 * 86_400) * MICROS_PER_SECOND;
                let share = cents as f64 / original.cents as f64;
                rows.push(Row {
                    ts: (original.ts + delay).min(end_ts).max(original.ts),
                    cents: -cents,
                    cost: original.cost.map(|c| -((c as f64 * share).round() as i64)),
                    ..original
                });
                refundable.push(false);
                continue;
            }
        }
        let channel = if rng.random_bool(0.75) {
            l.channel
        } else {
            rng.random_range(0..CHANNELS.len())
        };
        let cents = if rng.random_bool(FREE_SHARE) {
            0
        } else {
            let log_price = l.amount_mu + draws.spread.sample(rng);
            price_cents(rng, log_price.exp())
        };
        let manager = match channel {
            PHONE => l.manager,
            _ if l.is_business() => l.manager,
            SHOP if rng.random_bool(0.3) => l.manager,
            _ => None,
        };
        rows.push(Row {
            customer: Some(pos),
            ts,
            cents,
            cost: cost_cents(rng, cents),
            channel,
            manager,
            product: draws.product(rng),
        });
        refundable.push(cents > 0);
    }
}

/// The transactions table rows of one chunk, in time order.
pub(crate) fn transactions_batch(plan: &Plan, chunk: u64) -> Result<RecordBatch> {
    let latents = latent_chunk(plan, chunk);
    let mut rng = stream(plan.seed, Stream::Transactions, chunk);
    let draws = Draws::new();
    let expected = plan.chunk_customer_transactions(chunk) + plan.chunk_anonymous(chunk);
    let mut rows: Vec<Row> = Vec::with_capacity(expected as usize);
    for (pos, l) in latents.iter().enumerate() {
        customer_rows(plan, &mut rng, &draws, pos as u32, l, &mut rows);
    }
    let cal = &plan.calendar;
    for _ in 0..plan.chunk_anonymous(chunk) {
        let log_price: f64 = draws.anonymous_amount.sample(&mut rng);
        let cents = price_cents(&mut rng, log_price.exp());
        rows.push(Row {
            customer: None,
            ts: cal.sample_ts(&mut rng, 0, cal.days() - 1),
            cents,
            cost: cost_cents(&mut rng, cents),
            channel: if rng.random_bool(0.85) { SHOP } else { WEB },
            manager: None,
            product: draws.product(&mut rng),
        });
    }
    debug_assert_eq!(rows.len() as u64, expected);
    rows.sort_by_key(|r| r.ts);

    let ids: Vec<String> = latents
        .iter()
        .map(|l| customer_id(plan.seed, l.index))
        .collect();
    let managers: Vec<String> = (0..plan.managers.len() as u32).map(manager_id).collect();
    let n = rows.len();
    let offset = plan.chunk_transaction_offset(chunk);
    let money = DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE);
    let mut transaction_id = StringBuilder::with_capacity(n, n * 9);
    let mut customer = StringBuilder::with_capacity(n, n * 7);
    let mut ts = TimestampMicrosecondBuilder::with_capacity(n);
    let mut amount = Decimal128Builder::with_capacity(n).with_data_type(money.clone());
    let mut cost = Decimal128Builder::with_capacity(n).with_data_type(money);
    let mut channel = StringBuilder::with_capacity(n, n * 4);
    let mut manager = StringBuilder::with_capacity(n, n * 2);
    let mut product = StringBuilder::with_capacity(n, n * 10);
    let mut buf = String::new();
    for (j, r) in rows.iter().enumerate() {
        buf.clear();
        push_u64(&mut buf, offset + j as u64 + 1);
        transaction_id.append_value(&buf);
        customer.append_option(r.customer.map(|p| ids[p as usize].as_str()));
        ts.append_value(r.ts);
        amount.append_value(i128::from(r.cents));
        cost.append_option(r.cost.map(i128::from));
        channel.append_value(CHANNELS[r.channel]);
        manager.append_option(r.manager.map(|m| managers[m as usize].as_str()));
        buf.clear();
        buf.push_str("SKU-");
        let digits = r.product.to_string();
        for _ in digits.len()..6 {
            buf.push('0');
        }
        buf.push_str(&digits);
        product.append_value(&buf);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(transaction_id.finish()),
        Arc::new(customer.finish()),
        Arc::new(ts.finish()),
        Arc::new(amount.finish()),
        Arc::new(cost.finish()),
        Arc::new(channel.finish()),
        Arc::new(manager.finish()),
        Arc::new(product.finish()),
    ];
    Ok(RecordBatch::try_new(
        crm_core::Table::Transactions.arrow_schema(),
        columns,
    )?)
}

fn push_u64(buf: &mut String, v: u64) {
    use std::fmt::Write;
    let _ = write!(buf, "{v}");
}
