//! A lock that keeps two nightly runs off one warehouse.
//!
//! The lock is a small JSON object at `_crm/locks/<name>.lock`, created with
//! a conditional put (create-if-absent), so it works the same on a local disk
//! and on object storage. It names its holder (host, pid, the process start
//! time, run id). A lock whose holder is gone (same host, that process no
//! longer exists) or whose heartbeat is older than the stale limit is taken
//! over; a live one makes the second run fail with exit code 4, or wait.

use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::{ObjectStoreExt, PutMode, PutOptions, UpdateVersion};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::location::Warehouse;

/// A lock held from another host (where we cannot see its process) for longer
/// than this is considered abandoned. On the same host the process check decides.
const STALE_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(6);
/// How often a waiting run looks again.
const WAIT_POLL: Duration = Duration::from_millis(500);

/// Who holds a lock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LockInfo {
    pub run_id: String,
    pub host: String,
    pub pid: u32,
    /// Start time of the holding process (Linux: jiffies since boot), so that a
    /// recycled pid is not mistaken for the holder.
    pub process_start: Option<u64>,
    pub acquired_at: DateTime<Utc>,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "run {} (pid {} on {}, since {})",
            self.run_id,
            self.pid,
            self.host,
            self.acquired_at.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// A held lock. Call [`LockGuard::release`]; if the process dies instead,
/// the next run detects the dead holder and takes the lock over.
#[derive(Debug)]
pub struct LockGuard {
    warehouse: Warehouse,
    path: String,
    pub info: LockInfo,
    released: bool,
}

impl LockGuard {
    pub async fn release(mut self) -> Result<()> {
        self.released = true;
        let path = self.warehouse.object_path(&self.path);
        match self.warehouse.store().delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // On an early return the lock must not outlive the run; a local file
        // can be removed synchronously, a remote one goes stale.
        if !self.released
            && let Some(root) = self.warehouse.local_root()
        {
            let _ = std::fs::remove_file(root.join(&self.path));
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown-host".into())
}

/// Start time of a process in clock ticks since boot (field 22 of
/// /proc/PID/stat); `None` when the process does not exist.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; count from after ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

impl LockInfo {
    fn mine(run_id: &str) -> LockInfo {
        let pid = std::process::id();
        LockInfo {
            run_id: run_id.into(),
            host: hostname(),
            pid,
            process_start: process_start(pid),
            acquired_at: Utc::now(),
        }
    }

    /// True when the holder is certainly gone or silent for too long.
    fn is_stale(&self) -> bool {
        if self.host != hostname() {
            return Utc::now() - self.acquired_at > STALE_AFTER;
        }
        match process_start(self.pid) {
            None => true,
            Some(start) => self.process_start.is_some_and(|s| s != start),
        }
    }
}

impl Warehouse {
    /// Takes the lock `name` for `run_id`. With `wait`, polls until the
    /// holder releases it; otherwise fails at once with [`Error::Locked`].
    pub async fn lock(&self, name: &str, run_id: &str, wait: bool) -> Result<LockGuard> {
        let relative = format!("_crm/locks/{name}.lock");
        let path = self.object_path(&relative);
        loop {
            let info = LockInfo::mine(run_id);
            let body = serde_json::to_vec_pretty(&info).expect("lock info serialises");
            let guard = |info| LockGuard {
                warehouse: self.clone(),
                path: relative.clone(),
                info,
                released: false,
            };
            let create = PutOptions {
                mode: PutMode::Create,
                ..PutOptions::default()
            };
            match self
                .store()
                .put_opts(&path, body.clone().into(), create)
                .await
            {
                Ok(_) => return Ok(guard(info)),
                Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            let found = match self.store().get(&path).await {
                Ok(found) => found,
                Err(object_store::Error::NotFound { .. }) => continue, // released meanwhile
                Err(e) => return Err(e.into()),
            };
            let seen = UpdateVersion {
                e_tag: found.meta.e_tag.clone(),
                version: found.meta.version.clone(),
            };
            let holder = serde_json::from_slice::<LockInfo>(&found.bytes().await?).ok();
            match holder {
                Some(h) if !h.is_stale() => {
                    if !wait {
                        return Err(Error::Locked(h));
                    }
                    tokio::time::sleep(WAIT_POLL).await;
                }
                // Stale or unreadable (a crash while writing it): take it over.
                // On object storage the takeover replaces exactly the object
                // read above (If-Match), so two runs taking over at once cannot
                // both win.
                _ => {
                    let replace = PutOptions {
                        mode: PutMode::Update(seen),
                        ..PutOptions::default()
                    };
                    match self.store().put_opts(&path, body.into(), replace).await {
                        Ok(_) => return Ok(guard(info)),
                        // Someone else took it over or released it: look again.
                        Err(
                            object_store::Error::Precondition { .. }
                            | object_store::Error::NotFound { .. },
                        ) => {}
                        // A local disk has no compare-and-swap: remove it, then
                        // race on the create-if-absent put.
                        Err(object_store::Error::NotImplemented { .. }) => {
                            match self.store().delete(&path).await {
                                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                                Err(e) => return Err(e.into()),
                            }
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
    }
}
