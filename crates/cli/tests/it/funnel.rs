//! The sales funnel against a fixture worked out by hand.
//!
//! Stages lead(1) qualified(2) proposal(3) negotiation(4) won(5), as of
//! 2024-06-30. Every time is 10:00, so spans are whole days.
//!
//! | interest | manager | history                                   | reached | outcome |
//! |----------|---------|-------------------------------------------|---------|---------|
//! | I1  | M1 | lead 01-01, qualified 01-03, proposal 01-06, negotiation 01-10, won 01-20 | 5 | won |
//! | I2  | M1 | lead 02-01                                 | 1 | lost at lead |
//! | I3  | M1 | lead 02-01, qualified 02-02                | 2 | lost at qualified |
//! | I4  | M2 | lead 03-01, qualified 03-02, proposal 03-04 | 3 | lost at proposal |
//! | I5  | M2 | amoCRM names: lead 03-01, qualified 03-03, negotiation 03-05 (proposal skipped), «Закрыто и не реализовано» 03-15 | 4 | lost at negotiation |
//! | I6  | M2 | lead 04-01, qualified 04-02, negotiation 04-05 (proposal skipped), won 04-11 | 5 | won |
//! | I7  | M1 | lead 04-01, qualified 04-03, qualified again 04-10 (reopened), proposal 04-12 | 3 | open |
//! | I8  | M1 | lead 06-01                                 | 1 | open |
//! | I9  | M2 | none; current stage won, closed 05-01, created 05-10 | 5 | won: won_before_created |
//! | I10 | M2 | none; current stage «Переговоры» (qualified) | 2 | open |
//! | I11 | M1 | lead 05-01, «Счёт выставлен» 05-03 (unknown) | 1 | open: unknown_stage |
//! | I12 | M1 | lead 05-01, qualified 05-05, proposal 05-04 (back-dated) | 3 | open: stages_out_of_order |
//! | I13 | M2 | lead 03-25, qualified 04-02               | 2 | lost at qualified |
//!
//! Cohort, all time: entered 13, 10, 7, 4, 3. Lost 1, 2, 1, 1, 0 (qualified
//! loses most); open 2, 1, 2, 0, 0; won 3. Win rate 3 / (3 + 5) = 0.375.
//! Days in lead (recorded, left): I1 2, I3 1, I4 1, I5 2, I6 1, I7 2, I12 3,
//! I13 8 → median 2, p90 2 + ... = 4.5 (linear interpolation: 3 + 0.3·5).
//! Days in qualified: I1 3, I4 2, I5 2, I6 3, I7 9 (I12's span is negative:
//! left out) → median 3, p90 3 + 0.6·6 = 6.6. Proposal: I1 4 (I5, I6 skipped
//! it: no timing). Negotiation: I1 10, I6 6 → median 8, p90 9.6.
//! Days to win: I1 19, I6 10 (I9 has none) → median 14.5, p90 18.1.
//! Velocity = 5 open × 1500 average won amount × 0.375 / 14.5 days.

use crate::common::Crm;

pub const INTERESTS: &str = "\
interest_id,customer_id,manager_id,source,created_at,amount,stage,outcome,closed_at
I1,C1,M1,web,2024-01-01 10:00:00,1000.00,won,won,2024-01-20 10:00:00
I2,C2,M1,web,2024-02-01 10:00:00,200.00,lead,lost,2024-02-05 10:00:00
I3,C3,M1,web,2024-02-01 10:00:00,300.00,qualified,lost,2024-02-10 10:00:00
I4,C4,M2,ads,2024-03-01 10:00:00,400.00,proposal,lost,2024-03-20 10:00:00
I5,C5,M2,ads,2024-03-01 10:00:00,500.00,Закрыто и не реализовано,lost,2024-03-15 10:00:00
I6,C6,M2,ads,2024-04-01 10:00:00,3000.00,won,won,2024-04-11 10:00:00
I7,C7,M1,web,2024-04-01 10:00:00,700.00,proposal,open,
I8,C8,M1,ads,2024-06-01 10:00:00,800.00,lead,open,
I9,C9,M2,web,2024-05-10 10:00:00,500.00,won,won,2024-05-01 10:00:00
I10,C10,M2,web,2024-05-15 10:00:00,100.00,Переговоры,open,
I11,C11,M1,web,2024-05-01 10:00:00,110.00,Счёт выставлен,open,
I12,C12,M1,web,2024-05-01 10:00:00,120.00,proposal,open,
I13,C13,M2,ads,2024-03-25 10:00:00,130.00,qualified,lost,2024-04-20 10:00:00
";

const STAGES: &str = "\
interest_id,stage,entered_at
I1,lead,2024-01-01 10:00:00
I1,qualified,2024-01-03 10:00:00
I1,proposal,2024-01-06 10:00:00
I1,negotiation,2024-01-10 10:00:00
I1,won,2024-01-20 10:00:00
I2,lead,2024-02-01 10:00:00
I3,lead,2024-02-01 10:00:00
I3,qualified,2024-02-02 10:00:00
I4,lead,2024-03-01 10:00:00
I4,qualified,2024-03-02 10:00:00
I4,proposal,2024-03-04 10:00:00
I5,Первичный контакт,2024-03-01 10:00:00
I5,Переговоры,2024-03-03 10:00:00
I5,Принимают решение,2024-03-05 10:00:00
I5,Закрыто и не реализовано,2024-03-15 10:00:00
I6,lead,2024-04-01 10:00:00
I6,qualified,2024-04-02 10:00:00
I6,negotiation,2024-04-05 10:00:00
I6,won,2024-04-11 10:00:00
I7,lead,2024-04-01 10:00:00
I7,qualified,2024-04-03 10:00:00
I7,qualified,2024-04-10 10:00:00
I7,proposal,2024-04-12 10:00:00
I8,lead,2024-06-01 10:00:00
I11,lead,2024-05-01 10:00:00
I11,Счёт выставлен,2024-05-03 10:00:00
I12,lead,2024-05-01 10:00:00
I12,qualified,2024-05-05 10:00:00
I12,proposal,2024-05-04 10:00:00
I13,lead,2024-03-25 10:00:00
I13,qualified,2024-04-02 10:00:00
";

pub fn load_interests(crm: &Crm, with_history: bool) {
    let f = crm.file("interests.csv", INTERESTS);
    crm.ok(0, &["load", "--table", "interests", f.to_str().unwrap()]);
    if with_history {
        let f = crm.file("interest_stages.csv", STAGES);
        crm.ok(
            0,
            &["load", "--table", "interest_stages", f.to_str().unwrap()],
        );
    }
}

/// CSV output as rows of (column → value).
/// Fields of one RFC 4180 line (quoted fields may hold commas and "").
fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

pub struct Csv {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Csv {
    pub fn parse(text: &str) -> Csv {
        let mut lines = text.lines();
        let header = lines
            .next()
            .expect("a header line")
            .split(',')
            .map(str::to_string)
            .collect();
        let rows = lines.map(split_csv_line).collect();
        Csv { header, rows }
    }

    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.header))
    }

    /// The values of `name` over the rows where `key` equals `value`.
    pub fn column_where(&self, name: &str, key: &str, value: &str) -> Vec<String> {
        let (c, k) = (self.col(name), self.col(key));
        self.rows
            .iter()
            .filter(|r| r[k] == value)
            .map(|r| r[c].clone())
            .collect()
    }

    pub fn column(&self, name: &str) -> Vec<String> {
        let c = self.col(name);
        self.rows.iter().map(|r| r[c].clone()).collect()
    }

    pub fn floats(&self, name: &str) -> Vec<Option<f64>> {
        self.column(name)
            .iter()
            .map(|v| (!v.is_empty()).then(|| v.parse().unwrap()))
            .collect()
    }
}

fn close(got: Option<f64>, want: f64) -> bool {
    // Days are computed from microsecond timestamps in floating point.
    got.is_some_and(|g| (g - want).abs() < 1e-4)
}

fn funnel(crm: &Crm, extra: &[&str]) -> Csv {
    let mut args = vec!["funnel", "--as-of", "2024-06-30", "--format", "csv"];
    args.extend_from_slice(extra);
    Csv::parse(&crm.ok(0, &args))
}

#[test]
fn the_cohort_funnel_matches_the_hand_computed_fixture() {
    let crm = Crm::new();
    load_interests(&crm, true);
    let f = funnel(&crm, &[]);
    assert_eq!(f.column("group"), vec!["all"; 5]);
    assert_eq!(
        f.column("stage"),
        vec!["lead", "qualified", "proposal", "negotiation", "won"]
    );
    let ints = |c: &str| {
        f.column(c)
            .iter()
            .map(|v| v.parse::<i64>().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(ints("entered"), vec![13, 10, 7, 4, 3]);
    assert_eq!(ints("advanced"), vec![10, 7, 4, 3, 0]);
    assert_eq!(ints("lost"), vec![1, 2, 1, 1, 0]);
    assert_eq!(ints("still_open"), vec![2, 1, 2, 0, 0]);
    assert_eq!(ints("won"), vec![0, 0, 0, 0, 3]);
    // Implied entries: I9 and I10 have no history; I5 and I6 skipped proposal.
    assert_eq!(ints("implied"), vec![2, 2, 3, 1, 1]);
    // Outcome accounting balances stage by stage.
    for i in 0..5 {
        assert_eq!(
            ints("entered")[i],
            ints("advanced")[i] + ints("lost")[i] + ints("still_open")[i] + ints("won")[i]
        );
    }
    let conv = f.floats("conversion_to_next");
    assert!(
        close(conv[0], 10.0 / 13.0)
            && close(conv[1], 0.7)
            && close(conv[2], 4.0 / 7.0)
            && close(conv[3], 0.75)
    );
    assert_eq!(conv[4], None);
    assert_eq!(
        f.column("most_lost"),
        vec!["false", "true", "false", "false", "false"]
    );
    assert!(close(f.floats("lost_rate")[1], 0.2));
    let med = f.floats("days_in_stage_median");
    let p90 = f.floats("days_in_stage_p90");
    assert!(close(med[0], 2.0) && close(p90[0], 4.5), "{med:?} {p90:?}");
    assert!(close(med[1], 3.0) && close(p90[1], 6.6), "{med:?} {p90:?}");
    assert!(close(med[2], 4.0) && close(p90[2], 4.0), "{med:?} {p90:?}");
    assert!(close(med[3], 8.0) && close(p90[3], 9.6), "{med:?} {p90:?}");
    assert_eq!(med[4], None);
    for row in 0..5 {
        assert!(close(f.floats("overall_conversion")[row], 3.0 / 13.0));
        assert!(close(f.floats("win_rate")[row], 0.375));
        assert!(close(f.floats("days_to_win_median")[row], 14.5));
        assert!(close(f.floats("days_to_win_p90")[row], 18.1));
        assert!(close(f.floats("avg_won_amount")[row], 1500.0));
        assert!(close(
            f.floats("sales_velocity")[row],
            5.0 * 1500.0 * 0.375 / 14.5
        ));
        assert_eq!(f.column("open_interests")[row], "5");
    }
}

#[test]
fn grouping_by_manager_and_source_splits_the_same_interests() {
    let crm = Crm::new();
    load_interests(&crm, true);
    let f = funnel(&crm, &["--by", "manager"]);
    assert_eq!(
        f.column_where("entered", "group", "M1"),
        vec!["7", "4", "3", "1", "1"]
    );
    assert_eq!(
        f.column_where("entered", "group", "M2"),
        vec!["6", "6", "4", "3", "2"]
    );
    assert_eq!(
        f.column_where("lost", "group", "M2"),
        vec!["0", "1", "1", "1", "0"]
    );
    let f = funnel(&crm, &["--by", "source", "--mode", "cohort"]);
    assert_eq!(
        f.column_where("entered", "group", "ads"),
        vec!["5", "4", "3", "2", "1"]
    );
    assert_eq!(
        f.column_where("entered", "group", "web"),
        vec!["8", "6", "4", "2", "2"]
    );
}

#[test]
fn grouping_by_month_takes_the_creation_month_or_the_entry_month() {
    let crm = Crm::new();
    load_interests(&crm, true);
    let entered_by_month = |mode: &str, expected: &[(&str, [&str; 5])]| {
        let f = funnel(&crm, &["--by", "month", "--mode", mode]);
        for (month, entered) in expected {
            assert_eq!(
                f.column_where("entered", "group", month),
                entered,
                "{mode} {month}"
            );
        }
        f
    };
    // Cohort: the month each interest was created. March holds I4, I5 and
    // I13 (created 03-25, qualified 04-02).
    let c = entered_by_month(
        "cohort",
        &[
            ("2024-01", ["1", "1", "1", "1", "1"]),
            ("2024-02", ["2", "1", "0", "0", "0"]),
            ("2024-03", ["3", "3", "2", "1", "0"]),
            ("2024-04", ["2", "2", "2", "1", "1"]),
            ("2024-05", ["4", "3", "2", "1", "1"]),
        ],
    );
    assert_eq!(c.column_where("entered", "group", "2024-06")[0], "1");
    // Activity: the month of each entry. I13's qualification moves to April;
    // I5's skipped proposal is implied on its negotiation day (03-05); I9
    // (no history, won before created) enters everything in May.
    entered_by_month(
        "activity",
        &[
            ("2024-03", ["3", "2", "2", "1", "0"]),
            ("2024-04", ["2", "3", "2", "1", "1"]),
            ("2024-05", ["4", "3", "2", "1", "1"]),
        ],
    );
}

#[test]
fn activity_mode_counts_entries_in_the_period_and_cohort_mode_creations() {
    let crm = Crm::new();
    load_interests(&crm, true);
    // Q2 (04-01..06-30): I13 was created in March but entered qualified on 04-02.
    let a = funnel(&crm, &["--mode", "activity", "--period", "quarter"]);
    assert_eq!(a.column("entered"), vec!["7", "6", "4", "2", "2"]);
    assert_eq!(a.column("lost"), vec!["0", "1", "0", "0", "0"]);
    assert_eq!(a.column("advanced"), vec!["5", "4", "2", "2", "0"]);
    let c = funnel(&crm, &["--mode", "cohort", "--period", "quarter"]);
    assert_eq!(c.column("entered"), vec!["7", "5", "4", "2", "2"]);
    assert_eq!(c.column("period_start"), vec!["2024-04-01"; 5]);
    // A cohort is followed up to as_of: as of 03-31 the Q1 cohort has not
    // seen I13's April entry, and its losses after 03-31 are still open.
    let early = Csv::parse(&crm.ok(
        0,
        &[
            "funnel",
            "--as-of",
            "2024-03-31",
            "--period",
            "quarter",
            "--format",
            "csv",
        ],
    ));
    assert_eq!(early.column("entered"), vec!["6", "4", "3", "2", "1"]);
    assert_eq!(early.column("still_open"), vec!["1", "0", "0", "0", "0"]);
    assert_eq!(early.column("lost"), vec!["1", "1", "1", "1", "0"]);
}

#[test]
fn without_stage_history_the_current_stage_implies_the_earlier_ones() {
    let crm = Crm::new();
    load_interests(&crm, false);
    let f = funnel(&crm, &[]);
    // I5's «Закрыто и не реализовано» says lost, not where: it counts as a lost lead.
    assert_eq!(f.column("entered"), vec!["13", "9", "6", "3", "3"]);
    assert_eq!(f.column("lost"), vec!["2", "2", "1", "0", "0"]);
    assert_eq!(f.column("implied"), vec!["13", "9", "6", "3", "3"]);
}

#[test]
fn the_drill_down_lists_the_interests_of_one_stage_and_manager() {
    let crm = Crm::new();
    load_interests(&crm, true);
    let d = Csv::parse(&crm.ok(
        0,
        &[
            "funnel",
            "drill",
            "--stage",
            "proposal",
            "--manager",
            "M1",
            "--as-of",
            "2024-06-30",
            "--format",
            "csv",
        ],
    ));
    let mut ids = d.column("interest_id");
    ids.sort();
    assert_eq!(ids, vec!["I1", "I12", "I7"]);
    assert_eq!(d.column_where("fate", "interest_id", "I7"), vec!["open"]);
    // An alias names the same stage.
    let d = Csv::parse(&crm.ok(
        0,
        &[
            "funnel",
            "drill",
            "--stage",
            "Принимают решение",
            "--as-of",
            "2024-06-30",
            "--format",
            "csv",
        ],
    ));
    let mut ids = d.column("interest_id");
    ids.sort();
    assert_eq!(ids, vec!["I1", "I5", "I6", "I9"]);
    let out = crm.run(&[
        "funnel",
        "drill",
        "--stage",
        "invoice",
        "--as-of",
        "2024-06-30",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a funnel stage"));
}

#[test]
fn data_problems_are_reported_and_the_interests_still_counted() {
    let crm = Crm::new();
    load_interests(&crm, true);
    let out = crm.ok(
        0,
        &[
            "funnel",
            "issues",
            "--as-of",
            "2024-06-30",
            "--format",
            "csv",
        ],
    );
    let i = Csv::parse(&out);
    let got: Vec<String> = i
        .rows
        .iter()
        .map(|r| format!("{} {}", r[i.col("interest_id")], r[i.col("issue")]))
        .collect();
    assert_eq!(
        got,
        vec![
            "I11 unknown_stage",
            "I12 stages_out_of_order",
            "I9 won_before_created"
        ]
    );
    assert!(out.contains("Счёт выставлен"), "{out}");
    let per = Csv::parse(&crm.ok(
        0,
        &[
            "funnel",
            "interests",
            "--as-of",
            "2024-06-30",
            "--format",
            "csv",
        ],
    ));
    assert_eq!(per.rows.len(), 13);
    assert_eq!(
        per.column_where("reopened", "interest_id", "I7"),
        vec!["true"]
    );
    assert_eq!(
        per.column_where("days_to_win", "interest_id", "I9"),
        vec![""]
    );
    assert_eq!(
        per.column_where("outcome", "interest_id", "I9"),
        vec!["won"]
    );
}

#[test]
fn without_implied_stages_only_recorded_ones_count() {
    let crm = Crm::new();
    load_interests(&crm, true);
    let cfg = crm.file("crm.toml", "[funnel]\nimply_skipped_stages = false\n");
    let f = Csv::parse(&crm.ok(
        0,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "funnel",
            "--as-of",
            "2024-06-30",
            "--format",
            "csv",
        ],
    ));
    // I9 (no history, won) enters only lead and won; I5 and I6 skipped
    // proposal. Every other entry is recorded, the first or the reached stage.
    assert_eq!(f.column("entered"), vec!["13", "9", "4", "3", "3"]);
}

/// On a million generated interests, every interest ends exactly once (lost
/// at a stage, won, or still open), each stage balances (entered equals
/// advanced, lost, open and won together), and the wins and the total agree
/// with the raw outcomes counted by pyarrow.
#[test]
fn outcome_accounting_balances_on_a_million_generated_interests() {
    let crm = Crm::new();
    let dir = crm.dir.path().join("gen");
    crm.ok(
        0,
        &[
            "gen",
            "--transactions",
            "1000000",
            "--customers",
            "5400000",
            "--end-date",
            "2026-06-30",
            "--dir",
            dir.to_str().unwrap(),
            "-q",
        ],
    );
    for table in ["interests", "interest_stages"] {
        let files: Vec<String> = std::fs::read_dir(dir.join(table))
            .unwrap()
            .map(|e| e.unwrap().path().to_string_lossy().into_owned())
            .collect();
        let mut args = vec!["load", "--table", table, "-q"];
        args.extend(files.iter().map(String::as_str));
        crm.ok(0, &args);
    }
    let f = Csv::parse(&crm.ok(0, &["funnel", "--as-of", "2026-06-30", "--format", "csv"]));
    let ints = |c: &str| -> Vec<i64> { f.column(c).iter().map(|v| v.parse().unwrap()).collect() };
    let (entered, advanced, lost, open, won) = (
        ints("entered"),
        ints("advanced"),
        ints("lost"),
        ints("still_open"),
        ints("won"),
    );
    for i in 0..entered.len() {
        assert_eq!(
            entered[i],
            advanced[i] + lost[i] + open[i] + won[i],
            "stage {i}"
        );
        if i > 0 {
            assert!(entered[i] <= entered[i - 1] + ints("implied")[i]);
        }
    }
    let ended: i64 = lost.iter().chain(&open).chain(&won).sum();
    assert_eq!(ended, entered[0], "every interest ends exactly once");

    let raw = std::process::Command::new(crate::common::python())
        .arg("-c")
        .arg(
            "import sys, collections, pyarrow.dataset as ds\n\
             c = collections.Counter(ds.dataset(sys.argv[1]).to_table(columns=['outcome']).column('outcome').to_pylist())\n\
             print(sum(c.values()), c['won'], c['lost'] + c['open'])",
        )
        .arg(dir.join("interests"))
        .output()
        .unwrap();
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    let raw: Vec<i64> = String::from_utf8(raw.stdout)
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(raw[0] >= 1_000_000, "only {} interests generated", raw[0]);
    assert_eq!(entered[0], raw[0], "every interest enters the first stage");
    assert_eq!(won.iter().sum::<i64>(), raw[1], "wins");
    assert_eq!(
        lost.iter().chain(&open).sum::<i64>(),
        raw[2],
        "losses and open interests"
    );
}
