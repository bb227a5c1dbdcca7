//! Running `crm` against a temporary warehouse.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Crm {
    pub dir: Scratch,
    /// A warehouse URL and the environment that reaches it, used instead of
    /// `dir/wh` (the object-storage tests).
    pub remote: Option<Remote>,
}

pub struct Remote {
    pub url: String,
    pub env: Vec<(String, String)>,
}

/// The test's scratch folder: temporary, or kept for other test processes
/// to share (nextest runs each test in its own process).
pub enum Scratch {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl Scratch {
    pub fn path(&self) -> &Path {
        match self {
            Scratch::Temp(t) => t.path(),
            Scratch::Kept(p) => p,
        }
    }
}

impl Crm {
    pub fn new() -> Crm {
        Crm {
            dir: Scratch::Temp(tempfile::tempdir().expect("temp dir")),
            remote: None,
        }
    }

    /// A crm whose warehouse is the object-store `url`, reached with `env`.
    pub fn remote(url: &str, env: &[(String, String)]) -> Crm {
        Crm {
            remote: Some(Remote {
                url: url.into(),
                env: env.to_vec(),
            }),
            ..Crm::new()
        }
    }

    /// A crm whose scratch folder is `dir`, kept after the test.
    pub fn kept(dir: PathBuf) -> Crm {
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Crm {
            dir: Scratch::Kept(dir),
            remote: None,
        }
    }

    pub fn warehouse(&self) -> PathBuf {
        self.dir.path().join("wh")
    }

    /// A file in the test's scratch folder.
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).expect("write fixture");
        p
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
        match &self.remote {
            Some(r) => {
                c.arg("--warehouse").arg(&r.url);
                c.envs(r.env.iter().map(|(k, v)| (k, v)));
            }
            None => {
                c.arg("--warehouse").arg(self.warehouse());
            }
        }
        c.env_remove("CRM_WAREHOUSE");
        c
    }

    /// Runs crm with `args`; returns the output whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("crm runs")
    }

    /// Runs crm and insists on `code`; returns stdout.
    pub fn ok(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "crm {args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// `crm gen` of `transactions` ending on `end_date`, with `seed`, quietly.
    pub fn generate(&self, transactions: &str, end_date: &str, seed: &str) {
        self.ok(
            0,
            &[
                "gen",
                "--transactions",
                transactions,
                "--end-date",
                end_date,
                "--seed",
                seed,
                "-q",
            ],
        );
    }

    /// Exports every mart as Parquet into `<scratch>/marts/` and returns that folder.
    pub fn export_marts(&self) -> PathBuf {
        let dir = self.dir.path().join("marts");
        std::fs::create_dir(&dir).expect("a fresh marts folder");
        let dir_arg = dir.to_str().expect("a UTF-8 path").to_string();
        self.ok(
            0,
            &["export", "marts", "--format", "parquet", "--out", &dir_arg],
        );
        dir
    }

    /// `crm sql QUERY --format csv`, as lines.
    pub fn sql(&self, query: &str) -> Vec<String> {
        self.ok(0, &["sql", query, "--format", "csv"])
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// The repository root (for sample_data/).
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The Python with the oracle packages, installed by scripts/test.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("CRM_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "the Python oracles are missing: run scripts/test (it creates .venv), or set CRM_PYTHON"
    );
    venv
}

/// Runs a Python script (`python -c`) with the oracle packages and the given
/// arguments; panics with its stderr if it fails, and returns its stdout.
pub fn python_ok(script: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts that two folders written by `crm export marts` hold the same
/// marts with the same rows (pandas; any order; floats to 1e-9 relative;
/// `run_id` differs by design). Returns one line per mart: name and rows.
pub fn same_marts(a: &Path, b: &Path) -> String {
    let script = r#"
import sys, glob, os
import pandas as pd
a, b = sys.argv[1], sys.argv[2]
marts = sorted(os.path.basename(d) for d in glob.glob(a + "/*"))
assert marts == sorted(os.path.basename(d) for d in glob.glob(b + "/*")), "different marts"
def read(x, m):
    files = sorted(glob.glob(f"{x}/{m}/*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files]).drop(columns=["run_id"])
for m in marts:
    fa, fb = read(a, m), read(b, m)
    keys = list(fa.columns)
    fa = fa.sort_values(keys, kind="stable").reset_index(drop=True)
    fb = fb.sort_values(keys, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(fa, fb, check_exact=False, rtol=1e-9)
    print(m, len(fa))
"#;
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(a)
        .arg(b)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
