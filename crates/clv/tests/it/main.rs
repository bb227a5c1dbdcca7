//! Integration tests: every expected number comes from `sample_data/clv/reference.json` (lifetimes
//! 0.11.3 and pymc-marketing 0.19.2 on CDNOW) or from the published papers, never from this crate.

mod bgbb;
mod bgnbd;
mod clv;
mod common;
mod edge_cases;
mod gamma_gamma;
mod mbgnbd;
mod pareto_nbd;
mod performance;
mod simulation;
mod validation;
