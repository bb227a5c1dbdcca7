//! Numbers, money and words the way a reader expects them: `1 234,56 ₽`
//! (no-break spaces, decimal comma) in Russian, `₽1,234.56` in English.
//!
//! ```
//! use crm_report::locale::{Lang, Locale};
//! let ru = Locale::new(Lang::Ru, "RUB");
//! assert_eq!(ru.money(1234.56), "1\u{a0}234,56\u{a0}₽");
//! let en = Locale::new(Lang::En, "RUB");
//! assert_eq!(en.money(-1234.5), "-₽1,234.50");
//! assert_eq!(en.percent(0.1234), "12.3%");
//! assert_eq!(ru.percent(0.1234), "12,3\u{a0}%");
//! ```

use serde::Serialize;

/// `--lang`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ru,
    En,
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "ru" => Ok(Lang::Ru),
            "en" => Ok(Lang::En),
            other => Err(format!("unknown language '{other}': expected ru or en")),
        }
    }
}

const NBSP: char = '\u{a0}';

/// The currency sign for an ISO code; codes without a well-known sign are
/// written as the code itself.
pub fn currency_sign(code: &str) -> &str {
    match code {
        "RUB" => "₽",
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "KZT" => "₸",
        "UAH" => "₴",
        "BYN" => "Br",
        "CNY" => "¥",
        other => other,
    }
}

/// A language plus a currency: everything needed to print a figure.
#[derive(Debug, Clone, Serialize)]
pub struct Locale {
    pub lang: Lang,
    pub currency: String,
}

impl Locale {
    pub fn new(lang: Lang, currency: &str) -> Locale {
        Locale {
            lang,
            currency: currency.to_string(),
        }
    }

    pub fn sign(&self) -> &str {
        currency_sign(&self.currency)
    }

    /// `value` with `decimals` digits, grouped in thousands.
    pub fn number(&self, value: f64, decimals: usize) -> String {
        if !value.is_finite() {
            return "—".into();
        }
        let raw = format!("{:.*}", decimals, value.abs());
        let (int, frac) = raw.split_once('.').unwrap_or((&raw, ""));
        let (group, point) = match self.lang {
            Lang::Ru => (NBSP, ','),
            Lang::En => (',', '.'),
        };
        let mut out = String::new();
        // "-0.00" is noise: a value that rounds to zero has no sign.
        if value < 0.0 && raw.chars().any(|c| c.is_ascii_digit() && c != '0') {
            out.push('-');
        }
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i).is_multiple_of(3) {
                out.push(group);
            }
            out.push(c);
        }
        if !frac.is_empty() {
            out.push(point);
            out.push_str(frac);
        }
        out
    }

    /// A whole count: `12 345` / `12,345`.
    pub fn count(&self, value: f64) -> String {
        self.number(value, 0)
    }

    /// Money with two decimals and the currency sign in the local position.
    pub fn money(&self, value: f64) -> String {
        let n = self.number(value, 2);
        match self.lang {
            Lang::Ru => format!("{n}{NBSP}{}", self.sign()),
            Lang::En => {
                // A bare ISO code reads better apart: "CHF 5.00", but "$5.00".
                let sign = match self.sign() {
                    s if s == self.currency => format!("{s} "),
                    s => s.to_string(),
                };
                match n.strip_prefix('-') {
                    Some(abs) => format!("-{sign}{abs}"),
                    None => format!("{sign}{n}"),
                }
            }
        }
    }

    /// A share (0.123) as a percentage with one decimal.
    pub fn percent(&self, share: f64) -> String {
        let n = self.number(share * 100.0, 1);
        match self.lang {
            Lang::Ru => format!("{n}{NBSP}%"),
            Lang::En => format!("{n}%"),
        }
    }

    /// A short axis label: 1.2k / 3.4M (1,2 тыс. / 3,4 млн in Russian).
    pub fn compact(&self, value: f64) -> String {
        let a = value.abs();
        let (scaled, suffix) = match self.lang {
            Lang::Ru if a >= 1e9 => (value / 1e9, " млрд"),
            Lang::Ru if a >= 1e6 => (value / 1e6, " млн"),
            Lang::Ru if a >= 1e4 => (value / 1e3, " тыс."),
            Lang::En if a >= 1e9 => (value / 1e9, "B"),
            Lang::En if a >= 1e6 => (value / 1e6, "M"),
            Lang::En if a >= 1e4 => (value / 1e3, "k"),
            _ => (value, ""),
        };
        let decimals = if suffix.is_empty() && a < 10.0 && a.fract() != 0.0 {
            2
        } else if suffix.is_empty() || scaled.abs() >= 100.0 {
            0
        } else {
            1
        };
        let mut n = self.number(scaled, decimals);
        // 10,0 тыс. → 10 тыс.; 3,20 → 3,2
        let point = if self.lang == Lang::Ru { ',' } else { '.' };
        if n.contains(point) {
            n = n.trim_end_matches('0').trim_end_matches(point).to_string();
        }
        format!("{n}{}", suffix.replace(' ', "\u{a0}"))
    }

    /// Formats a value the way `format` says.
    pub fn value(&self, value: f64, format: ValueFormat) -> String {
        match format {
            ValueFormat::Count => self.count(value),
            ValueFormat::Money => self.money(value),
            ValueFormat::Percent => self.percent(value),
            ValueFormat::Number(d) => self.number(value, d as usize),
        }
    }

    /// The word for `key` in this language.
    pub fn t(&self, key: Word) -> &'static str {
        let (ru, en) = key.pair();
        match self.lang {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }
}

/// How the figures of a chart are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueFormat {
    Count,
    Money,
    /// A share in 0..1, shown as a percentage.
    Percent,
    Number(u8),
}

macro_rules! words {
    ($($name:ident => $ru:literal, $en:literal;)*) => {
        /// Every fixed text of the reports, in both languages.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Word { $($name),* }
        impl Word {
            /// (Russian, English).
            pub fn pair(self) -> (&'static str, &'static str) {
                match self { $(Word::$name => ($ru, $en)),* }
            }
        }
    };
}

words! {
    DashboardTitle => "Клиентская аналитика", "Customer analytics";
    AsOf => "на дату", "as of";
    Freshness => "Свежесть данных", "Data freshness";
    Table => "Таблица", "Table";
    LastLoad => "Последняя загрузка", "Last load";
    Rows => "Строк", "Rows";
    Generated => "Сформирован", "Generated";
    Missing => "Нет данных", "No data";
    MissingHint => "витрина не рассчитана на эту дату; запустите", "the mart was not computed for this date; run";
    Customers => "Клиенты", "Customers";
    Revenue => "Выручка", "Revenue";
    NetRevenue => "Чистая выручка", "Net revenue";
    AnonymousReceipts => "Анонимные чеки (без клиента, только в выручке)", "Anonymous receipts (no customer; revenue totals only)";
    Headline => "Главное", "Headline";
    RfHeatmap => "RFM: клиенты и выручка по ячейкам R×F", "RFM: customers and revenue per R×F cell";
    RecencyScore => "Давность (R), балл", "Recency (R), score";
    FrequencyScore => "Частота (F), балл", "Frequency (F), score";
    Segments => "Сегменты: доля клиентов и выручки", "Segments: share of customers and revenue";
    Segment => "Сегмент", "Segment";
    ShareOfCustomers => "Доля клиентов", "Share of customers";
    ShareOfRevenue => "Доля выручки", "Share of revenue";
    SharePct => "Доля, %", "Share, %";
    Migration => "Переходы между сегментами", "Segment migration";
    FromSegment => "Был в сегменте", "From segment";
    ToSegment => "Стал", "To segment";
    NoPrevious => "Предыдущего среза нет: переходы появятся после второго ночного расчёта", "No earlier snapshot: migration appears after the second nightly run";
    ClvDistribution => "Распределение CLV", "CLV distribution";
    Clv => "CLV", "CLV";
    Budget => "Бюджет против плановой стоимости контактов", "Budget vs planned contact cost";
    BudgetSeries => "Бюджет", "Budget";
    PlannedCost => "Плановая стоимость контактов", "Planned contact cost";
    Money => "Сумма", "Amount";
    FunnelManager => "Воронка по менеджерам", "Funnel per manager";
    FunnelSource => "Воронка по источникам", "Funnel per source";
    Stage => "Этап", "Stage";
    ShareOfFirst => "Дошли до этапа, % от первого", "Reached the stage, % of the first";
    TrafficLight => "Светофор менеджеров", "Manager traffic light";
    Manager => "Менеджер", "Manager";
    ShareOfClients => "Доля клиентов, %", "Share of clients, %";
    Green => "Зелёные", "Green";
    Yellow => "Жёлтые", "Yellow";
    Red => "Красные", "Red";
    Metric => "Показатель", "Metric";
    Value => "Значение", "Value";
    Previous => "Прошлый период", "Previous period";
    Trend => "Тренд", "Trend";
    Cohorts => "Удержание когорт по месяцу первой покупки", "Cohort retention by month of first purchase";
    CohortMonth => "Месяц первой покупки", "Month of first purchase";
    MonthsSince => "Месяцев после первой покупки", "Months since first purchase";
    Holdout => "Проверка модели CLV на отложенном периоде", "CLV model holdout check";
    CalibrationPurchases => "Повторных покупок в калибровке", "Repeat purchases in calibration";
    HoldoutPurchases => "Покупок в отложенном периоде на клиента", "Holdout purchases per customer";
    Predicted => "Прогноз", "Predicted";
    Actual => "Факт", "Actual";
    Count => "Количество", "Count";
    ClvRange => "CLV клиента", "Customer CLV";
    LogScale => "логарифмическая шкала", "log scale";
    Charts => "Графики", "Charts";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_groups_with_no_break_spaces_and_a_decimal_comma() {
        let ru = Locale::new(Lang::Ru, "RUB");
        assert_eq!(ru.number(1234567.891, 2), "1\u{a0}234\u{a0}567,89");
        assert_eq!(ru.number(999.0, 0), "999");
        assert_eq!(ru.number(-0.001, 2), "0,00");
        assert_eq!(ru.money(0.0), "0,00\u{a0}₽");
        assert_eq!(ru.count(100_000.0), "100\u{a0}000");
    }

    #[test]
    fn english_groups_with_commas() {
        let en = Locale::new(Lang::En, "USD");
        assert_eq!(en.number(1234567.891, 2), "1,234,567.89");
        assert_eq!(en.money(1234.56), "$1,234.56");
        assert_eq!(en.compact(2_500_000.0), "2.5M");
        assert_eq!(en.compact(0.25), "0.25");
        let ru = Locale::new(Lang::Ru, "RUB");
        assert_eq!(ru.compact(2_500_000.0), "2,5\u{a0}млн");
        assert_eq!(ru.compact(10_000.0), "10\u{a0}тыс.");
        assert_eq!(en.compact(3.2), "3.2");
        assert_eq!(en.compact(1500.0), "1,500");
    }

    #[test]
    fn unknown_currencies_print_their_code() {
        let en = Locale::new(Lang::En, "CHF");
        assert_eq!(en.money(5.0), "CHF 5.00");
        assert_eq!("EN".parse::<Lang>(), Ok(Lang::En));
        assert!("de".parse::<Lang>().is_err());
    }
}
