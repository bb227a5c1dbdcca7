//! `[clv]` in crm.toml: which model forecasts customer value, in which time
//! unit, over which horizon, and the CRM budget built on the forecast.
//!
//! The budget follows the CLV exercise of DOMAIN.md: forecast value × margin
//! × the share the company is ready to spend on the customer gives the
//! personal budget; the communication plan (contacts per customer per
//! segment, priced per channel) plus fixed costs is what the plan costs.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The models `crm clv fit` knows, under their usual short names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClvModel {
    Bgnbd,
    ParetoNbd,
    Mbgnbd,
    GammaGamma,
    Bgbb,
}

impl ClvModel {
    pub const ALL: [ClvModel; 5] = [
        ClvModel::Bgnbd,
        ClvModel::ParetoNbd,
        ClvModel::Mbgnbd,
        ClvModel::GammaGamma,
        ClvModel::Bgbb,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ClvModel::Bgnbd => "bgnbd",
            ClvModel::ParetoNbd => "pareto_nbd",
            ClvModel::Mbgnbd => "mbgnbd",
            ClvModel::GammaGamma => "gamma_gamma",
            ClvModel::Bgbb => "bgbb",
        }
    }

    /// True for the continuous-time purchase-count models that forecast CLV.
    pub fn is_transaction_model(self) -> bool {
        matches!(
            self,
            ClvModel::Bgnbd | ClvModel::ParetoNbd | ClvModel::Mbgnbd
        )
    }
}

impl std::str::FromStr for ClvModel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ClvModel::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown model '{s}': expected bgnbd, pareto_nbd, mbgnbd, gamma_gamma or bgbb"
                )
            })
    }
}

/// Time unit of x, t_x and T: days, or weeks = days / 7 (fractional).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClvUnit {
    Day,
    Week,
}

impl ClvUnit {
    pub fn days(self) -> u32 {
        match self {
            ClvUnit::Day => 1,
            ClvUnit::Week => 7,
        }
    }
}

impl std::str::FromStr for ClvUnit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "day" => Ok(ClvUnit::Day),
            "week" => Ok(ClvUnit::Week),
            _ => Err(format!("unknown unit '{s}': expected day or week")),
        }
    }
}

/// One line of the communication plan: every customer of `segment` gets
/// `contacts` contacts over the horizon through `channel`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedContacts {
    /// An RFM segment key (`at_risk`) or, with `kind = "market_segment"`, a market segment.
    pub segment: String,
    #[serde(default)]
    pub kind: SegmentKind,
    /// A channel priced in `[clv.cost_per_contact]`.
    pub channel: String,
    /// Contacts per customer over the horizon.
    pub contacts: f64,
}

/// Which segmentation a plan line or a margin override refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    #[default]
    Rfm,
    MarketSegment,
}

impl SegmentKind {
    pub fn name(self) -> &'static str {
        match self {
            SegmentKind::Rfm => "rfm",
            SegmentKind::MarketSegment => "market_segment",
        }
    }
}

/// `[clv]` in crm.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClvConfig {
    /// Purchase-count model of the forecast: bgnbd, pareto_nbd or mbgnbd.
    pub model: ClvModel,
    pub unit: ClvUnit,
    /// L2 penalty of the fits (lifetimes' penalizer_coef); 0 = plain MLE.
    pub penalizer: f64,
    /// Forecast horizon in months (a CLV month is 30.415 days).
    pub horizon_months: u32,
    pub monthly_discount_rate: f64,
    /// Validation in the nightly run: the last N days before as-of are the holdout.
    pub holdout_days: u32,
    /// Share of the true top customers the validation grades on.
    pub top_share: f64,
    /// Baseline retention: customers who bought in the last N days of calibration.
    pub retention_window_days: u32,
    /// Historical CLV looks back this many months.
    pub history_months: u32,
    /// Fewer calibration customers than this: no fit (the nightly run skips CLV).
    pub min_customers: u32,
    /// Gross margin on revenue, 0..1.
    pub margin: f64,
    /// Margin overrides by segment name (a market segment wins over an RFM segment).
    pub segment_margin: BTreeMap<String, f64>,
    /// Share of the customer's margin the company is ready to spend on them, 0..1.
    pub spend_share: f64,
    /// Fixed CRM costs over the horizon (team, licences).
    pub fixed_costs: f64,
    /// Price of one contact by channel.
    pub cost_per_contact: BTreeMap<String, f64>,
    /// The communication plan.
    pub plan: Vec<PlannedContacts>,
}

impl Default for ClvConfig {
    fn default() -> Self {
        ClvConfig {
            model: ClvModel::Bgnbd,
            unit: ClvUnit::Week,
            penalizer: 0.0,
            horizon_months: 12,
            monthly_discount_rate: 0.01,
            holdout_days: 90,
            top_share: 0.2,
            retention_window_days: 90,
            history_months: 12,
            min_customers: 20,
            margin: 0.3,
            segment_margin: BTreeMap::new(),
            spend_share: 0.1,
            fixed_costs: 0.0,
            cost_per_contact: BTreeMap::new(),
            plan: Vec::new(),
        }
    }
}

impl ClvConfig {
    /// Checks ranges and that every planned channel has a price.
    pub fn validate(&self) -> Result<(), String> {
        let share = |name: &str, v: f64| -> Result<(), String> {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("[clv] {name} must be between 0 and 1, found {v}"))
            }
        };
        if !self.model.is_transaction_model() {
            return Err(format!(
                "[clv] model = \"{}\": the forecast needs bgnbd, pareto_nbd or mbgnbd",
                self.model.name()
            ));
        }
        if !(self.penalizer.is_finite() && self.penalizer >= 0.0) {
            return Err(format!(
                "[clv] penalizer must be >= 0, found {}",
                self.penalizer
            ));
        }
        if self.horizon_months == 0 {
            return Err("[clv] horizon_months must be at least 1".into());
        }
        if !(self.monthly_discount_rate.is_finite() && self.monthly_discount_rate > -1.0) {
            return Err(format!(
                "[clv] monthly_discount_rate must be > -1, found {}",
                self.monthly_discount_rate
            ));
        }
        if self.holdout_days == 0 {
            return Err("[clv] holdout_days must be at least 1".into());
        }
        if !(self.top_share > 0.0 && self.top_share <= 1.0) {
            return Err(format!(
                "[clv] top_share must be in (0, 1], found {}",
                self.top_share
            ));
        }
        share("margin", self.margin)?;
        share("spend_share", self.spend_share)?;
        for (seg, m) in &self.segment_margin {
            share(&format!("segment_margin.{seg}"), *m)?;
        }
        if !(self.fixed_costs.is_finite() && self.fixed_costs >= 0.0) {
            return Err(format!(
                "[clv] fixed_costs must be >= 0, found {}",
                self.fixed_costs
            ));
        }
        for (channel, c) in &self.cost_per_contact {
            if !(c.is_finite() && *c >= 0.0) {
                return Err(format!(
                    "[clv] cost_per_contact.{channel} must be >= 0, found {c}"
                ));
            }
        }
        for p in &self.plan {
            if !self.cost_per_contact.contains_key(&p.channel) {
                return Err(format!(
                    "[clv] plan for segment '{}' uses channel '{}', which has no price in [clv.cost_per_contact]",
                    p.segment, p.channel
                ));
            }
            if !(p.contacts.is_finite() && p.contacts >= 0.0) {
                return Err(format!(
                    "[clv] plan for segment '{}': contacts must be >= 0, found {}",
                    p.segment, p.contacts
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ClvConfig, String> {
        let c: ClvConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn defaults_validate() {
        assert_eq!(parse("").unwrap(), ClvConfig::default());
    }

    #[test]
    fn a_full_budget_section_parses() {
        let c = parse(
            r#"
model = "pareto_nbd"
unit = "day"
horizon_months = 6
margin = 0.25
spend_share = 0.2
fixed_costs = 1000.0
[segment_margin]
b2b = 0.15
[cost_per_contact]
email = 0.5
sms = 3.0
[[plan]]
segment = "at_risk"
channel = "email"
contacts = 4
[[plan]]
segment = "b2b"
kind = "market_segment"
channel = "sms"
contacts = 1
"#,
        )
        .unwrap();
        assert_eq!(c.model, ClvModel::ParetoNbd);
        assert_eq!(c.unit.days(), 1);
        assert_eq!(c.plan.len(), 2);
        assert_eq!(c.plan[1].kind, SegmentKind::MarketSegment);
        assert_eq!(c.segment_margin["b2b"], 0.15);
    }

    #[test]
    fn mistakes_are_errors() {
        assert!(
            parse("horizon_monts = 3")
                .unwrap_err()
                .contains("horizon_monts")
        );
        assert!(parse("margin = 1.5").unwrap_err().contains("margin"));
        assert!(
            parse("model = \"gamma_gamma\"")
                .unwrap_err()
                .contains("bgnbd")
        );
        let err =
            parse("[[plan]]\nsegment = \"x\"\nchannel = \"fax\"\ncontacts = 1\n").unwrap_err();
        assert!(err.contains("fax"), "{err}");
        assert!("weekly".parse::<ClvUnit>().is_err());
        assert_eq!("mbgnbd".parse::<ClvModel>().unwrap(), ClvModel::Mbgnbd);
    }
}
