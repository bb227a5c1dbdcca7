//! Bounded memory: the nightly marts under a memory limit far below what the
//! run uses otherwise spill to disk and come out the same as without a limit
//! (compared by pandas, floats to 1e-9 relative).

use crate::common::{Crm, python};

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
        .args(["--memory-limit", "64MiB"])
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
    let (a, b) = (free.export_marts(), bounded.export_marts());
    let script = r#"
import sys, glob, os
import pandas as pd
a, b = sys.argv[1], sys.argv[2]
marts = sorted(os.path.basename(d) for d in glob.glob(a + "/*"))
assert marts == sorted(os.path.basename(d) for d in glob.glob(b + "/*")), "different marts"
for m in marts:
    fa, fb = [pd.read_parquet(glob.glob(f"{x}/{m}/*.parquet")[0]).drop(columns=["run_id"]) for x in (a, b)]
    keys = list(fa.columns)
    fa = fa.sort_values(keys, kind="stable").reset_index(drop=True)
    fb = fb.sort_values(keys, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(fa, fb, check_exact=False, rtol=1e-9)
    print(m, len(fa))
"#;
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let compared = String::from_utf8_lossy(&out.stdout);
    assert!(compared.lines().count() >= 10, "{compared}");
    assert!(compared.contains("rfm_customer"), "{compared}");
}
