//! The manager traffic light and summary against a fixture worked out by hand.
//!
//! As of 2024-06-30, warm_days 90 (warm from 2024-04-02), interests from the
//! funnel fixture (I1 won, I2..I5 lost, I7, I8, I10 open):
//!
//! | client | owner | interest | interactions | portrait | contact | warm | colour (rule) |
//! |---|---|---|---|---|---|---|---|
//! | C1 | M1 | I1 won | done 03-20 | 4/4 | phone | no | green (none) |
//! | C2 | M1 | I2 lost | done 06-15 | 4/4 | e-mail | yes | red (2: warm, no active interest) |
//! | C7 | M1 | I7 open | done 06-10 | 4/4 | e-mail | yes | green |
//! | C8 | M1 | I8 open | planned 06-20 not done; planned 06-25 done 07-02 | 4/4 | e-mail | yes | red (1: 2 overdue) |
//! | C3 | M2 | I3 lost | done 03-01 | 3/4 (no birth date) | e-mail | no | yellow (3) |
//! | C4 | M2 | I4 lost | — | 4/4 | invalid phone only | no | yellow (4) |
//! | C5 | M2 | I5 lost | planned 07-05; cancelled 06-01 | 4/4 | phone (e-mail invalid) | no | green |
//! | C10 | M2 | I10 open | planned 06-30 15:00 not done | 0/4 | none | yes | red (1) |
//! | C99 | none | | | | | | not in the report |

use crate::common::Crm;
use crate::funnel::{Csv, load_interests};

const CUSTOMERS: &str = "\
customer_id,full_name,email,phone,birth_date,city,market_segment,manager_id
C1,Иванов Иван,ivan@example.com,+79161234567,1980-01-01,Москва,Розница,M1
C2,Петров Пётр,petr@example.com,,1981-02-02,Москва,Розница,M1
C3,Сидоров Олег,sid@example.com,,,Казань,Опт,M2
C4,Кузнецов Илья,,12345,1983-04-04,Тверь,Опт,M2
C5,Смирнов Антон,not-an-email,+79161234568,1984-05-05,Тверь,Опт,M2
C7,Попов Павел,popov@example.com,,1985-06-06,Омск,HoReCa,M1
C8,Волков Максим,volkov@example.com,,1986-07-07,Омск,HoReCa,M1
C10,,,,,,,M2
C99,Без Менеджера,x@example.com,,1990-01-01,Москва,Розница,
";

const INTERACTIONS: &str = "\
interaction_id,customer_id,manager_id,kind,planned_at,completed_at,status
X1,C7,M1,call,2024-06-10 10:00:00,2024-06-10 10:30:00,done
X2,C8,M1,call,2024-06-20 10:00:00,,planned
X3,C8,M1,email,2024-06-25 10:00:00,2024-07-02 10:00:00,done
X4,C2,M1,meeting,2024-06-15 10:00:00,2024-06-15 11:00:00,done
X5,C3,M2,call,2024-03-01 10:00:00,2024-03-01 10:10:00,done
X6,C5,M2,call,2024-07-05 10:00:00,,planned
X7,C5,M2,email,2024-06-01 10:00:00,,cancelled
X8,C10,M2,call,2024-06-30 15:00:00,,planned
X9,C1,M1,call,2024-03-20 10:00:00,2024-03-20 10:05:00,done
";

const MANAGERS: &str = "\
manager_id,name,team
M1,Анна,Отдел 1
M2,Борис,Отдел 2
";

fn loaded() -> Crm {
    let crm = Crm::new();
    load_interests(&crm, true);
    for (table, body) in [
        ("customers", CUSTOMERS),
        ("interactions", INTERACTIONS),
        ("managers", MANAGERS),
    ] {
        let f = crm.file(&format!("{table}.csv"), body);
        crm.ok(0, &["load", "--table", table, f.to_str().unwrap()]);
    }
    crm
}

/// `customer colour active no_overdue portrait contact share warm failed rule` per row.
fn rows(csv: &Csv) -> Vec<String> {
    csv.rows
        .iter()
        .map(|r| {
            [
                "customer_id",
                "manager_id",
                "colour",
                "has_active_interest",
                "no_overdue_interaction",
                "portrait_filled",
                "contact_filled",
                "portrait_share",
                "warm",
                "rule_no",
                "overdue_interactions",
            ]
            .iter()
            .map(|c| r[csv.col(c)].as_str())
            .collect::<Vec<_>>()
            .join(" ")
        })
        .collect()
}

/// The `failed` column, which holds commas: the text between the quotes.
fn failed(out: &str, customer: &str) -> String {
    let line = out
        .lines()
        .find(|l| l.split(',').nth(1) == Some(customer))
        .unwrap_or_else(|| panic!("no row for {customer}"));
    match line.split_once('"') {
        Some((_, rest)) => rest.split('"').next().unwrap().to_string(),
        None => {
            let header: Vec<&str> = out.lines().next().unwrap().split(',').collect();
            let i = header.iter().position(|h| *h == "failed").unwrap();
            line.split(',').nth(i).unwrap().to_string()
        }
    }
}

#[test]
fn every_indicator_and_default_rule_matches_the_hand_computed_fixture() {
    let crm = loaded();
    let out = crm.ok(0, &["quality", "--as-of", "2024-06-30", "--format", "csv"]);
    let csv = Csv::parse(&out);
    assert_eq!(
        &csv.header[..9],
        [
            "manager_id",
            "customer_id",
            "colour",
            "has_active_interest",
            "no_overdue_interaction",
            "portrait_filled",
            "contact_filled",
            "portrait_share",
            "warm"
        ]
    );
    assert_eq!(
        rows(&csv),
        vec![
            "C1 M1 green false true true true 1.0 false  0",
            "C2 M1 red false true true true 1.0 true 2 0",
            "C7 M1 green true true true true 1.0 true  0",
            "C8 M1 red true false true true 1.0 true 1 2",
            "C10 M2 red true false false false 0.0 true 1 1",
            "C3 M2 yellow false true false true 0.75 false 3 0",
            "C4 M2 yellow false true true false 1.0 false 4 0",
            "C5 M2 green false true true true 1.0 false  0",
        ]
    );
    assert_eq!(failed(&out, "C1"), "has_active_interest");
    assert_eq!(failed(&out, "C7"), "");
    assert_eq!(
        failed(&out, "C10"),
        "no_overdue_interaction, portrait_filled, contact_filled"
    );
    assert_eq!(failed(&out, "C3"), "has_active_interest, portrait_filled");
    // --manager keeps one manager's clients.
    let m2 = Csv::parse(&crm.ok(
        0,
        &[
            "quality",
            "--manager",
            "M2",
            "--as-of",
            "2024-06-30",
            "--format",
            "csv",
        ],
    ));
    assert_eq!(m2.column("customer_id"), vec!["C10", "C3", "C4", "C5"]);
}

#[test]
fn rules_portrait_fields_and_warmth_come_from_the_config() {
    let crm = loaded();
    let cfg = crm.file(
        "custom.toml",
        "[traffic_light]\nportrait_fields = [\"full_name\", \"city\"]\nwarm_days = 120\n\
         [[traffic_light.rules]]\ncolour = \"yellow\"\nfailed = [\"no_overdue_interaction\"]\n\
         [[traffic_light.rules]]\ncolour = \"red\"\nfailed = [\"contact_filled\"]\n",
    );
    let out = crm.ok(
        0,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "quality",
            "--as-of",
            "2024-06-30",
            "--format",
            "csv",
        ],
    );
    let csv = Csv::parse(&out);
    let colour = |c: &str| csv.column_where("colour", "customer_id", c)[0].clone();
    assert_eq!(colour("C8"), "yellow");
    assert_eq!(colour("C10"), "yellow"); // the first matching rule wins
    assert_eq!(colour("C4"), "red");
    assert_eq!(colour("C3"), "green"); // birth date no longer required
    assert_eq!(
        csv.column_where("portrait_share", "customer_id", "C3"),
        vec!["1.0"]
    );
    // 120 days back from 07-01 is 03-03: C1's call on 03-20 makes it warm.
    assert_eq!(csv.column_where("warm", "customer_id", "C1"), vec!["true"]);
    // A rule that would match every client is refused.
    let bad = crm.file(
        "bad.toml",
        "[[traffic_light.rules]]\ncolour = \"red\"\nfailed = []\n",
    );
    let o = crm.run(&[
        "--config",
        bad.to_str().unwrap(),
        "quality",
        "--as-of",
        "2024-06-30",
    ]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn the_manager_summary_has_trends_and_norm_colours() {
    let crm = loaded();
    // M1 has its own green_share norm; everyone else the general one.
    let cfg = crm.file(
        "norms.toml",
        "[[traffic_light.norms]]\nmetric = \"green_share\"\nunacceptable = 0.6\ngoal = 0.9\n\
         [[traffic_light.norms]]\nmetric = \"green_share\"\nmanager = \"M1\"\nunacceptable = 0.4\ngoal = 0.5\n\
         [[traffic_light.norms]]\nmetric = \"done_interactions\"\nteam = \"Отдел 1\"\nunacceptable = 1\ngoal = 2\n\
         [[traffic_light.norms]]\nmetric = \"overdue_interactions\"\nunacceptable = 1\ngoal = 0\nhigher_is_better = false\n",
    );
    let out = crm.ok(
        0,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "quality",
            "summary",
            "--as-of",
            "2024-06-30",
            "--period",
            "month",
            "--format",
            "csv",
        ],
    );
    let csv = Csv::parse(&out);
    let get = |m: &str, metric: &str| -> String {
        let row = csv
            .rows
            .iter()
            .find(|r| r[csv.col("manager_id")] == m && r[csv.col("metric")] == metric)
            .unwrap_or_else(|| panic!("no {m} {metric} in {out}"));
        ["value", "previous", "trend", "colour"]
            .iter()
            .map(|c| row[csv.col(c)].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    // June: M1 green C1, C7 of 4. As of 05-31: C1 red (warm from 03-03 by the
    // 03-20 call, no open interest), C2, C7, C8 green → 0.75. Goal met but ↓.
    assert_eq!(get("M1", "green_share"), "0.5 0.75 ↓ yellow");
    assert_eq!(get("M1", "clients"), "4.0 4.0 → ");
    // Done in June: X1 call, X4 meeting (X3 was done in July); May: none.
    assert_eq!(get("M1", "done_interactions"), "2.0 0.0 ↑ green");
    assert_eq!(get("M1", "touches_per_client"), "0.5 0.0 ↑ ");
    assert_eq!(get("M1", "interactions_call"), "1.0 0.0 ↑ ");
    assert_eq!(get("M1", "overdue_interactions"), "2.0 0.0 ↑ red");
    // M2 in June: C5 green of 4 → 0.25, below the general norm's 0.6.
    assert_eq!(get("M2", "green_share").split(' ').nth(3), Some("red"));
    assert_eq!(
        get("M2", "overdue_interactions").split(' ').next(),
        Some("1.0")
    );
    // Interests created in June by M1: I8 (open) → conversion 0; closed in
    // June: none → no win rate.
    // May: I11, I12 created, both open by 05-31.
    assert_eq!(get("M1", "conversion"), "0.0 0.0 → ");
    assert_eq!(get("M1", "win_rate"), "   ");
}

#[test]
fn the_nightly_run_writes_the_four_marts_and_skips_them_without_inputs() {
    let tx = "transaction_id,customer_id,ts,amount\nt1,C1,2024-06-01 10:00:00,10.00\n";
    // Only transactions: the funnel and traffic-light marts are skipped.
    let bare = Crm::new();
    let f = bare.file("tx.csv", tx);
    bare.ok(0, &["load", "--table", "transactions", f.to_str().unwrap()]);
    bare.ok(0, &["run", "--as-of", "2024-06-30"]);
    let tables = bare.sql("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'funnel%' OR table_name LIKE 'traffic%' OR table_name LIKE 'manager_summary%'");
    assert_eq!(tables, vec!["table_name"], "no mart without its inputs");

    let crm = loaded();
    let f = crm.file("tx.csv", tx);
    crm.ok(0, &["load", "--table", "transactions", f.to_str().unwrap()]);
    crm.ok(0, &["run", "--as-of", "2024-06-30"]);
    let snapshot = |crm: &Crm| {
        (
            crm.sql("SELECT \"group\", grouped_by, stage, entered, advanced, lost, still_open, won FROM funnel_stage ORDER BY grouped_by, \"group\", stage_no"),
            crm.sql("SELECT * EXCEPT (run_id) FROM funnel_interest ORDER BY interest_id"),
            crm.sql("SELECT * EXCEPT (run_id) FROM traffic_light ORDER BY manager_id, customer_id"),
            crm.sql("SELECT * EXCEPT (run_id) FROM manager_summary ORDER BY manager_id, metric"),
        )
    };
    let first = snapshot(&crm);
    assert!(
        first.0.contains(&"all,all,lead,13,10,1,2,0".to_string()),
        "{:?}",
        first.0
    );
    assert!(
        first.0.contains(&"M2,manager,won,2,0,0,0,2".to_string()),
        "{:?}",
        first.0
    );
    assert_eq!(first.1.len(), 14);
    assert_eq!(first.2.len(), 9);
    assert!(first.3.len() > 20);
    let colours =
        crm.sql("SELECT colour, COUNT(*) FROM traffic_light GROUP BY colour ORDER BY colour");
    assert_eq!(
        colours,
        vec!["colour,count(*)", "green,3", "red,3", "yellow,2"]
    );
    crm.ok(0, &["run", "--as-of", "2024-06-30"]);
    assert_eq!(snapshot(&crm), first, "re-running a date changed the marts");
    // Another date is another partition with the same schema.
    crm.ok(0, &["run", "--as-of", "2024-05-31"]);
    let dates = crm.sql("SELECT as_of, COUNT(*) FROM traffic_light GROUP BY as_of ORDER BY as_of");
    assert_eq!(
        dates,
        vec!["as_of,count(*)", "2024-05-31,8", "2024-06-30,8"]
    );
}
