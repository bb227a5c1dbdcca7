//! The hand-over between the format readers and the converter: a batch of
//! rows of undecoded text cells in one flat buffer.
//!
//! One buffer per batch instead of a `String` per cell keeps allocation out
//! of the hot loop, and makes a batch cheap to send to another thread.

use crm_core::QuarantineReason;

/// A problem a format reader found before any cell was looked at
/// (a line that is not JSON, for example).
#[derive(Debug, Clone)]
pub struct RowIssue {
    pub reason: QuarantineReason,
    pub column: Option<String>,
    pub message: String,
}

/// Rows of raw cells, each with its physical line and its raw text.
#[derive(Debug, Default)]
pub struct CellBatch {
    data: Vec<u8>,
    field_ends: Vec<u32>,
    row_ends: Vec<u32>,
    lines: Vec<u64>,
    /// Raw text: rows' lines copied in one after another, or the block of
    /// the file the rows were parsed from (then spans skip its newlines).
    raw: Vec<u8>,
    raw_spans: Vec<(u32, u32)>,
    issues: Vec<Option<Box<RowIssue>>>,
}

impl CellBatch {
    pub fn with_capacity(rows: usize, bytes: usize) -> CellBatch {
        CellBatch::with_capacities(rows, rows * 8, bytes, bytes)
    }

    /// Room for `rows` rows of `fields` cells in all, `cell_bytes` of cell
    /// text and `raw_bytes` of raw lines: a reader that sizes each batch
    /// from the last one never grows a buffer (growing copies it into
    /// fresh pages, which the kernel must zero first).
    pub fn with_capacities(
        rows: usize,
        fields: usize,
        cell_bytes: usize,
        raw_bytes: usize,
    ) -> CellBatch {
        CellBatch {
            data: Vec::with_capacity(cell_bytes),
            field_ends: Vec::with_capacity(fields),
            row_ends: Vec::with_capacity(rows),
            lines: Vec::with_capacity(rows),
            raw: Vec::with_capacity(raw_bytes),
            raw_spans: Vec::with_capacity(rows),
            issues: Vec::with_capacity(rows),
        }
    }

    pub fn push_field(&mut self, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
        self.field_ends.push(self.data.len() as u32);
    }

    /// Closes the row whose fields were pushed since the last call.
    pub fn end_row(&mut self, line: u64, raw: &[u8]) {
        let start = self.raw.len() as u32;
        self.raw.extend_from_slice(raw);
        self.end_row_at(line, start..self.raw.len() as u32);
    }

    /// Closes the row whose raw text is `raw` in the block given (or to be
    /// given) to [`CellBatch::set_raw_block`].
    pub fn end_row_at(&mut self, line: u64, raw: std::ops::Range<u32>) {
        self.raw_spans.push((raw.start, raw.end));
        self.row_ends.push(self.field_ends.len() as u32);
        self.lines.push(line);
        self.issues.push(None);
    }

    /// The block of the file every row's raw span points into.
    pub fn set_raw_block(&mut self, block: Vec<u8>) {
        self.raw = block;
    }

    /// A row that is refused as a whole (its fields, if any were pushed, are dropped).
    pub fn push_issue(&mut self, line: u64, raw: &[u8], issue: RowIssue) {
        let start = self.row_ends.last().copied().unwrap_or(0) as usize;
        self.field_ends.truncate(start);
        self.data
            .truncate(self.field_ends.last().copied().unwrap_or(0) as usize);
        self.end_row(line, raw);
        *self.issues.last_mut().expect("just pushed") = Some(Box::new(issue));
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn line(&self, row: usize) -> u64 {
        self.lines[row]
    }

    pub fn raw(&self, row: usize) -> &[u8] {
        let (start, end) = self.raw_spans[row];
        &self.raw[start as usize..end as usize]
    }

    /// Bytes of raw text held, for estimating rows per byte.
    pub fn raw_len(&self) -> usize {
        self.raw.len()
    }

    /// Bytes of cell text held.
    pub fn cells_len(&self) -> usize {
        self.data.len()
    }

    /// Cells held, over all rows.
    pub fn cell_count(&self) -> usize {
        self.field_ends.len()
    }

    /// Every cell of the batch as one `str`, when each cell is valid UTF-8:
    /// one validation pass for the whole batch instead of one per cell.
    /// Cells are cut from it with [`CellBatch::field_range`].
    pub fn cells_utf8(&self) -> Option<&str> {
        let text = std::str::from_utf8(&self.data).ok()?;
        // Valid as a whole, but a cell could still end inside a character
        // that the next cell completes; then each cell is checked on its own.
        self.field_ends
            .iter()
            .all(|&e| text.is_char_boundary(e as usize))
            .then_some(text)
    }

    /// Where the `col`-th field of `row` lies in the batch's cell bytes.
    pub fn field_range(&self, row: usize, col: usize) -> Option<std::ops::Range<usize>> {
        let first = if row == 0 { 0 } else { self.row_ends[row - 1] } as usize;
        let idx = first + col;
        if idx >= self.row_ends[row] as usize {
            return None;
        }
        let start = if idx == 0 {
            0
        } else {
            self.field_ends[idx - 1]
        } as usize;
        Some(start..self.field_ends[idx] as usize)
    }

    pub fn issue(&self, row: usize) -> Option<&RowIssue> {
        self.issues[row].as_deref()
    }

    pub fn field_count(&self, row: usize) -> usize {
        let start = if row == 0 { 0 } else { self.row_ends[row - 1] };
        (self.row_ends[row] - start) as usize
    }

    /// The `col`-th field of `row`, or `None` past the row's end.
    pub fn field(&self, row: usize, col: usize) -> Option<&[u8]> {
        self.field_range(row, col).map(|r| &self.data[r])
    }
}
