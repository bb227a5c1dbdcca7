//! Bounded memory: the nightly marts under a memory limit far below what the
//! run uses otherwise spill to disk and come out the same as without a limit
//! (compared by pandas, floats to 1e-9 relative).

use crate::common::{Crm, same_marts};

const AS_OF: &str = "2026-06-30";

fn nightly(crm: &Crm, extra: &[&str]) -> serde_json::Value {
    crm.ok(
        0,
        &[
            "gen",
            "--transactions",
            "400000",
            "--end-date",
            AS_OF,
            "--seed",
            "5",
            "-q",
        ],
    );
    let mut args = vec!["run", "--as-of", AS_OF, "--format", "json"];
    args.extend(extra);
    serde_json::from_str(crm.ok(0, &args).trim()).expect("one JSON object")
}

#[test]
fn a_memory_limit_spills_and_changes_no_result() {
    let free = Crm::new();
    let bounded = Crm::new();
    let unlimited = nightly(&free, &[]);
    let limited = bounded
        .command()
        .args(["gen", "--transactions", "400000", "--end-date", AS_OF])
        .args(["--seed", "5", "-q"])
        .status()
        .unwrap();
    assert!(limited.success());
    let out = bounded
        .command()
        .args(["run", "--as-of", AS_OF, "--format", "json"])
        // Per-customer rows are parked on disk under a limit and read back in
        // one partition per core, so more sorts run (and reserve) at once:
        // 64 MiB no longer holds them at this size, 80 MiB does.
        .args(["--memory-limit", "80MiB"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let limited: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(unlimited["spilled_bytes"], 0, "no limit, no spill");
    let spilled = limited["spilled_bytes"].as_u64().unwrap();
    assert!(
        spilled > 1 << 16,
        "the limited run spilled only {spilled} bytes"
    );
    assert!(limited["spill_files"].as_u64().unwrap() > 0);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("spilled"),
        "the run says it spilled"
    );

    // Every mart, exported from both warehouses, holds the same rows.
    let compared = same_marts(&free.export_marts(), &bounded.export_marts());
    assert!(compared.lines().count() >= 10, "{compared}");
    assert!(compared.contains("rfm_customer"), "{compared}");
}

/// Under a limit the quantile scores come from spillable counts per distinct
/// value (`rfm_scores_quantile_bounded.sql`) instead of `quantile_edges`,
/// which holds every customer's values at once; both give the same scores,
/// over all customers and within market segments.
#[test]
fn rfm_scores_under_a_limit_equal_the_edge_scores() {
    let crm = Crm::new();
    crm.generate("200000", AS_OF, "7");
    let by_segment = crm.file("crm.toml", "[rfm]\nscore_within = \"market_segment\"\n");
    for config in [None, Some(by_segment.to_str().unwrap())] {
        let mut args: Vec<&str> = config.map_or(vec![], |c| vec!["--config", c]);
        args.extend(["rfm", "--as-of", AS_OF, "--per-customer", "--format", "csv"]);
        let free = crm.ok(0, &args);
        let limited: Vec<&str> = ["--memory-limit", "80MiB", "-vv"]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let out = crm.run(&limited);
        assert!(out.status.success(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("rfm_scores_quantile_bounded"),
            "the bounded scores ran"
        );
        // Rows come in no particular order.
        let sorted = |s: &str| {
            let mut lines: Vec<String> = s.lines().map(str::to_owned).collect();
            lines.sort_unstable();
            lines
        };
        let (free, bounded) = (
            sorted(&free),
            sorted(&String::from_utf8(out.stdout).unwrap()),
        );
        assert!(free.len() > 5000, "{}", free.len());
        assert_eq!(free.len(), bounded.len(), "config {config:?}");
        if let Some((a, b)) = free.iter().zip(&bounded).find(|(a, b)| a != b) {
            panic!("config {config:?}: without a limit\n{a}\nunder the limit\n{b}");
        }
    }
}
