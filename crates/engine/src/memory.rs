//! `--memory-limit` and `[engine] memory_limit`: human byte sizes, and the
//! pool that enforces the limit.

use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

use crate::error::{Error, Result};

/// Parses `4GiB`, `512MiB`, `2G`, `1500M`, `1073741824`.
///
/// ```
/// assert_eq!(crm_engine::parse_byte_size("4GiB").unwrap(), 4 << 30);
/// assert_eq!(crm_engine::parse_byte_size("512 MB").unwrap(), 512 << 20);
/// ```
pub fn parse_byte_size(text: &str) -> Result<usize> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| {
        Error::Invalid(format!(
            "memory limit '{text}': expected a size like 4GiB or 512MiB"
        ))
    })?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0_f64.powi(4),
        other => {
            return Err(Error::Invalid(format!(
                "memory limit '{text}': unknown unit '{other}', use KiB, MiB, GiB or TiB"
            )));
        }
    };
    Ok((value * mult) as usize)
}

/// The pool behind `--memory-limit`: DataFusion's fair spill pool, with the
/// exchange buffers of `RepartitionExec` left out of the limit.
///
/// Under a limit, DataFusion 55 makes a repartition that cannot reserve
/// memory for a batch spill it to a file and hand the reader a marker; when
/// two inputs spill at once, the reader can wait on one file for a batch that
/// sits in the other, and every worker parks: the query never returns
/// (apache/datafusion#24883, fixed after 55). crm's nightly run hit it at 10^8
/// transactions under 4 GiB. Exchange buffers stay small on their own (a
/// repartition stops pulling while every output channel holds data), so they
/// are counted, but never refused; sorts, joins and aggregations, which hold
/// the bulk, still spill at the limit.
#[derive(Debug)]
pub(crate) struct LimitPool {
    inner: FairSpillPool,
    exchange: AtomicUsize,
}

impl LimitPool {
    pub(crate) fn new(limit: usize) -> LimitPool {
        LimitPool {
            inner: FairSpillPool::new(limit),
            exchange: AtomicUsize::new(0),
        }
    }
}

/// A repartition's per-channel reservation (`RepartitionExec[n]`).
fn is_exchange(consumer: &MemoryConsumer) -> bool {
    consumer.name().starts_with("RepartitionExec")
}

impl std::fmt::Display for LimitPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (+{} bytes of exchange buffers)",
            self.inner,
            self.exchange.load(Ordering::Relaxed)
        )
    }
}

impl MemoryPool for LimitPool {
    fn name(&self) -> &str {
        "crm_limit_pool"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        if !is_exchange(consumer) {
            self.inner.register(consumer);
        }
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        if !is_exchange(consumer) {
            self.inner.unregister(consumer);
        }
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        if is_exchange(reservation.consumer()) {
            self.exchange.fetch_add(additional, Ordering::Relaxed);
        } else {
            self.inner.grow(reservation, additional);
        }
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        if is_exchange(reservation.consumer()) {
            self.exchange.fetch_sub(shrink, Ordering::Relaxed);
        } else {
            self.inner.shrink(reservation, shrink);
        }
    }

    fn try_grow(
        &self,
        reservation: &MemoryReservation,
        additional: usize,
    ) -> datafusion::error::Result<()> {
        if is_exchange(reservation.consumer()) {
            self.exchange.fetch_add(additional, Ordering::Relaxed);
            Ok(())
        } else {
            self.inner.try_grow(reservation, additional)
        }
    }

    fn reserved(&self) -> usize {
        self.inner.reserved() + self.exchange.load(Ordering::Relaxed)
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn exchange_buffers_are_counted_but_never_refused() {
        let pool: Arc<dyn MemoryPool> = Arc::new(LimitPool::new(1000));
        let exchange = MemoryConsumer::new("RepartitionExec[0]")
            .with_can_spill(true)
            .register(&pool);
        let sort = MemoryConsumer::new("ExternalSorter[0]")
            .with_can_spill(true)
            .register(&pool);
        exchange.try_grow(5000).unwrap();
        assert_eq!(pool.reserved(), 5000);
        sort.try_grow(800).unwrap();
        assert!(sort.try_grow(800).is_err(), "sorts still meet the limit");
        drop(exchange);
        assert_eq!(pool.reserved(), 800);
    }
}
