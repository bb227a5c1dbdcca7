//! Interests (deals) and their stage history. A share of customers opens
//! deals (business customers far more often than retail); each deal walks
//! the default funnel lead → qualified → proposal → negotiation → won,
//! losing a share at every stage. A manager's diligence raises the chance to
//! advance and shortens the time spent in a stage.
//!
//! Deliberate irregularities, so downstream checks have something to find:
//! - about 8% of deals are spelled the amoCRM way («Первичный контакт»,
//!   «Переговоры», «Принимают решение», «Успешно реализовано», lost ones end
//!   in «Закрыто и не реализовано»). That pipeline has no proposal stage, so
//!   these deals go from «Переговоры» (qualified) straight to «Принимают
//!   решение» (negotiation);
//! - about 3% of advances skip one stage;
//! - about 6% of lost deals are reopened later: they re-enter the stage they
//!   were lost in, so that stage appears twice in the history;
//! - about 0.5% of deals with two or more stage rows have their last row
//!   back-dated a few hours before the previous one (entered_at decreases),
//!   the "won before its first contact" kind of data-entry error.
//!
//! Apart from the back-dated rows, `entered_at` strictly increases within a
//! deal and the first row is entered at `created_at`. A won deal is closed
//! when it enters won; a lost one when it is lost, which is after its last
//! stage row (amoCRM-spelled deals: at their «Закрыто и не реализовано» row).
//! Open deals have no `closed_at`.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::DataType;
use crm_core::schema::{MONEY_PRECISION, MONEY_SCALE};
use rand::Rng;
use rand_distr::{Distribution, Exp, Normal};

use crate::calendar::MICROS_PER_SECOND;
use crate::config::Plan;
use crate::customers::{Latent, customer_id, latent_chunk};
use crate::error::Result;
use crate::managers::manager_id;
use crate::rng::{Stream, pick_weighted, stream};

/// The default funnel, as the canonical stage names.
pub const FUNNEL: [&str; 5] = ["lead", "qualified", "proposal", "negotiation", "won"];
/// The amoCRM spelling of the same stages; `None` where amoCRM has no such stage.
pub const FUNNEL_AMOCRM: [Option<&str>; 5] = [
    Some("Первичный контакт"),
    Some("Переговоры"),
    None,
    Some("Принимают решение"),
    Some("Успешно реализовано"),
];
/// The stage an amoCRM deal enters when it is lost.
pub const AMOCRM_LOST: &str = "Закрыто и не реализовано";

/// Chance that a retail / business customer has at least one deal.
const DEAL_CHANCE_RETAIL: f64 = 0.08;
const DEAL_CHANCE_BUSINESS: f64 = 0.30;
/// Chance of each further deal of the same customer (at most 5).
const ANOTHER_DEAL: f64 = 0.25;
/// Chance to advance from each stage for an average manager.
const ADVANCE: [f64; 4] = [0.62, 0.60, 0.55, 0.62];
/// Mean days spent in each stage.
const DWELL_DAYS: [f64; 4] = [3.0, 7.0, 10.0, 12.0];
const AMOCRM_SHARE: f64 = 0.08;
const SKIP_SHARE: f64 = 0.03;
const REOPEN_SHARE: f64 = 0.06;
const BACKDATED_SHARE: f64 = 0.005;

/// Lead sources of deals.
const DEAL_SOURCES: &[(&str, f64)] = &[
    ("website", 0.30),
    ("phone_call", 0.20),
    ("email", 0.10),
    ("referral", 0.12),
    ("exhibition", 0.05),
    ("yandex_direct", 0.13),
    ("vk_ads", 0.10),
];

/// Where a deal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Open,
    Won,
    Lost,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Open => "open",
            Outcome::Won => "won",
            Outcome::Lost => "lost",
        }
    }
}

/// One generated deal with its stage history.
#[derive(Debug, Clone)]
pub(crate) struct Deal {
    pub id: String,
    /// Position of the customer in the chunk.
    pub customer: u32,
    pub manager: u32,
    pub source: usize,
    pub created_at: i64,
    pub cents: i64,
    pub outcome: Outcome,
    pub closed_at: Option<i64>,
    /// (raw stage name, entered_at), in the order the stages were entered.
    pub history: Vec<(&'static str, i64)>,
}

impl Deal {
    /// The current stage: the last one entered.
    pub(crate) fn stage(&self) -> &'static str {
        self.history.last().map_or(FUNNEL[0], |h| h.0)
    }
}

/// Unique text id of the `seq`-th row of a chunk in a per-chunk numbered table.
pub(crate) fn chunk_row_id(chunk: u64, seq: usize) -> String {
    ((chunk + 1) * 10_000_000 + seq as u64 + 1).to_string()
}

fn stage_name(amocrm: bool, stage: usize) -> &'static str {
    if amocrm {
        FUNNEL_AMOCRM[stage].unwrap_or(FUNNEL[stage])
    } else {
        FUNNEL[stage]
    }
}

/// The latent customers of a chunk and their deals.
pub(crate) fn deals_chunk(plan: &Plan, chunk: u64) -> (Vec<Latent>, Vec<Deal>) {
    let latents = latent_chunk(plan, chunk);
    let mut rng = stream(plan.seed, Stream::Deals, chunk);
    let cal = &plan.calendar;
    let end_ts = cal.end_ts();
    let active: Vec<u32> = (0..plan.managers.len() as u32)
        .filter(|&m| plan.managers[m as usize].active)
        .collect();
    let source_weights: Vec<f64> = DEAL_SOURCES.iter().map(|s| s.1).collect();
    let retail_amount = Normal::new(10.3, 0.8).expect("valid normal");
    let business_amount = Normal::new(12.6, 1.0).expect("valid normal");
    let reopen_gap = Exp::new(1.0 / 20.0).expect("valid exp");
    let mut deals = Vec::new();
    for (pos, l) in latents.iter().enumerate() {
        let chance = if l.is_business() {
            DEAL_CHANCE_BUSINESS
        } else {
            DEAL_CHANCE_RETAIL
        };
        if !rng.random_bool(chance) {
            continue;
        }
        let mut count = 1;
        while count < 5 && rng.random_bool(ANOTHER_DEAL) {
            count += 1;
        }
        for _ in 0..count {
            let first_day = cal.day_of(l.created_at);
            let created_at = cal
                .sample_ts(&mut rng, first_day, cal.days() - 1)
                .max(l.created_at + 60 * MICROS_PER_SECOND)
                .min(end_ts);
            let manager = l
                .manager
                .unwrap_or_else(|| active[rng.random_range(0..active.len())]);
            let diligence = plan.managers[manager as usize].diligence;
            let amocrm = rng.random_bool(AMOCRM_SHARE);
            let source = pick_weighted(&mut rng, &source_weights);
            let log_amount: f64 = if l.is_business() {
                business_amount.sample(&mut rng)
            } else {
                retail_amount.sample(&mut rng)
            };
            let cents = (log_amount.exp().round() as i64).max(1) * 100;

            let mut history = vec![(stage_name(amocrm, 0), created_at)];
            let mut stage = 0usize;
            let mut t = created_at;
            let mut outcome = Outcome::Open;
            let mut closed_at = None;
            let mut reopened = false;
            while stage < 4 {
                let slow = 1.4 - 0.6 * diligence;
                let dwell = Exp::new(1.0 / DWELL_DAYS[stage]).expect("valid exp");
                let days = dwell.sample(&mut rng) * slow;
                let next = t
                    + ((days * 86_400.0) as i64 + rng.random_range(60..3_600)) * MICROS_PER_SECOND;
                if next > end_ts {
                    break; // still open at this stage on end_date
                }
                let advance = (ADVANCE[stage] * (0.7 + 0.5 * diligence)).min(0.95);
                if rng.random_bool(advance) {
                    let mut to = stage + 1;
                    if amocrm && to == 2 {
                        to = 3;
                    } else if to < 4 && rng.random_bool(SKIP_SHARE) {
                        to += 1;
                    }
                    stage = to;
                    t = next;
                    history.push((stage_name(amocrm, stage), t));
                    if stage == 4 {
                        outcome = Outcome::Won;
                        closed_at = Some(t);
                    }
                    continue;
                }
                outcome = Outcome::Lost;
                closed_at = Some(next);
                if amocrm {
                    history.push((AMOCRM_LOST, next));
                }
                if !reopened && rng.random_bool(REOPEN_SHARE) {
                    let gap_days: f64 = reopen_gap.sample(&mut rng);
                    let back = next + ((gap_days * 86_400.0) as i64 + 1) * MICROS_PER_SECOND;
                    if back < end_ts {
                        reopened = true;
                        outcome = Outcome::Open;
                        closed_at = None;
                        t = back;
                        history.push((stage_name(amocrm, stage), t));
                        continue;
                    }
                }
                break;
            }
            if history.len() >= 2 && rng.random_bool(BACKDATED_SHARE) {
                let n = history.len();
                let before = history[n - 2].1;
                let backdated =
                    before - rng.random_range(3_600..72 * 3_600) * MICROS_PER_SECOND - 1;
                if closed_at == Some(history[n - 1].1) {
                    closed_at = Some(backdated);
                }
                history[n - 1].1 = backdated;
            }
            deals.push(Deal {
                id: chunk_row_id(chunk, deals.len()),
                customer: pos as u32,
                manager,
                source,
                created_at,
                cents,
                outcome,
                closed_at,
                history,
            });
        }
    }
    (latents, deals)
}

/// The interests table rows of one chunk.
pub(crate) fn interests_batch(plan: &Plan, chunk: u64) -> Result<RecordBatch> {
    let (latents, deals) = deals_chunk(plan, chunk);
    let n = deals.len();
    let money = DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE);
    let mut id = StringBuilder::with_capacity(n, n * 8);
    let mut customer = StringBuilder::with_capacity(n, n * 7);
    let mut manager = StringBuilder::with_capacity(n, n * 4);
    let mut source = StringBuilder::with_capacity(n, n * 8);
    let mut created = TimestampMicrosecondBuilder::with_capacity(n);
    let mut amount = Decimal128Builder::with_capacity(n).with_data_type(money);
    let mut stage = StringBuilder::with_capacity(n, n * 12);
    let mut outcome = StringBuilder::with_capacity(n, n * 4);
    let mut closed = TimestampMicrosecondBuilder::with_capacity(n);
    for d in &deals {
        id.append_value(&d.id);
        customer.append_value(customer_id(plan.seed, latents[d.customer as usize].index));
        manager.append_value(manager_id(d.manager));
        source.append_value(DEAL_SOURCES[d.source].0);
        created.append_value(d.created_at);
        amount.append_value(i128::from(d.cents));
        stage.append_value(d.stage());
        outcome.append_value(d.outcome.as_str());
        closed.append_option(d.closed_at);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(customer.finish()),
        Arc::new(manager.finish()),
        Arc::new(source.finish()),
        Arc::new(created.finish()),
        Arc::new(amount.finish()),
        Arc::new(stage.finish()),
        Arc::new(outcome.finish()),
        Arc::new(closed.finish()),
    ];
    Ok(RecordBatch::try_new(
        crm_core::Table::Interests.arrow_schema(),
        columns,
    )?)
}

/// The interest_stages table rows of one chunk.
pub(crate) fn interest_stages_batch(plan: &Plan, chunk: u64) -> Result<RecordBatch> {
    let (_, deals) = deals_chunk(plan, chunk);
    let n: usize = deals.iter().map(|d| d.history.len()).sum();
    let mut id = StringBuilder::with_capacity(n, n * 8);
    let mut stage = StringBuilder::with_capacity(n, n * 12);
    let mut entered = TimestampMicrosecondBuilder::with_capacity(n);
    let mut manager = StringBuilder::with_capacity(n, n * 4);
    for d in &deals {
        let m = manager_id(d.manager);
        for (name, at) in &d.history {
            id.append_value(&d.id);
            stage.append_value(name);
            entered.append_value(*at);
            manager.append_value(&m);
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(stage.finish()),
        Arc::new(entered.finish()),
        Arc::new(manager.finish()),
    ];
    Ok(RecordBatch::try_new(
        crm_core::Table::InterestStages.arrow_schema(),
        columns,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GenConfig;
    use chrono::NaiveDate;

    #[test]
    fn funnels_lose_deals_at_every_stage_and_diligence_converts_better() {
        let mut cfg = GenConfig::new(2_000_000, NaiveDate::from_ymd_opt(2025, 12, 31).unwrap());
        cfg.managers = Some(16);
        let plan = Plan::new(&cfg).unwrap();
        let mut reached = [0u32; 5];
        let (mut won_hi, mut closed_hi, mut won_lo, mut closed_lo) = (0, 0, 0, 0);
        for chunk in 0..plan.chunks() {
            let (_, deals) = deals_chunk(&plan, chunk);
            for d in &deals {
                let mut seen = [false; 5];
                for (name, _) in &d.history {
                    if let Some(s) = FUNNEL
                        .iter()
                        .position(|f| f == name)
                        .or_else(|| FUNNEL_AMOCRM.iter().position(|f| *f == Some(*name)))
                    {
                        seen[s] = true;
                    }
                }
                for s in 0..5 {
                    reached[s] += u32::from(seen[s]);
                }
                if d.outcome != Outcome::Open {
                    let hi = plan.managers[d.manager as usize].diligence > 0.7;
                    let won = u32::from(d.outcome == Outcome::Won);
                    if hi {
                        closed_hi += 1;
                        won_hi += won;
                    } else {
                        closed_lo += 1;
                        won_lo += won;
                    }
                }
            }
        }
        for s in 1..5 {
            assert!(reached[s] < reached[s - 1], "stage {s}: {reached:?}");
        }
        let hi = f64::from(won_hi) / f64::from(closed_hi);
        let lo = f64::from(won_lo) / f64::from(closed_lo);
        assert!(hi > lo * 1.2, "diligent {hi} vs others {lo}");
    }
}
