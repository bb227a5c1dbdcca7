//! Settings of the sales funnel (`[funnel]`) and of the manager traffic
//! light (`[traffic_light]`).
//!
//! The loader keeps stage names as they were exported; the funnel
//! configuration is the one place that maps them (aliases) onto the ordered
//! stages. Colour rules and norms are data too: the engine registers them as
//! small tables that the SQL in `queries/` joins, so changing a rule never
//! means changing SQL.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The outcome name an alias maps a "closed and lost" stage to.
pub const LOST: &str = "lost";

/// `[funnel]` in crm.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FunnelConfig {
    /// The ordered stages; the last one is the won stage.
    pub stages: Vec<String>,
    /// Imported stage name → one of `stages` or `"lost"`. Matched after
    /// trimming and lower-casing; each stage name also maps to itself. A
    /// table given in crm.toml replaces the default one.
    pub aliases: BTreeMap<String, String>,
    /// A later stage implies that the earlier ones were passed (true), or
    /// only recorded stages count as entered (false).
    pub imply_skipped_stages: bool,
}

impl Default for FunnelConfig {
    fn default() -> Self {
        let aliases = [
            // amoCRM's default pipeline
            ("Первичный контакт", "lead"),
            ("Переговоры", "qualified"),
            ("Принимают решение", "negotiation"),
            ("Успешно реализовано", "won"),
            ("Закрыто и не реализовано", LOST),
            // 1C:CRM and Bitrix24 spellings
            ("Новый", "lead"),
            ("Лид", "lead"),
            ("Квалификация", "qualified"),
            ("Предложение", "proposal"),
            ("Коммерческое предложение", "proposal"),
            ("Согласование условий", "negotiation"),
            ("Сделка успешна", "won"),
            ("Выиграна", "won"),
            ("Сделка провалена", LOST),
            ("Проиграна", LOST),
        ];
        FunnelConfig {
            stages: ["lead", "qualified", "proposal", "negotiation", "won"]
                .map(String::from)
                .to_vec(),
            aliases: aliases
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            imply_skipped_stages: true,
        }
    }
}

/// One row of the stage map: the normalised raw name, the stage, its
/// 1-based number (None for `lost`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageMapRow {
    pub raw_key: String,
    pub stage: String,
    pub stage_no: Option<i32>,
}

/// The key imported names are matched by.
pub fn stage_key(raw: &str) -> String {
    raw.trim().to_lowercase()
}

impl FunnelConfig {
    /// Checks what the types cannot: at least two distinct stages, none
    /// called `lost`, and every alias pointing at a stage or `lost`.
    pub fn validate(&self) -> Result<(), String> {
        if self.stages.len() < 2 {
            return Err("[funnel] stages: give at least two stages (the last one is won)".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.stages {
            let k = stage_key(s);
            if k.is_empty() {
                return Err("[funnel] stages: a stage name is empty".into());
            }
            if k == LOST {
                return Err("[funnel] stages: 'lost' is an outcome, not a stage; map lost stage names to it in [funnel.aliases]".into());
            }
            if !seen.insert(k) {
                return Err(format!("[funnel] stages: '{s}' appears twice"));
            }
        }
        for (raw, target) in &self.aliases {
            let t = stage_key(target);
            if t != LOST && !seen.contains(&t) {
                return Err(format!(
                    "[funnel] aliases: '{raw}' maps to '{target}', which is neither one of the stages ({}) nor 'lost'",
                    self.stages.join(", ")
                ));
            }
            if seen.contains(&stage_key(raw)) && stage_key(raw) != t {
                return Err(format!(
                    "[funnel] aliases: '{raw}' is a stage name and cannot map to '{target}'"
                ));
            }
        }
        Ok(())
    }

    /// Every name the funnel recognises, normalised, with its stage.
    pub fn stage_map(&self) -> Vec<StageMapRow> {
        let mut map: BTreeMap<String, (String, Option<i32>)> = BTreeMap::new();
        let number = |target: &str| {
            self.stages
                .iter()
                .position(|s| stage_key(s) == stage_key(target))
                .map(|i| i as i32 + 1)
        };
        for s in &self.stages {
            map.insert(stage_key(s), (s.clone(), number(s)));
        }
        map.insert(LOST.into(), (LOST.into(), None));
        for (raw, target) in &self.aliases {
            let n = number(target);
            let stage = match n {
                Some(i) => self.stages[i as usize - 1].clone(),
                None => LOST.into(),
            };
            map.insert(stage_key(raw), (stage, n));
        }
        map.into_iter()
            .map(|(raw_key, (stage, stage_no))| StageMapRow {
                raw_key,
                stage,
                stage_no,
            })
            .collect()
    }
}

/// A colour of the traffic light and of the KPI norms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    Red,
    Yellow,
    Green,
}

impl Colour {
    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Red => "red",
            Colour::Yellow => "yellow",
            Colour::Green => "green",
        }
    }
}

/// The four quality indicators of 1C:CRM's «Контроль руководителя».
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    HasActiveInterest,
    NoOverdueInteraction,
    PortraitFilled,
    ContactFilled,
}

/// One colour rule: it matches a client when every listed indicator failed
/// and, if `warm` is given, the client's warmth equals it. Rules are tried
/// in order; the first match gives the colour; no match is green.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColourRule {
    pub colour: Colour,
    pub failed: Vec<Indicator>,
    #[serde(default)]
    pub warm: Option<bool>,
}

/// A KPI norm for one manager summary metric, for everyone, a team or one
/// manager (the most specific norm wins).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Norm {
    /// A metric of the manager summary, e.g. "green_share".
    pub metric: String,
    /// Applies to this team only.
    #[serde(default)]
    pub team: Option<String>,
    /// Applies to this manager only.
    #[serde(default)]
    pub manager: Option<String>,
    /// Beyond this value (below it, or above it when lower is better) the
    /// value is unacceptable: red.
    pub unacceptable: f64,
    /// The goal: met → green (yellow when the trend goes the wrong way).
    pub goal: f64,
    /// True when a larger value is better.
    #[serde(default = "yes")]
    pub higher_is_better: bool,
}

fn yes() -> bool {
    true
}

/// The profile fields a portrait may require (columns of `customers`).
pub const PORTRAIT_FIELDS: [&str; 8] = [
    "full_name",
    "birth_date",
    "city",
    "market_segment",
    "source",
    "email",
    "phone",
    "attributes",
];

/// The metrics of the manager summary that norms may name, besides
/// `interactions_<kind>` (done interactions of one kind, e.g. `interactions_call`).
pub const SUMMARY_METRICS: [&str; 11] = [
    "clients",
    "green_share",
    "yellow_share",
    "red_share",
    "touches_per_client",
    "done_interactions",
    "overdue_interactions",
    "warm_clients",
    "open_interests",
    "conversion",
    "win_rate",
];

/// `[traffic_light]` in crm.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrafficLightConfig {
    /// Customer columns the portrait needs; all present = filled.
    pub portrait_fields: Vec<String>,
    /// A client with an interaction in the last N days (or an open interest) is warm.
    pub warm_days: u32,
    /// The colour rules, in order; an empty list means the default rules.
    pub rules: Vec<ColourRule>,
    /// KPI norms for the manager summary.
    pub norms: Vec<Norm>,
}

impl Default for TrafficLightConfig {
    fn default() -> Self {
        TrafficLightConfig {
            portrait_fields: ["full_name", "birth_date", "city", "market_segment"]
                .map(String::from)
                .to_vec(),
            warm_days: 90,
            rules: Vec::new(),
            norms: Vec::new(),
        }
    }
}

impl TrafficLightConfig {
    /// The rules in force: the configured ones, or the defaults (red: an
    /// overdue interaction, or a warm client without an active interest;
    /// yellow: portrait incomplete or contact info missing).
    pub fn effective_rules(&self) -> Vec<ColourRule> {
        if !self.rules.is_empty() {
            return self.rules.clone();
        }
        let rule = |colour, failed: &[Indicator], warm| ColourRule {
            colour,
            failed: failed.to_vec(),
            warm,
        };
        vec![
            rule(Colour::Red, &[Indicator::NoOverdueInteraction], None),
            rule(Colour::Red, &[Indicator::HasActiveInterest], Some(true)),
            rule(Colour::Yellow, &[Indicator::PortraitFilled], None),
            rule(Colour::Yellow, &[Indicator::ContactFilled], None),
        ]
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.portrait_fields.is_empty() {
            return Err(
                "[traffic_light] portrait_fields: name at least one customer column".into(),
            );
        }
        for f in &self.portrait_fields {
            if !PORTRAIT_FIELDS.contains(&f.as_str()) {
                return Err(format!(
                    "[traffic_light] portrait_fields: '{f}' is not a profile column; expected some of {}",
                    PORTRAIT_FIELDS.join(", ")
                ));
            }
        }
        for (i, r) in self.rules.iter().enumerate() {
            if r.failed.is_empty() && r.warm.is_none() {
                return Err(format!(
                    "[traffic_light] rule {}: a rule without `failed` indicators or `warm` matches every client",
                    i + 1
                ));
            }
        }
        for n in &self.norms {
            if !SUMMARY_METRICS.contains(&n.metric.as_str())
                && !n.metric.starts_with("interactions_")
            {
                return Err(format!(
                    "[traffic_light] norm: unknown metric '{}'; expected one of {} or interactions_<kind>",
                    n.metric,
                    SUMMARY_METRICS.join(", ")
                ));
            }
            if n.team.is_some() && n.manager.is_some() {
                return Err(format!(
                    "[traffic_light] norm for '{}': give team or manager, not both",
                    n.metric
                ));
            }
            let ordered = if n.higher_is_better {
                n.unacceptable <= n.goal
            } else {
                n.unacceptable >= n.goal
            };
            if !ordered {
                return Err(format!(
                    "[traffic_light] norm for '{}': the goal {} must be better than the unacceptable bound {}",
                    n.metric, n.goal, n.unacceptable
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn funnel_defaults_map_amocrm_names_onto_the_stages() {
        let cfg = FunnelConfig::default();
        cfg.validate().unwrap();
        let map = cfg.stage_map();
        let find = |raw: &str| {
            map.iter()
                .find(|r| r.raw_key == stage_key(raw))
                .cloned()
                .unwrap_or_else(|| panic!("{raw} not mapped"))
        };
        assert_eq!(find("Первичный контакт").stage_no, Some(1));
        assert_eq!(find("  ПЕРЕГОВОРЫ ").stage, "qualified");
        assert_eq!(find("Принимают решение").stage_no, Some(4));
        assert_eq!(find("Успешно реализовано").stage, "won");
        assert_eq!(find("Закрыто и не реализовано").stage_no, None);
        assert_eq!(find("Proposal").stage_no, Some(3));
        assert_eq!(find("lost").stage, LOST);
    }

    #[test]
    fn funnel_settings_that_make_no_sense_are_refused() {
        let bad_alias = FunnelConfig {
            aliases: [("Счёт".to_string(), "invoice".to_string())].into(),
            ..FunnelConfig::default()
        };
        assert!(bad_alias.validate().unwrap_err().contains("invoice"));
        let lost_stage = FunnelConfig {
            stages: vec!["lead".into(), "lost".into()],
            aliases: BTreeMap::new(),
            ..FunnelConfig::default()
        };
        assert!(lost_stage.validate().unwrap_err().contains("outcome"));
        let twice = FunnelConfig {
            stages: vec!["lead".into(), "Lead".into()],
            aliases: BTreeMap::new(),
            ..FunnelConfig::default()
        };
        assert!(twice.validate().unwrap_err().contains("twice"));
    }

    #[test]
    fn traffic_light_defaults_and_toml() {
        let cfg = TrafficLightConfig::default();
        cfg.validate().unwrap();
        assert_eq!(cfg.effective_rules().len(), 4);
        let cfg: TrafficLightConfig = toml::from_str(
            r#"
            portrait_fields = ["full_name", "city"]
            warm_days = 30
            [[rules]]
            colour = "yellow"
            failed = ["no_overdue_interaction"]
            [[norms]]
            metric = "green_share"
            team = "Отдел продаж 1"
            unacceptable = 0.5
            goal = 0.8
            "#,
        )
        .unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.effective_rules()[0].colour, Colour::Yellow);
        assert!(cfg.norms[0].higher_is_better);
    }

    #[test]
    fn traffic_light_settings_that_make_no_sense_are_refused() {
        let field = TrafficLightConfig {
            portrait_fields: vec!["shoe_size".into()],
            ..TrafficLightConfig::default()
        };
        assert!(field.validate().unwrap_err().contains("shoe_size"));
        let err =
            toml::from_str::<TrafficLightConfig>("[[rules]]\ncolour = \"blue\"\nfailed = []\n");
        assert!(err.is_err());
        let norm = TrafficLightConfig {
            norms: vec![Norm {
                metric: "win_rate".into(),
                team: None,
                manager: None,
                unacceptable: 0.5,
                goal: 0.2,
                higher_is_better: true,
            }],
            ..TrafficLightConfig::default()
        };
        assert!(norm.validate().unwrap_err().contains("goal"));
    }
}
