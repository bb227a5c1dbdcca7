//! Charts as data first, pictures second. A [`Chart`] holds exactly the
//! numbers it shows (tests check those, and `charts.json` carries them), and
//! renders the same picture to SVG (inlined in the dashboard) and PNG through
//! plotters, with the embedded DejaVu Sans font so that Cyrillic text looks
//! the same on a bare machine.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Serialize;

use crate::locale::{Locale, ValueFormat};

/// The font every chart is drawn with, embedded in the binary.
pub const FONT_FAMILY: &str = "DejaVu Sans";
/// DejaVu Sans (Bitstream Vera derived, free licence; see fonts/DejaVu-LICENSE.txt).
pub static FONT_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// Picture size of every chart, in pixels.
pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 540;

/// Chart rendering errors (plotters reports them as strings).
#[derive(Debug, thiserror::Error)]
#[error("cannot draw chart '{chart}': {message}")]
pub struct ChartError {
    pub chart: String,
    pub message: String,
}

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT_TTF)
            .unwrap_or_else(|_| panic!("the embedded {FONT_FAMILY} is a valid TrueType font"));
    });
}

/// One named series of values, aligned with the chart's categories.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
    /// A fixed colour (e.g. the traffic light's), else the palette's next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colour: Option<Light>,
}

/// The traffic-light colours.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Light {
    Green,
    Yellow,
    Red,
}

impl Light {
    fn rgb(self) -> RGBColor {
        match self {
            Light::Green => RGBColor(46, 160, 67),
            Light::Yellow => RGBColor(240, 190, 40),
            Light::Red => RGBColor(214, 39, 40),
        }
    }

    /// The CSS colour of the same light.
    pub fn css(self) -> &'static str {
        match self {
            Light::Green => "#2ea043",
            Light::Yellow => "#f0be28",
            Light::Red => "#d62728",
        }
    }
}

/// What kind of picture, with its data.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Plot {
    /// A grid of cells coloured by `values[y][x]`; `labels[y][x]` is printed
    /// in each cell. `None` is an empty cell (e.g. months not yet reached).
    /// The colour scale tops out at `scale_max` (default: the largest value).
    Heatmap {
        x: Vec<String>,
        y: Vec<String>,
        values: Vec<Vec<Option<f64>>>,
        labels: Vec<Vec<String>>,
        scale_max: Option<f64>,
    },
    /// Bars per category, one bar per series side by side (or stacked).
    Bars {
        categories: Vec<String>,
        series: Vec<Series>,
        horizontal: bool,
        stacked: bool,
    },
    /// One line per series over ordered categories.
    Lines {
        categories: Vec<String>,
        series: Vec<Series>,
    },
}

/// A chart: titles, axis labels with units, how values print, and the data.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Chart {
    /// Stable id: the file name of its PNG/SVG and the dashboard anchor.
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub format: ValueFormat,
    pub plot: Plot,
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

impl Chart {
    /// True when there is nothing to draw.
    pub fn is_empty(&self) -> bool {
        match &self.plot {
            Plot::Heatmap { values, .. } => values.iter().flatten().all(Option::is_none),
            Plot::Bars {
                categories, series, ..
            }
            | Plot::Lines { categories, series } => categories.is_empty() || series.is_empty(),
        }
    }

    /// The chart as a standalone SVG document.
    pub fn to_svg(&self, locale: &Locale) -> Result<String, ChartError> {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
            self.draw(&root, locale)?;
            root.present().map_err(|e| self.error(e))?;
        }
        Ok(svg)
    }

    /// The chart as a PNG image.
    pub fn to_png(&self, locale: &Locale) -> Result<Vec<u8>, ChartError> {
        let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
            self.draw(&root, locale)?;
            root.present().map_err(|e| self.error(e))?;
        }
        Ok(crate::png::encode_rgb(WIDTH, HEIGHT, &rgb))
    }

    fn error(&self, e: impl std::fmt::Display) -> ChartError {
        ChartError {
            chart: self.id.clone(),
            message: e.to_string(),
        }
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        locale: &Locale,
    ) -> Result<(), ChartError> {
        register_font();
        root.fill(&WHITE).map_err(|e| self.error(e))?;
        // With several series, a strip on the right holds the legend, so
        // that it never covers a bar or a line.
        let series = match &self.plot {
            Plot::Bars { series, .. } | Plot::Lines { series, .. } if series.len() > 1 => {
                Some(series)
            }
            _ => None,
        };
        let (plot, key) = match series {
            Some(_) => {
                let (p, k) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
                (p, Some(k))
            }
            None => (root.clone(), None),
        };
        if let (Some(series), Some(key)) = (series, key) {
            draw_legend(&key, series).map_err(|e| self.error(e))?;
        }
        let root = &plot;
        let result = match &self.plot {
            Plot::Heatmap {
                x,
                y,
                values,
                labels,
                scale_max,
            } => self.draw_heatmap(root, x, y, values, labels, *scale_max),
            Plot::Bars {
                categories,
                series,
                horizontal,
                stacked,
            } => self.draw_bars(root, locale, categories, series, *horizontal, *stacked),
            Plot::Lines { categories, series } => self.draw_lines(root, locale, categories, series),
        };
        result.map_err(|e| self.error(e))
    }

    fn caption(&self) -> TextStyle<'static> {
        (FONT_FAMILY, 22).into_font().color(&BLACK)
    }

    fn draw_heatmap<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        x: &[String],
        y: &[String],
        values: &[Vec<Option<f64>>],
        labels: &[Vec<String>],
        scale_max: Option<f64>,
    ) -> Result<(), String> {
        let (nx, ny) = (x.len().max(1), y.len().max(1));
        let longest_y = y.iter().map(|s| s.chars().count()).max().unwrap_or(1);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, self.caption())
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size((longest_y * 8 + 30).clamp(50, 220) as u32)
            .build_cartesian_2d(Slots(nx), Slots(ny))
            .map_err(msg)?;
        let axis_font = (FONT_FAMILY, 13).into_font();
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style(axis_font.clone())
            .axis_desc_style((FONT_FAMILY, 15))
            .x_label_formatter(&|v| label_at(x, *v))
            .y_label_formatter(&|v| label_at(y, *v))
            .draw()
            .map_err(msg)?;
        let max = scale_max.unwrap_or_else(|| {
            values
                .iter()
                .flatten()
                .flatten()
                .fold(0f64, |m, v| m.max(*v))
        });
        for (j, row) in values.iter().enumerate() {
            for (i, v) in row.iter().enumerate() {
                let Some(v) = v else { continue };
                let t = if max > 0.0 { v / max } else { 0.0 };
                let fill = heat(t);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(i as f64, j as f64), (i as f64 + 1.0, j as f64 + 1.0)],
                        fill.filled(),
                    )))
                    .map_err(msg)?;
                let text = labels
                    .get(j)
                    .and_then(|r| r.get(i))
                    .cloned()
                    .unwrap_or_default();
                if !text.is_empty() {
                    let ink = if t > 0.55 { WHITE } else { BLACK };
                    let size = if nx > 12 { 10 } else { 13 };
                    let style = (FONT_FAMILY, size)
                        .into_font()
                        .color(&ink)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    for (k, line) in text.lines().enumerate() {
                        let n = text.lines().count() as f64;
                        let dy = (k as f64 + 0.5) / n;
                        chart
                            .draw_series(std::iter::once(Text::new(
                                line.to_string(),
                                (i as f64 + 0.5, j as f64 + 1.0 - dy * 0.8 - 0.1),
                                style.clone(),
                            )))
                            .map_err(msg)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn draw_bars<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        locale: &Locale,
        categories: &[String],
        series: &[Series],
        horizontal: bool,
        stacked: bool,
    ) -> Result<(), String> {
        let n = categories.len().max(1);
        let top = if stacked {
            (0..categories.len())
                .map(|i| series.iter().map(|s| s.values[i].max(0.0)).sum::<f64>())
                .fold(0f64, f64::max)
        } else {
            series
                .iter()
                .flat_map(|s| s.values.iter().copied())
                .fold(0f64, f64::max)
        };
        let top = if top > 0.0 { top * 1.08 } else { 1.0 };
        let longest = categories
            .iter()
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(1);
        let fmt = |v: &f64| axis_value(locale, self.format, *v);
        // Many vertical bars: label every other one, so that labels never collide.
        let step = if !horizontal && n > 12 { 2 } else { 1 };
        let cat_label = |v: &f64| {
            let i = (v - 0.5).round() as usize;
            if i.is_multiple_of(step) {
                label_at(categories, *v)
            } else {
                String::new()
            }
        };
        // One coordinate type for both orientations: categories on one axis,
        // values on the other.
        let (x_axis, y_axis) = if horizontal {
            (Axis::Values((0f64..top).into()), Axis::Slots(n))
        } else {
            (Axis::Slots(n), Axis::Values((0f64..top).into()))
        };
        let (x_fmt, y_fmt): (&TickLabel, &TickLabel) = if horizontal {
            (&fmt, &cat_label)
        } else {
            (&cat_label, &fmt)
        };
        let category_area = (longest * 8 + 30).clamp(60, 260) as u32;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, self.caption())
            .margin(12)
            .margin_right(24)
            .x_label_area_size(match (horizontal, longest > 10) {
                (false, true) => 90,
                _ => 50,
            })
            .y_label_area_size(if horizontal { category_area } else { 80 })
            .build_cartesian_2d(x_axis, y_axis)
            .map_err(msg)?;
        let mut mesh = chart.configure_mesh();
        if horizontal {
            mesh.disable_y_mesh();
        } else {
            mesh.disable_x_mesh();
        }
        mesh.x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style((FONT_FAMILY, 13))
            .axis_desc_style((FONT_FAMILY, 15))
            .x_label_formatter(x_fmt)
            .y_label_formatter(y_fmt)
            .draw()
            .map_err(msg)?;
        for (k, s) in series.iter().enumerate() {
            let colour = series_colour(s, k);
            let rects = bar_rects(series, k, stacked)
                .into_iter()
                .map(|(i, lo, hi)| {
                    let (a, b) = slot(i, k, series.len(), stacked);
                    let corners = if horizontal {
                        [(lo, a), (hi, b)]
                    } else {
                        [(a, lo), (b, hi)]
                    };
                    Rectangle::new(corners, colour.filled())
                });
            chart.draw_series(rects).map_err(msg)?;
        }
        Ok(())
    }

    fn draw_lines<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        locale: &Locale,
        categories: &[String],
        series: &[Series],
    ) -> Result<(), String> {
        let n = categories.len().max(1);
        let top = series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .filter(|v| v.is_finite())
            .fold(0f64, f64::max);
        let top = if top > 0.0 { top * 1.08 } else { 1.0 };
        let fmt = |v: &f64| axis_value(locale, self.format, *v);
        let cat_label = |v: &f64| label_at(categories, *v);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, self.caption())
            .margin(12)
            .margin_right(24)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(Slots(n), 0f64..top)
            .map_err(msg)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style((FONT_FAMILY, 13))
            .axis_desc_style((FONT_FAMILY, 15))
            .x_label_formatter(&cat_label)
            .y_label_formatter(&fmt)
            .draw()
            .map_err(msg)?;
        for (k, s) in series.iter().enumerate() {
            let colour = series_colour(s, k);
            let points: Vec<(f64, f64)> = s
                .values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, v)| (i as f64 + 0.5, *v))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                .map_err(msg)?;
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, colour.filled())),
                )
                .map_err(msg)?;
        }
        Ok(())
    }
}

/// Width of the legend strip, in pixels.
const LEGEND_WIDTH: u32 = 180;

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    series: &[Series],
) -> Result<(), String> {
    let font = (FONT_FAMILY, 13).into_font().color(&BLACK);
    for (k, s) in series.iter().enumerate() {
        let y = 60 + 24 * k as i32;
        let colour = series_colour(s, k);
        area.draw(&Rectangle::new([(4, y), (18, y + 14)], colour.filled()))
            .map_err(msg)?;
        let name: String = if s.name.chars().count() > 20 {
            s.name.chars().take(19).chain(['…']).collect()
        } else {
            s.name.clone()
        };
        area.draw(&Text::new(name, (24, y), font.clone()))
            .map_err(msg)?;
    }
    Ok(())
}

fn msg(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A category axis: `n` slots of width 1, ticked at their centres, where bars
/// and cells take fractions of a slot.
struct Slots(usize);

impl Ranged for Slots {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let n = self.0.max(1) as f64;
        limit.0 + (v / n * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        (0..self.0).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..self.0.max(1) as f64
    }
}

impl ValueFormatter<f64> for Slots {
    fn format(v: &f64) -> String {
        v.to_string()
    }
}

/// Formats a tick of an axis.
type TickLabel<'a> = dyn Fn(&f64) -> String + 'a;

/// Either axis of a bar chart: category slots, or values with plotters' own
/// round-number ticks.
enum Axis {
    Slots(usize),
    Values(RangedCoordf64),
}

impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        match self {
            Axis::Slots(n) => Slots(*n).map(v, limit),
            Axis::Values(r) => r.map(v, limit),
        }
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        match self {
            Axis::Slots(n) => Slots(*n).key_points(hint),
            Axis::Values(r) => r.key_points(hint),
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        match self {
            Axis::Slots(n) => Slots(*n).range(),
            Axis::Values(r) => r.range(),
        }
    }
}

impl ValueFormatter<f64> for Axis {
    fn format(v: &f64) -> String {
        v.to_string()
    }
}

/// The category label whose slot centre is at `v`.
fn label_at(labels: &[String], v: f64) -> String {
    let i = (v - 0.5).round();
    if i >= 0.0 && (v - 0.5 - i).abs() < 1e-6 {
        labels.get(i as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

fn axis_value(locale: &Locale, format: ValueFormat, v: f64) -> String {
    match format {
        ValueFormat::Percent => locale.percent(v),
        _ => locale.compact(v),
    }
}

/// (category index, low, high) of each bar of series `k`.
fn bar_rects(series: &[Series], k: usize, stacked: bool) -> Vec<(usize, f64, f64)> {
    series[k]
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let base = if stacked {
                series[..k].iter().map(|s| s.values[i].max(0.0)).sum()
            } else {
                0.0
            };
            (i, base, base + v.max(0.0))
        })
        .collect()
}

/// The span of bar `k` of `of` within category slot `i`.
fn slot(i: usize, k: usize, of: usize, stacked: bool) -> (f64, f64) {
    let (pad, lanes, lane) = if stacked { (0.15, 1, 0) } else { (0.1, of, k) };
    let width = (1.0 - 2.0 * pad) / lanes as f64;
    let start = i as f64 + pad + lane as f64 * width;
    (start, start + width * 0.92)
}

fn series_colour(series: &Series, k: usize) -> RGBColor {
    series.colour.map_or(PALETTE[k % PALETTE.len()], Light::rgb)
}

/// A white-to-blue scale for heatmap cells, `t` in 0..1.
fn heat(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(239.0, 8.0), lerp(243.0, 69.0), lerp(255.0, 148.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locale::Lang;

    fn bars() -> Chart {
        Chart {
            id: "segments".into(),
            title: "Сегменты: доля клиентов".into(),
            x_label: "Доля, %".into(),
            y_label: "Сегмент".into(),
            format: ValueFormat::Percent,
            plot: Plot::Bars {
                categories: vec!["Чемпионы".into(), "Спящие".into()],
                series: vec![
                    Series {
                        name: "клиенты".into(),
                        values: vec![0.25, 0.75],
                        colour: None,
                    },
                    Series {
                        name: "выручка".into(),
                        values: vec![0.6, 0.4],
                        colour: None,
                    },
                ],
                horizontal: true,
                stacked: false,
            },
        }
    }

    #[test]
    fn svg_carries_cyrillic_text_in_the_embedded_family() {
        let svg = bars().to_svg(&Locale::new(Lang::Ru, "RUB")).unwrap();
        assert!(svg.contains("Чемпионы"));
        assert!(svg.contains("Сегменты: доля клиентов"));
        assert!(svg.contains(FONT_FAMILY));
        // one rectangle per bar (2 categories × 2 series) plus frame and legend
        assert!(svg.matches("<rect").count() >= 4);
    }

    #[test]
    fn png_is_drawn_in_several_colours() {
        let png = bars().to_png(&Locale::new(Lang::En, "RUB")).unwrap();
        let (w, h, rgb) = crate::png::decode_rgb(&png).unwrap();
        assert_eq!((w, h), (WIDTH, HEIGHT));
        let mut colours: Vec<[u8; 3]> = rgb.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
        colours.sort_unstable();
        colours.dedup();
        assert!(colours.contains(&[31, 119, 180]), "the first series colour");
        assert!(
            colours.contains(&[255, 127, 14]),
            "the second series colour"
        );
        // anti-aliased text adds many grey levels
        assert!(colours.len() > 20);
    }

    #[test]
    fn heatmaps_and_lines_render_with_gaps() {
        let locale = Locale::new(Lang::Ru, "RUB");
        let heat = Chart {
            id: "h".into(),
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            format: ValueFormat::Count,
            plot: Plot::Heatmap {
                x: vec!["1".into(), "2".into()],
                y: vec!["a".into()],
                values: vec![vec![Some(3.0), None]],
                labels: vec![vec!["3".into(), String::new()]],
                scale_max: None,
            },
        };
        assert!(!heat.is_empty());
        let svg = heat.to_svg(&locale).unwrap();
        assert!(
            svg.contains(">\n3\n</text>") || svg.contains(">3</text>"),
            "{svg}"
        );
        let lines = Chart {
            plot: Plot::Lines {
                categories: vec!["lead".into(), "won".into()],
                series: vec![Series {
                    name: "M1".into(),
                    values: vec![1.0, f64::NAN],
                    colour: Some(Light::Red),
                }],
            },
            ..heat.clone()
        };
        lines.to_png(&locale).unwrap();
        let empty = Chart {
            plot: Plot::Bars {
                categories: vec![],
                series: vec![],
                horizontal: false,
                stacked: false,
            },
            ..heat
        };
        assert!(empty.is_empty());
    }

    #[test]
    fn labels_sit_at_slot_centres_only() {
        let l = vec!["a".to_string(), "b".to_string()];
        assert_eq!(label_at(&l, 0.5), "a");
        assert_eq!(label_at(&l, 1.5), "b");
        assert_eq!(label_at(&l, 1.0), "");
        assert_eq!(label_at(&l, 2.5), "");
    }
}
