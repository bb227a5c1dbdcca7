//! Guessing what a file is from its first bytes: format, gzip, encoding,
//! delimiter, decimal comma and the day order of slashed dates.
//!
//! Every guess can be overridden (`ReadOptions` first, then the mapping's
//! `[options]`), and every guess is reported in `FileInfo` so a user can see
//! what was assumed when numbers look wrong.

use std::path::Path;

/// The text encodings CRM exports come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// UTF-8 that starts with a byte-order mark (Excel's "CSV UTF-8").
    Utf8Bom,
    /// 1C's default.
    Windows1251,
}

impl Encoding {
    /// Accepts the usual spellings: `utf-8`, `utf8`, `utf-8-bom`, `windows-1251`, `cp1251`.
    pub fn parse(name: &str) -> Result<Encoding, String> {
        let n = name.trim().to_ascii_lowercase().replace('_', "-");
        match n.as_str() {
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "utf-8-bom" | "utf8-bom" | "utf-8-sig" => Ok(Encoding::Utf8Bom),
            "windows-1251" | "cp1251" | "win1251" | "cp-1251" | "1251" => Ok(Encoding::Windows1251),
            _ => Err(format!(
                "unknown encoding '{name}': expected utf-8, utf-8-bom or windows-1251"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Windows1251 => "windows-1251",
        }
    }

    /// Decodes one field; `None` when the bytes are not valid in this encoding.
    pub fn decode<'a>(self, bytes: &'a [u8]) -> Option<std::borrow::Cow<'a, str>> {
        match self {
            Encoding::Utf8 | Encoding::Utf8Bom => std::str::from_utf8(bytes)
                .ok()
                .map(std::borrow::Cow::Borrowed),
            // encoding_rs maps 0x98, the byte Windows-1251 leaves undefined,
            // to a C1 control character; no real text contains one.
            Encoding::Windows1251 => encoding_rs::WINDOWS_1251
                .decode_without_bom_handling_and_without_replacement(bytes)
                .filter(|t| !t.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c))),
        }
    }

    /// Decodes for display (raw lines in quarantine), replacing what cannot be read.
    pub fn decode_lossy(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Utf8 | Encoding::Utf8Bom => String::from_utf8_lossy(bytes).into_owned(),
            Encoding::Windows1251 => encoding_rs::WINDOWS_1251
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
        }
    }
}

/// `;`, `,`, `\t` (or `tab`), `|`, or any single ASCII byte.
pub fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        s if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!(
            "'{text}' is not a delimiter: expected one character such as ; , | or tab"
        )),
    }
}

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
    Parquet,
    Xlsx,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
            Format::Parquet => "parquet",
            Format::Xlsx => "xlsx",
        }
    }
}

pub(crate) fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// Magic bytes first, the extension (without `.gz`) second, CSV last.
pub(crate) fn detect_format(path: &Path, head: &[u8]) -> Format {
    if head.starts_with(b"PAR1") {
        return Format::Parquet;
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Format::Xlsx;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "jsonl" | "ndjson" | "json" => Format::JsonLines,
        "parquet" | "pq" => Format::Parquet,
        "xlsx" | "xlsm" | "xls" | "ods" => Format::Xlsx,
        _ => {
            let first = head
                .iter()
                .copied()
                .skip_while(|b| b.is_ascii_whitespace())
                .find(|_| true);
            if first == Some(b'{') {
                Format::JsonLines
            } else {
                Format::Csv
            }
        }
    }
}

/// A BOM means UTF-8; valid UTF-8 means UTF-8; anything else is taken for
/// Windows-1251, the only 8-bit encoding Russian CRM exports use in practice.
pub fn sniff_encoding(sample: &[u8]) -> Encoding {
    if sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Encoding::Utf8Bom;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => Encoding::Utf8,
        // A sample cut inside a multi-byte character is still UTF-8.
        Err(e) if e.error_len().is_none() => Encoding::Utf8,
        Err(_) => Encoding::Windows1251,
    }
}

/// Picks the candidate that appears the same non-zero number of times on
/// most of the first lines (counted outside quotes).
pub fn sniff_delimiter(sample: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b';', b',', b'\t', b'|'];
    let mut lines: Vec<[usize; 4]> = Vec::new();
    let mut counts = [0usize; 4];
    let mut in_quotes = false;
    for &b in sample {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes && b == b'\n' {
            lines.push(counts);
            counts = [0; 4];
            if lines.len() >= 50 {
                break;
            }
        } else if !in_quotes && let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
            counts[i] += 1;
        }
    }
    if lines.is_empty() {
        lines.push(counts);
    }
    let mut best = (0usize, 0usize, b',');
    for (i, &cand) in CANDIDATES.iter().enumerate() {
        let header = lines[0][i];
        if header == 0 {
            continue;
        }
        let consistent = lines.iter().filter(|l| l[i] == header).count();
        // Consistency first, then the larger count breaks ties.
        if (consistent, header) > (best.0, best.1) {
            best = (consistent, header, cand);
        }
    }
    best.2
}

/// Decimal comma when money-looking values use `,` before one or two final
/// digits and none uses `.` that way.
pub fn sniff_decimal_comma<'a>(values: impl Iterator<Item = &'a str>) -> Option<bool> {
    let (mut comma, mut dot) = (0, 0);
    for v in values {
        let v = v.trim();
        let b = v.as_bytes();
        let n = b.len();
        let sep_at = |k: usize| n > k && b[n - k - 1..].iter().skip(1).all(u8::is_ascii_digit);
        for k in [1, 2] {
            if sep_at(k) {
                match b[n - k - 1] {
                    b',' => comma += 1,
                    b'.' => dot += 1,
                    _ => {}
                }
            }
        }
        // `1 234` with a space grouping is a 1C habit that goes with commas.
        if v.contains(['\u{a0}', ' ']) && v.bytes().any(|c| c.is_ascii_digit()) {
            comma += 1;
        }
    }
    match (comma, dot) {
        (0, 0) => None,
        (c, d) => Some(c > d),
    }
}
