//! Excel workbooks (amoCRM and Bitrix24 export them). The sheet is read
//! whole, as calamine does; such files are small. A cell's text is what a
//! CSV export would have carried, except that dates become ISO text so a
//! date cell in an id column is recognised as Excel mangling.

use std::io::Cursor;

use calamine::{Data, Reader};

use crate::cells::CellBatch;

/// Header and rows (each with its 1-based sheet row number).
pub struct Sheet {
    pub header: Vec<String>,
    pub batches: Vec<CellBatch>,
}

pub fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.format("%Y-%m-%d").to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => dt.as_f64().to_string(),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Reads `sheet` (or the first one) from the workbook bytes.
pub fn read(data: Vec<u8>, sheet: Option<&str>, batch_rows: usize) -> Result<Sheet, String> {
    let mut wb = calamine::open_workbook_auto_from_rs(Cursor::new(data))
        .map_err(|e| format!("not a readable Excel workbook: {e}"))?;
    let names = wb.sheet_names();
    let name = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| format!("has no sheet '{s}'; its sheets are {}", names.join(", ")))?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| "the workbook has no sheets".to_string())?,
    };
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| format!("sheet '{name}' cannot be read: {e}"))?;
    let first_row = range.start().map(|(r, _)| u64::from(r)).unwrap_or(0);
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .map(|r| r.iter().map(|c| cell_text(c).trim().to_string()).collect())
        .unwrap_or_default();
    let mut batches = Vec::new();
    let mut batch = CellBatch::default();
    let mut raw = String::new();
    for (i, row) in rows.enumerate() {
        if row.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        raw.clear();
        for (j, cell) in row.iter().enumerate() {
            let t = cell_text(cell);
            batch.push_field(t.as_bytes());
            if j > 0 {
                raw.push('\t');
            }
            raw.push_str(&t);
        }
        // Sheet rows are 1-based and the header is the range's first row.
        batch.end_row(
            first_row + i as u64 + 2,
            raw.trim_end_matches('\t').as_bytes(),
        );
        if batch.len() >= batch_rows.max(1) {
            batches.push(std::mem::take(&mut batch));
        }
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    Ok(Sheet { header, batches })
}
