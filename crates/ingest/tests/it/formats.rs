//! Each input format and encoding gives the same canonical rows.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Decimal128Type, Field, Schema};
use crm_core::schema::Table;
use crm_ingest::{Encoding, Format};

use crate::{fixture, load, options};

const CSV: &str =
    "customer_id,full_name,city\n000123,Иван Петров,Москва\n000124,Анна Смирнова,Казань\n";

fn names(l: &crate::Loaded) -> Vec<Option<String>> {
    l.text("full_name")
}

fn expected() -> Vec<Option<String>> {
    vec![Some("Иван Петров".into()), Some("Анна Смирнова".into())]
}

#[test]
fn utf8_csv() {
    let d = tempfile::tempdir().unwrap();
    let l = load(&fixture(&d, "c.csv", CSV), &options(Table::Customers));
    assert_eq!(l.info.format, Format::Csv);
    assert_eq!(l.info.encoding, Encoding::Utf8);
    assert_eq!(names(&l), expected());
    assert_eq!(l.text("customer_id")[0].as_deref(), Some("000123"));
}

#[test]
fn utf8_with_bom() {
    let d = tempfile::tempdir().unwrap();
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(CSV.as_bytes());
    let l = load(&fixture(&d, "c.csv", bytes), &options(Table::Customers));
    assert_eq!(l.info.encoding, Encoding::Utf8Bom);
    // The BOM must not stick to the first column name.
    assert_eq!(l.text("customer_id")[0].as_deref(), Some("000123"));
}

#[test]
fn windows_1251_semicolon() {
    let d = tempfile::tempdir().unwrap();
    let text = CSV.replace(',', ";");
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
    let l = load(&fixture(&d, "c.csv", bytes), &options(Table::Customers));
    assert_eq!(l.info.encoding, Encoding::Windows1251);
    assert_eq!(l.info.delimiter, Some(b';'));
    assert_eq!(names(&l), expected());
}

#[test]
fn tsv_and_pipe() {
    let d = tempfile::tempdir().unwrap();
    for (name, sep) in [("c.tsv", "\t"), ("c.txt", "|")] {
        let l = load(
            &fixture(&d, name, CSV.replace(',', sep)),
            &options(Table::Customers),
        );
        assert_eq!(l.info.delimiter, Some(sep.as_bytes()[0]));
        assert_eq!(names(&l), expected());
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn gzip_by_extension_and_by_magic() {
    let d = tempfile::tempdir().unwrap();
    for name in ["c.csv.gz", "renamed.csv"] {
        let l = load(
            &fixture(&d, name, gzip(CSV.as_bytes())),
            &options(Table::Customers),
        );
        assert!(l.info.gzip);
        assert_eq!(names(&l), expected());
    }
}

#[test]
fn json_lines() {
    let d = tempfile::tempdir().unwrap();
    let text = concat!(
        "{\"transaction_id\": 123, \"customer_id\": \"000123\", \"ts\": \"2024-05-01T10:00:00Z\", \"amount\": 12.5, \"extra\": 1}\n",
        "\n",
        "{\"transaction_id\": 124, \"customer_id\": null, \"ts\": \"2024-05-01T10:00:00+03:00\", \"amount\": 7}\n",
        "not json\n",
    );
    let l = load(
        &fixture(&d, "w.jsonl.gz", gzip(text.as_bytes())),
        &options(Table::Transactions),
    );
    assert_eq!(l.info.format, Format::JsonLines);
    assert_eq!(
        l.text("transaction_id"),
        vec![Some("123".into()), Some("124".into())]
    );
    assert_eq!(l.text("customer_id"), vec![Some("000123".into()), None]);
    assert_eq!(l.info.ignored_columns, vec!["extra".to_string()]);
    let amounts = l
        .batch
        .column_by_name("amount")
        .unwrap()
        .as_primitive::<Decimal128Type>();
    assert_eq!(amounts.values().to_vec(), vec![1250, 700]);
    // Blank line 2 is skipped but counted; "not json" is line 4.
    assert_eq!(
        l.reasons(),
        vec![(4, crm_core::QuarantineReason::ParseError, None)]
    );
    assert_eq!(l.rows_read, 3);
}

#[test]
fn parquet_integer_ids_become_text_and_text_ids_keep_zeros() {
    let d = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("manager_id", DataType::Int64, true),
        Field::new("full_name", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["000123", "000124"])),
            Arc::new(Int64Array::from(vec![Some(7), None])),
            Arc::new(StringArray::from(vec!["Иван Петров", "Анна Смирнова"])),
        ],
    )
    .unwrap();
    let p = d.path().join("c.parquet");
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&p).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let l = load(&p, &options(Table::Customers));
    assert_eq!(l.info.format, Format::Parquet);
    assert_eq!(
        l.text("customer_id"),
        vec![Some("000123".into()), Some("000124".into())]
    );
    assert_eq!(l.text("manager_id"), vec![Some("7".into()), None]);
    assert_eq!(names(&l), expected());
}

#[test]
fn xlsx_with_dates_numbers_and_a_mangled_id() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("b.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["ID", "customer_id", "planned_at", "status"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let fmt = rust_xlsxwriter::Format::new().set_num_format("dd.mm.yyyy hh:mm");
    let dt = rust_xlsxwriter::ExcelDateTime::parse_from_str("2024-05-01T14:30:00").unwrap();
    ws.write_number(1, 0, 90001.0).unwrap();
    ws.write_string(1, 1, "000123").unwrap();
    ws.write_datetime_with_format(1, 2, &dt, &fmt).unwrap();
    ws.write_string(1, 3, "done").unwrap();
    // Row 3: Excel turned the client code into a date.
    let may = rust_xlsxwriter::ExcelDateTime::parse_from_str("2024-05-01").unwrap();
    ws.write_number(2, 0, 90002.0).unwrap();
    ws.write_datetime_with_format(
        2,
        1,
        &may,
        &rust_xlsxwriter::Format::new().set_num_format("dd-mmm"),
    )
    .unwrap();
    ws.write_string(2, 3, "done").unwrap();
    wb.save(&p).unwrap();

    let mut o = options(Table::Interactions);
    o.mapping = Some(crate::mapping(
        &d,
        "table = \"interactions\"\n[columns]\ninteraction_id = \"ID\"\n",
    ));
    let l = load(&p, &o);
    assert_eq!(l.info.format, Format::Xlsx);
    assert_eq!(l.text("interaction_id"), vec![Some("90001".into())]);
    assert_eq!(l.text("customer_id"), vec![Some("000123".into())]);
    let ts = l
        .batch
        .column_by_name("planned_at")
        .unwrap()
        .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
    let want = chrono::NaiveDate::from_ymd_opt(2024, 5, 1)
        .unwrap()
        .and_hms_opt(14, 30, 0)
        .unwrap();
    assert_eq!(ts.value(0), want.and_utc().timestamp_micros());
    assert_eq!(
        l.reasons(),
        vec![(
            3,
            crm_core::QuarantineReason::ExcelMangled,
            Some("customer_id".into())
        )]
    );
}

#[test]
fn readers_can_run_inside_rayon_tasks() {
    use rayon::prelude::*;
    let d = tempfile::tempdir().unwrap();
    let mut body = String::from("transaction_id,ts,amount\n");
    for i in 0..5000 {
        body.push_str(&format!("T{i},2024-01-01,1\n"));
    }
    let p = fixture(&d, "t.csv", body);
    let mut o = options(Table::Transactions);
    o.ingest.batch_rows = 100;
    // More readers than pool threads, each waiting on conversions on the same pool.
    let rows: Vec<usize> = (0..8)
        .into_par_iter()
        .map(|_| load(&p, &o).rows())
        .collect();
    assert_eq!(rows, vec![5000; 8]);
}
