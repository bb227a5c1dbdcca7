//! Spreadsheet files for people: XLSX (rust_xlsxwriter) and CSV, the latter
//! in UTF-8 (`,`, `.` decimals, as CONVENTIONS) or in Windows-1251 with `;`
//! and decimal commas, which Russian Excel and 1C open as they are.
//!
//! Windows-1251 has no `₽` and no Latin letters with accents. Such characters
//! are never dropped: the ones in [`CP1251_SPELLINGS`] get a documented
//! spelling (`₽` → `руб.`), and any other is written as an HTML-style
//! reference `&#NNNN;` and counted, so the caller can say so.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::output::{Error, Result};

/// Characters Windows-1251 lacks, and how they are spelt instead.
pub const CP1251_SPELLINGS: &[(char, &str)] = &[
    ('₽', "руб."),
    ('₸', "тг"),
    ('₴', "грн"),
    ('\u{202f}', " "),
    ('\u{2212}', "-"),
    ('≈', "~"),
    ('≥', ">="),
    ('≤', "<="),
    ('→', "->"),
    ('↑', "^"),
    ('↓', "v"),
];

/// `--encoding` of CSV exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvEncoding {
    Utf8,
    Windows1251,
}

impl std::str::FromStr for CsvEncoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Ok(CsvEncoding::Utf8),
            "windows-1251" | "cp1251" | "win1251" => Ok(CsvEncoding::Windows1251),
            other => Err(format!(
                "unknown encoding '{other}': expected utf-8 or windows-1251"
            )),
        }
    }
}

/// A spreadsheet format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    Xlsx,
    Csv(CsvEncoding),
}

/// What writing a sheet did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SheetStats {
    pub rows: usize,
    /// Characters replaced by their documented Windows-1251 spelling, by count.
    pub respelled: BTreeMap<char, usize>,
    /// Characters written as `&#NNNN;` references (no documented spelling).
    pub references: usize,
}

fn is_number(t: &DataType) -> bool {
    t.is_numeric()
}

/// Writes `batches` under `headers` (one per schema field) to `path`.
pub fn write_sheet(
    path: &Path,
    format: SheetFormat,
    sheet_name: &str,
    headers: &[String],
    schema: &Schema,
    batches: &[RecordBatch],
) -> Result<SheetStats> {
    if headers.len() != schema.fields().len() {
        return Err(Error::Invalid(format!(
            "{} headers for {} columns",
            headers.len(),
            schema.fields().len()
        )));
    }
    match format {
        SheetFormat::Xlsx => write_xlsx(path, sheet_name, headers, batches),
        SheetFormat::Csv(enc) => write_csv(path, enc, headers, schema, batches),
    }
}

fn cells<'a>(
    batch: &'a RecordBatch,
    options: &'a FormatOptions<'a>,
) -> Result<Vec<ArrayFormatter<'a>>> {
    batch
        .columns()
        .iter()
        .map(|c| Ok(ArrayFormatter::try_new(c.as_ref(), options)?))
        .collect()
}

fn write_csv(
    path: &Path,
    encoding: CsvEncoding,
    headers: &[String],
    schema: &Schema,
    batches: &[RecordBatch],
) -> Result<SheetStats> {
    let excel = encoding == CsvEncoding::Windows1251;
    let mut w = csv::WriterBuilder::new()
        .delimiter(if excel { b';' } else { b',' })
        .from_writer(Vec::new());
    let csv_err = |e: csv::Error| Error::Invalid(format!("csv: {e}"));
    w.write_record(headers).map_err(csv_err)?;
    let numeric: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| is_number(f.data_type()))
        .collect();
    let options = FormatOptions::default();
    let mut rows = 0;
    for batch in batches {
        let fmts = cells(batch, &options)?;
        for r in 0..batch.num_rows() {
            let record: Vec<String> = fmts
                .iter()
                .enumerate()
                .map(|(c, f)| {
                    if batch.column(c).is_null(r) {
                        return String::new();
                    }
                    let v = f.value(r).to_string();
                    if excel && numeric[c] {
                        v.replace('.', ",")
                    } else {
                        v
                    }
                })
                .collect();
            w.write_record(&record).map_err(csv_err)?;
            rows += 1;
        }
    }
    let text = String::from_utf8(w.into_inner().map_err(|e| Error::Invalid(e.to_string()))?)
        .expect("csv of UTF-8 fields is UTF-8");
    let mut stats = SheetStats {
        rows,
        ..SheetStats::default()
    };
    let bytes = match encoding {
        CsvEncoding::Utf8 => text.into_bytes(),
        CsvEncoding::Windows1251 => to_cp1251(&text, &mut stats),
    };
    std::fs::write(path, bytes)?;
    Ok(stats)
}

/// Encodes `text` as Windows-1251 with the documented spellings, counting
/// what was respelled and what became a `&#NNNN;` reference.
pub fn to_cp1251(text: &str, stats: &mut SheetStats) -> Vec<u8> {
    let mut spelled = String::with_capacity(text.len());
    for ch in text.chars() {
        match CP1251_SPELLINGS.iter().find(|(c, _)| *c == ch) {
            Some((c, s)) => {
                *stats.respelled.entry(*c).or_default() += 1;
                spelled.push_str(s);
            }
            None => spelled.push(ch),
        }
    }
    let (bytes, _, lossy) = encoding_rs::WINDOWS_1251.encode(&spelled);
    if lossy {
        // encoding_rs writes each unmappable character as &#NNNN;
        let (back, _, _) = encoding_rs::WINDOWS_1251.decode(&bytes);
        stats.references = back.matches("&#").count() - spelled.matches("&#").count();
    }
    bytes.into_owned()
}

fn write_xlsx(
    path: &Path,
    sheet_name: &str,
    headers: &[String],
    batches: &[RecordBatch],
) -> Result<SheetStats> {
    use rust_xlsxwriter::{Format, Workbook};
    let x = |e: rust_xlsxwriter::XlsxError| Error::Invalid(format!("xlsx: {e}"));
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name).map_err(x)?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    for (c, h) in headers.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, h, &bold)
            .map_err(x)?;
    }
    let options = FormatOptions::default();
    let mut row = 1u32;
    for batch in batches {
        let fmts = cells(batch, &options)?;
        let floats: Vec<Option<arrow::array::ArrayRef>> = batch
            .columns()
            .iter()
            .map(|a| {
                is_number(a.data_type())
                    .then(|| arrow::compute::cast(a, &DataType::Float64))
                    .transpose()
            })
            .collect::<std::result::Result<_, _>>()?;
        for r in 0..batch.num_rows() {
            for (c, col) in batch.columns().iter().enumerate() {
                if col.is_null(r) {
                    continue;
                }
                let cc = c as u16;
                match (&floats[c], col.data_type()) {
                    (Some(f), t) => {
                        let v = f
                            .as_any()
                            .downcast_ref::<arrow::array::Float64Array>()
                            .expect("cast to Float64")
                            .value(r);
                        if matches!(t, DataType::Decimal128(_, 2)) {
                            sheet
                                .write_number_with_format(row, cc, v, &money)
                                .map_err(x)?;
                        } else {
                            sheet.write_number(row, cc, v).map_err(x)?;
                        }
                    }
                    (None, DataType::Boolean) => {
                        let b = col
                            .as_any()
                            .downcast_ref::<arrow::array::BooleanArray>()
                            .expect("a boolean column")
                            .value(r);
                        sheet.write_boolean(row, cc, b).map_err(x)?;
                    }
                    (None, _) => {
                        sheet
                            .write_string(row, cc, fmts[c].value(r).to_string())
                            .map_err(x)?;
                    }
                }
            }
            row += 1;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(x)?;
    if !headers.is_empty() {
        sheet
            .autofilter(0, 0, row.saturating_sub(1).max(1), headers.len() as u16 - 1)
            .map_err(x)?;
    }
    sheet.autofit();
    book.save(path).map_err(x)?;
    Ok(SheetStats {
        rows: (row - 1) as usize,
        ..SheetStats::default()
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Decimal128Array, StringArray};
    use arrow::datatypes::Field;

    use super::*;

    fn sample() -> (Arc<Schema>, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("monetary", DataType::Decimal128(18, 2), true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![
                    Some("Ёлкина; «Т» ₽"),
                    Some("José"),
                    None,
                ])),
                Arc::new(
                    Decimal128Array::from(vec![Some(123456), None, Some(-5)])
                        .with_precision_and_scale(18, 2)
                        .unwrap(),
                ),
            ],
        )
        .unwrap();
        (schema, batch)
    }

    #[test]
    fn cp1251_csv_uses_semicolons_decimal_commas_and_documented_spellings() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let (schema, batch) = sample();
        let headers = vec!["Имя".to_string(), "Сумма, ₽".to_string()];
        let stats = write_sheet(
            &p,
            SheetFormat::Csv(CsvEncoding::Windows1251),
            "s",
            &headers,
            &schema,
            &[batch],
        )
        .unwrap();
        assert_eq!(stats.rows, 3);
        assert_eq!(stats.respelled.get(&'₽'), Some(&2));
        assert_eq!(stats.references, 1, "é has no Windows-1251 byte");
        let bytes = std::fs::read(&p).unwrap();
        let (text, _, bad) = encoding_rs::WINDOWS_1251.decode(&bytes);
        assert!(!bad);
        assert_eq!(
            text,
            "Имя;Сумма, руб.\n\"Ёлкина; «Т» руб.\";1234,56\nJos&#233;;\n;-0,05\n"
        );
    }

    #[test]
    fn utf8_csv_follows_the_conventions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let (schema, batch) = sample();
        let headers = vec!["name".to_string(), "monetary".to_string()];
        write_sheet(
            &p,
            SheetFormat::Csv(CsvEncoding::Utf8),
            "s",
            &headers,
            &schema,
            &[batch],
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "name,monetary\nЁлкина; «Т» ₽,1234.56\nJosé,\n,-0.05\n"
        );
    }

    #[test]
    fn xlsx_reads_back_with_numbers_as_numbers() {
        use calamine::{Data, Reader, Xlsx, open_workbook};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.xlsx");
        let (schema, batch) = sample();
        let headers = vec!["Имя".to_string(), "Сумма, ₽".to_string()];
        let stats = write_sheet(
            &p,
            SheetFormat::Xlsx,
            "Рассылка",
            &headers,
            &schema,
            &[batch],
        )
        .unwrap();
        assert_eq!(stats.rows, 3);
        let mut book: Xlsx<_> = open_workbook(&p).unwrap();
        let range = book.worksheet_range("Рассылка").unwrap();
        assert_eq!(range.get_size(), (4, 2));
        assert_eq!(range.get((0, 1)), Some(&Data::String("Сумма, ₽".into())));
        assert_eq!(
            range.get((1, 0)),
            Some(&Data::String("Ёлкина; «Т» ₽".into()))
        );
        assert_eq!(range.get((1, 1)), Some(&Data::Float(1234.56)));
        assert_eq!(range.get((3, 1)), Some(&Data::Float(-0.05)));
        assert_eq!(range.get((2, 1)), Some(&Data::Empty));
    }
}
