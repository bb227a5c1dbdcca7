//! Regenerates `sample_data/exports/`: small, realistic exports with ids that
//! agree across files, and a few deliberately bad rows whose expected
//! quarantine codes are listed in that folder's README.
//!
//! ```sh
//! cargo run -p crm-ingest --example make_sample_exports -- sample_data/exports
//! ```
//!
//! The output is deterministic (a fixed-seed generator), so re-running it
//! gives byte-identical files and the tests' hand-worked counts stay true.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

/// A tiny deterministic generator (no dependency, stable across versions).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: [&str; 12] = [
    "Иван",
    "Мария",
    "Алексей",
    "Ольга",
    "Дмитрий",
    "Анна",
    "Сергей",
    "Елена",
    "Павел",
    "Татьяна",
    "Андрей",
    "Наталья",
];
const LAST: [&str; 10] = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Федоров",
];
const CITIES: [&str; 6] = [
    "Москва",
    "Санкт-Петербург",
    "Казань",
    "Екатеринбург",
    "Новосибирск",
    "Нижний Новгород",
];
const SEGMENTS: [&str; 3] = ["Розница", "Опт", "VIP"];
const MANAGERS: [i64; 8] = [101, 102, 103, 104, 105, 106, 107, 108];
const MANAGER_NAMES: [&str; 8] = [
    "Орлова Анна",
    "Громов Илья",
    "Белова Светлана",
    "Киселев Роман",
    "Лебедева Ксения",
    "Зайцев Олег",
    "Морозова Дарья",
    "Волков Артем",
];

const CUSTOMERS: u64 = 300;

fn customer_id(n: u64) -> String {
    format!("{n:06}")
}

fn person(rng: &mut Lcg) -> String {
    let last = rng.pick(&LAST);
    let first = rng.pick(&FIRST);
    // Russian surnames take -а for women; good enough for sample data.
    let female = first.ends_with('а') || first.ends_with('я');
    format!("{last}{} {first}", if female { "а" } else { "" })
}

fn phone(rng: &mut Lcg) -> (String, String) {
    let code = 900 + rng.below(90);
    let (a, b, c) = (rng.below(900) + 100, rng.below(90) + 10, rng.below(90) + 10);
    (
        format!("8 ({code}) {a}-{b}-{c}"),
        format!("+7 {code} {a}-{b}-{c}"),
    )
}

fn date(rng: &mut Lcg, year_from: i32, years: u64) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(year_from, 1, 1).unwrap()
        + chrono::Duration::days(rng.below(365 * years) as i64)
}

fn write_1251(path: &Path, text: &str) {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(text);
    assert!(
        !unmappable,
        "{}: text not representable in 1251",
        path.display()
    );
    std::fs::write(path, bytes).unwrap();
}

fn customers_1c(dir: &Path, rng: &mut Lcg) {
    let mut s = String::from(
        "Код клиента;Наименование;Телефон;Email;Дата рождения;Город;Сегмент рынка;Менеджер;Дата регистрации;Согласие на рассылку\n",
    );
    for n in 1..=CUSTOMERS {
        let name = person(rng);
        let (ph, _) = phone(rng);
        // Every 25th customer has a phone no one could dial: flagged, not refused.
        let ph = if n % 25 == 0 { "12-34".to_string() } else { ph };
        let email = if n % 7 == 0 {
            String::new()
        } else if n % 40 == 0 {
            format!("client{n}(at)mail.ru")
        } else {
            format!(" Client{n}@Mail.RU")
        };
        let birth = date(rng, 1960, 40).format("%d.%m.%Y");
        let reg = date(rng, 2021, 3).format("%d.%m.%Y");
        let consent = if rng.below(3) == 0 { "Нет" } else { "Да" };
        writeln!(
            s,
            "{};{};{};{};{};{};{};{};{};{}",
            customer_id(n),
            name,
            ph,
            email,
            birth,
            rng.pick(&CITIES),
            rng.pick(&SEGMENTS),
            MANAGERS[(n % 8) as usize],
            reg,
            consent
        )
        .unwrap();
        if n == 120 {
            // Excel turned a customer code into a date.
            s.push_str("01-May;Ковалев Игорь;8 (916) 555-01-01;;01.02.1980;Москва;Розница;101;01.03.2022;Да\n");
        }
        if n == 200 {
            // The same customer exported twice.
            writeln!(
                s,
                "{};Повтор Клиент;8 (916) 555-02-02;;;Москва;Розница;102;01.03.2022;Да",
                customer_id(10)
            )
            .unwrap();
        }
    }
    write_1251(&dir.join("1c_customers.csv"), &s);
}

fn money_1c(cents: i64) -> String {
    let neg = cents < 0;
    let c = cents.abs();
    let (int, frac) = (c / 100, c % 100);
    let digits = int.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(ch);
    }
    format!("{}{grouped},{frac:02}", if neg { "-" } else { "" })
}

fn receipts_1c(dir: &Path, rng: &mut Lcg) {
    let mut s =
        String::from("Магазин;Касса;Номер чека;Дата;Код клиента;Сумма;Себестоимость;Товар\n");
    for n in 1..=1000u64 {
        let store = format!("{:02}", 1 + rng.below(3));
        let register = 1 + rng.below(4);
        let when = date(rng, 2023, 2)
            .and_hms_opt(9 + rng.below(12) as u32, rng.below(60) as u32, 0)
            .unwrap();
        // One receipt in twenty is anonymous (no loyalty card).
        let customer = if n % 20 == 0 {
            String::new()
        } else {
            customer_id(1 + rng.below(CUSTOMERS))
        };
        let mut cents = (rng.below(2_000_000) + 5_000) as i64;
        if n % 50 == 0 {
            cents = -cents / 4; // a refund
        }
        let cost = cents * 6 / 10;
        let product = format!("SKU-{:05}", rng.below(500));
        writeln!(
            s,
            "{store};{register};{n};{};{customer};{};{};{product}",
            when.format("%d.%m.%Y %H:%M"),
            money_1c(cents),
            money_1c(cost)
        )
        .unwrap();
        match n {
            300 => s.push_str("01;2;90001;14.06.2024 12:00;000015;12,3,4;5,00;SKU-00001\n"),
            400 => s.push_str("02;1;90002;31.12.2030 10:00;000016;1 500,00;900,00;SKU-00002\n"),
            500 => s.push_str(&format!(
                "{store};{register};{n};{};{customer};{};{};{product}\n",
                when.format("%d.%m.%Y %H:%M"),
                money_1c(cents),
                money_1c(cost)
            )),
            600 => s.push_str("03;4;90003;20.07.2024 18:30;1.23E+11;2 000,00;1 200,00;SKU-00003\n"),
            _ => {}
        }
    }
    write_1251(&dir.join("1c_receipts.csv"), &s);
}

fn csv_quote(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

fn amocrm(dir: &Path, rng: &mut Lcg) {
    let mut s = String::from(
        "ID,Имя,Телефон,Email,Ответственный,Источник,Дата создания,Город,Код 1С,Должность,Теги\n",
    );
    for k in 1..=150u64 {
        let n = k * 2; // every other 1C customer is also in amoCRM
        let (a, _) = phone(rng);
        let (_, b) = phone(rng);
        let phones = match k % 5 {
            0 => format!("{a}, {b}"),
            1 => format!("{b}; {a}"),
            2 => format!("доб. 12, {a}"),
            _ => a,
        };
        let created = date(rng, 2022, 2)
            .and_hms_opt(rng.below(24) as u32, rng.below(60) as u32, 0)
            .unwrap();
        let tags = if k % 3 == 0 { "vip, опт" } else { "" };
        let row = [
            (4_000_000 + k).to_string(),
            person(rng),
            phones,
            format!("client{n}@example.ru"),
            MANAGER_NAMES[(n % 8) as usize].to_string(),
            rng.pick(&["Сайт", "Звонок", "Реклама", "Рекомендация"])
                .to_string(),
            created.format("%d.%m.%Y %H:%M:%S").to_string(),
            rng.pick(&CITIES).to_string(),
            customer_id(n),
            rng.pick(&["", "Директор", "Менеджер закупок"]).to_string(),
            tags.to_string(),
        ];
        let line: Vec<String> = row.iter().map(|v| csv_quote(v)).collect();
        s.push_str(&line.join(","));
        s.push('\n');
    }
    std::fs::write(dir.join("amocrm_contacts.csv"), &s).unwrap();

    let stages = [
        "Первичный контакт",
        "Переговоры",
        "Принимают решение",
        "Успешно реализовано",
        "Закрыто и не реализовано",
    ];
    let mut s = String::from(
        "ID сделки,Название,Этап,Бюджет,Ответственный,Код 1С,Дата создания,Дата закрытия,Источник\n",
    );
    for k in 1..=200u64 {
        let stage = if k == 77 {
            "Неразобранное"
        } else {
            rng.pick(&stages)
        };
        // Deals of 2023 only, so every closing date lies before the tests' clock.
        let created = date(rng, 2023, 1)
            .and_hms_opt(10, rng.below(60) as u32, 0)
            .unwrap();
        let closed = if stage.contains("реализовано") {
            (created + chrono::Duration::days(rng.below(60) as i64 + 1))
                .format("%d.%m.%Y %H:%M:%S")
                .to_string()
        } else {
            String::new()
        };
        let row = [
            (7_000_000 + k).to_string(),
            format!("Сделка #{k}"),
            stage.to_string(),
            format!("{}", (rng.below(500) + 10) * 1000),
            MANAGERS[(k % 8) as usize].to_string(),
            customer_id(2 * (1 + rng.below(150))),
            created.format("%d.%m.%Y %H:%M:%S").to_string(),
            closed,
            rng.pick(&["Сайт", "Звонок", "Реклама"]).to_string(),
        ];
        let line: Vec<String> = row.iter().map(|v| csv_quote(v)).collect();
        s.push_str(&line.join(","));
        s.push('\n');
    }
    std::fs::write(dir.join("amocrm_leads.csv"), &s).unwrap();
}

fn bitrix_xlsx(dir: &Path, rng: &mut Lcg) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    // A fixed creation time keeps the workbook byte-identical across runs.
    let created = rust_xlsxwriter::ExcelDateTime::parse_from_str("2025-01-01T00:00:00").unwrap();
    wb.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&created));
    let ws = wb.add_worksheet().set_name("Дела").unwrap();
    let fmt = rust_xlsxwriter::Format::new().set_num_format("dd.mm.yyyy hh:mm");
    let header = [
        "ID",
        "Тип",
        "Направление",
        "Статус",
        "Ответственный",
        "Клиент",
        "Крайний срок",
        "Дата выполнения",
        "Сделка",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for k in 1..=300u32 {
        let r = k;
        let status = if k == 150 {
            "В работе"
        } else {
            rng.pick(&["Выполнено", "Выполнено", "Запланировано", "Отменено"])
        };
        let planned = date(rng, 2024, 1)
            .and_hms_opt(9 + rng.below(9) as u32, 0, 0)
            .unwrap();
        ws.write_number(r, 0, f64::from(90_000 + k)).unwrap();
        ws.write_string(r, 1, rng.pick(&["Звонок", "Письмо", "Встреча"]))
            .unwrap();
        ws.write_string(r, 2, rng.pick(&["Входящий", "Исходящий"]))
            .unwrap();
        ws.write_string(r, 3, status).unwrap();
        ws.write_number(r, 4, MANAGERS[(k % 8) as usize] as f64)
            .unwrap();
        ws.write_string(r, 5, customer_id(1 + rng.below(CUSTOMERS)))
            .unwrap();
        let xl = rust_xlsxwriter::ExcelDateTime::parse_from_str(
            &planned.format("%Y-%m-%dT%H:%M:%S").to_string(),
        )
        .unwrap();
        ws.write_datetime_with_format(r, 6, &xl, &fmt).unwrap();
        if status == "Выполнено" {
            let done = planned + chrono::Duration::hours(rng.below(48) as i64);
            let xl = rust_xlsxwriter::ExcelDateTime::parse_from_str(
                &done.format("%Y-%m-%dT%H:%M:%S").to_string(),
            )
            .unwrap();
            ws.write_datetime_with_format(r, 7, &xl, &fmt).unwrap();
        }
        if k % 3 == 0 {
            ws.write_number(r, 8, f64::from(7_000_000 + 1 + k % 200))
                .unwrap();
        }
    }
    wb.save(dir.join("bitrix24_activities.xlsx")).unwrap();
}

fn web_jsonl(dir: &Path, rng: &mut Lcg) {
    let mut s = String::new();
    for k in 1..=200u64 {
        let when = date(rng, 2024, 1)
            .and_hms_opt(
                rng.below(24) as u32,
                rng.below(60) as u32,
                rng.below(60) as u32,
            )
            .unwrap();
        // Web timestamps are UTC, half with `Z`, half with an explicit offset.
        let ts = if k % 2 == 0 {
            format!("{}Z", when.format("%Y-%m-%dT%H:%M:%S"))
        } else {
            format!("{}+00:00", when.format("%Y-%m-%dT%H:%M:%S"))
        };
        let customer = if k % 10 == 0 {
            "null".to_string()
        } else {
            format!("\"{}\"", customer_id(1 + rng.below(CUSTOMERS)))
        };
        let amount = (rng.below(300_000) + 100) as f64 / 100.0;
        writeln!(
            s,
            r#"{{"order_id":"W-{k:05}","customer_id":{customer},"created":"{ts}","total":{amount},"utm_source":"{}"}}"#,
            rng.pick(&["google", "yandex", "email"])
        )
        .unwrap();
        if k == 100 {
            s.push_str("{\"order_id\":\"W-BROKEN\", \"total\": \n");
        }
    }
    std::fs::write(dir.join("web_orders.jsonl"), &s).unwrap();
}

fn managers_parquet(dir: &Path) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("manager_id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("team", DataType::Utf8, true),
        Field::new("market_segment", DataType::Utf8, true),
        Field::new("active", DataType::Boolean, true),
    ]));
    let teams: Vec<&str> = (0..8)
        .map(|i| {
            if i < 4 {
                "Москва"
            } else {
                "Регионы"
            }
        })
        .collect();
    let segs: Vec<&str> = (0..8).map(|i| SEGMENTS[i % 3]).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(MANAGERS.to_vec())),
            Arc::new(StringArray::from(MANAGER_NAMES.to_vec())),
            Arc::new(StringArray::from(teams)),
            Arc::new(StringArray::from(segs)),
            Arc::new(BooleanArray::from(
                (0..8).map(|i| i != 7).collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let file = std::fs::File::create(dir.join("pipeline_managers.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "sample_data/exports".into()),
    );
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Lcg(20_241_231);
    customers_1c(&dir, &mut rng);
    receipts_1c(&dir, &mut rng);
    amocrm(&dir, &mut rng);
    bitrix_xlsx(&dir, &mut rng);
    web_jsonl(&dir, &mut rng);
    managers_parquet(&dir);
    println!("wrote sample exports to {}", dir.display());
}
