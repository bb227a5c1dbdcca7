//! The committed sample exports load with their mappings and give the
//! counts worked out by hand from the generator (see the folder's README).

use arrow::array::{Array, AsArray};
use arrow::datatypes::Decimal128Type;
use crm_core::QuarantineReason::*;
use crm_core::schema::Table;
use crm_ingest::{Encoding, Mapping};

use crate::{Loaded, load, options, sample};

fn load_sample(file: &str, mapping: Option<&str>, table: Table) -> Loaded {
    let mut o = options(table);
    o.mapping = mapping.map(|m| Mapping::from_toml_file(&sample(m)).unwrap());
    load(&sample(file), &o)
}

fn false_count(l: &Loaded, col: &str) -> usize {
    let a = l.batch.column_by_name(col).unwrap().as_boolean();
    (0..a.len())
        .filter(|&i| a.is_valid(i) && !a.value(i))
        .count()
}

#[test]
fn one_c_customers() {
    let l = load_sample(
        "1c_customers.csv",
        Some("1c_customers.toml"),
        Table::Customers,
    );
    assert_eq!(l.info.encoding, Encoding::Windows1251);
    assert_eq!((l.rows_read, l.rows()), (302, 300));
    assert_eq!(
        l.reasons(),
        vec![
            (122, ExcelMangled, Some("customer_id".into())),
            (203, DuplicateInFile, Some("customer_id".into()))
        ]
    );
    assert_eq!(l.text("customer_id")[0].as_deref(), Some("000001"));
    // Every 25th customer's phone is "12-34": 12 flagged, none refused.
    assert_eq!(false_count(&l, "phone_valid"), 12);
    // Customers 40, 80, ..., 240 (not 280, which has no e-mail) wrote "(at)".
    assert_eq!(false_count(&l, "email_valid"), 6);
    assert_eq!(l.text("source")[0].as_deref(), Some("1c"));
}

#[test]
fn one_c_receipts() {
    let l = load_sample(
        "1c_receipts.csv",
        Some("1c_receipts.toml"),
        Table::Transactions,
    );
    assert_eq!((l.rows_read, l.rows()), (1004, 1000));
    assert_eq!(
        l.reasons(),
        vec![
            (302, ParseError, Some("amount".into())),
            (403, FutureDate, Some("ts".into())),
            (504, DuplicateInFile, Some("transaction_id".into())),
            (605, ExcelMangled, Some("customer_id".into())),
        ]
    );
    let anonymous = l.text("customer_id").iter().filter(|c| c.is_none()).count();
    assert_eq!(anonymous, 50);
    let amount = l
        .batch
        .column_by_name("amount")
        .unwrap()
        .as_primitive::<Decimal128Type>();
    assert_eq!(amount.values().iter().filter(|a| **a < 0).count(), 20);
    assert!(
        l.text("transaction_id")
            .iter()
            .all(|k| k.as_ref().unwrap().split('-').count() == 3)
    );
}

#[test]
fn amocrm_contacts_and_leads() {
    let l = load_sample(
        "amocrm_contacts.csv",
        Some("amocrm_contacts.toml"),
        Table::Customers,
    );
    assert_eq!((l.rows_read, l.rows()), (150, 150));
    assert_eq!(false_count(&l, "phone_valid"), 0);
    // k % 5 in {0, 1, 2} put two parts in the cell: 90 contacts.
    let others = l
        .text("phones_other")
        .iter()
        .filter(|p| p.is_some())
        .count();
    assert_eq!(others, 90);
    assert!(
        l.text("attributes")[0]
            .as_ref()
            .unwrap()
            .contains("\"ID\":\"4000001\"")
    );

    let l = load_sample(
        "amocrm_leads.csv",
        Some("amocrm_leads.toml"),
        Table::Interests,
    );
    assert_eq!((l.rows_read, l.rows()), (200, 199));
    assert_eq!(
        l.reasons(),
        vec![(78, InvalidValue, Some("outcome".into()))]
    );
    let stages = l.text("stage");
    let outcomes = l.text("outcome");
    for (s, o) in stages.iter().zip(&outcomes) {
        let want = match s.as_deref().unwrap() {
            "Успешно реализовано" => "won",
            "Закрыто и не реализовано" => "lost",
            _ => "open",
        };
        assert_eq!(o.as_deref(), Some(want));
    }
}

#[test]
fn bitrix24_activities_xlsx() {
    let l = load_sample(
        "bitrix24_activities.xlsx",
        Some("bitrix24_activities.toml"),
        Table::Interactions,
    );
    assert_eq!((l.rows_read, l.rows()), (300, 299));
    assert_eq!(
        l.reasons(),
        vec![(151, InvalidValue, Some("status".into()))]
    );
    assert_eq!(l.text("interaction_id")[0].as_deref(), Some("90001"));
}

#[test]
fn web_orders_jsonl_and_managers_parquet() {
    let l = load_sample(
        "web_orders.jsonl",
        Some("web_orders.toml"),
        Table::Transactions,
    );
    assert_eq!((l.rows_read, l.rows()), (201, 200));
    assert_eq!(l.reasons(), vec![(101, ParseError, None)]);
    assert_eq!(
        l.text("customer_id").iter().filter(|c| c.is_none()).count(),
        20
    );

    let l = load_sample("pipeline_managers.parquet", None, Table::Managers);
    assert_eq!((l.rows_read, l.rows()), (8, 8));
    assert_eq!(l.text("manager_id")[0].as_deref(), Some("101"));
}
