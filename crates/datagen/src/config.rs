//! The generator's configuration and the plan derived from it: how many
//! customers, managers and anonymous receipts, how customers split into
//! chunks, and how many transactions each chunk must produce so that the
//! total is exactly what was asked for.

use chrono::NaiveDate;

use crate::calendar::Calendar;
use crate::error::{Error, Result};
use crate::managers::{Manager, generate_managers};
use crate::rng::CHUNK_CUSTOMERS;

/// Transactions per customer when `customers` is not given.
pub const DEFAULT_TRANSACTIONS_PER_CUSTOMER: u64 = 20;
/// Default history length in years.
pub const DEFAULT_YEARS: u32 = 3;
/// Default upper bound of rows in one output file.
pub const DEFAULT_ROWS_PER_FILE: usize = 1 << 20;
/// Share of transactions that are anonymous receipts, in percent (exact, floored).
pub const ANONYMOUS_PERCENT: u64 = 4;

/// On-disk format of the generated files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Parquet (zstd), exactly the canonical Arrow schema.
    #[default]
    Parquet,
    /// Plain UTF-8 CSV with a header: `2024-05-01 13:45:00`, `1234.56`, empty = NULL.
    Csv,
}

impl OutputFormat {
    /// The file extension, without a dot.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Parquet => "parquet",
            OutputFormat::Csv => "csv",
        }
    }
}

/// What to generate. Build it with [`GenConfig::new`] and adjust the fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenConfig {
    /// Exact number of transaction rows (purchases, refunds and anonymous receipts).
    pub transactions: u64,
    /// Number of customers; `None` means `max(1, transactions / 20)`.
    pub customers: Option<u64>,
    /// Seed of every random stream: the same config gives byte-identical files.
    pub seed: u64,
    /// The last day of data. The generator never reads the system clock.
    pub end_date: NaiveDate,
    /// Length of the history in years (the window ends on `end_date`).
    pub years: u32,
    /// Number of managers; `None` scales with customers (8 to 200).
    pub managers: Option<u32>,
    pub format: OutputFormat,
    /// Upper bound of rows per output file.
    pub rows_per_file: usize,
}

impl GenConfig {
    /// A configuration with the defaults: seed 42, 3 years, Parquet,
    /// 1,048,576 rows per file, customers and managers derived from the size.
    pub fn new(transactions: u64, end_date: NaiveDate) -> Self {
        GenConfig {
            transactions,
            customers: None,
            seed: 42,
            end_date,
            years: DEFAULT_YEARS,
            managers: None,
            format: OutputFormat::Parquet,
            rows_per_file: DEFAULT_ROWS_PER_FILE,
        }
    }

    /// The number of customers this config generates.
    pub fn customer_count(&self) -> u64 {
        self.customers
            .unwrap_or(self.transactions / DEFAULT_TRANSACTIONS_PER_CUSTOMER)
            .max(1)
    }

    /// The number of managers this config generates: 8, plus one per 5,000
    /// customers above 40,000, at most 200.
    pub fn manager_count(&self) -> u32 {
        self.managers.unwrap_or_else(|| {
            let scaled = self.customer_count() / 5_000;
            scaled.clamp(8, 200) as u32
        })
    }

    fn validate(&self) -> Result<()> {
        if self.transactions == 0 {
            return Err(Error::InvalidConfig(
                "transactions must be at least 1".into(),
            ));
        }
        if self.customers == Some(0) {
            return Err(Error::InvalidConfig(
                "customers must be at least 1 (or left unset)".into(),
            ));
        }
        if !(1..=50).contains(&self.years) {
            return Err(Error::InvalidConfig(format!(
                "years must be between 1 and 50, got {}",
                self.years
            )));
        }
        if self.managers == Some(0) {
            return Err(Error::InvalidConfig(
                "managers must be at least 1 (or left unset)".into(),
            ));
        }
        if self.rows_per_file == 0 {
            return Err(Error::InvalidConfig(
                "rows_per_file must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// Everything derived from a [`GenConfig`] before any row is generated.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub seed: u64,
    pub transactions: u64,
    pub customers: u64,
    pub anonymous: u64,
    pub calendar: Calendar,
    pub managers: Vec<Manager>,
    /// Manager indices per market segment, for assigning customers.
    pub managers_by_segment: Vec<Vec<u32>>,
}

impl Plan {
    pub(crate) fn new(cfg: &GenConfig) -> Result<Self> {
        cfg.validate()?;
        let calendar = Calendar::new(cfg.end_date, cfg.years)?;
        let managers = generate_managers(cfg.seed, cfg.manager_count());
        let mut managers_by_segment = vec![Vec::new(); crate::customers::SEGMENTS.len()];
        for (i, m) in managers.iter().enumerate() {
            managers_by_segment[m.segment].push(i as u32);
        }
        Ok(Plan {
            seed: cfg.seed,
            transactions: cfg.transactions,
            customers: cfg.customer_count(),
            anonymous: cfg.transactions * ANONYMOUS_PERCENT / 100,
            calendar,
            managers,
            managers_by_segment,
        })
    }

    pub(crate) fn chunks(&self) -> u64 {
        self.customers.div_ceil(CHUNK_CUSTOMERS)
    }

    /// The customer index range of a chunk.
    pub(crate) fn chunk_customers(&self, chunk: u64) -> std::ops::Range<u64> {
        let start = chunk * CHUNK_CUSTOMERS;
        start..(start + CHUNK_CUSTOMERS).min(self.customers)
    }

    /// Share of `total` that falls before customer `index`, so that the
    /// shares of all chunks add up to `total` exactly.
    fn share_before(&self, total: u64, index: u64) -> u64 {
        (u128::from(total) * u128::from(index) / u128::from(self.customers)) as u64
    }

    /// Transactions of known customers that a chunk must produce.
    pub(crate) fn chunk_customer_transactions(&self, chunk: u64) -> u64 {
        let r = self.chunk_customers(chunk);
        let known = self.transactions - self.anonymous;
        self.share_before(known, r.end) - self.share_before(known, r.start)
    }

    /// Anonymous receipts that a chunk must produce.
    pub(crate) fn chunk_anonymous(&self, chunk: u64) -> u64 {
        let r = self.chunk_customers(chunk);
        self.share_before(self.anonymous, r.end) - self.share_before(self.anonymous, r.start)
    }

    /// Number of transactions in chunks before this one: the chunk's first id is this + 1.
    pub(crate) fn chunk_transaction_offset(&self, chunk: u64) -> u64 {
        let start = self.chunk_customers(chunk).start;
        self.share_before(self.transactions - self.anonymous, start)
            + self.share_before(self.anonymous, start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
    }

    #[test]
    fn chunk_quotas_add_up_to_the_config_exactly() {
        let mut cfg = GenConfig::new(1_000_003, date());
        cfg.customers = Some(50_001);
        let plan = Plan::new(&cfg).unwrap();
        assert_eq!(plan.chunks(), 4);
        let known: u64 = (0..4).map(|c| plan.chunk_customer_transactions(c)).sum();
        let anon: u64 = (0..4).map(|c| plan.chunk_anonymous(c)).sum();
        assert_eq!(known + anon, 1_000_003);
        assert_eq!(anon, 40_000);
        for c in 1..4 {
            assert_eq!(
                plan.chunk_transaction_offset(c),
                plan.chunk_transaction_offset(c - 1)
                    + plan.chunk_customer_transactions(c - 1)
                    + plan.chunk_anonymous(c - 1)
            );
        }
    }

    #[test]
    fn defaults_scale_with_size() {
        let cfg = GenConfig::new(1_000, date());
        assert_eq!(cfg.customer_count(), 50);
        assert_eq!(cfg.manager_count(), 8);
        let big = GenConfig::new(100_000_000, date());
        assert_eq!(big.customer_count(), 5_000_000);
        assert_eq!(big.manager_count(), 200);
        assert_eq!(GenConfig::new(5, date()).customer_count(), 1);
    }

    #[test]
    fn bad_configs_name_the_field() {
        let mut cfg = GenConfig::new(0, date());
        let e = Plan::new(&cfg).unwrap_err().to_string();
        assert!(e.contains("transactions"), "{e}");
        cfg.transactions = 10;
        cfg.years = 0;
        assert!(Plan::new(&cfg).unwrap_err().to_string().contains("years"));
    }
}
