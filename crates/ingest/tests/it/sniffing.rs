//! Sniffing, and explicit options overriding it.

use arrow::array::AsArray;
use arrow::datatypes::{Date32Type, Decimal128Type};
use crm_core::schema::Table;
use crm_ingest::Encoding;

use crate::{fixture, load, options};

#[test]
fn decimal_comma_is_sniffed_from_money_columns() {
    let d = tempfile::tempdir().unwrap();
    let p = fixture(
        &d,
        "t.csv",
        "transaction_id;ts;amount\n1;31.12.2024;1 234,56\n2;01.12.2024;-7,5\n",
    );
    let l = load(&p, &options(Table::Transactions));
    assert!(l.info.decimal_comma);
    let a = l
        .batch
        .column_by_name("amount")
        .unwrap()
        .as_primitive::<Decimal128Type>();
    assert_eq!(a.values().to_vec(), vec![123_456, -750]);
}

#[test]
fn explicit_options_override_sniffing() {
    let d = tempfile::tempdir().unwrap();
    // Looks like ',' separated UTF-8; it is really ';' with a comma decimal.
    let p = fixture(&d, "t.csv", "transaction_id;ts;amount\n1;2024-12-31;5,5\n");
    let mut o = options(Table::Transactions);
    o.delimiter = Some(b';');
    o.decimal_comma = Some(true);
    o.encoding = Some("windows-1251".into());
    let l = load(&p, &o);
    assert_eq!(l.info.encoding, Encoding::Windows1251);
    let a = l
        .batch
        .column_by_name("amount")
        .unwrap()
        .as_primitive::<Decimal128Type>();
    assert_eq!(a.value(0), 550);
    // Forcing a dot decimal makes the same value a parse error.
    o.decimal_comma = Some(false);
    assert_eq!(load(&p, &o).quarantine.len(), 1);
}

fn day(y: i32, m: u32, d: u32) -> i32 {
    (chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
        - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
    .num_days() as i32
}

#[test]
fn slashed_dates_only_when_unambiguous_or_given() {
    let d = tempfile::tempdir().unwrap();
    // The column has a 31 in second place: month first.
    let p = fixture(
        &d,
        "c.csv",
        "customer_id,birth_date\n1,12/31/1980\n2,01/02/1990\n",
    );
    let l = load(&p, &options(Table::Customers));
    let b = l
        .batch
        .column_by_name("birth_date")
        .unwrap()
        .as_primitive::<Date32Type>();
    assert_eq!(
        b.values().to_vec(),
        vec![day(1980, 12, 31), day(1990, 1, 2)]
    );

    // Nothing tells the order: refused, with a hint.
    let p = fixture(&d, "c2.csv", "customer_id,birth_date\n1,01/02/1990\n");
    let l = load(&p, &options(Table::Customers));
    assert_eq!(l.quarantine.len(), 1);
    assert!(
        l.quarantine[0].message.contains("date_format"),
        "{}",
        l.quarantine[0].message
    );

    // Given: read as told.
    let mut o = options(Table::Customers);
    o.date_format = Some("%d/%m/%Y".into());
    let l = load(&p, &o);
    let b = l
        .batch
        .column_by_name("birth_date")
        .unwrap()
        .as_primitive::<Date32Type>();
    assert_eq!(b.value(0), day(1990, 2, 1));
}

#[test]
fn dates_in_every_built_in_spelling() {
    let d = tempfile::tempdir().unwrap();
    let p = fixture(
        &d,
        "t.csv",
        concat!(
            "transaction_id,ts,amount\n",
            "1,31.12.2024,1\n",
            "2,2024-12-31,1\n",
            "3,2024-12-31T14:05,1\n",
            "4,2024-12-31 14:05:07,1\n",
            "5,31.12.2024 14:05,1\n",
            "6,2024-12-31T11:05:07Z,1\n",
            "7,2024-12-31T14:05:07+03:00,1\n",
        ),
    );
    let l = load(&p, &options(Table::Transactions));
    assert!(l.quarantine.is_empty(), "{:?}", l.quarantine);
    assert_eq!(l.rows(), 7);
}

#[test]
fn an_unknown_encoding_is_a_fatal_error() {
    let d = tempfile::tempdir().unwrap();
    let p = fixture(&d, "c.csv", "customer_id\n1\n");
    let mut o = options(Table::Customers);
    o.encoding = Some("koi8-r".into());
    let e = crm_ingest::open(&p, &o).unwrap_err().to_string();
    assert!(e.contains("c.csv") && e.contains("koi8-r"), "{e}");
}
