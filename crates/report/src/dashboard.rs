//! The dashboard: charts built from the report queries' rows, written as one
//! self-contained HTML page (inline CSS, inline SVG, the font embedded; it
//! opens from `file://` with no network), a Markdown summary, every chart as
//! PNG and SVG, and `charts.json` with the numbers behind each chart.
//!
//! A section whose mart is missing says so and how to compute it; it never
//! draws empty axes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Serialize;

use crate::chart::{Chart, FONT_FAMILY, FONT_TTF, Light, Plot, Series};
use crate::frame::Frame;
use crate::locale::{Locale, ValueFormat, Word};
use crate::output::{Error, Result};

/// The report queries' results by query name (`None`: its mart is missing).
pub type Inputs = BTreeMap<String, Option<Frame>>;

/// How many groups a funnel chart draws (the largest by first-stage entries).
pub const FUNNEL_LINES: usize = 8;

/// One part of the dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub id: String,
    pub title: String,
    /// The mart the section reads.
    pub mart: String,
    pub chart: Option<Chart>,
    /// Why there is no chart, when there is none.
    pub missing: Option<String>,
    /// A remark under the chart (e.g. how many groups are left out).
    pub note: Option<String>,
    /// Extra HTML under the chart (the traffic-light table), already escaped.
    #[serde(skip)]
    pub table_html: Option<String>,
}

/// A freshness line: the last load of a table.
#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    pub table: String,
    pub last_load: String,
    pub rows_loaded: f64,
    pub loads: f64,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub as_of: String,
    pub generated_at: String,
    pub locale: Locale,
    /// (label, formatted value).
    pub headline: Vec<(String, String)>,
    pub freshness: Vec<Freshness>,
    pub sections: Vec<Section>,
}

/// What [`Dashboard::write`] produced.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub html: PathBuf,
    pub markdown: PathBuf,
    pub charts: Vec<PathBuf>,
    pub missing: Vec<String>,
}

struct Builder<'a> {
    inputs: &'a Inputs,
    locale: &'a Locale,
    as_of: &'a str,
    segment_names: &'a BTreeMap<String, String>,
}

impl Builder<'_> {
    fn t(&self, w: Word) -> String {
        self.locale.t(w).to_string()
    }

    /// The rows of `query`, or the "no data" message naming its mart.
    fn frame(&self, query: &str, mart: &str) -> std::result::Result<&Frame, String> {
        match self.inputs.get(query) {
            Some(Some(f)) if !f.is_empty() => Ok(f),
            _ => Err(format!(
                "{}: {mart} — {} `crm run --as-of {}`",
                self.t(Word::Missing),
                self.t(Word::MissingHint),
                self.as_of
            )),
        }
    }

    fn segment(&self, code: &str) -> String {
        match self.locale.lang {
            crate::locale::Lang::Ru => self
                .segment_names
                .get(code)
                .filter(|s| !s.is_empty())
                .cloned()
                .unwrap_or_else(|| code.to_string()),
            crate::locale::Lang::En => code.replace('_', " "),
        }
    }

    fn section(
        &self,
        id: &str,
        title: Word,
        mart: &str,
        chart: std::result::Result<Chart, String>,
    ) -> Section {
        let (chart, missing) = match chart {
            Ok(c) if !c.is_empty() => (Some(c), None),
            Ok(_) => (None, Some(format!("{}: {mart}", self.t(Word::Missing)))),
            Err(m) => (None, Some(m)),
        };
        Section {
            id: id.into(),
            title: self.t(title),
            mart: mart.into(),
            chart,
            missing,
            note: None,
            table_html: None,
        }
    }

    fn chart(
        &self,
        id: &str,
        title: Word,
        x: Word,
        y: Word,
        format: ValueFormat,
        plot: Plot,
    ) -> Chart {
        Chart {
            id: id.into(),
            title: self.t(title),
            x_label: self.t(x),
            y_label: self.t(y),
            format,
            plot,
        }
    }

    fn rf_heatmap(&self) -> Result<std::result::Result<Chart, String>> {
        let f = match self.frame("report_rf_grid", "rfm_customer") {
            Ok(f) => f,
            Err(m) => return Ok(Err(m)),
        };
        let (r, fr, n, rev) = (
            f.floats("r")?,
            f.floats("f")?,
            f.floats("customers")?,
            f.floats("revenue")?,
        );
        let levels = r.iter().chain(&fr).fold(1f64, |m, v| m.max(*v)) as usize;
        let mut values = vec![vec![None; levels]; levels];
        let mut labels = vec![vec![String::new(); levels]; levels];
        for i in 0..f.len() {
            let (ri, fi) = (r[i] as usize - 1, fr[i] as usize - 1);
            values[ri][fi] = Some(n[i]);
            labels[ri][fi] = format!(
                "{}\n{}",
                self.locale.count(n[i]),
                self.locale.compact(rev[i])
            );
        }
        let scores: Vec<String> = (1..=levels).map(|s| s.to_string()).collect();
        Ok(Ok(self.chart(
            "rfm_heatmap",
            Word::RfHeatmap,
            Word::FrequencyScore,
            Word::RecencyScore,
            ValueFormat::Count,
            Plot::Heatmap {
                x: scores.clone(),
                y: scores,
                values,
                labels,
                scale_max: None,
            },
        )))
    }

    fn segments(&self) -> Result<std::result::Result<Chart, String>> {
        let f = match self.frame("report_segments", "rfm_segment") {
            Ok(f) => f,
            Err(m) => return Ok(Err(m)),
        };
        let names = f.strings("segment")?;
        Ok(Ok(self.chart(
            "segments",
            Word::Segments,
            Word::SharePct,
            Word::Segment,
            ValueFormat::Percent,
            Plot::Bars {
                categories: names.iter().map(|s| self.segment(s)).collect(),
                series: vec![
                    Series {
                        name: self.t(Word::ShareOfCustomers),
                        values: f.floats("customer_share")?,
                        colour: None,
                    },
                    Series {
                        name: self.t(Word::ShareOfRevenue),
                        values: f.floats("revenue_share")?,
                        colour: None,
                    },
                ],
                horizontal: true,
                stacked: false,
            },
        )))
    }

    fn migration(&self) -> Result<std::result::Result<Chart, String>> {
        let f = match self.inputs.get("report_migration") {
            Some(Some(f)) if f.is_empty() => return Ok(Err(self.t(Word::NoPrevious))),
            _ => match self.frame("report_migration", "rfm_migration") {
                Ok(f) => f,
                Err(m) => return Ok(Err(m)),
            },
        };
        let (from, to, n) = (
            f.strings("from_segment")?,
            f.strings("to_segment")?,
            f.floats("customers")?,
        );
        let order = |v: &[String]| {
            let mut u: Vec<String> = v.to_vec();
            u.sort();
            u.dedup();
            u
        };
        let (ys, xs) = (order(&from), order(&to));
        let mut values = vec![vec![None; xs.len()]; ys.len()];
        let mut labels = vec![vec![String::new(); xs.len()]; ys.len()];
        for i in 0..f.len() {
            let y = ys.binary_search(&from[i]).expect("listed");
            let x = xs.binary_search(&to[i]).expect("listed");
            values[y][x] = Some(n[i]);
            labels[y][x] = self.locale.count(n[i]);
        }
        Ok(Ok(self.chart(
            "migration",
            Word::Migration,
            Word::ToSegment,
            Word::FromSegment,
            ValueFormat::Count,
            Plot::Heatmap {
                x: xs.iter().map(|s| self.segment(s)).collect(),
                y: ys.iter().map(|s| self.segment(s)).collect(),
                values,
                labels,
                scale_max: None,
            },
        )))
    }

    fn clv_distribution(&self) -> Result<std::result::Result<Chart, String>> {
        let f = match self.frame("report_clv_distribution", "clv_customer") {
            Ok(f) => f,
            Err(m) => return Ok(Err(m)),
        };
        let (bin, n) = (f.floats("bin")?, f.floats("customers")?);
        let top = bin.iter().fold(0f64, |m, b| m.max(*b)) as usize;
        let mut counts = vec![0.0; top + 1];
        for (b, c) in bin.iter().zip(&n) {
            counts[*b as usize] += c;
        }
        // Bin k >= 1 starts at 10^((k-1)/2): two bins per decade.
        let categories = (0..=top)
            .map(|b| match b {
                0 => "<1".to_string(),
                _ => self
                    .locale
                    .compact(round_2_significant(10f64.powf((b - 1) as f64 / 2.0))),
            })
            .collect();
        let mut chart = self.chart(
            "clv_distribution",
            Word::ClvDistribution,
            Word::ClvRange,
            Word::Customers,
            ValueFormat::Count,
            Plot::Bars {
                categories,
                series: vec![Series {
                    name: self.t(Word::Customers),
                    values: counts,
                    colour: None,
                }],
                horizontal: false,
                stacked: false,
            },
        );
        chart.x_label = format!(
            "{}, {} ({})",
            chart.x_label,
            self.locale.sign(),
            self.t(Word::LogScale)
        );
        Ok(Ok(chart))
    }

    fn clv_budget(&self) -> Result<std::result::Result<Chart, String>> {
        let f = match self.frame("report_clv_budget", "clv_segment") {
            Ok(f) => f,
            Err(m) => return Ok(Err(m)),
        };
        let mut chart = self.chart(
            "clv_budget",
            Word::Budget,
            Word::Money,
            Word::Segment,
            ValueFormat::Money,
            Plot::Bars {
                categories: f
                    .strings("segment")?
                    .iter()
                    .map(|s| self.segment(s))
                    .collect(),
                series: vec![
                    Series {
                        name: self.t(Word::BudgetSeries),
                        values: f.floats("total_budget")?,
                        colour: None,
                    },
                    Series {
                        name: self.t(Word::PlannedCost),
                        values: f.floats("total_cost")?,
                        colour: None,
                    },
                ],
                horizontal: true,
                stacked: false,
            },
        );
        chart.x_label = format!("{}, {}", chart.x_label, self.locale.sign());
        Ok(Ok(chart))
    }

    /// The funnel of the largest groups of one kind; returns the chart and
    /// how many groups were left out.
    fn funnel(
        &self,
        kind: &str,
        id: &str,
        title: Word,
    ) -> Result<(std::result::Result<Chart, String>, usize)> {
        let f = match self.frame("report_funnel", "funnel_stage") {
            Ok(f) => f,
            Err(m) => return Ok((Err(m), 0)),
        };
        let (by, group, stage_no, stage, entered, share) = (
            f.strings("grouped_by")?,
            f.strings("group")?,
            f.floats("stage_no")?,
            f.strings("stage")?,
            f.floats("entered")?,
            f.floats("share_of_first")?,
        );
        let mut stages: BTreeMap<i64, String> = BTreeMap::new();
        let mut groups: BTreeMap<String, BTreeMap<i64, (f64, f64)>> = BTreeMap::new();
        for i in (0..f.len()).filter(|&i| by[i] == kind) {
            let s = stage_no[i] as i64;
            stages.insert(s, stage[i].clone());
            groups
                .entry(group[i].clone())
                .or_default()
                .insert(s, (entered[i], share[i]));
        }
        let first = stages.keys().next().copied().unwrap_or(1);
        let mut ranked: Vec<(&String, f64)> = groups
            .iter()
            .map(|(g, s)| (g, s.get(&first).map_or(0.0, |v| v.0)))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        let left_out = ranked.len().saturating_sub(FUNNEL_LINES);
        let series = ranked
            .iter()
            .take(FUNNEL_LINES)
            .map(|(g, _)| Series {
                name: (*g).clone(),
                values: stages
                    .keys()
                    .map(|s| groups[*g].get(s).map_or(f64::NAN, |v| v.1))
                    .collect(),
                colour: None,
            })
            .collect();
        Ok((
            Ok(self.chart(
                id,
                title,
                Word::Stage,
                Word::ShareOfFirst,
                ValueFormat::Percent,
                Plot::Lines {
                    categories: stages.into_values().collect(),
                    series,
                },
            )),
            left_out,
        ))
    }

    fn traffic_light(&self) -> Result<std::result::Result<Chart, String>> {
        let f = match self.frame("report_traffic_light", "traffic_light") {
            Ok(f) => f,
            Err(m) => return Ok(Err(m)),
        };
        let clients = f.floats("clients")?;
        let share = |col: &str| -> Result<Vec<f64>> {
            Ok(f.floats(col)?
                .iter()
                .zip(&clients)
                .map(|(n, c)| if *c > 0.0 { n / c } else { 0.0 })
                .collect())
        };
        Ok(Ok(self.chart(
            "traffic_light",
            Word::TrafficLight,
            Word::ShareOfClients,
            Word::Manager,
            ValueFormat::Percent,
            Plot::Bars {
                categories: f.strings("manager_id")?,
                series: vec![
                    Series {
                        name: self.t(Word::Green),
                        values: share("green")?,
                        colour: Some(Light::Green),
                    },
                    Series {
                        name: self.t(Word::Yellow),
                        values: share("yellow")?,
                        colour: Some(Light::Yellow),
                    },
                    Series {
                        name: self.t(Word::Red),
                        values: share("red")?,
                        colour: Some(Light::Red),
                    },
                ],
                horizontal: true,
                stacked: true,
            },
        )))
    }

    /// The manager KPI table: a row per manager, a cell per metric with its
    /// value, trend arrow and norm colour.
    fn manager_table(&self) -> Result<Option<String>> {
        let Some(Some(f)) = self.inputs.get("report_manager_trends") else {
            return Ok(None);
        };
        if f.is_empty() {
            return Ok(None);
        }
        let (manager, team, metric, value, trend, colour) = (
            f.strings("manager_id")?,
            f.strings("team")?,
            f.strings("metric")?,
            f.floats("value")?,
            f.strings("trend")?,
            f.strings("colour")?,
        );
        let shown = [
            "clients",
            "green_share",
            "red_share",
            "overdue_interactions",
            "touches_per_client",
            "conversion",
            "win_rate",
        ];
        let mut rows: BTreeMap<(String, String), BTreeMap<&str, String>> = BTreeMap::new();
        for i in 0..f.len() {
            let Some(m) = shown.iter().find(|m| **m == metric[i]) else {
                continue;
            };
            let v = if m.ends_with("_share") || *m == "conversion" || *m == "win_rate" {
                self.locale.percent(value[i])
            } else if *m == "touches_per_client" {
                self.locale.number(value[i], 1)
            } else {
                self.locale.count(value[i])
            };
            let bg = match colour[i].as_str() {
                "green" => Light::Green.css(),
                "yellow" => Light::Yellow.css(),
                "red" => Light::Red.css(),
                _ => "transparent",
            };
            let cell = format!(
                "<td class=\"kpi\" style=\"background:{bg}\" data-colour=\"{}\">{} <span class=\"trend\">{}</span></td>",
                esc(&colour[i]),
                esc(&v),
                esc(&trend[i])
            );
            rows.entry((manager[i].clone(), team[i].clone()))
                .or_default()
                .insert(m, cell);
        }
        let mut html = String::from("<table class=\"kpis\"><thead><tr>");
        let _ = write!(
            html,
            "<th>{}</th><th></th>",
            esc(self.locale.t(Word::Manager))
        );
        for m in shown {
            let _ = write!(html, "<th>{}</th>", esc(metric_name(self.locale, m)));
        }
        html.push_str("</tr></thead><tbody>");
        for ((mgr, team), cells) in rows {
            let _ = write!(html, "<tr><th>{}</th><td>{}</td>", esc(&mgr), esc(&team));
            for m in shown {
                html.push_str(cells.get(m).map_or("<td></td>", String::as_str));
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table>");
        Ok(Some(html))
    }

    fn cohorts(&self) -> Result<std::result::Result<Chart, String>> {
        let f = match self.frame("report_cohorts", "cohort_retention") {
            Ok(f) => f,
            Err(m) => return Ok(Err(m)),
        };
        let (cohort, since, retention) = (
            f.strings("cohort_month")?,
            f.floats("months_since")?,
            f.floats("retention")?,
        );
        let mut ys: Vec<String> = cohort.iter().map(|c| c.chars().take(7).collect()).collect();
        ys.dedup();
        let width = since.iter().fold(0f64, |m, v| m.max(*v)) as usize + 1;
        let mut values = vec![vec![None; width]; ys.len()];
        let mut labels = vec![vec![String::new(); width]; ys.len()];
        for i in 0..f.len() {
            let month: String = cohort[i].chars().take(7).collect();
            let y = ys.iter().position(|c| *c == month).expect("listed");
            let x = since[i] as usize;
            values[y][x] = Some(retention[i]);
            labels[y][x] = format!("{:.0}", retention[i] * 100.0);
        }
        Ok(Ok(self.chart(
            "cohort_retention",
            Word::Cohorts,
            Word::MonthsSince,
            Word::CohortMonth,
            ValueFormat::Percent,
            Plot::Heatmap {
                x: (0..width).map(|m| m.to_string()).collect(),
                y: ys,
                values,
                labels,
                // Month 0 is 100% by construction: colour by the later months.
                scale_max: Some(
                    since
                        .iter()
                        .zip(&retention)
                        .filter(|(s, _)| **s >= 1.0)
                        .fold(0f64, |m, (_, r)| m.max(*r)),
                )
                .filter(|m| *m > 0.0),
            },
        )))
    }

    fn holdout(&self) -> Result<std::result::Result<Chart, String>> {
        let f = match self.frame("report_clv_holdout", "clv_validation") {
            Ok(f) => f,
            Err(m) => return Ok(Err(m)),
        };
        Ok(Ok(self.chart(
            "clv_holdout",
            Word::Holdout,
            Word::CalibrationPurchases,
            Word::HoldoutPurchases,
            ValueFormat::Number(2),
            Plot::Bars {
                categories: f.strings("frequency")?,
                series: vec![
                    Series {
                        name: self.t(Word::Predicted),
                        values: f.floats("predicted")?,
                        colour: None,
                    },
                    Series {
                        name: self.t(Word::Actual),
                        values: f.floats("actual")?,
                        colour: None,
                    },
                ],
                horizontal: false,
                stacked: false,
            },
        )))
    }
}

/// 3.1623 → 3.2, 316.23 → 320: bin edges read better rounded.
fn round_2_significant(v: f64) -> f64 {
    if v <= 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(v.log10().floor() as i32 - 1);
    (v / scale).round() * scale
}

fn metric_name(locale: &Locale, metric: &str) -> &'static str {
    let (ru, en) = match metric {
        "clients" => ("Клиенты", "Clients"),
        "green_share" => ("Зелёные", "Green"),
        "red_share" => ("Красные", "Red"),
        "overdue_interactions" => ("Просрочено дел", "Overdue"),
        "touches_per_client" => ("Касаний на клиента", "Touches per client"),
        "conversion" => ("Конверсия", "Conversion"),
        "win_rate" => ("Доля выигранных", "Win rate"),
        _ => ("", ""),
    };
    match locale.lang {
        crate::locale::Lang::Ru => ru,
        crate::locale::Lang::En => en,
    }
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Dashboard {
    /// Builds every section from the report queries' rows.
    /// `segment_names` maps segment codes to their Russian names.
    pub fn build(
        as_of: &str,
        generated_at: &str,
        inputs: &Inputs,
        locale: &Locale,
        segment_names: &BTreeMap<String, String>,
    ) -> Result<Dashboard> {
        let b = Builder {
            inputs,
            locale,
            as_of,
            segment_names,
        };
        let mut headline = Vec::new();
        if let Some(Some(f)) = inputs.get("report_headline")
            && !f.is_empty()
        {
            let one = |c: &str| -> Result<f64> { Ok(f.floats(c)?[0]) };
            headline.push((b.t(Word::Customers), locale.count(one("customers")?)));
            headline.push((b.t(Word::NetRevenue), locale.money(one("net_revenue")?)));
            headline.push((
                b.t(Word::AnonymousReceipts),
                format!(
                    "{} ({})",
                    locale.count(one("anonymous_receipts")?),
                    locale.money(one("anonymous_revenue")?)
                ),
            ));
        }
        let mut freshness = Vec::new();
        if let Some(Some(f)) = inputs.get("report_freshness") {
            let (t, l, r, n) = (
                f.strings("table_name")?,
                f.strings("last_load")?,
                f.floats("rows_loaded")?,
                f.floats("loads")?,
            );
            for i in 0..f.len() {
                freshness.push(Freshness {
                    table: t[i].clone(),
                    last_load: l[i].replace('T', " ").chars().take(19).collect(),
                    rows_loaded: r[i],
                    loads: n[i],
                });
            }
        }

        let mut sections = vec![
            b.section(
                "rfm_heatmap",
                Word::RfHeatmap,
                "rfm_customer",
                b.rf_heatmap()?,
            ),
            b.section("segments", Word::Segments, "rfm_segment", b.segments()?),
            b.section(
                "migration",
                Word::Migration,
                "rfm_migration",
                b.migration()?,
            ),
            b.section(
                "clv_distribution",
                Word::ClvDistribution,
                "clv_customer",
                b.clv_distribution()?,
            ),
            b.section("clv_budget", Word::Budget, "clv_segment", b.clv_budget()?),
        ];
        for (kind, id, title) in [
            ("manager", "funnel_manager", Word::FunnelManager),
            ("source", "funnel_source", Word::FunnelSource),
        ] {
            let (chart, left_out) = b.funnel(kind, id, title)?;
            let mut s = b.section(id, title, "funnel_stage", chart);
            if left_out > 0 {
                s.note = Some(match locale.lang {
                    crate::locale::Lang::Ru => format!(
                        "Показаны {FUNNEL_LINES} крупнейших по входу в воронку; ещё {left_out} — в витрине funnel_stage"
                    ),
                    crate::locale::Lang::En => format!(
                        "The {FUNNEL_LINES} largest by funnel entries are shown; {left_out} more are in the funnel_stage mart"
                    ),
                });
            }
            sections.push(s);
        }
        let mut light = b.section(
            "traffic_light",
            Word::TrafficLight,
            "traffic_light",
            b.traffic_light()?,
        );
        light.table_html = b.manager_table()?;
        sections.push(light);
        sections.push(b.section(
            "cohort_retention",
            Word::Cohorts,
            "cohort_retention",
            b.cohorts()?,
        ));
        sections.push(b.section("clv_holdout", Word::Holdout, "clv_validation", b.holdout()?));

        Ok(Dashboard {
            as_of: as_of.into(),
            generated_at: generated_at.into(),
            locale: locale.clone(),
            headline,
            freshness,
            sections,
        })
    }

    /// Writes `dashboard.html`, `summary.md`, `charts.json` and
    /// `charts/<id>.png|svg` into `dir` (which must exist).
    pub fn write(&self, dir: &Path) -> Result<Written> {
        let charts_dir = dir.join("charts");
        std::fs::create_dir_all(&charts_dir)?;
        let mut charts = Vec::new();
        let mut svgs = BTreeMap::new();
        for c in self.sections.iter().filter_map(|s| s.chart.as_ref()) {
            let svg = c
                .to_svg(&self.locale)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            let png = c
                .to_png(&self.locale)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            for (ext, bytes) in [("svg", svg.as_bytes()), ("png", &png[..])] {
                let p = charts_dir.join(format!("{}.{ext}", c.id));
                std::fs::write(&p, bytes)?;
                charts.push(p);
            }
            svgs.insert(c.id.clone(), svg);
        }
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Invalid(format!("charts.json: {e}")))?;
        std::fs::write(dir.join("charts.json"), json)?;
        let html = dir.join("dashboard.html");
        std::fs::write(&html, self.html(&svgs))?;
        let markdown = dir.join("summary.md");
        std::fs::write(&markdown, self.markdown())?;
        Ok(Written {
            html,
            markdown,
            charts,
            missing: self
                .sections
                .iter()
                .filter(|s| s.chart.is_none())
                .map(|s| s.id.clone())
                .collect(),
        })
    }

    fn html(&self, svgs: &BTreeMap<String, String>) -> String {
        let l = &self.locale;
        let font = base64::engine::general_purpose::STANDARD.encode(FONT_TTF);
        let lang = match l.lang {
            crate::locale::Lang::Ru => "ru",
            crate::locale::Lang::En => "en",
        };
        let mut h = String::with_capacity(font.len() + 400_000);
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{} — {} {}</title><style>\
             @font-face{{font-family:\"{FONT_FAMILY}\";src:url(data:font/ttf;base64,{font}) format(\"truetype\");}}\
             {CSS}</style></head><body>",
            esc(l.t(Word::DashboardTitle)),
            esc(l.t(Word::AsOf)),
            esc(&self.as_of)
        );
        let _ = write!(
            h,
            "<header><h1>{} <span class=\"asof\" id=\"as-of\">{} {}</span></h1>\
             <p class=\"generated\">{}: {}</p>",
            esc(l.t(Word::DashboardTitle)),
            esc(l.t(Word::AsOf)),
            esc(&self.as_of),
            esc(l.t(Word::Generated)),
            esc(&self.generated_at)
        );
        if !self.headline.is_empty() {
            h.push_str("<dl class=\"headline\">");
            for (k, v) in &self.headline {
                let _ = write!(h, "<div><dt>{}</dt><dd>{}</dd></div>", esc(k), esc(v));
            }
            h.push_str("</dl>");
        }
        let _ = write!(
            h,
            "<details id=\"freshness\" open><summary>{}</summary><table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            esc(l.t(Word::Freshness)),
            esc(l.t(Word::Table)),
            esc(l.t(Word::LastLoad)),
            esc(l.t(Word::Rows))
        );
        for f in &self.freshness {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                esc(&f.table),
                esc(&f.last_load),
                esc(&l.count(f.rows_loaded))
            );
        }
        h.push_str("</tbody></table></details></header><main>");
        for s in &self.sections {
            let state = if s.chart.is_some() {
                "chart"
            } else {
                "missing"
            };
            let _ = write!(
                h,
                "<section id=\"{}\" class=\"{state}\" data-mart=\"{}\"><h2>{}</h2>",
                esc(&s.id),
                esc(&s.mart),
                esc(&s.title)
            );
            if let Some(c) = &s.chart {
                let svg = &svgs[&c.id];
                // The SVG is our own plotters output; only its XML prologue
                // is dropped so that it can sit inline.
                let body = svg.find("<svg").map_or(svg.as_str(), |i| &svg[i..]);
                let _ = write!(h, "<figure class=\"plot\">{body}</figure>");
            }
            if let Some(m) = &s.missing {
                let _ = write!(h, "<p class=\"no-data\">{}</p>", esc(m));
            }
            if let Some(n) = &s.note {
                let _ = write!(h, "<p class=\"note\">{}</p>", esc(n));
            }
            if let Some(t) = &s.table_html {
                h.push_str(t);
            }
            h.push_str("</section>");
        }
        h.push_str("</main></body></html>\n");
        h
    }

    fn markdown(&self) -> String {
        let l = &self.locale;
        let mut m = String::new();
        let _ = writeln!(
            m,
            "# {} — {} {}\n",
            l.t(Word::DashboardTitle),
            l.t(Word::AsOf),
            self.as_of
        );
        let _ = writeln!(m, "{}: {}\n", l.t(Word::Generated), self.generated_at);
        if !self.headline.is_empty() {
            let _ = writeln!(m, "## {}\n", l.t(Word::Headline));
            for (k, v) in &self.headline {
                let _ = writeln!(m, "- {k}: **{v}**");
            }
            m.push('\n');
        }
        let _ = writeln!(
            m,
            "## {}\n\n| {} | {} | {} |\n|---|---|---:|",
            l.t(Word::Freshness),
            l.t(Word::Table),
            l.t(Word::LastLoad),
            l.t(Word::Rows)
        );
        for f in &self.freshness {
            let _ = writeln!(
                m,
                "| {} | {} | {} |",
                f.table,
                f.last_load,
                l.count(f.rows_loaded)
            );
        }
        m.push('\n');
        for s in &self.sections {
            let _ = writeln!(m, "## {}\n", s.title);
            match &s.chart {
                Some(c) => {
                    let _ = writeln!(m, "![{}](charts/{}.png)\n", s.title, c.id);
                    m.push_str(&chart_table(c, l));
                }
                None => {
                    let _ = writeln!(m, "_{}_", s.missing.as_deref().unwrap_or_default());
                }
            }
            if let Some(n) = &s.note {
                let _ = writeln!(m, "\n{n}");
            }
            m.push('\n');
        }
        m
    }
}

/// A chart's numbers as a Markdown table (bars and lines; heatmaps are
/// too wide to read as text and are left to the picture).
fn chart_table(c: &Chart, l: &Locale) -> String {
    let (categories, series) = match &c.plot {
        Plot::Bars {
            categories, series, ..
        }
        | Plot::Lines { categories, series } => (categories, series),
        Plot::Heatmap { .. } => return String::new(),
    };
    let mut t = format!("| {} |", c.y_label.replace('|', "/"));
    let mut rule = String::from("|---|");
    for s in series {
        let _ = write!(t, " {} |", s.name.replace('|', "/"));
        rule.push_str("---:|");
    }
    let _ = writeln!(t, "\n{rule}");
    let label_axis_is_x = matches!(
        c.plot,
        Plot::Lines { .. }
            | Plot::Bars {
                horizontal: false,
                ..
            }
    );
    if label_axis_is_x {
        t = t.replacen(
            &c.y_label.replace('|', "/"),
            &c.x_label.replace('|', "/"),
            1,
        );
    }
    for (i, cat) in categories.iter().enumerate() {
        let _ = write!(t, "| {} |", cat.replace('|', "/"));
        for s in series {
            let v = s.values[i];
            let cell = if v.is_finite() {
                l.value(v, c.format)
            } else {
                String::new()
            };
            let _ = write!(t, " {cell} |");
        }
        t.push('\n');
    }
    t
}

const CSS: &str = "\
body{font-family:\"DejaVu Sans\",sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}\
header{background:#fff;padding:16px 24px;border-bottom:1px solid #d0d7de}\
h1{font-size:24px;margin:0 0 4px}h1 .asof{font-weight:normal;color:#57606a}\
.generated{color:#57606a;margin:0 0 12px;font-size:13px}\
.headline{display:flex;gap:24px;flex-wrap:wrap;margin:0 0 12px}\
.headline div{background:#f6f8fa;padding:8px 12px;border-radius:6px}\
.headline dt{font-size:12px;color:#57606a}.headline dd{margin:0;font-size:20px}\
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(640px,1fr));gap:16px;padding:16px 24px}\
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 16px;overflow-x:auto}\
section h2{font-size:17px;margin:0 0 8px}\
figure{margin:0}figure svg{width:100%;height:auto}\
.no-data{color:#57606a;font-style:italic;padding:24px 0}\
.note{color:#57606a;font-size:12px}\
table{border-collapse:collapse;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #eaeef2;text-align:left}\
td.num,td.kpi{text-align:right;white-space:nowrap}td.kpi .trend{font-weight:bold}\
";

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::locale::Lang;

    fn frame(name: &str, cols: Vec<(&str, arrow::array::ArrayRef)>) -> Option<Frame> {
        let schema = Arc::new(Schema::new(
            cols.iter()
                .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        let batch =
            RecordBatch::try_new(schema.clone(), cols.into_iter().map(|c| c.1).collect()).unwrap();
        Some(Frame::new(name, schema, vec![batch]))
    }

    fn ints(v: &[i64]) -> arrow::array::ArrayRef {
        Arc::new(Int64Array::from(v.to_vec()))
    }
    fn floats(v: &[f64]) -> arrow::array::ArrayRef {
        Arc::new(Float64Array::from(v.to_vec()))
    }
    fn strs(v: &[&str]) -> arrow::array::ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    #[test]
    fn rf_cells_hold_customers_and_label_revenue() {
        let mut inputs = Inputs::new();
        inputs.insert(
            "report_rf_grid".into(),
            frame(
                "report_rf_grid",
                vec![
                    ("r", ints(&[1, 2])),
                    ("f", ints(&[1, 2])),
                    ("customers", ints(&[7, 3])),
                    ("revenue", floats(&[1500.0, 25000.0])),
                ],
            ),
        );
        let d = Dashboard::build(
            "2026-11-21",
            "now",
            &inputs,
            &Locale::new(Lang::En, "RUB"),
            &BTreeMap::new(),
        )
        .unwrap();
        let s = &d.sections[0];
        let Some(Chart {
            plot: Plot::Heatmap { values, labels, .. },
            ..
        }) = &s.chart
        else {
            panic!("heatmap expected, got {s:?}")
        };
        assert_eq!(values, &vec![vec![Some(7.0), None], vec![None, Some(3.0)]]);
        assert_eq!(labels[1][1], "3\n25k");
        // every other section says what is missing rather than drawing
        for s in &d.sections[1..] {
            assert!(s.chart.is_none(), "{}", s.id);
            let m = s.missing.as_deref().unwrap();
            assert!(m.contains(&s.mart) || s.id == "migration", "{m}");
        }
    }

    #[test]
    fn funnels_keep_the_largest_groups_in_stage_order() {
        let mut rows = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for g in 0..10 {
            for (s, name) in [(1, "lead"), (2, "won")] {
                rows.0.push("manager");
                rows.1.push(format!("M{g:02}"));
                rows.2.push(s);
                rows.3.push(name);
                rows.4.push((100 + g * 10) / s);
                rows.5.push(1.0 / s as f64);
            }
        }
        let groups: Vec<&str> = rows.1.iter().map(String::as_str).collect();
        let mut inputs = Inputs::new();
        inputs.insert(
            "report_funnel".into(),
            frame(
                "report_funnel",
                vec![
                    ("grouped_by", strs(&rows.0)),
                    ("group", strs(&groups)),
                    ("stage_no", ints(&rows.2)),
                    ("stage", strs(&rows.3)),
                    ("entered", ints(&rows.4)),
                    ("share_of_first", floats(&rows.5)),
                ],
            ),
        );
        let d = Dashboard::build(
            "2026-11-21",
            "now",
            &inputs,
            &Locale::new(Lang::Ru, "RUB"),
            &BTreeMap::new(),
        )
        .unwrap();
        let s = d
            .sections
            .iter()
            .find(|s| s.id == "funnel_manager")
            .unwrap();
        let Some(Chart {
            plot: Plot::Lines { categories, series },
            ..
        }) = &s.chart
        else {
            panic!("lines expected")
        };
        assert_eq!(categories, &["lead", "won"]);
        assert_eq!(series.len(), FUNNEL_LINES);
        assert_eq!(series[0].name, "M09", "the largest group comes first");
        assert_eq!(series[0].values, vec![1.0, 0.5]);
        assert!(s.note.as_deref().unwrap().contains("ещё 2"));
        let src = d.sections.iter().find(|s| s.id == "funnel_source").unwrap();
        assert!(src.chart.is_none(), "no source rows: no empty axes");
        let _ = DataType::Utf8;
    }

    #[test]
    fn html_escapes_text_and_embeds_the_font() {
        assert_eq!(
            esc("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
        let d = Dashboard::build(
            "2026-11-21",
            "now",
            &Inputs::new(),
            &Locale::new(Lang::Ru, "RUB"),
            &BTreeMap::new(),
        )
        .unwrap();
        let html = d.html(&BTreeMap::new());
        assert!(
            html.contains("font/ttf;base64,AAEAAA"),
            "a TrueType font is inlined"
        );
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no network"
        );
        assert_eq!(html.matches("class=\"missing\"").count(), d.sections.len());
    }
}
