//! End-to-end tests of the `crm` binary: what a user runs, checked against
//! numbers worked out by hand or by another engine.

mod buckets;
#[cfg(feature = "ballista")]
mod cluster;
mod clv;
mod common;
mod funnel;
mod load;
mod memory;
mod quality;
mod report;
mod rfm;
mod s3;
mod sql;
