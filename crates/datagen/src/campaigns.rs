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

/// Campaigns tied to a season, by month (1–12).
fn seasonal_theme(month: u32) -> Option<&'static str> {
    match month {
        12 => Some("Новогодняя распродажа"),
        11 => Some("Чёрная пятница"),
        3 => Some("8 Марта"),
        6 | 7 => Some("Летняя распродажа"),
        8 | 9 => Some("Снова в школу"),
        _ => None,
    }
}

/// Campaigns that can run at any time.
const EVERGREEN_THEMES: &[&str] = &[
    "Реактивация спящих клиентов",
    "Welcome-серия",
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
        let date = DateTime::from_timestamp_micros(start).map(|d| d.naive_utc());
        let (year, month) = date.map_or((1970, 1), |d| (d.year(), d.month()));
        let evergreen = EVERGREEN_THEMES[rng.random_range(0..EVERGREEN_THEMES.len())];
        let theme = match seasonal_theme(month) {
            Some(t) if rng.random_bool(0.7) => t,
            _ => evergreen,
        };
        let ch = CHANNELS[pick_weighted(&mut rng, &weights)].0;
        id.append_value(format!("CMP-{:03}", i + 1));
        name.append_value(format!("{theme} {year} ({ch})"));
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
