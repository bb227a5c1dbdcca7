//! JSON lines (web exports): one object per line. The columns are the keys
//! seen in the first lines; keys that appear only later are ignored, which
//! `FileInfo` cannot list, so the sample is generous.

use std::collections::HashMap;
use std::io::BufRead;

use crm_core::QuarantineReason;
use serde_json::Value;

use crate::cells::{CellBatch, RowIssue};
use crate::input::Stream;

/// Lines looked at to find the columns.
pub const SAMPLE_LINES: usize = 1000;

pub struct JsonlSource {
    stream: Stream,
    columns: HashMap<String, usize>,
    width: usize,
    line: u64,
    buf: Vec<u8>,
    batch_rows: usize,
}

/// The keys of the first objects, in order of first appearance.
pub fn sniff_columns(stream: Stream) -> std::io::Result<Vec<String>> {
    let mut cols: Vec<String> = Vec::new();
    for line in stream.split(b'\n').take(SAMPLE_LINES) {
        let line = line?;
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<Value>(&line) {
            for k in map.keys() {
                if !cols.contains(k) {
                    cols.push(k.clone());
                }
            }
        }
    }
    Ok(cols)
}

/// A JSON value as the text a CSV export would have carried: integers keep
/// their digits, null is empty.
pub fn value_text(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::Null => "".into(),
        Value::String(s) => s.as_str().into(),
        Value::Bool(b) => if *b { "true" } else { "false" }.into(),
        Value::Number(n) => n.to_string().into(),
        other => other.to_string().into(),
    }
}

impl JsonlSource {
    pub fn new(stream: Stream, columns: &[String], batch_rows: usize) -> JsonlSource {
        JsonlSource {
            stream,
            columns: columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.clone(), i))
                .collect(),
            width: columns.len(),
            line: 0,
            buf: Vec::new(),
            batch_rows: batch_rows.max(1),
        }
    }

    pub fn next_batch(&mut self) -> std::io::Result<Option<CellBatch>> {
        let mut batch = CellBatch::with_capacity(self.batch_rows.min(1 << 14), 1 << 16);
        while batch.len() < self.batch_rows {
            self.buf.clear();
            if self.stream.read_until(b'\n', &mut self.buf)? == 0 {
                break;
            }
            self.line += 1;
            let raw = self.buf.trim_ascii();
            if raw.is_empty() {
                continue;
            }
            let text = match std::str::from_utf8(raw) {
                Ok(t) => t,
                Err(_) => {
                    batch.push_issue(
                        self.line,
                        raw,
                        RowIssue {
                            reason: QuarantineReason::BadEncoding,
                            column: None,
                            message: "expected UTF-8 text, found bytes that are not UTF-8".into(),
                        },
                    );
                    continue;
                }
            };
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => {
                    let mut cells: Vec<std::borrow::Cow<'_, str>> = vec!["".into(); self.width];
                    for (k, v) in &map {
                        if let Some(&i) = self.columns.get(k) {
                            cells[i] = value_text(v);
                        }
                    }
                    for c in &cells {
                        batch.push_field(c.as_bytes());
                    }
                    batch.end_row(self.line, raw);
                }
                _ => {
                    let shown: String = text.chars().take(40).collect();
                    batch.push_issue(
                        self.line,
                        raw,
                        RowIssue {
                            reason: QuarantineReason::ParseError,
                            column: None,
                            message: format!(
                                "expected a JSON object on one line, found \"{shown}\""
                            ),
                        },
                    );
                }
            }
        }
        Ok((!batch.is_empty()).then_some(batch))
    }
}
