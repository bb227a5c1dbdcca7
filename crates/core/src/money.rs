//! Money as integer cents, the unscaled value of `Decimal128(18, 2)`.
//!
//! Parsing is strict: a value is either read exactly or refused. It accepts
//! the spellings CRM exports use: `1234.56`, `1 234,56` (with a space or a
//! no-break space as thousands separator), `-12`, `(12.50)` is *not* accepted.

use crate::schema::MONEY_SCALE;

/// Largest absolute unscaled value that fits 18 digits.
const MAX_UNSCALED: i128 = 999_999_999_999_999_999;

/// Why a money string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    /// Not a number at all.
    NotANumber,
    /// More than two fractional digits, or too large.
    OutOfRange,
}

/// Parses a money string into cents.
///
/// `decimal_comma = true` reads `,` as the decimal separator and `.` or spaces as
/// thousands separators; `false` reads `.` as the decimal separator and `,` as a
/// thousands separator only when followed by exactly three digits.
///
/// ```
/// use crm_core::money::parse_cents;
/// assert_eq!(parse_cents("1 234,56", true), Ok(123456));
/// assert_eq!(parse_cents("-7.5", false), Ok(-750));
/// assert!(parse_cents("1.234", false).is_err());
/// ```
pub fn parse_cents(text: &str, decimal_comma: bool) -> Result<i128, MoneyError> {
    let s = text.trim();
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (dec_sep, group_sep) = if decimal_comma {
        (',', '.')
    } else {
        ('.', ',')
    };
    if let Some(cents) = plain_cents(body.as_bytes(), dec_sep as u8) {
        return Ok(if neg { -cents } else { cents });
    }
    general_cents(neg, body, decimal_comma, dec_sep, group_sep)
}

/// Every spelling [`parse_cents`] reads, digit by digit.
fn general_cents(
    neg: bool,
    body: &str,
    decimal_comma: bool,
    dec_sep: char,
    group_sep: char,
) -> Result<i128, MoneyError> {
    let mut int_part: i128 = 0;
    let mut int_digits = 0usize;
    let mut frac: i128 = 0;
    let mut frac_digits = 0u32;
    let mut in_frac = false;
    let mut seen_digit = false;
    for ch in body.chars() {
        match ch {
            '0'..='9' => {
                seen_digit = true;
                let d = i128::from(ch as u8 - b'0');
                if in_frac {
                    frac_digits += 1;
                    if frac_digits > MONEY_SCALE as u32 {
                        if d != 0 {
                            return Err(MoneyError::OutOfRange);
                        }
                        continue;
                    }
                    frac = frac * 10 + d;
                } else {
                    int_digits += 1;
                    if int_digits > 16 {
                        return Err(MoneyError::OutOfRange);
                    }
                    int_part = int_part * 10 + d;
                }
            }
            c if c == dec_sep && !in_frac => in_frac = true,
            c if (c == group_sep || c == ' ' || c == '\u{a0}' || c == '\u{202f}') && !in_frac => {
                if !seen_digit {
                    return Err(MoneyError::NotANumber);
                }
            }
            _ => return Err(MoneyError::NotANumber),
        }
    }
    if !seen_digit {
        return Err(MoneyError::NotANumber);
    }
    // A lone group separator in ISO mode ("1,5") is ambiguous: refuse rather than guess.
    if !decimal_comma && body.contains(',') && !thousands_grouping_ok(body, ',') {
        return Err(MoneyError::NotANumber);
    }
    while frac_digits < MONEY_SCALE as u32 {
        frac *= 10;
        frac_digits += 1;
    }
    let unscaled = int_part * 100 + frac;
    if unscaled > MAX_UNSCALED {
        return Err(MoneyError::OutOfRange);
    }
    Ok(if neg { -unscaled } else { unscaled })
}

/// The usual spelling, `1234` or `1234.5` or `1234.56` (at most 16 integer
/// digits, no grouping), without the general loop: most cells of a big file
/// are like this. `None` sends anything else down the general path.
fn plain_cents(b: &[u8], dec_sep: u8) -> Option<i128> {
    let (int, frac) = match b.iter().position(|&c| c == dec_sep) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &[][..]),
    };
    if int.is_empty()
        || int.len() > 16
        || frac.len() > 2
        || (frac.is_empty() && int.len() < b.len())
    {
        return None;
    }
    let mut v: i64 = 0;
    for &c in int {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    let mut f: i64 = 0;
    for &c in frac {
        if !c.is_ascii_digit() {
            return None;
        }
        f = f * 10 + i64::from(c - b'0');
    }
    if frac.len() == 1 {
        f *= 10;
    }
    Some(i128::from(v * 100 + f))
}

/// True when every `sep` in the integer part is followed by exactly three digits.
fn thousands_grouping_ok(body: &str, sep: char) -> bool {
    let int_part = body.split('.').next().unwrap_or("");
    int_part
        .split(sep)
        .skip(1)
        .all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
}

/// Formats cents as `-1234.56` (CSV/JSON convention: `.`, no grouping).
pub fn format_cents(cents: i128) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let a = cents.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_spellings_exports_use() {
        assert_eq!(parse_cents("1234.56", false), Ok(123_456));
        assert_eq!(parse_cents("1,234.56", false), Ok(123_456));
        assert_eq!(parse_cents("1 234,56", true), Ok(123_456));
        assert_eq!(parse_cents("1\u{a0}234,5", true), Ok(123_450));
        assert_eq!(parse_cents("1.234,50", true), Ok(123_450));
        assert_eq!(parse_cents("-0,01", true), Ok(-1));
        assert_eq!(parse_cents("0", false), Ok(0));
        assert_eq!(parse_cents("12.300", false), Ok(1230));
    }

    #[test]
    fn refuses_what_it_cannot_read_exactly() {
        assert_eq!(parse_cents("", false), Err(MoneyError::NotANumber));
        assert_eq!(parse_cents("abc", false), Err(MoneyError::NotANumber));
        assert_eq!(parse_cents("1,5", false), Err(MoneyError::NotANumber));
        assert_eq!(parse_cents("1.005", false), Err(MoneyError::OutOfRange));
        assert_eq!(
            parse_cents("12345678901234567", false),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(parse_cents("1.2.3", false), Err(MoneyError::NotANumber));
    }

    /// The quick path agrees with the general one on every string it takes.
    #[test]
    fn the_plain_spelling_agrees_with_the_general_parser() {
        let alphabet = b"0123456789.,- ";
        let mut x: u64 = 11;
        let mut taken = 0;
        for round in 0..200_000 {
            let len = 1 + round % 20;
            let mut b = Vec::with_capacity(len);
            for _ in 0..len {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                // Digits four times as often as the rest.
                let r = (x >> 33) as usize % (alphabet.len() + 30);
                b.push(alphabet[if r < 40 { r % 10 } else { r - 30 }]);
            }
            let s = std::str::from_utf8(&b).unwrap();
            for (comma, dec, group) in [(false, '.', ','), (true, ',', '.')] {
                if let Some(v) = plain_cents(&b, dec as u8) {
                    taken += 1;
                    assert_eq!(general_cents(false, s, comma, dec, group), Ok(v), "{s:?}");
                }
            }
        }
        assert!(taken > 10_000, "only {taken} strings took the quick path");
    }

    #[test]
    fn formats_without_grouping() {
        assert_eq!(format_cents(123_456), "1234.56");
        assert_eq!(format_cents(-5), "-0.05");
        assert_eq!(format_cents(0), "0.00");
    }
}
