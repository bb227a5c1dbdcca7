//! RFM settings and the segment map: which (R, F[, M]) score cells belong
//! to which named segment.
//!
//! A map is checked when it is loaded: every cell of the score grid must be
//! covered exactly once. Public RFM tools often ship overlapping rules that
//! leave segments empty; here an overlap or a gap is an error that lists the
//! exact cells.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// How scores are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreMethod {
    /// `1 + floor(q * (RANK() - 1) / N)`, ties share a score.
    Quantile,
    /// Fixed thresholds per metric.
    Thresholds,
}

/// Over which customers ranks are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreWithin {
    All,
    MarketSegment,
}

/// `[rfm]` in crm.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RfmConfig {
    pub method: ScoreMethod,
    /// Number of score levels with `method = "quantile"`: 3, 4, 5 or 10.
    pub quantiles: u32,
    pub score_within: ScoreWithin,
    /// Only purchases in the last N days count; 0 = all history.
    pub lookback_days: u32,
    /// `method = "thresholds"`: upper bounds of recency days for scores q..2
    /// (fewer days, higher score), e.g. [30, 90, 180, 365].
    pub recency_thresholds: Vec<i64>,
    /// Upper bounds of purchase counts for scores 1..q-1, e.g. [1, 2, 4, 8].
    pub frequency_thresholds: Vec<i64>,
    /// Upper bounds of net revenue for scores 1..q-1, e.g. [1000, 5000, 20000, 50000].
    pub monetary_thresholds: Vec<f64>,
    /// "Birthday soon" seed segment: birthdays in the next N days.
    pub birthday_days: u32,
    /// "A year without purchases": recency above this many days.
    pub dormant_days: u32,
    /// A custom segment map; empty = the default 10-segment R×F map.
    pub segments: Vec<SegmentRule>,
}

impl Default for RfmConfig {
    fn default() -> Self {
        RfmConfig {
            method: ScoreMethod::Quantile,
            quantiles: 5,
            score_within: ScoreWithin::All,
            lookback_days: 0,
            recency_thresholds: vec![30, 90, 180, 365],
            frequency_thresholds: vec![1, 2, 4, 8],
            monetary_thresholds: vec![1000.0, 5000.0, 20000.0, 50000.0],
            birthday_days: 14,
            dormant_days: 365,
            segments: Vec::new(),
        }
    }
}

/// One rule of a custom map: score ranges such as `"4-5"` or `"1"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRule {
    /// English key, snake_case (what `--format csv` prints).
    pub name: String,
    /// Russian label for reports.
    #[serde(default)]
    pub label_ru: String,
    pub r: String,
    pub f: String,
    /// Optional: a rule with `m` makes the map an R×F×M map.
    #[serde(default)]
    pub m: Option<String>,
}

/// A checked segment map: for each cell, its segment.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentMap {
    pub levels: u32,
    pub uses_monetary: bool,
    /// (r, f, m) → segment key; m = 0 when the map ignores M.
    pub cells: BTreeMap<(u32, u32, u32), String>,
    /// segment key → Russian label.
    pub labels_ru: BTreeMap<String, String>,
}

/// A map that does not cover every cell exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapError {
    pub uncovered: Vec<String>,
    pub doubly_covered: Vec<String>,
    pub other: Vec<String>,
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.other.is_empty() {
            parts.push(self.other.join("; "));
        }
        if !self.uncovered.is_empty() {
            parts.push(format!("uncovered cells: {}", self.uncovered.join(", ")));
        }
        if !self.doubly_covered.is_empty() {
            parts.push(format!(
                "cells covered more than once: {}",
                self.doubly_covered.join(", ")
            ));
        }
        write!(f, "[rfm] segment map: {}", parts.join("; "))
    }
}

impl std::error::Error for MapError {}

/// The default map's segments: key, Russian label, R range, F range.
const DEFAULT_MAP: [(&str, &str, &str, &str); 11] = [
    ("hibernating", "Спящие", "1-2", "1-2"),
    ("at_risk", "В зоне риска", "1-2", "3-4"),
    ("cant_lose", "Нельзя потерять", "1-2", "5"),
    ("about_to_sleep", "Засыпающие", "3", "1-2"),
    ("need_attention", "Требуют внимания", "3", "3"),
    ("loyal", "Лояльные", "3-4", "4-5"),
    ("promising", "Перспективные", "4", "1"),
    ("potential_loyalist", "Потенциально лояльные", "4", "2-3"),
    ("new_customers", "Новички", "5", "1"),
    ("potential_loyalist", "Потенциально лояльные", "5", "2-3"),
    ("champions", "Чемпионы", "5", "4-5"),
];

/// The segment keys of the default map in report order, best first.
pub const DEFAULT_SEGMENTS: [&str; 10] = [
    "champions",
    "loyal",
    "potential_loyalist",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
];

fn parse_range(text: &str, levels: u32) -> Result<Vec<u32>, String> {
    let t = text.trim();
    let (lo, hi) = match t.split_once('-') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (t, t),
    };
    let lo: u32 = lo
        .parse()
        .map_err(|_| format!("'{text}' is not a score or a range like 4-5"))?;
    let hi: u32 = hi
        .parse()
        .map_err(|_| format!("'{text}' is not a score or a range like 4-5"))?;
    if lo < 1 || hi > levels || lo > hi {
        return Err(format!("'{text}' is outside the scores 1..{levels}"));
    }
    Ok((lo..=hi).collect())
}

impl RfmConfig {
    /// Score levels: `quantiles`, or thresholds + 1.
    pub fn levels(&self) -> u32 {
        match self.method {
            ScoreMethod::Quantile => self.quantiles,
            ScoreMethod::Thresholds => self.recency_thresholds.len() as u32 + 1,
        }
    }

    /// Checks the settings that the types cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.method == ScoreMethod::Quantile && ![3, 4, 5, 10].contains(&self.quantiles) {
            return Err(format!(
                "[rfm] quantiles = {}: expected 3, 4, 5 or 10",
                self.quantiles
            ));
        }
        if self.method == ScoreMethod::Thresholds {
            let n = self.recency_thresholds.len();
            if n < 1 || self.frequency_thresholds.len() != n || self.monetary_thresholds.len() != n
            {
                return Err("[rfm] recency_thresholds, frequency_thresholds and monetary_thresholds need the same number of values (levels - 1)".into());
            }
            let sorted = |v: &[f64]| v.windows(2).all(|w| w[0] < w[1]);
            let r: Vec<f64> = self.recency_thresholds.iter().map(|v| *v as f64).collect();
            let f: Vec<f64> = self
                .frequency_thresholds
                .iter()
                .map(|v| *v as f64)
                .collect();
            if !sorted(&r) || !sorted(&f) || !sorted(&self.monetary_thresholds) {
                return Err("[rfm] thresholds must be strictly increasing".into());
            }
        }
        Ok(())
    }

    /// The checked segment map: the custom one, or the default R×F map
    /// (which needs 5 levels).
    pub fn segment_map(&self) -> Result<SegmentMap, MapError> {
        let levels = self.levels();
        let rules: Vec<SegmentRule> = if self.segments.is_empty() {
            if levels != 5 {
                return Err(MapError {
                    uncovered: Vec::new(),
                    doubly_covered: Vec::new(),
                    other: vec![format!(
                        "the default map is a 5×5 R×F grid, but scores have {levels} levels; write [[rfm.segments]] rules for a {levels}×{levels} grid"
                    )],
                });
            }
            DEFAULT_MAP
                .iter()
                .map(|(n, ru, r, f)| SegmentRule {
                    name: n.to_string(),
                    label_ru: ru.to_string(),
                    r: r.to_string(),
                    f: f.to_string(),
                    m: None,
                })
                .collect()
        } else {
            self.segments.clone()
        };
        build_map(&rules, levels)
    }
}

fn build_map(rules: &[SegmentRule], levels: u32) -> Result<SegmentMap, MapError> {
    let uses_monetary = rules.iter().any(|r| r.m.is_some());
    let mut other = Vec::new();
    let mut hits: BTreeMap<(u32, u32, u32), Vec<String>> = BTreeMap::new();
    let mut labels_ru = BTreeMap::new();
    for rule in rules {
        if rule.name.is_empty()
            || !rule
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            other.push(format!(
                "segment name '{}' must be snake_case (a-z, 0-9, _)",
                rule.name
            ));
            continue;
        }
        let ranges = (
            parse_range(&rule.r, levels),
            parse_range(&rule.f, levels),
            match (&rule.m, uses_monetary) {
                (Some(m), _) => parse_range(m, levels),
                (None, true) => Ok((1..=levels).collect()),
                (None, false) => Ok(vec![0]),
            },
        );
        let (rs, fs, ms) = match ranges {
            (Ok(r), Ok(f), Ok(m)) => (r, f, m),
            (r, f, m) => {
                for e in [r.err(), f.err(), m.err()].into_iter().flatten() {
                    other.push(format!("segment '{}': {e}", rule.name));
                }
                continue;
            }
        };
        labels_ru
            .entry(rule.name.clone())
            .or_insert_with(|| rule.label_ru.clone());
        for &r in &rs {
            for &f in &fs {
                for &m in &ms {
                    hits.entry((r, f, m)).or_default().push(rule.name.clone());
                }
            }
        }
    }
    let cell = |(r, f, m): (u32, u32, u32)| {
        if uses_monetary {
            format!("R{r}F{f}M{m}")
        } else {
            format!("R{r}F{f}")
        }
    };
    let ms: Vec<u32> = if uses_monetary {
        (1..=levels).collect()
    } else {
        vec![0]
    };
    let mut uncovered = Vec::new();
    let mut doubly = Vec::new();
    let mut cells = BTreeMap::new();
    for r in 1..=levels {
        for f in 1..=levels {
            for &m in &ms {
                match hits.get(&(r, f, m)).map(Vec::as_slice) {
                    None | Some([]) => uncovered.push(cell((r, f, m))),
                    Some([one]) => {
                        cells.insert((r, f, m), one.clone());
                    }
                    Some(many) => doubly.push(format!("{} ({})", cell((r, f, m)), many.join(", "))),
                }
            }
        }
    }
    if !uncovered.is_empty() || !doubly.is_empty() || !other.is_empty() {
        return Err(MapError {
            uncovered,
            doubly_covered: doubly,
            other,
        });
    }
    Ok(SegmentMap {
        levels,
        uses_monetary,
        cells,
        labels_ru,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, r: &str, f: &str) -> SegmentRule {
        SegmentRule {
            name: name.into(),
            label_ru: String::new(),
            r: r.into(),
            f: f.into(),
            m: None,
        }
    }

    #[test]
    fn the_default_map_covers_the_grid_exactly_as_published() {
        let map = RfmConfig::default().segment_map().unwrap();
        assert_eq!(map.cells.len(), 25);
        let at = |r, f| map.cells[&(r, f, 0)].as_str();
        assert_eq!(at(1, 1), "hibernating");
        assert_eq!(at(2, 3), "at_risk");
        assert_eq!(at(1, 5), "cant_lose");
        assert_eq!(at(3, 2), "about_to_sleep");
        assert_eq!(at(3, 3), "need_attention");
        assert_eq!(at(3, 4), "loyal");
        assert_eq!(at(4, 1), "promising");
        assert_eq!(at(4, 3), "potential_loyalist");
        assert_eq!(at(4, 5), "loyal");
        assert_eq!(at(5, 1), "new_customers");
        assert_eq!(at(5, 2), "potential_loyalist");
        assert_eq!(at(5, 4), "champions");
        let used: std::collections::BTreeSet<&str> =
            map.cells.values().map(String::as_str).collect();
        assert_eq!(used.len(), 10);
        for s in DEFAULT_SEGMENTS {
            assert!(used.contains(s), "{s}");
            assert!(!map.labels_ru[s].is_empty(), "{s} has a Russian label");
        }
    }

    #[test]
    fn a_gap_and_an_overlap_are_reported_with_their_cells() {
        let cfg = RfmConfig {
            quantiles: 3,
            segments: vec![
                rule("best", "3", "2-3"),
                rule("good", "2-3", "1-2"), // overlaps best at R3F2
                rule("rest", "1", "1-3"),   // R2F3 stays uncovered
            ],
            ..RfmConfig::default()
        };
        let err = cfg.segment_map().unwrap_err();
        assert_eq!(err.uncovered, vec!["R2F3"]);
        assert_eq!(err.doubly_covered, vec!["R3F2 (best, good)"]);
        let text = err.to_string();
        assert!(text.contains("uncovered cells: R2F3"), "{text}");
    }

    #[test]
    fn an_rfm_map_covers_the_cube() {
        let cfg = RfmConfig {
            quantiles: 3,
            segments: vec![
                SegmentRule {
                    m: Some("3".into()),
                    ..rule("whales", "1-3", "1-3")
                },
                SegmentRule {
                    m: Some("1-2".into()),
                    ..rule("others", "1-3", "1-3")
                },
            ],
            ..RfmConfig::default()
        };
        let map = cfg.segment_map().unwrap();
        assert!(map.uses_monetary);
        assert_eq!(map.cells.len(), 27);
        assert_eq!(map.cells[&(1, 1, 3)], "whales");
    }

    #[test]
    fn other_grids_need_their_own_map_and_bad_settings_are_refused() {
        let cfg = RfmConfig {
            quantiles: 4,
            ..RfmConfig::default()
        };
        assert!(cfg.segment_map().unwrap_err().to_string().contains("4×4"));
        let cfg = RfmConfig {
            quantiles: 7,
            ..RfmConfig::default()
        };
        assert!(cfg.validate().is_err());
        let cfg = RfmConfig {
            segments: vec![rule("x", "0-9", "1")],
            ..RfmConfig::default()
        };
        assert!(
            cfg.segment_map()
                .unwrap_err()
                .to_string()
                .contains("outside")
        );
    }
}
