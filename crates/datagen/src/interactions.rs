//! Interactions: calls, e-mails, meetings and messages between managers and
//! customers. Every deal gets a few (linked by `interest_id`), planned during
//! its life; some managed customers without deals get unlinked touches.
//! Planned times fall on a quarter hour of the working day (09:00–18:45),
//! unless that would precede the deal. An interaction planned after
//! `end_date` is still `planned`; one planned before it is `done` (with
//! `completed_at`), `cancelled`, or left `planned` and so overdue, and the
//! less diligent the manager, the more are left overdue.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringBuilder, TimestampMicrosecondBuilder};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};

use crate::calendar::{MICROS_PER_DAY, MICROS_PER_SECOND};
use crate::config::Plan;
use crate::customers::customer_id;
use crate::deals::{chunk_row_id, deals_chunk};
use crate::error::Result;
use crate::managers::manager_id;
use crate::rng::{Stream, pick_weighted, stream};

const KINDS: [&str; 4] = ["call", "email", "meeting", "message"];
/// How far past `end_date` interactions may already be planned.
const PLAN_AHEAD_DAYS: i64 = 14;
/// Chance that a managed customer without deals has unlinked touches.
const TOUCH_WITHOUT_DEAL: f64 = 0.12;
const CANCELLED: f64 = 0.04;
const QUARTER_HOUR: i64 = 15 * 60 * MICROS_PER_SECOND;

struct Row {
    customer: u32,
    manager: u32,
    interest: Option<usize>,
    kind: usize,
    inbound: bool,
    planned_at: i64,
    completed_at: Option<i64>,
    status: &'static str,
}

/// Who an interaction is between, and what it serves.
#[derive(Clone, Copy)]
struct Party {
    customer: u32,
    manager: u32,
    interest: Option<usize>,
    business: bool,
}

/// One interaction of `party`, planned between `from` and `to`.
fn touch(rng: &mut ChaCha8Rng, plan: &Plan, party: Party, from: i64, to: i64) -> Row {
    let end_ts = plan.calendar.end_ts();
    let planned = if to > from {
        rng.random_range(from..=to)
    } else {
        from
    };
    // Working hours: a quarter hour between 09:00 and 18:45 of that day.
    let day = planned.div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY;
    let slot = day + (36 + rng.random_range(0..40)) * QUARTER_HOUR;
    let planned_at = if slot >= from {
        slot
    } else {
        (from / QUARTER_HOUR + 1) * QUARTER_HOUR
    };
    let Party {
        customer,
        manager,
        interest,
        business,
    } = party;
    let kind = if business {
        pick_weighted(rng, &[0.40, 0.25, 0.20, 0.15])
    } else {
        pick_weighted(rng, &[0.45, 0.25, 0.07, 0.23])
    };
    let inbound = kind != 2 && rng.random_bool(0.3);
    let diligence = plan.managers[manager as usize].diligence;
    let (status, completed_at) = if planned_at > end_ts {
        ("planned", None)
    } else if rng.random_bool(CANCELLED) {
        ("cancelled", None)
    } else if rng.random_bool(0.55 + 0.43 * diligence) {
        let delay_seconds = if rng.random_bool(0.85) {
            rng.random_range(0..2 * 3_600)
        } else {
            rng.random_range(0..5 * 86_400)
        };
        let delay = delay_seconds * MICROS_PER_SECOND;
        (
            "done",
            Some((planned_at + delay).min(end_ts).max(planned_at)),
        )
    } else {
        ("planned", None) // overdue: planned in the past, never done
    };
    Row {
        customer,
        manager,
        interest,
        kind,
        inbound,
        planned_at,
        completed_at,
        status,
    }
}

/// The interactions table rows of one chunk.
pub(crate) fn interactions_batch(plan: &Plan, chunk: u64) -> Result<RecordBatch> {
    let (latents, deals) = deals_chunk(plan, chunk);
    let mut rng = stream(plan.seed, Stream::Interactions, chunk);
    let horizon = plan.calendar.end_ts() + PLAN_AHEAD_DAYS * MICROS_PER_DAY;
    let mut rows = Vec::new();
    let mut has_deal = vec![false; latents.len()];
    for (i, d) in deals.iter().enumerate() {
        has_deal[d.customer as usize] = true;
        let diligence = plan.managers[d.manager as usize].diligence;
        let count = 1 + Poisson::new(2.0 + 1.5 * diligence)
            .expect("valid poisson")
            .sample(&mut rng) as usize;
        let until = d.closed_at.unwrap_or(horizon).max(d.created_at);
        let business = latents[d.customer as usize].is_business();
        for _ in 0..count {
            let party = Party {
                customer: d.customer,
                manager: d.manager,
                interest: Some(i),
                business,
            };
            rows.push(touch(&mut rng, plan, party, d.created_at, until));
        }
    }
    let extra = Poisson::new(0.8).expect("valid poisson");
    for (pos, l) in latents.iter().enumerate() {
        let Some(manager) = l.manager else { continue };
        if has_deal[pos] || !rng.random_bool(TOUCH_WITHOUT_DEAL) {
            continue;
        }
        let count = 1 + extra.sample(&mut rng) as usize;
        for _ in 0..count {
            let party = Party {
                customer: pos as u32,
                manager,
                interest: None,
                business: l.is_business(),
            };
            rows.push(touch(&mut rng, plan, party, l.created_at, horizon));
        }
    }
    let n = rows.len();
    let mut id = StringBuilder::with_capacity(n, n * 8);
    let mut customer = StringBuilder::with_capacity(n, n * 7);
    let mut manager = StringBuilder::with_capacity(n, n * 4);
    let mut kind = StringBuilder::with_capacity(n, n * 5);
    let mut direction = StringBuilder::with_capacity(n, n * 8);
    let mut planned = TimestampMicrosecondBuilder::with_capacity(n);
    let mut completed = TimestampMicrosecondBuilder::with_capacity(n);
    let mut status = StringBuilder::with_capacity(n, n * 7);
    let mut interest = StringBuilder::with_capacity(n, n * 8);
    for (seq, r) in rows.iter().enumerate() {
        id.append_value(chunk_row_id(chunk, seq));
        customer.append_value(customer_id(plan.seed, latents[r.customer as usize].index));
        manager.append_value(manager_id(r.manager));
        kind.append_value(KINDS[r.kind]);
        direction.append_value(if r.inbound { "inbound" } else { "outbound" });
        planned.append_value(r.planned_at);
        completed.append_option(r.completed_at);
        status.append_value(r.status);
        interest.append_option(r.interest.map(|i| deals[i].id.as_str()));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(customer.finish()),
        Arc::new(manager.finish()),
        Arc::new(kind.finish()),
        Arc::new(direction.finish()),
        Arc::new(planned.finish()),
        Arc::new(completed.finish()),
        Arc::new(status.finish()),
        Arc::new(interest.finish()),
    ];
    Ok(RecordBatch::try_new(
        crm_core::Table::Interactions.arrow_schema(),
        columns,
    )?)
}
