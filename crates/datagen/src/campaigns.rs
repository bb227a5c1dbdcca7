//! Campaigns: a dozen a year (at least 12, at most 60), each on one channel
//! with a start, an end and a spend. Channels use the same names as the
//! customers' acquisition `source`, so spend can be set against the customers
//! and revenue a channel brought.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::DataType;
use chrono::{DateTime, Datelike};
use crm_core::schema::{MONEY_PRECISION, MONEY_SCALE};
use rand::Rng;
use rand_distr::{Distribution, LogNormal};

use crate::calendar::MICROS_PER_DAY;
use crate::config::Plan;
use crate::error::Result;
use crate::rng::{Stream, pick_weighted, stream};

const CHANNELS: &[(&str, f64)] = &[
    ("email", 0.25),
    ("yandex_direct", 0.20),
    ("vk_ads", 0.18),
    ("telegram", 0.12),
    ("marketplace", 0.10),
    ("offline_store", 0.08),
    ("partner", 0.07),
];

const THEMES: &[&str] = &[
    "Новогодняя распродажа",
    "Чёрная пятница",
    "8 Марта",
    "Реактивация спящих клиентов",
    "Welcome-серия",
    "Летняя распродажа",
    "Снова в школу",
    "День рождения клиента",
    "Программа лояльности",
    "Вебинар для партнёров",
];

/// Number of campaigns for a history of `days` days.
pub(crate) fn campaign_count(days: u32) -> u32 {
    (days / 30).clamp(12, 60)
}

/// The campaigns table as one batch.
pub(crate) fn campaigns_batch(plan: &Plan) -> Result<RecordBatch> {
    let mut rng = stream(plan.seed, Stream::Campaigns, 0);
    let cal = &plan.calendar;
    let n = campaign_count(cal.days()) as usize;
    let weights: Vec<f64> = CHANNELS.iter().map(|c| c.1).collect();
    let spend = LogNormal::new(12.0, 0.8).expect("valid lognormal"); // ~160,000 ₽
    let money = DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE);
    let mut id = StringBuilder::with_capacity(n, n * 8);
    let mut name = StringBuilder::with_capacity(n, n * 40);
    let mut channel = StringBuilder::with_capacity(n, n * 10);
    let mut started = TimestampMicrosecondBuilder::with_capacity(n);
    let mut ended = TimestampMicrosecondBuilder::with_capacity(n);
    let mut spent = Decimal128Builder::with_capacity(n).with_data_type(money);
    for i in 0..n {
        let start = cal.day_start(rng.random_range(0..cal.days())) + 10 * 3_600 * 1_000_000;
        let year = DateTime::from_timestamp_micros(start).map_or(1970, |d| d.naive_utc().year());
        let ch = CHANNELS[pick_weighted(&mut rng, &weights)].0;
        id.append_value(format!("CMP-{:03}", i + 1));
        name.append_value(format!(
            "{} {year} ({ch})",
            THEMES[rng.random_range(0..THEMES.len())]
        ));
        channel.append_value(ch);
        started.append_value(start);
        ended.append_value(start + rng.random_range(3..45) * MICROS_PER_DAY);
        let roubles: f64 = spend.sample(&mut rng);
        spent.append_value(i128::from((roubles.round() as i64) * 100));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(name.finish()),
        Arc::new(channel.finish()),
        Arc::new(started.finish()),
        Arc::new(ended.finish()),
        Arc::new(spent.finish()),
    ];
    Ok(RecordBatch::try_new(
        crm_core::Table::Campaigns.arrow_schema(),
        columns,
    )?)
}
