//! Customers: first the hidden behaviour of each customer (the *latent*
//! draw: segment, manager, registration, when they buy and how often), then
//! the visible profile written to the customers table.
//!
//! Purchase counts follow the BG/NBD story: each customer buys at a
//! Gamma-distributed rate and, after each purchase, drops out for good with a
//! Beta-distributed probability. That gives many one-time buyers, a long tail
//! of heavy buyers, and churned customers whose last purchase is long ago.
//! The chunk's total is then nudged to its exact quota (see [`adjust_counts`]).
//! Transactions, deals and interactions all re-derive the latent draw of a
//! chunk from its own stream, so any table can be generated alone.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma, Normal};

use crate::calendar::MICROS_PER_SECOND;
use crate::config::Plan;
use crate::error::Result;
use crate::managers::manager_id;
use crate::names;
use crate::rng::{Stream, mix, pick_weighted, stream};

/// Market segments (1C «Сегмент рынка») with their share of customers and
/// whether they are business customers.
pub(crate) const SEGMENTS: &[(&str, f64, bool)] = &[
    ("Розница", 0.72, false),
    ("Малый бизнес", 0.12, true),
    ("Корпоративные клиенты", 0.06, true),
    ("Опт", 0.05, true),
    ("HoReCa", 0.05, true),
];

/// Acquisition sources; the paid ones match campaign channels.
pub(crate) const SOURCES: &[(&str, f64)] = &[
    ("organic", 0.22),
    ("offline_store", 0.20),
    ("yandex_direct", 0.14),
    ("vk_ads", 0.10),
    ("referral", 0.09),
    ("email", 0.06),
    ("telegram", 0.05),
    ("marketplace", 0.09),
    ("partner", 0.05),
];

/// Purchase channels: shop, web, app, phone.
pub(crate) const CHANNELS: &[&str] = &["shop", "web", "app", "phone"];

/// BG/NBD shape: purchase rate per day ~ Gamma(shape, scale), dropout after a
/// purchase ~ Beta(A, B). The Gamma shape below 1 makes most rates tiny and
/// a few very high: the heavy tail.
/// Tuned so that, over three years, buyers make about 19 purchases on
/// average before the quota adjustment adds roughly a fifth, and about a
/// third of buyers buy once.
const RATE_SHAPE: f64 = 0.22;
const RATE_SCALE_DAYS: f64 = 1.8;
const DROPOUT_A: f64 = 0.7;
const DROPOUT_B: f64 = 4.0;
/// Share of customers who register but never buy.
const NEVER_BUYS: f64 = 0.03;
/// Share of retail customers without an owning manager.
const RETAIL_UNMANAGED: f64 = 0.2;

/// The hidden behaviour of one customer.
#[derive(Debug, Clone)]
pub(crate) struct Latent {
    pub index: u64,
    pub segment: usize,
    pub manager: Option<u32>,
    /// Registration time (microseconds, local wall clock).
    pub created_at: i64,
    /// Day of the first purchase (meaningful when `purchases > 0`).
    pub first_day: u32,
    /// Time of the first purchase.
    pub first_ts: i64,
    /// Last day the customer may buy: the dropout day, or the window's end.
    pub active_until: u32,
    /// Number of transactions of this customer, refunds included.
    pub purchases: u32,
    /// Mean of log(amount in roubles) of this customer's purchases.
    pub amount_mu: f64,
    /// Preferred channel, index into [`CHANNELS`].
    pub channel: usize,
}

impl Latent {
    pub(crate) fn is_business(&self) -> bool {
        SEGMENTS[self.segment].2
    }
}

/// Text id of customer `index`. Most ids are plain numbers; about a quarter
/// are zero-padded to six digits as 1C codes are (`000123`). The spelling is
/// a hash of the index, so it is the same in every table.
pub(crate) fn customer_id(seed: u64, index: u64) -> String {
    let n = index + 1;
    if mix(seed ^ 0xC0DE ^ n.rotate_left(17)).is_multiple_of(4) {
        format!("{n:06}")
    } else {
        n.to_string()
    }
}

/// The latent draw of every customer of a chunk, with purchase counts that
/// add up to the chunk's quota exactly.
pub(crate) fn latent_chunk(plan: &Plan, chunk: u64) -> Vec<Latent> {
    let mut rng = stream(plan.seed, Stream::Latent, chunk);
    let cal = &plan.calendar;
    let days = cal.days();
    let rate = Gamma::new(RATE_SHAPE, RATE_SCALE_DAYS).expect("valid gamma");
    let dropout = Beta::new(DROPOUT_A, DROPOUT_B).expect("valid beta");
    let segment_weights: Vec<f64> = SEGMENTS.iter().map(|s| s.1).collect();
    let retail_mu = Normal::new(7.4, 0.55).expect("valid normal"); // ~1,600 ₽
    let business_mu = Normal::new(9.6, 0.7).expect("valid normal"); // ~15,000 ₽
    let mut out: Vec<Latent> = plan
        .chunk_customers(chunk)
        .map(|index| {
            let segment = pick_weighted(&mut rng, &segment_weights);
            let business = SEGMENTS[segment].2;
            let manager = if !business && rng.random_bool(RETAIL_UNMANAGED) {
                None
            } else {
                Some(pick_manager(plan, &mut rng, segment))
            };
            let created_day = cal.sample_day(&mut rng, 0, days - 1);
            let created_at = cal.day_start(created_day) + cal.sample_time_of_day(&mut rng);
            let lag_days = if rng.random_bool(0.65) {
                0
            } else {
                1 + (Exp::new(1.0 / 12.0).expect("valid exp").sample(&mut rng) as u32).min(180)
            };
            let first_day = created_day + lag_days;
            let never = rng.random_bool(NEVER_BUYS);
            let first_ts = if lag_days == 0 {
                (created_at + rng.random_range(1..=90) * 60 * MICROS_PER_SECOND).min(cal.end_ts())
            } else if first_day < days {
                cal.day_start(first_day) + cal.sample_time_of_day(&mut rng)
            } else {
                cal.end_ts()
            };
            let first_day = cal.day_of(first_ts);
            // The BG/NBD process, in days, from the first purchase to the window's end.
            let mut lambda: f64 = rate.sample(&mut rng);
            if matches!(segment, 3 | 4) {
                lambda *= 1.5; // wholesale and HoReCa restock often
            }
            let lambda = lambda.clamp(1e-4, 2.0);
            let p = dropout.sample(&mut rng);
            let (purchases, active_until) = if never || created_day + lag_days >= days {
                (0, first_day)
            } else {
                let mut t = f64::from(first_day);
                let mut n = 1u32;
                let gap = Exp::new(lambda).expect("positive rate");
                loop {
                    if rng.random_bool(p) {
                        break (n, t as u32);
                    }
                    t += gap.sample(&mut rng);
                    if t >= f64::from(days) || n >= 5_000 {
                        break (n, days - 1);
                    }
                    n += 1;
                }
            };
            let amount_mu = if business {
                business_mu.sample(&mut rng)
            } else {
                retail_mu.sample(&mut rng)
            };
            let channel = if business {
                pick_weighted(&mut rng, &[0.2, 0.3, 0.05, 0.45])
            } else {
                pick_weighted(&mut rng, &[0.45, 0.33, 0.15, 0.07])
            };
            Latent {
                index,
                segment,
                manager,
                created_at,
                first_day,
                first_ts,
                active_until: active_until.max(first_day),
                purchases,
                amount_mu,
                channel,
            }
        })
        .collect();
    adjust_counts(
        &mut out,
        plan.chunk_customer_transactions(chunk),
        days - 1,
        &mut rng,
    );
    out
}

fn pick_manager(plan: &Plan, rng: &mut ChaCha8Rng, segment: usize) -> u32 {
    let pool = &plan.managers_by_segment[segment];
    let all: Vec<u32>;
    let pool = if pool.is_empty() {
        all = (0..plan.managers.len() as u32).collect();
        &all
    } else {
        pool
    };
    let weights: Vec<f64> = pool
        .iter()
        .map(|&m| {
            if plan.managers[m as usize].active {
                1.0
            } else {
                0.15
            }
        })
        .collect();
    pool[pick_weighted(rng, &weights)]
}

/// Moves the chunk's purchase total to `target` exactly. Extra purchases go
/// to customers in proportion to how much they already buy, and purchases are
/// taken away from repeat buyers in proportion to their repeats, so the share
/// of one-time buyers is left alone unless the quota is smaller than the
/// number of buyers (tiny data sets), when buyers are dropped at random.
pub(crate) fn adjust_counts(
    latents: &mut [Latent],
    target: u64,
    last_day: u32,
    rng: &mut ChaCha8Rng,
) {
    let total: u64 = latents.iter().map(|l| u64::from(l.purchases)).sum();
    if latents.is_empty() || total == target {
        return;
    }
    if total < target {
        let mut need = target - total;
        let mut cum: Vec<f64> = Vec::with_capacity(latents.len());
        let mut acc = 0.0;
        for l in latents.iter() {
            acc += f64::from(l.purchases);
            cum.push(acc);
        }
        if acc == 0.0 {
            // Nobody buys yet: everyone becomes eligible.
            cum.iter_mut()
                .enumerate()
                .for_each(|(i, c)| *c = (i + 1) as f64);
            acc = latents.len() as f64;
        }
        while need > 0 {
            let u = rng.random::<f64>() * acc;
            let i = cum.partition_point(|c| *c <= u).min(latents.len() - 1);
            let l = &mut latents[i];
            if l.purchases <= 1 {
                // A new repeat buyer (or first buyer) needs room in time.
                l.active_until = l.active_until.max(l.first_day + 30).min(last_day);
            }
            l.purchases += 1;
            need -= 1;
        }
        return;
    }
    let mut excess = total - target;
    while excess > 0 {
        let repeats: u64 = latents
            .iter()
            .map(|l| u64::from(l.purchases.saturating_sub(1)))
            .sum();
        if repeats == 0 {
            break;
        }
        let mut cum: Vec<u64> = Vec::with_capacity(latents.len());
        let mut acc = 0u64;
        for l in latents.iter() {
            acc += u64::from(l.purchases.saturating_sub(1));
            cum.push(acc);
        }
        let rounds = excess.min(repeats);
        for _ in 0..rounds {
            let u = rng.random_range(0..acc);
            let i = cum.partition_point(|c| *c <= u);
            if latents[i].purchases > 1 {
                latents[i].purchases -= 1;
                excess -= 1;
            }
        }
    }
    // Still too many: the quota is below the number of buyers.
    while excess > 0 {
        let i = rng.random_range(0..latents.len());
        if latents[i].purchases > 0 {
            latents[i].purchases -= 1;
            excess -= 1;
        }
    }
}

/// The customers table rows of one chunk.
pub(crate) fn customers_batch(plan: &Plan, chunk: u64) -> Result<RecordBatch> {
    let latents = latent_chunk(plan, chunk);
    let mut rng = stream(plan.seed, Stream::Profile, chunk);
    let n = latents.len();
    let mut id = StringBuilder::with_capacity(n, n * 7);
    let mut full_name = StringBuilder::with_capacity(n, n * 40);
    let mut email = StringBuilder::with_capacity(n, n * 24);
    let mut email_valid = BooleanBuilder::with_capacity(n);
    let mut phone = StringBuilder::with_capacity(n, n * 12);
    let mut phone_valid = BooleanBuilder::with_capacity(n);
    let mut phones_other = StringBuilder::with_capacity(n, n * 2);
    let mut birth = Date32Builder::with_capacity(n);
    let mut city = StringBuilder::with_capacity(n, n * 14);
    let mut segment = StringBuilder::with_capacity(n, n * 12);
    let mut manager = StringBuilder::with_capacity(n, n * 4);
    let mut source = StringBuilder::with_capacity(n, n * 10);
    let mut created = TimestampMicrosecondBuilder::with_capacity(n);
    let mut consent = BooleanBuilder::with_capacity(n);
    let mut attributes = StringBuilder::with_capacity(n, n * 20);
    let source_weights: Vec<f64> = SOURCES.iter().map(|s| s.1).collect();
    let age = Normal::new(40.0, 12.0).expect("valid normal");
    let mut previous: Option<(String, Option<String>)> = None;
    for l in &latents {
        id.append_value(customer_id(plan.seed, l.index));
        let person = if l.is_business() && rng.random_bool(0.7) {
            names::company(&mut rng)
        } else if rng.random_bool(0.8) {
            names::russian_person(&mut rng)
        } else {
            names::english_person(&mut rng)
        };
        // About 1% are duplicates of the previous record: same person, same
        // phone, typed in again under a new id.
        let duplicate = rng.random_bool(0.01) && previous.is_some();
        let (name_value, dup_phone) = match (&previous, duplicate) {
            (Some((name, ph)), true) => (Some(name.clone()), ph.clone()),
            _ if rng.random_bool(0.01) => (None, None),
            _ => (Some(person.full_name.clone()), None),
        };
        full_name.append_option(name_value.as_deref());
        match rng.random_range(0..100) {
            0..=11 => {
                email.append_null();
                email_valid.append_null();
            }
            12..=14 => {
                email.append_value(names::invalid_email(&mut rng, &person));
                email_valid.append_value(false);
            }
            _ => {
                email.append_value(names::email(&mut rng, &person));
                email_valid.append_value(true);
            }
        }
        let phone_value = if let Some(p) = dup_phone.clone() {
            phone.append_value(&p);
            phone_valid.append_value(true);
            Some(p)
        } else {
            match rng.random_range(0..100) {
                0..=7 => {
                    phone.append_null();
                    phone_valid.append_null();
                    None
                }
                8..=10 => {
                    phone.append_value(names::invalid_phone(&mut rng));
                    phone_valid.append_value(false);
                    None
                }
                _ => {
                    let p = if person.latin_first.is_ascii()
                        && !person.company
                        && person.full_name.is_ascii()
                        && rng.random_bool(0.3)
                    {
                        names::phone_uk(&mut rng)
                    } else {
                        names::phone_e164(&mut rng)
                    };
                    phone.append_value(&p);
                    phone_valid.append_value(true);
                    Some(p)
                }
            }
        };
        if rng.random_bool(0.08) {
            phones_other.append_value(names::phone_e164(&mut rng));
        } else {
            phones_other.append_null();
        }
        if person.company || rng.random_bool(0.25) {
            birth.append_null();
        } else {
            let years: f64 = age.sample(&mut rng);
            let years = years.clamp(18.0, 85.0);
            let days = plan.calendar.epoch_day0() + i64::from(plan.calendar.days())
                - (years * 365.25) as i64;
            birth.append_value(days as i32);
        }
        if rng.random_bool(0.04) {
            city.append_null();
        } else {
            city.append_value(names::city(&mut rng));
        }
        segment.append_value(SEGMENTS[l.segment].0);
        manager.append_option(l.manager.map(manager_id));
        source.append_value(SOURCES[pick_weighted(&mut rng, &source_weights)].0);
        created.append_value(l.created_at);
        consent.append_value(rng.random_bool(0.86));
        if rng.random_bool(0.6) {
            let gender = if person.company {
                "company"
            } else if person.female {
                "f"
            } else {
                "m"
            };
            let tier = ["bronze", "silver", "gold", "platinum"]
                [pick_weighted(&mut rng, &[0.6, 0.25, 0.12, 0.03])];
            attributes.append_value(format!(
                r#"{{"gender":"{gender}","loyalty_tier":"{tier}"}}"#
            ));
        } else {
            attributes.append_null();
        }
        previous = name_value.map(|n| (n, phone_value));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(full_name.finish()),
        Arc::new(email.finish()),
        Arc::new(email_valid.finish()),
        Arc::new(phone.finish()),
        Arc::new(phone_valid.finish()),
        Arc::new(phones_other.finish()),
        Arc::new(birth.finish()),
        Arc::new(city.finish()),
        Arc::new(segment.finish()),
        Arc::new(manager.finish()),
        Arc::new(source.finish()),
        Arc::new(created.finish()),
        Arc::new(consent.finish()),
        Arc::new(attributes.finish()),
    ];
    Ok(RecordBatch::try_new(
        crm_core::Table::Customers.arrow_schema(),
        columns,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GenConfig;
    use chrono::NaiveDate;

    fn plan(transactions: u64) -> Plan {
        Plan::new(&GenConfig::new(
            transactions,
            NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(),
        ))
        .unwrap()
    }

    #[test]
    fn ids_keep_leading_zeros_for_some_and_are_unique() {
        let ids: Vec<String> = (0..10_000).map(|i| customer_id(1, i)).collect();
        let padded = ids.iter().filter(|s| s.starts_with('0')).count();
        assert!((1_500..3_500).contains(&padded), "{padded}");
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn chunk_counts_hit_the_quota_exactly() {
        for t in [1_000u64, 7_777, 400_000] {
            let p = plan(t);
            for c in 0..p.chunks() {
                let l = latent_chunk(&p, c);
                let sum: u64 = l.iter().map(|x| u64::from(x.purchases)).sum();
                assert_eq!(sum, p.chunk_customer_transactions(c), "t={t} chunk {c}");
            }
        }
    }

    #[test]
    fn quota_below_buyers_drops_buyers() {
        let mut cfg = GenConfig::new(100, NaiveDate::from_ymd_opt(2025, 1, 1).unwrap());
        cfg.customers = Some(500);
        let p = Plan::new(&cfg).unwrap();
        let l = latent_chunk(&p, 0);
        assert_eq!(l.iter().map(|x| u64::from(x.purchases)).sum::<u64>(), 96);
    }

    #[test]
    fn batch_has_the_canonical_schema() {
        let p = plan(20_000);
        let b = customers_batch(&p, 0).unwrap();
        assert_eq!(b.schema(), crm_core::Table::Customers.arrow_schema());
        assert_eq!(b.num_rows(), 1_000);
    }
}
