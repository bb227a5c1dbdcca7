//! Validation and normalisation: one batch of raw cells becomes one Arrow
//! record batch of canonical columns plus the quarantine rows it refused.
//!
//! Batches are independent, so they convert in parallel; only the
//! duplicate-key check (in `reader`) runs in file order. A row is staged
//! column by column into small values that borrow the batch's bytes, and is
//! appended to the Arrow builders only once every column has passed, so a
//! refused row never leaves half a row behind.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder, new_null_array,
};
use arrow::datatypes::SchemaRef;
use chrono::NaiveDateTime;
use crm_core::money::{MoneyError, parse_cents};
use crm_core::schema::{Column, ColumnType, MONEY_PRECISION, MONEY_SCALE, Table};
use crm_core::{QuarantineReason, QuarantineRow};

use crate::cells::CellBatch;
use crate::contact::{PhoneNormalizer, normalize_email, split_phones};
use crate::error::Result;
use crate::keys::KeyId;
use crate::sniff::Encoding;
use crate::temporal::{TemporalParser, days_since_epoch};

/// Where a canonical column's value comes from, resolved to field indexes.
#[derive(Debug, Clone)]
pub(crate) enum Src {
    Field(usize),
    Concat(Vec<usize>, String),
    Const(String),
    /// `<content hash>:<line>` for files without a natural key.
    DerivedKey,
    /// Computed from other columns (email_valid, phone_valid, phones_other, attributes).
    Derived,
    Absent,
}

#[derive(Debug, Clone)]
pub(crate) struct ColPlan {
    pub col: &'static Column,
    pub src: Src,
    pub temporal: Option<TemporalParser>,
    pub decimal_comma: bool,
    pub values: Option<HashMap<String, String>>,
    pub allowed: Option<&'static [&'static str]>,
    /// Ids and phones: text where Excel's date/number mangling shows.
    pub id_like: bool,
    pub split: Vec<String>,
}

/// Everything the converter needs, resolved once at `open`.
#[derive(Debug)]
pub(crate) struct Plan {
    pub table: Table,
    pub schema: SchemaRef,
    pub cols: Vec<ColPlan>,
    pub header_len: usize,
    pub encoding: Encoding,
    pub attributes: Vec<(String, usize)>,
    pub phones: PhoneNormalizer,
    pub future_limit: NaiveDateTime,
    pub tolerance_days: u32,
    pub file: String,
    pub content_hash: String,
    pub key_cols: Vec<usize>,
}

/// The allowed sets after value mapping (CONVENTIONS and the schema docs).
pub(crate) fn allowed_values(table: Table, column: &str) -> Option<&'static [&'static str]> {
    match (table, column) {
        (Table::Interactions, "status") => Some(&["planned", "done", "cancelled"]),
        (Table::Interactions, "kind") => Some(&["call", "email", "meeting", "message"]),
        (Table::Interactions, "direction") => Some(&["inbound", "outbound"]),
        (Table::Interests, "outcome") => Some(&["open", "won", "lost"]),
        _ => None,
    }
}

/// The converted batch, before the duplicate check.
pub(crate) struct Converted {
    pub batch: RecordBatch,
    /// For each output row, its row index in the cell batch.
    pub rows: Vec<u32>,
    /// For each output row, its natural key.
    pub keys: Vec<KeyId>,
    pub quarantine: Vec<QuarantineRow>,
    pub rows_read: u64,
}

#[derive(Debug)]
enum Val<'a> {
    Null,
    Str(Cow<'a, str>),
    Int(i64),
    Money(i128),
    Bool(bool),
}

enum Builder {
    Str(StringBuilder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    Money(Decimal128Builder),
    Bool(BooleanBuilder),
    Absent,
}

impl Builder {
    fn new(ty: ColumnType, cap: usize) -> Builder {
        match ty {
            ColumnType::Utf8 => Builder::Str(StringBuilder::with_capacity(cap, cap * 12)),
            ColumnType::Date => Builder::Date(Date32Builder::with_capacity(cap)),
            ColumnType::Timestamp => Builder::Ts(TimestampMicrosecondBuilder::with_capacity(cap)),
            ColumnType::Money => Builder::Money(
                Decimal128Builder::with_capacity(cap)
                    .with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)
                    .expect("valid decimal type"),
            ),
            ColumnType::Bool => Builder::Bool(BooleanBuilder::with_capacity(cap)),
        }
    }

    fn append(&mut self, v: &Val<'_>) {
        match (self, v) {
            (Builder::Absent, _) => {}
            (Builder::Str(b), Val::Str(s)) => b.append_value(s),
            (Builder::Str(b), _) => b.append_null(),
            (Builder::Date(b), Val::Int(d)) => b.append_value(*d as i32),
            (Builder::Date(b), _) => b.append_null(),
            (Builder::Ts(b), Val::Int(t)) => b.append_value(*t),
            (Builder::Ts(b), _) => b.append_null(),
            (Builder::Money(b), Val::Money(m)) => b.append_value(*m),
            (Builder::Money(b), _) => b.append_null(),
            (Builder::Bool(b), Val::Bool(x)) => b.append_value(*x),
            (Builder::Bool(b), _) => b.append_null(),
        }
    }

    fn finish(self, ty: &arrow::datatypes::DataType, rows: usize) -> ArrayRef {
        match self {
            Builder::Absent => new_null_array(ty, rows),
            Builder::Str(mut b) => Arc::new(b.finish()),
            Builder::Date(mut b) => Arc::new(b.finish()),
            Builder::Ts(mut b) => Arc::new(b.finish()),
            Builder::Money(mut b) => Arc::new(b.finish()),
            Builder::Bool(mut b) => Arc::new(b.finish()),
        }
    }
}

/// A refusal found while staging a row.
struct Refusal {
    reason: QuarantineReason,
    column: Option<String>,
    message: String,
}

fn refuse(reason: QuarantineReason, column: &str, message: String) -> Refusal {
    Refusal {
        reason,
        column: Some(column.to_string()),
        message,
    }
}

const MONTHS: [&str; 24] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "янв",
    "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек",
];

/// Cells Excel rewrote: `01-May`, `May-01`, `1.май`, `1.23E+11`, or a date
/// cell (read as ISO text) where an id or phone was meant.
pub(crate) fn looks_excel_mangled(s: &str) -> bool {
    // Every mangled shape has a separator or an exponent sign; plain ids
    // (the bulk of a big file) leave here without allocating.
    if !s
        .bytes()
        .any(|b| matches!(b, b'-' | b'.' | b' ' | b'/' | b'+'))
    {
        return false;
    }
    // A day-month shape needs one to four digits on one side of the first
    // separator, and scientific notation needs a '+'. Most ids with a
    // separator (`SKU-009742`) have neither, and skip the month search below.
    let bytes = s.as_bytes();
    let short_number = |p: &[u8]| !p.is_empty() && p.len() <= 4 && p.iter().all(u8::is_ascii_digit);
    let day_month_possible = [b'-', b'.', b' ', b'/'].iter().any(|sep| {
        bytes
            .iter()
            .position(|b| b == sep)
            .is_some_and(|i| short_number(&bytes[..i]) || short_number(&bytes[i + 1..]))
    });
    if !day_month_possible && !bytes.contains(&b'+') {
        return looks_like_date_cell(bytes, s);
    }
    let lower = s.to_lowercase();
    let is_month = |p: &str| {
        MONTHS
            .iter()
            .any(|m| p.trim_end_matches('.') == *m || p.starts_with(m) && p.len() <= 9)
    };
    let is_num = |p: &str| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit());
    for sep in ['-', '.', ' ', '/'] {
        if let Some((a, b)) = lower.split_once(sep)
            && ((is_num(a) && is_month(b)) || (is_month(a) && is_num(b)))
        {
            return true;
        }
    }
    // Scientific notation: 1.23E+11, 7,91E+10.
    if let Some((mant, exp)) = lower.split_once("e+") {
        let mant_ok = !mant.is_empty()
            && mant
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
            && mant.bytes().next().is_some_and(|b| b.is_ascii_digit());
        if mant_ok && !exp.is_empty() && exp.bytes().all(|b| b.is_ascii_digit()) {
            return true;
        }
    }
    looks_like_date_cell(bytes, s)
}

/// A date cell from a workbook: 2024-05-01 or 2024-05-01 00:00:00.
fn looks_like_date_cell(b: &[u8], s: &str) -> bool {
    b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
        && (b.len() == 10 || &s[10..] == " 00:00:00")
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "да" | "д" | "t" => Some(true),
        "false" | "0" | "no" | "n" | "нет" | "н" | "f" => Some(false),
        _ => None,
    }
}

fn shown(s: &str) -> String {
    let t: String = s.chars().take(60).collect();
    format!("\"{}\"", t.replace('"', "\\\""))
}

impl Plan {
    fn col_index(&self, name: &str) -> Option<usize> {
        self.cols.iter().position(|c| c.col.name == name)
    }

    /// Converts one batch; never fails on data, only on Arrow itself.
    pub(crate) fn convert(&self, cells: &CellBatch) -> Result<Converted> {
        let n = cells.len();
        let mut builders: Vec<Builder> = self
            .cols
            .iter()
            .map(|c| match c.src {
                Src::Absent => Builder::Absent,
                _ => Builder::new(c.col.ty, n),
            })
            .collect();
        let mut out_rows = Vec::with_capacity(n);
        let mut keys = Vec::with_capacity(n);
        let mut quarantine = Vec::new();
        let mut key_buf = Vec::with_capacity(64);
        let special = Specials::of(self);
        // One staging vector for the whole batch: no allocation per row.
        let mut vals: Vec<Val<'_>> = Vec::with_capacity(self.cols.len());
        // When every cell of the batch is valid UTF-8 (checked once), cells
        // are cut from one `str` and the per-cell checks are skipped.
        let utf8 = match self.encoding {
            Encoding::Utf8 | Encoding::Utf8Bom => cells.cells_utf8(),
            Encoding::Windows1251 => None,
        };
        for row in 0..n {
            let staged = self.stage_row(cells, row, &special, &mut vals, utf8);
            match staged {
                Ok(()) => {
                    keys.push(self.key_id(&vals, &mut key_buf));
                    for (b, v) in builders.iter_mut().zip(&vals) {
                        b.append(v);
                    }
                    out_rows.push(row as u32);
                }
                Err(r) => quarantine.push(QuarantineRow {
                    file: self.file.clone(),
                    line: cells.line(row),
                    column: r.column,
                    reason: r.reason,
                    message: r.message,
                    raw: self.encoding.decode_lossy(cells.raw(row)),
                }),
            }
        }
        let rows = out_rows.len();
        let arrays: Vec<ArrayRef> = builders
            .into_iter()
            .zip(self.schema.fields())
            .map(|(b, f)| b.finish(f.data_type(), rows))
            .collect();
        Ok(Converted {
            batch: RecordBatch::try_new(self.schema.clone(), arrays)?,
            rows: out_rows,
            keys,
            quarantine,
            rows_read: n as u64,
        })
    }

    /// The row's natural key for the duplicate check: a number when the
    /// key is one text column spelling an integer, else the hash of the
    /// key's text (`key_buf` is scratch space).
    fn key_id(&self, vals: &[Val<'_>], key_buf: &mut Vec<u8>) -> KeyId {
        let hash = |key_buf: &mut Vec<u8>| {
            key_buf.clear();
            for &k in &self.key_cols {
                match &vals[k] {
                    Val::Str(s) => key_buf.extend_from_slice(s.as_bytes()),
                    Val::Int(i) => key_buf.extend_from_slice(&i.to_le_bytes()),
                    _ => {}
                }
                key_buf.push(0x1f);
            }
            twox_hash::XxHash3_128::oneshot(key_buf)
        };
        match (
            self.key_cols.as_slice(),
            self.key_cols.first().map(|&k| &vals[k]),
        ) {
            ([_], Some(Val::Str(s))) => KeyId::of_text(s.as_bytes(), || hash(key_buf)),
            _ => KeyId::Hash(hash(key_buf)),
        }
    }

    fn text<'a>(
        &'a self,
        cells: &'a CellBatch,
        utf8: Option<&'a str>,
        row: usize,
        i: usize,
    ) -> Result<Cow<'a, str>, Refusal> {
        if let Some(all) = utf8 {
            return Ok(Cow::Borrowed(
                cells.field_range(row, i).map_or("", |r| &all[r]),
            ));
        }
        let bytes = cells.field(row, i).unwrap_or_default();
        self.encoding.decode(bytes).ok_or_else(|| Refusal {
            reason: QuarantineReason::BadEncoding,
            column: None,
            message: format!(
                "expected text in {}, found bytes that are not valid in it",
                self.encoding.name()
            ),
        })
    }

    fn stage_row<'a>(
        &'a self,
        cells: &'a CellBatch,
        row: usize,
        special: &Specials,
        vals: &mut Vec<Val<'a>>,
        utf8: Option<&'a str>,
    ) -> Result<(), Refusal> {
        vals.clear();
        if let Some(issue) = cells.issue(row) {
            return Err(Refusal {
                reason: issue.reason,
                column: issue.column.clone(),
                message: issue.message.clone(),
            });
        }
        let found = cells.field_count(row);
        if found != self.header_len {
            return Err(Refusal {
                reason: QuarantineReason::WrongFieldCount,
                column: None,
                message: format!(
                    "expected {} fields as in the header, found {found}",
                    self.header_len
                ),
            });
        }
        if utf8.is_none() && matches!(self.encoding, Encoding::Utf8 | Encoding::Utf8Bom) {
            for i in 0..found {
                if std::str::from_utf8(cells.field(row, i).unwrap_or_default()).is_err() {
                    return Err(Refusal {
                        reason: QuarantineReason::BadEncoding,
                        column: None,
                        message: format!(
                            "expected UTF-8 text in field {}, found bytes that are not UTF-8 (is the file Windows-1251? pass the encoding)",
                            i + 1
                        ),
                    });
                }
            }
        }
        for cp in &self.cols {
            let name = cp.col.name;
            let text: Option<Cow<'a, str>> = match &cp.src {
                Src::Absent | Src::Derived => None,
                Src::Field(i) => Some(trim_cow(self.text(cells, utf8, row, *i)?)),
                Src::Const(c) => Some(Cow::Borrowed(c.as_str())),
                Src::DerivedKey => Some(Cow::Owned(format!(
                    "{}:{}",
                    self.content_hash,
                    cells.line(row)
                ))),
                Src::Concat(idx, sep) => {
                    let mut joined = String::new();
                    let mut complete = true;
                    for (k, i) in idx.iter().enumerate() {
                        let part = self.text(cells, utf8, row, *i)?;
                        let part = part.trim();
                        complete &= !part.is_empty();
                        if k > 0 {
                            joined.push_str(sep);
                        }
                        joined.push_str(part);
                    }
                    complete.then_some(Cow::Owned(joined))
                }
            };
            let text = text.filter(|t| !t.is_empty());
            let text = match (text, &cp.values) {
                (Some(t), Some(map)) => match map.get(t.as_ref()) {
                    Some(v) => Some(Cow::Owned(v.clone())),
                    None => Some(t),
                },
                (t, _) => t,
            };
            let Some(t) = text else {
                if cp.col.required {
                    return Err(refuse(
                        QuarantineReason::MissingRequired,
                        name,
                        format!(
                            "{name}: expected a value (the column is required), found an empty cell"
                        ),
                    ));
                }
                vals.push(Val::Null);
                continue;
            };
            let val = match cp.col.ty {
                ColumnType::Utf8 => {
                    if cp.id_like && looks_excel_mangled(&t) {
                        return Err(refuse(
                            QuarantineReason::ExcelMangled,
                            name,
                            format!(
                                "{name}: expected an id or phone as text, found {} which Excel made into a date or number; re-export the column as text",
                                shown(&t)
                            ),
                        ));
                    }
                    match cp.allowed {
                        Some(allowed) => {
                            let lower = t.to_lowercase();
                            match allowed.iter().find(|a| **a == lower) {
                                Some(a) => Val::Str(Cow::Borrowed(a)),
                                None => {
                                    return Err(refuse(
                                        QuarantineReason::InvalidValue,
                                        name,
                                        format!(
                                            "{name}: expected one of {}, found {}; map the spelling in the mapping's [values.{name}]",
                                            allowed.join(", "),
                                            shown(&t)
                                        ),
                                    ));
                                }
                            }
                        }
                        None => Val::Str(t),
                    }
                }
                ColumnType::Money => match parse_cents(&t, cp.decimal_comma) {
                    Ok(c) => Val::Money(c),
                    Err(MoneyError::NotANumber) => {
                        let like = if cp.decimal_comma {
                            "1 234,56"
                        } else {
                            "1234.56"
                        };
                        return Err(refuse(
                            QuarantineReason::ParseError,
                            name,
                            format!("{name}: expected a number like {like}, found {}", shown(&t)),
                        ));
                    }
                    Err(MoneyError::OutOfRange) => {
                        return Err(refuse(
                            QuarantineReason::AmountOutOfRange,
                            name,
                            format!(
                                "{name}: expected at most two decimal places and 16 integer digits, found {}",
                                shown(&t)
                            ),
                        ));
                    }
                },
                ColumnType::Date | ColumnType::Timestamp => {
                    let parser = cp
                        .temporal
                        .as_ref()
                        .expect("temporal columns have a parser");
                    let dt = parser.parse(&t).map_err(|what| {
                        refuse(
                            QuarantineReason::ParseError,
                            name,
                            format!("{name}: expected {what}, found {}", shown(&t)),
                        )
                    })?;
                    if dt > self.future_limit && !cp.col.may_lie_in_future() {
                        return Err(refuse(
                            QuarantineReason::FutureDate,
                            name,
                            format!(
                                "{name}: expected a date no later than {} (the load's clock plus {} day(s)), found {}",
                                self.future_limit.format("%Y-%m-%d %H:%M"),
                                self.tolerance_days,
                                shown(&t)
                            ),
                        ));
                    }
                    if cp.col.ty == ColumnType::Date {
                        Val::Int(i64::from(days_since_epoch(dt.date())))
                    } else {
                        Val::Int(dt.and_utc().timestamp_micros())
                    }
                }
                ColumnType::Bool => match parse_bool(&t) {
                    Some(b) => Val::Bool(b),
                    None => {
                        return Err(refuse(
                            QuarantineReason::ParseError,
                            name,
                            format!(
                                "{name}: expected true/false, 1/0, yes/no or да/нет, found {}",
                                shown(&t)
                            ),
                        ));
                    }
                },
            };
            vals.push(val);
        }
        if self.table == Table::Customers {
            self.customer_contacts(cells, utf8, row, special, vals)?;
        }
        Ok(())
    }

    /// E-mail and phone normalisation and the attributes object: they read
    /// one column and write several, so they run after the per-column pass.
    fn customer_contacts<'a>(
        &'a self,
        cells: &'a CellBatch,
        utf8: Option<&'a str>,
        row: usize,
        sp: &Specials,
        vals: &mut [Val<'a>],
    ) -> Result<(), Refusal> {
        if let Some(e) = sp.email
            && let Val::Str(s) = &vals[e]
        {
            let (norm, valid) = normalize_email(s);
            vals[e] = Val::Str(Cow::Owned(norm));
            if let Some(ev) = sp.email_valid {
                vals[ev] = Val::Bool(valid);
            }
        }
        if let Some(p) = sp.phone {
            let mut others: Vec<String> = Vec::new();
            if let Val::Str(s) = &vals[p] {
                let seps = &self.cols[p].split;
                if let Some(phones) = split_phones(s, seps, &self.phones) {
                    vals[p] = Val::Str(Cow::Owned(phones.primary));
                    if let Some(pv) = sp.phone_valid {
                        vals[pv] = Val::Bool(phones.primary_valid);
                    }
                    others = phones.others;
                }
            }
            if let Some(po) = sp.phones_other {
                if let Val::Str(s) = &vals[po] {
                    let seps = [",".to_string(), ";".to_string()];
                    if let Some(more) = split_phones(s, &seps, &self.phones) {
                        others.push(more.primary);
                        others.extend(more.others);
                    }
                }
                vals[po] = if others.is_empty() {
                    Val::Null
                } else {
                    Val::Str(Cow::Owned(others.join(", ")))
                };
            }
        }
        if let Some(a) = sp.attributes {
            let mut obj = serde_json::Map::new();
            for (name, i) in &self.attributes {
                let t = self.text(cells, utf8, row, *i)?;
                let t = t.trim();
                if !t.is_empty() {
                    obj.insert(name.clone(), serde_json::Value::String(t.to_string()));
                }
            }
            vals[a] = if obj.is_empty() {
                Val::Null
            } else {
                Val::Str(Cow::Owned(serde_json::Value::Object(obj).to_string()))
            };
        }
        Ok(())
    }
}

/// `str::trim`, with a quick exit for the usual cell that starts and ends
/// with a visible ASCII character (`trim` decodes characters from both ends).
pub(crate) fn trim_fast(s: &str) -> &str {
    let visible = |b: u8| b > b' ' && b < 0x80;
    match s.as_bytes() {
        [first, .., last] if visible(*first) && visible(*last) => s,
        [only] if visible(*only) => s,
        _ => s.trim(),
    }
}

fn trim_cow(c: Cow<'_, str>) -> Cow<'_, str> {
    match c {
        Cow::Borrowed(s) => Cow::Borrowed(trim_fast(s)),
        Cow::Owned(s) if s.trim().len() == s.len() => Cow::Owned(s),
        Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
    }
}

/// Positions of the customer columns that are computed from others.
struct Specials {
    email: Option<usize>,
    email_valid: Option<usize>,
    phone: Option<usize>,
    phone_valid: Option<usize>,
    phones_other: Option<usize>,
    attributes: Option<usize>,
}

impl Specials {
    fn of(plan: &Plan) -> Specials {
        let present = |name: &str| {
            plan.col_index(name)
                .filter(|&i| !matches!(plan.cols[i].src, Src::Absent))
        };
        let derived = |name: &str| {
            plan.col_index(name)
                .filter(|&i| matches!(plan.cols[i].src, Src::Derived))
        };
        Specials {
            email: present("email"),
            email_valid: derived("email_valid"),
            phone: present("phone"),
            phone_valid: derived("phone_valid"),
            phones_other: present("phones_other"),
            attributes: derived("attributes"),
        }
    }
}
