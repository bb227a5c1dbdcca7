//! Phones, e-mails, booleans, time zones, empty strings, leading zeros.

use arrow::array::{Array, AsArray};
use arrow::datatypes::TimestampMicrosecondType;
use crm_core::schema::Table;

use crate::{fixture, load, mapping, options};

#[test]
fn phones_become_e164_and_invalid_ones_are_flagged_not_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = fixture(
        &d,
        "c.csv",
        concat!(
            "customer_id;phone;email\n",
            "1;8 (916) 123-45-67; Ivan@Mail.RU \n",
            "2;12-34;not-an-email\n",
            "3;\"доб. 12, +7 495 123-45-67; 8 916 765-43-21\";\n",
            "4;;\n",
        ),
    );
    let l = load(&p, &options(Table::Customers));
    assert!(l.quarantine.is_empty());
    assert_eq!(
        l.text("phone"),
        vec![
            Some("+79161234567".into()),
            Some("12-34".into()),
            Some("+74951234567".into()),
            None
        ]
    );
    assert_eq!(
        l.text("phones_other"),
        vec![None, None, Some("доб. 12, +79167654321".into()), None]
    );
    let valid = l.batch.column_by_name("phone_valid").unwrap().as_boolean();
    assert_eq!(
        (0..4)
            .map(|i| valid.is_valid(i).then(|| valid.value(i)))
            .collect::<Vec<_>>(),
        vec![Some(true), Some(false), Some(true), None]
    );
    assert_eq!(
        l.text("email"),
        vec![
            Some("ivan@mail.ru".into()),
            Some("not-an-email".into()),
            None,
            None
        ]
    );
    let ev = l.batch.column_by_name("email_valid").unwrap().as_boolean();
    assert!(ev.value(0) && !ev.value(1) && ev.is_null(2));
    for c in [
        "phone",
        "phone_valid",
        "phones_other",
        "email",
        "email_valid",
    ] {
        assert!(l.info.present_columns.contains(&c), "{c}");
    }
    assert!(!l.info.present_columns.contains(&"city"));
}

#[test]
fn offsets_move_to_the_configured_zone_and_naive_times_stay() {
    let d = tempfile::tempdir().unwrap();
    let p = fixture(
        &d,
        "t.csv",
        "transaction_id,ts,amount\n1,2024-06-01T09:00:00Z,1\n2,2024-06-01 09:00,1\n3,2024-06-01T09:00:00+05:00,1\n",
    );
    let at = |h: u32| {
        chrono::NaiveDate::from_ymd_opt(2024, 6, 1)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros()
    };
    let l = load(&p, &options(Table::Transactions));
    let ts = l
        .batch
        .column_by_name("ts")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(ts.values().to_vec(), vec![at(12), at(9), at(7)]);

    let mut o = options(Table::Transactions);
    o.timezone = "Asia/Almaty".into(); // UTC+5
    let l = load(&p, &o);
    let ts = l
        .batch
        .column_by_name("ts")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(ts.values().to_vec(), vec![at(14), at(9), at(9)]);
}

#[test]
fn booleans_in_every_spelling() {
    let d = tempfile::tempdir().unwrap();
    let p = fixture(
        &d,
        "m.csv",
        "manager_id,active\n1,true\n2,0\n3,Да\n4,нет\n5,yes\n6,N\n7,\n8,maybe\n",
    );
    let l = load(&p, &options(Table::Managers));
    let a = l.batch.column_by_name("active").unwrap().as_boolean();
    let got: Vec<Option<bool>> = (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect();
    assert_eq!(
        got,
        vec![
            Some(true),
            Some(false),
            Some(true),
            Some(false),
            Some(true),
            Some(false),
            None
        ]
    );
    assert_eq!(
        l.reasons(),
        vec![(
            9,
            crm_core::QuarantineReason::ParseError,
            Some("active".into())
        )]
    );
}

#[test]
fn empty_strings_are_null_and_leading_zeros_stay() {
    let d = tempfile::tempdir().unwrap();
    let p = fixture(&d, "c.csv", "customer_id,city,manager_id\n000123,  ,007\n");
    let l = load(&p, &options(Table::Customers));
    assert_eq!(l.text("customer_id"), vec![Some("000123".into())]);
    assert_eq!(l.text("city"), vec![None]);
    assert_eq!(l.text("manager_id"), vec![Some("007".into())]);
}

#[test]
fn multi_value_phones_with_a_custom_separator_and_attributes() {
    let d = tempfile::tempdir().unwrap();
    let p = fixture(
        &d,
        "c.csv",
        "Код,Телефоны,Должность,Мусор\n000001,+7 916 123-45-67 / 8 495 123 45 67,Директор,x\n",
    );
    let mut o = options(Table::Customers);
    o.mapping = Some(mapping(
        &d,
        "table = \"customers\"\nattributes = [\"Должность\"]\n[columns]\ncustomer_id = \"Код\"\nphone = { column = \"Телефоны\", split = [\"/\"] }\n",
    ));
    let l = load(&p, &o);
    assert_eq!(l.text("phone"), vec![Some("+79161234567".into())]);
    assert_eq!(l.text("phones_other"), vec![Some("+74951234567".into())]);
    assert_eq!(
        l.text("attributes"),
        vec![Some("{\"Должность\":\"Директор\"}".into())]
    );
    assert_eq!(l.info.ignored_columns, vec!["Мусор".to_string()]);
}
