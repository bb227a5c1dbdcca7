//! The canonical data model: seven tables, their columns, natural keys and
//! Arrow schemas. Everything a loader writes and every query in `queries/`
//! reads is expressed in these names.
//!
//! Types follow CONVENTIONS: ids are text, money is `Decimal128(18, 2)`,
//! timestamps are local wall-clock time without a zone
//! (`Timestamp(Microsecond, None)`), dates are `Date32`.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Precision and scale of every money column.
pub const MONEY_PRECISION: u8 = 18;
pub const MONEY_SCALE: i8 = 2;

/// Bookkeeping column that every canonical table carries: the load that
/// last wrote the row.
pub const LOAD_ID_COLUMN: &str = "_load_id";

/// The logical type of a canonical column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Text; every id is text, leading zeros kept.
    Utf8,
    /// A calendar date (`Date32`).
    Date,
    /// Local wall-clock timestamp, microseconds, no zone.
    Timestamp,
    /// Money: `Decimal128(18, 2)`.
    Money,
    /// true/false (accepts да/нет, yes/no, 1/0 on input).
    Bool,
}

impl ColumnType {
    pub fn arrow_type(self) -> DataType {
        match self {
            ColumnType::Utf8 => DataType::Utf8,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            ColumnType::Money => DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE),
            ColumnType::Bool => DataType::Boolean,
        }
    }
}

/// One canonical column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    /// A row without this value is quarantined as `missing_required`.
    pub required: bool,
    pub doc: &'static str,
}

impl Column {
    /// Dates that describe a plan rather than an event may lie in the future:
    /// an interaction planned for next week, a campaign that ends next month.
    /// Every other date more than the tolerance ahead is `future_date`.
    pub fn may_lie_in_future(&self) -> bool {
        matches!(self.name, "planned_at" | "ended_at")
    }
}

const fn col(name: &'static str, ty: ColumnType, required: bool, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        required,
        doc,
    }
}

use ColumnType::{Bool, Date, Money, Timestamp, Utf8};

const CUSTOMERS: &[Column] = &[
    col("customer_id", Utf8, true, "natural key"),
    col("full_name", Utf8, false, "person or company name"),
    col(
        "email",
        Utf8,
        false,
        "trimmed and lower-cased; kept as given when invalid",
    ),
    col(
        "email_valid",
        Bool,
        false,
        "false when an e-mail is present but not valid",
    ),
    col(
        "phone",
        Utf8,
        false,
        "primary phone in E.164; the raw text when invalid",
    ),
    col(
        "phone_valid",
        Bool,
        false,
        "false when a phone is present but not valid",
    ),
    col(
        "phones_other",
        Utf8,
        false,
        "further phones from the same cell, E.164, separated by ', '",
    ),
    col("birth_date", Date, false, ""),
    col("city", Utf8, false, ""),
    col(
        "market_segment",
        Utf8,
        false,
        "1C «Сегмент рынка» or similar",
    ),
    col("manager_id", Utf8, false, "owning manager"),
    col("source", Utf8, false, "acquisition channel"),
    col("created_at", Timestamp, false, "registration time"),
    col("marketing_consent", Bool, false, "consent to mailings"),
    col(
        "attributes",
        Utf8,
        false,
        "extra attributes as a JSON object",
    ),
];

const TRANSACTIONS: &[Column] = &[
    col("transaction_id", Utf8, true, "natural key"),
    col("customer_id", Utf8, false, "empty for an anonymous receipt"),
    col("ts", Timestamp, true, "time of the purchase or refund"),
    col("amount", Money, true, "negative for a refund"),
    col("cost", Money, false, "cost of goods, for margin"),
    col("channel", Utf8, false, "shop, web, phone …"),
    col("manager_id", Utf8, false, ""),
    col("product_id", Utf8, false, ""),
];

const INTERACTIONS: &[Column] = &[
    col("interaction_id", Utf8, true, "natural key"),
    col("customer_id", Utf8, false, ""),
    col("manager_id", Utf8, false, ""),
    col("kind", Utf8, false, "call, email, meeting, message"),
    col("direction", Utf8, false, "inbound or outbound"),
    col("planned_at", Timestamp, false, "when it was planned for"),
    col("completed_at", Timestamp, false, "null while not done"),
    col("status", Utf8, false, "planned, done, cancelled"),
    col("interest_id", Utf8, false, "the interest it serves"),
];

const INTERESTS: &[Column] = &[
    col("interest_id", Utf8, true, "natural key"),
    col("customer_id", Utf8, false, ""),
    col("manager_id", Utf8, false, ""),
    col("source", Utf8, false, "lead source"),
    col("created_at", Timestamp, false, ""),
    col("amount", Money, false, "expected deal amount"),
    col("stage", Utf8, false, "current stage, raw as exported"),
    col("outcome", Utf8, false, "open, won, lost"),
    col("closed_at", Timestamp, false, "when won or lost"),
];

const INTEREST_STAGES: &[Column] = &[
    col("interest_id", Utf8, true, ""),
    col("stage", Utf8, true, "raw stage name"),
    col("entered_at", Timestamp, true, ""),
    col("manager_id", Utf8, false, ""),
];

const MANAGERS: &[Column] = &[
    col("manager_id", Utf8, true, "natural key"),
    col("name", Utf8, false, ""),
    col("team", Utf8, false, ""),
    col("market_segment", Utf8, false, ""),
    col("active", Bool, false, ""),
];

const CAMPAIGNS: &[Column] = &[
    col("campaign_id", Utf8, true, "natural key"),
    col("name", Utf8, false, ""),
    col("channel", Utf8, false, ""),
    col("started_at", Timestamp, false, ""),
    col("ended_at", Timestamp, false, ""),
    col("spend", Money, false, ""),
];

/// A canonical table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Customers,
    Transactions,
    Interactions,
    Interests,
    InterestStages,
    Managers,
    Campaigns,
}

impl Table {
    pub const ALL: [Table; 7] = [
        Table::Customers,
        Table::Transactions,
        Table::Interactions,
        Table::Interests,
        Table::InterestStages,
        Table::Managers,
        Table::Campaigns,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Customers => "customers",
            Table::Transactions => "transactions",
            Table::Interactions => "interactions",
            Table::Interests => "interests",
            Table::InterestStages => "interest_stages",
            Table::Managers => "managers",
            Table::Campaigns => "campaigns",
        }
    }

    /// The canonical columns, without the `_load_id` bookkeeping column.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Customers => CUSTOMERS,
            Table::Transactions => TRANSACTIONS,
            Table::Interactions => INTERACTIONS,
            Table::Interests => INTERESTS,
            Table::InterestStages => INTEREST_STAGES,
            Table::Managers => MANAGERS,
            Table::Campaigns => CAMPAIGNS,
        }
    }

    pub fn column(self, name: &str) -> Option<&'static Column> {
        self.columns().iter().find(|c| c.name == name)
    }

    /// The natural key. Stage history has no single id: an interest enters a
    /// stage at a moment, so the three together identify a row.
    pub fn key_columns(self) -> &'static [&'static str] {
        match self {
            Table::Customers => &["customer_id"],
            Table::Transactions => &["transaction_id"],
            Table::Interactions => &["interaction_id"],
            Table::Interests => &["interest_id"],
            Table::InterestStages => &["interest_id", "stage", "entered_at"],
            Table::Managers => &["manager_id"],
            Table::Campaigns => &["campaign_id"],
        }
    }

    /// The Arrow schema of the canonical columns (what a parser produces).
    pub fn arrow_schema(self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns()
            .iter()
            .map(|c| Field::new(c.name, c.ty.arrow_type(), !c.required))
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// The stored schema: the canonical columns plus `_load_id`.
    pub fn stored_schema(self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .arrow_schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new(LOAD_ID_COLUMN, DataType::Utf8, false));
        Arc::new(Schema::new(fields))
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Unknown table name; the message lists the valid ones.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown table '{0}': expected one of customers, transactions, interactions, interests, interest_stages, managers, campaigns"
)]
pub struct UnknownTable(pub String);

impl FromStr for Table {
    type Err = UnknownTable;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Table::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| UnknownTable(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_round_trips_its_name_and_has_its_keys_as_columns() {
        for t in Table::ALL {
            assert_eq!(t.name().parse::<Table>().unwrap(), t);
            for k in t.key_columns() {
                let c = t
                    .column(k)
                    .unwrap_or_else(|| panic!("{t}: key {k} missing"));
                assert!(c.required, "{t}: key {k} must be required");
            }
            assert_eq!(
                t.stored_schema().fields().len(),
                t.columns().len() + 1,
                "{t}"
            );
        }
        assert!("deals".parse::<Table>().is_err());
    }

    #[test]
    fn money_is_decimal_and_ids_are_text() {
        let s = Table::Transactions.arrow_schema();
        assert_eq!(
            s.field_with_name("amount").unwrap().data_type(),
            &DataType::Decimal128(18, 2)
        );
        assert_eq!(
            s.field_with_name("customer_id").unwrap().data_type(),
            &DataType::Utf8
        );
    }
}

#[cfg(test)]
mod doc_tests {
    use super::*;

    /// docs/data-model.md must list every column of every table, with its type.
    #[test]
    fn the_data_model_page_matches_the_schemas() {
        let doc = include_str!("../../../docs/data-model.md");
        for t in Table::ALL {
            let heading = format!("## `{}`", t.name());
            let start = doc
                .find(&heading)
                .unwrap_or_else(|| panic!("docs/data-model.md lacks a section for {t}"));
            let section = &doc[start..];
            let end = section[3..].find("\n## ").map_or(section.len(), |e| e + 3);
            let section = &section[..end];
            for c in t.columns() {
                let ty = match c.ty {
                    ColumnType::Utf8 => "text",
                    ColumnType::Date => "date",
                    ColumnType::Timestamp => "timestamp",
                    ColumnType::Money => "decimal(18,2)",
                    ColumnType::Bool => "boolean",
                };
                let row = format!("| `{}` | {ty}", c.name);
                assert!(
                    section.contains(&row),
                    "{t}.{}: expected a row starting {row:?}",
                    c.name
                );
            }
        }
    }
}
