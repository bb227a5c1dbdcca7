//! Dates and timestamps as CRM exports write them.
//!
//! The common spellings (`2024-12-31`, `31.12.2024`, ISO timestamps with `T`
//! or a space, seconds and fractions optional, `Z`/`+03:00` offsets,
//! `31.12.2024 14:05`) are read by a hand-written parser, because chrono's
//! format-driven parser is several times slower and dates are a large share
//! of the work on a big file. An explicit format (option or mapping) goes to
//! chrono. Slashed dates are read only when the day order is known: given,
//! sniffed from the column, or evident from the value itself.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

/// The order of the first two parts of `a/b/yyyy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayOrder {
    Unknown,
    DayFirst,
    MonthFirst,
}

/// Looks at a column's sample: a first part above 12 means day first, a
/// second part above 12 means month first. Both, or neither, leaves it open.
pub fn sniff_day_order<'a>(values: impl Iterator<Item = &'a str>) -> DayOrder {
    let (mut day_first, mut month_first) = (false, false);
    for v in values {
        let mut parts = v.trim().split('/');
        let (Some(a), Some(b), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) else {
            continue;
        };
        day_first |= a > 12;
        month_first |= b > 12;
    }
    match (day_first, month_first) {
        (true, false) => DayOrder::DayFirst,
        (false, true) => DayOrder::MonthFirst,
        _ => DayOrder::Unknown,
    }
}

/// How one column's date values are read.
#[derive(Debug, Clone)]
pub struct TemporalParser {
    pub format: Option<String>,
    pub day_order: DayOrder,
    pub zone: Tz,
}

impl TemporalParser {
    /// Reads a timestamp; one with an offset is converted to the configured
    /// zone's wall clock, one without is taken as given.
    pub fn parse(&self, s: &str) -> Result<NaiveDateTime, String> {
        let s = crate::convert::trim_fast(s);
        if let Some(fmt) = &self.format {
            return self.parse_with_format(s, fmt);
        }
        let (local, offset) = parse_auto(s.as_bytes(), self.day_order)?;
        Ok(match offset {
            None => local,
            Some(secs) => self.to_zone(local, secs),
        })
    }

    fn to_zone(&self, local: NaiveDateTime, offset_secs: i32) -> NaiveDateTime {
        let utc = local - chrono::Duration::seconds(i64::from(offset_secs));
        self.zone.from_utc_datetime(&utc).naive_local()
    }

    fn parse_with_format(&self, s: &str, fmt: &str) -> Result<NaiveDateTime, String> {
        if fmt.contains("%z") || fmt.contains("%:z") || fmt.contains("%#z") {
            return chrono::DateTime::<FixedOffset>::parse_from_str(s, fmt)
                .map(|dt| dt.with_timezone(&self.zone).naive_local())
                .map_err(|_| format!("a date in the format {fmt}"));
        }
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(dt);
        }
        NaiveDate::parse_from_str(s, fmt)
            .map(|d| d.and_time(NaiveTime::MIN))
            .map_err(|_| format!("a date in the format {fmt}"))
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

const EXPECTED: &str = "a date like 2024-12-31, 31.12.2024 or 2024-12-31T14:05:00+03:00";

/// Returns the wall-clock time written and the offset in seconds, if any.
fn parse_auto(b: &[u8], order: DayOrder) -> Result<(NaiveDateTime, Option<i32>), String> {
    let bad = || EXPECTED.to_string();
    // Date part: find where it ends (first space or 'T').
    let date_end = b
        .iter()
        .position(|&c| c == b' ' || c == b'T')
        .unwrap_or(b.len());
    let date_b = &b[..date_end];
    let (y, m, d) = if date_b.len() == 10 && date_b[4] == b'-' && date_b[7] == b'-' {
        (
            digits(&date_b[0..4]).ok_or_else(bad)?,
            digits(&date_b[5..7]).ok_or_else(bad)?,
            digits(&date_b[8..10]).ok_or_else(bad)?,
        )
    } else if date_b.contains(&b'.') || date_b.contains(&b'/') {
        let sep = if date_b.contains(&b'.') { b'.' } else { b'/' };
        let mut parts = date_b.split(|&c| c == sep);
        let (Some(p1), Some(p2), Some(p3), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if p3.len() != 4 || p1.len() > 2 || p2.len() > 2 {
            return Err(bad());
        }
        let (a, c, y) = (
            digits(p1).ok_or_else(bad)?,
            digits(p2).ok_or_else(bad)?,
            digits(p3).ok_or_else(bad)?,
        );
        if sep == b'.' {
            (y, c, a)
        } else {
            let order = match order {
                DayOrder::Unknown if a > 12 => DayOrder::DayFirst,
                DayOrder::Unknown if c > 12 => DayOrder::MonthFirst,
                o => o,
            };
            match order {
                DayOrder::DayFirst => (y, c, a),
                DayOrder::MonthFirst => (y, a, c),
                DayOrder::Unknown => {
                    return Err(
                        "an unambiguous date; 01/02/2024 could be either day first or month first, so give date_format (e.g. %m/%d/%Y)"
                            .into(),
                    );
                }
            }
        }
    } else {
        return Err(bad());
    };
    let date = NaiveDate::from_ymd_opt(y as i32, m, d).ok_or_else(bad)?;
    let mut rest = &b[date_end..];
    if rest.is_empty() {
        return Ok((date.and_time(NaiveTime::MIN), None));
    }
    rest = &rest[1..];
    while rest.first() == Some(&b' ') {
        rest = &rest[1..];
    }
    // Time: HH:MM[:SS[.fraction]]
    if rest.len() < 4 {
        return Err(bad());
    }
    let colon = rest.iter().position(|&c| c == b':').ok_or_else(bad)?;
    let hh = digits(&rest[..colon]).ok_or_else(bad)?;
    rest = &rest[colon + 1..];
    if rest.len() < 2 {
        return Err(bad());
    }
    let mm = digits(&rest[..2]).ok_or_else(bad)?;
    rest = &rest[2..];
    let mut ss = 0;
    let mut micros = 0u32;
    if rest.first() == Some(&b':') {
        if rest.len() < 3 {
            return Err(bad());
        }
        ss = digits(&rest[1..3]).ok_or_else(bad)?;
        rest = &rest[3..];
        if matches!(rest.first(), Some(b'.') | Some(b',')) {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return Err(bad());
            }
            let frac = &rest[1..1 + n];
            let mut scale = 100_000u32;
            for &c in frac.iter().take(6) {
                micros += u32::from(c - b'0') * scale;
                scale /= 10;
            }
            rest = &rest[1 + n..];
        }
    }
    let time = NaiveTime::from_hms_micro_opt(hh, mm, ss, micros).ok_or_else(bad)?;
    let local = date.and_time(time);
    while rest.first() == Some(&b' ') {
        rest = &rest[1..];
    }
    let offset = match rest {
        [] => None,
        [b'Z'] | b"UTC" => Some(0),
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (h, m) = match tail.len() {
                2 => (digits(tail), Some(0)),
                4 => (digits(&tail[..2]), digits(&tail[2..])),
                5 if tail[2] == b':' => (digits(&tail[..2]), digits(&tail[3..])),
                _ => return Err(bad()),
            };
            let (Some(h), Some(m)) = (h, m) else {
                return Err(bad());
            };
            if h > 23 || m > 59 {
                return Err(bad());
            }
            let secs = (h * 3600 + m * 60) as i32;
            Some(if *sign == b'-' { -secs } else { secs })
        }
        _ => return Err(bad()),
    };
    Ok((local, offset))
}

/// Days since 1970-01-01, Arrow's `Date32`.
pub fn days_since_epoch(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<NaiveDateTime, String> {
        TemporalParser {
            format: None,
            day_order: DayOrder::Unknown,
            zone: chrono_tz::Europe::Moscow,
        }
        .parse(s)
    }

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn reads_the_usual_spellings() {
        assert_eq!(p("2024-12-31").unwrap(), dt("2024-12-31 00:00:00"));
        assert_eq!(p("31.12.2024").unwrap(), dt("2024-12-31 00:00:00"));
        assert_eq!(p("31.12.2024 14:05").unwrap(), dt("2024-12-31 14:05:00"));
        assert_eq!(p("2024-12-31T14:05").unwrap(), dt("2024-12-31 14:05:00"));
        assert_eq!(p("2024-12-31 14:05:07").unwrap(), dt("2024-12-31 14:05:07"));
        assert_eq!(
            p("2024-12-31T11:05:07Z").unwrap(),
            dt("2024-12-31 14:05:07")
        );
        assert_eq!(
            p("2024-12-31T14:05:07+03:00").unwrap(),
            dt("2024-12-31 14:05:07")
        );
        assert_eq!(
            p("2024-12-31 16:05:07.250+0500").unwrap(),
            dt("2024-12-31 14:05:07") + chrono::Duration::milliseconds(250)
        );
        assert_eq!(p("31/12/2024").unwrap(), dt("2024-12-31 00:00:00"));
        assert_eq!(p("12/31/2024").unwrap(), dt("2024-12-31 00:00:00"));
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        for s in [
            "2024-13-01",
            "32.01.2024",
            "01/02/2024",
            "yesterday",
            "2024-12-31T25:00",
        ] {
            assert!(p(s).is_err(), "{s}");
        }
    }
}
