//! Quarantine: the rows a load refused, with the reason in a stable code.
//!
//! This is the one place the reason codes are defined and documented
//! (`crm` prints the same table in `docs/quarantine.md`). Codes are
//! snake_case and never change meaning once released.

use std::fmt;

/// Why a row was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QuarantineReason {
    /// A value could not be parsed as the column's type (number, date, bool).
    ParseError,
    /// A required column is empty.
    MissingRequired,
    /// A date or timestamp lies more than the configured tolerance after the load's clock.
    FutureDate,
    /// An earlier row of the same file has the same natural key.
    DuplicateInFile,
    /// The line has more or fewer fields than the header.
    WrongFieldCount,
    /// The line's bytes are not valid in the file's encoding.
    BadEncoding,
    /// A cell Excel turned into a date (`01-May` where `1-5` was meant).
    ExcelMangled,
    /// A money value has more than two fractional digits or overflows 18 digits.
    AmountOutOfRange,
    /// A value is outside the column's allowed set (e.g. an unknown interaction status).
    InvalidValue,
}

impl QuarantineReason {
    pub const ALL: [QuarantineReason; 9] = [
        QuarantineReason::ParseError,
        QuarantineReason::MissingRequired,
        QuarantineReason::FutureDate,
        QuarantineReason::DuplicateInFile,
        QuarantineReason::WrongFieldCount,
        QuarantineReason::BadEncoding,
        QuarantineReason::ExcelMangled,
        QuarantineReason::AmountOutOfRange,
        QuarantineReason::InvalidValue,
    ];

    /// The stable code stored in the `quarantine` table.
    pub fn code(self) -> &'static str {
        match self {
            QuarantineReason::ParseError => "parse_error",
            QuarantineReason::MissingRequired => "missing_required",
            QuarantineReason::FutureDate => "future_date",
            QuarantineReason::DuplicateInFile => "duplicate_in_file",
            QuarantineReason::WrongFieldCount => "wrong_field_count",
            QuarantineReason::BadEncoding => "bad_encoding",
            QuarantineReason::ExcelMangled => "excel_mangled",
            QuarantineReason::AmountOutOfRange => "amount_out_of_range",
            QuarantineReason::InvalidValue => "invalid_value",
        }
    }

    /// One sentence for the documentation table.
    pub fn description(self) -> &'static str {
        match self {
            QuarantineReason::ParseError => {
                "a value could not be read as the column's type (number, date, timestamp, true/false)"
            }
            QuarantineReason::MissingRequired => {
                "a required column (a key, a date, an amount) is empty"
            }
            QuarantineReason::FutureDate => {
                "a date lies more than [ingest] future_tolerance_days after the load's own clock"
            }
            QuarantineReason::DuplicateInFile => {
                "an earlier row of the same file has the same natural key; the first one is loaded"
            }
            QuarantineReason::WrongFieldCount => {
                "the line has more or fewer fields than the header"
            }
            QuarantineReason::BadEncoding => {
                "the line's bytes are not valid in the file's encoding"
            }
            QuarantineReason::ExcelMangled => {
                "Excel turned the cell into a date or a number format (01-May, 1.23E+11) where text was meant"
            }
            QuarantineReason::AmountOutOfRange => {
                "a money value has more than two decimal places or more than 16 integer digits"
            }
            QuarantineReason::InvalidValue => "a value is outside the column's allowed set",
        }
    }
}

impl fmt::Display for QuarantineReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One refused row, as the loader records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineRow {
    /// The source file as given on the command line.
    pub file: String,
    /// 1-based physical line number; the header is line 1. For Parquet and
    /// XLSX inputs it is the 1-based row number (XLSX: the sheet row).
    pub line: u64,
    /// The canonical (or, when unmapped, the source) column at fault, if one is.
    pub column: Option<String>,
    pub reason: QuarantineReason,
    /// What was expected and what was found, for a human.
    pub message: String,
    /// The raw line as read (decoded to UTF-8 where possible).
    pub raw: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_documented() {
        let doc = include_str!("../../../docs/quarantine.md");
        let mut seen = std::collections::HashSet::new();
        for r in QuarantineReason::ALL {
            let c = r.code();
            assert!(seen.insert(c), "duplicate code {c}");
            assert!(
                c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{c}"
            );
            assert!(
                doc.contains(&format!("| `{c}` |")),
                "docs/quarantine.md lacks {c}"
            );
        }
    }
}
