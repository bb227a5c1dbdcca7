//! Managers: the sales staff who own customers. Each serves one market
//! segment, sits in a team, and has a hidden diligence in (0, 1) that drives
//! how well their deals convert and how many of their planned interactions
//! are left overdue. Some managers have left (`active = false`) but still own
//! customers, as happens in real bases.

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use rand::Rng;
use rand_distr::{Beta, Distribution};

use crate::customers::SEGMENTS;
use crate::error::Result;
use crate::names::manager_name;
use crate::rng::{Stream, stream};

/// Segments assigned to managers in turn, so that retail (most customers) gets
/// most managers and every segment has at least one once there are 8.
const SEGMENT_ROTATION: [usize; 8] = [0, 1, 2, 0, 3, 4, 1, 0];
/// Managers per team.
const TEAM_SIZE: u32 = 6;

/// One manager and their hidden behaviour.
#[derive(Debug, Clone)]
pub(crate) struct Manager {
    pub id: String,
    pub name: String,
    pub team: String,
    /// Index into [`SEGMENTS`].
    pub segment: usize,
    pub active: bool,
    /// 0 = careless, 1 = flawless; drives conversion and overdue interactions.
    pub diligence: f64,
}

/// Text id of manager `index`: `M001`, `M002`, …
pub(crate) fn manager_id(index: u32) -> String {
    format!("M{:03}", index + 1)
}

pub(crate) fn generate_managers(seed: u64, count: u32) -> Vec<Manager> {
    let mut rng = stream(seed, Stream::Managers, 0);
    let diligence = Beta::new(2.5, 1.5).expect("valid beta");
    (0..count)
        .map(|i| {
            // The first two are always active so small data sets have a working team.
            let active = i < 2 || rng.random_bool(0.9);
            Manager {
                id: manager_id(i),
                name: manager_name(&mut rng),
                team: format!("Отдел продаж {}", i / TEAM_SIZE + 1),
                segment: SEGMENT_ROTATION[i as usize % SEGMENT_ROTATION.len()],
                active,
                diligence: f64::clamp(diligence.sample(&mut rng), 0.05, 0.99),
            }
        })
        .collect()
}

/// The managers table as one batch.
pub(crate) fn managers_batch(managers: &[Manager]) -> Result<RecordBatch> {
    let schema = crm_core::Table::Managers.arrow_schema();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            managers.iter().map(|m| m.id.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            managers.iter().map(|m| m.name.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            managers.iter().map(|m| m.team.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            managers.iter().map(|m| SEGMENTS[m.segment].0),
        )),
        Arc::new(BooleanArray::from_iter(
            managers.iter().map(|m| Some(m.active)),
        )),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_are_stable_and_varied() {
        let a = generate_managers(1, 12);
        let b = generate_managers(1, 12);
        assert_eq!(a.len(), 12);
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.name == y.name && x.diligence == y.diligence)
        );
        assert_eq!(a[0].id, "M001");
        assert!(a[0].active && a[1].active);
        let min = a.iter().map(|m| m.diligence).fold(1.0, f64::min);
        let max = a.iter().map(|m| m.diligence).fold(0.0, f64::max);
        assert!(max - min > 0.2, "diligence should differ: {min}..{max}");
        let segments: std::collections::BTreeSet<_> = a.iter().map(|m| m.segment).collect();
        assert_eq!(segments.len(), SEGMENTS.len());
        assert_eq!(managers_batch(&a).unwrap().num_rows(), 12);
    }
}
