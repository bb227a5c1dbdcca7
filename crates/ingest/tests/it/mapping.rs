//! Mapping files: loading, validation errors, composite keys, constants,
//! derived keys, and the fatal errors `open` reports.

use std::path::Path;

use crm_core::schema::Table;
use crm_ingest::{ColumnSource, Mapping};

use crate::{fixture, load, mapping, options};

fn parse_err(text: &str) -> String {
    Mapping::from_toml_str(text, Path::new("m.toml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn a_broken_mapping_names_the_file_and_the_key() {
    let cases = [
        ("[columns]\na = \"b\"\n", "missing key 'table'"),
        ("table = \"deals\"\n", "unknown table 'deals'"),
        (
            "table = \"interests\"\n[columns]\nbudget = \"Бюджет\"\n",
            "columns.budget",
        ),
        (
            "table = \"interests\"\n[columns]\namount = { column = \"x\", formt = 1 }\n",
            "columns.amount.formt",
        ),
        (
            "table = \"interests\"\n[columns]\namount = { column = \"x\", const = \"1\" }\n",
            "columns.amount.const",
        ),
        (
            "table = \"interests\"\n[values.stage]\n\"a\" = \"b\"\n",
            "values.stage",
        ),
        (
            "table = \"interests\"\n[options]\nencodng = \"utf-8\"\n",
            "options.encodng",
        ),
        (
            "table = \"interests\"\n[columns]\nstage = { column = \"x\", date_format = \"%d\" }\n",
            "columns.stage.date_format",
        ),
        (
            "table = \"interests\"\nattributes = [\"x\"]\n",
            "attributes",
        ),
        ("table = \"customers\"\nfoo = 1\n", "unknown key 'foo'"),
        ("table = [", "not valid TOML"),
    ];
    for (text, want) in cases {
        let e = parse_err(text);
        assert!(e.starts_with("mapping m.toml: "), "{e}");
        assert!(e.contains(want), "{text:?}: {e}");
    }
}

#[test]
fn the_sample_mappings_load() {
    for name in [
        "1c_customers.toml",
        "1c_receipts.toml",
        "amocrm_contacts.toml",
        "amocrm_leads.toml",
        "bitrix24_activities.toml",
        "web_orders.toml",
    ] {
        Mapping::from_toml_file(&crate::sample(name)).unwrap_or_else(|e| panic!("{e}"));
    }
    let m = Mapping::from_toml_file(&crate::sample("1c_receipts.toml")).unwrap();
    assert_eq!(
        m.columns["transaction_id"].source,
        ColumnSource::Concat {
            columns: vec!["Магазин".into(), "Касса".into(), "Номер чека".into()],
            sep: "-".into()
        }
    );
}

#[test]
fn composite_keys_and_constants() {
    let d = tempfile::tempdir().unwrap();
    let p = fixture(
        &d,
        "r.csv",
        "store;register;receipt;date;sum\n01;2;0005;01.02.2024;10\n01;3;0005;01.02.2024;20\n01;2;0005;02.02.2024;30\n01;;0006;02.02.2024;30\n",
    );
    let mut o = options(Table::Transactions);
    o.mapping = Some(mapping(
        &d,
        r#"table = "transactions"
[columns]
transaction_id = { concat = ["store", "register", "receipt"], sep = "-" }
ts = "date"
amount = "sum"
channel = { const = "shop" }
"#,
    ));
    let l = load(&p, &o);
    assert_eq!(
        l.text("transaction_id"),
        vec![Some("01-2-0005".into()), Some("01-3-0005".into())]
    );
    assert_eq!(
        l.text("channel"),
        vec![Some("shop".into()), Some("shop".into())]
    );
    use crm_core::QuarantineReason::*;
    assert_eq!(
        l.reasons(),
        vec![
            (4, DuplicateInFile, Some("transaction_id".into())),
            (5, MissingRequired, Some("transaction_id".into()))
        ]
    );
    assert!(
        l.quarantine[0].message.contains("\"01-2-0005\""),
        "{}",
        l.quarantine[0].message
    );
    assert!(l.info.present_columns.contains(&"channel"));
}

#[test]
fn a_file_without_a_key_gets_one_from_its_content_and_line() {
    let d = tempfile::tempdir().unwrap();
    // Two identical lines stay two rows.
    let p = fixture(&d, "m.csv", "name,team\nАнна,A\nАнна,A\n");
    let a = load(&p, &options(Table::Managers));
    let b = load(&p, &options(Table::Managers));
    assert!(a.info.derived_key);
    let ids = a.text("manager_id");
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    assert!(ids[0].as_ref().unwrap().ends_with(":2"));
    assert!(ids[1].as_ref().unwrap().ends_with(":3"));
    assert_eq!(ids, b.text("manager_id"), "re-loading gives the same keys");
}

#[test]
fn fatal_problems_are_errors_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let p = fixture(&d, "t.csv", "transaction_id,amount\n1,2\n");
    let e = crm_ingest::open(&p, &options(Table::Transactions))
        .unwrap_err()
        .to_string();
    assert!(e.contains("t.csv") && e.contains("'ts'"), "{e}");

    let mut o = options(Table::Transactions);
    o.mapping = Some(mapping(
        &d,
        "table = \"transactions\"\n[columns]\nts = \"Дата\"\n",
    ));
    let e = crm_ingest::open(&p, &o).unwrap_err().to_string();
    assert!(
        e.contains("t.csv") && e.contains("Дата") && e.contains("mapping.toml"),
        "{e}"
    );

    let empty = fixture(&d, "empty.csv", "");
    let e = crm_ingest::open(&empty, &options(Table::Transactions))
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty.csv"), "{e}");

    let e = crm_ingest::open(&d.path().join("nope.csv"), &options(Table::Transactions))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope.csv"), "{e}");

    let mut o = options(Table::Customers);
    o.mapping = Some(mapping(&d, "table = \"transactions\"\n"));
    let e = crm_ingest::open(&p, &o).unwrap_err().to_string();
    assert!(e.contains("customers"), "{e}");
}
