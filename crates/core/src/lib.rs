//! The shared vocabulary of crm: the canonical tables and their Arrow schemas,
//! the `crm.toml` configuration, the quarantine reason codes, and money/time
//! conventions that every other crate agrees on.
//!
//! This crate is deliberately light (no DataFusion, no I/O beyond reading a
//! config file) so that every other crate can depend on it and build in seconds.
//!
//! ```
//! use crm_core::schema::Table;
//! let t: Table = "transactions".parse().unwrap();
//! assert_eq!(t.key_columns(), &["transaction_id"]);
//! assert!(t.arrow_schema().field_with_name("amount").is_ok());
//! ```

pub mod clv;
pub mod config;
pub mod funnel;
pub mod logging;
pub mod money;
pub mod quarantine;
pub mod rfm;
pub mod schema;

pub use config::Config;
pub use quarantine::{QuarantineReason, QuarantineRow};
pub use schema::{Column, ColumnType, Table};
