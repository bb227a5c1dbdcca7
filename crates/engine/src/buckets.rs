//! Reading and writing tables bucketed by customer (see
//! [`crm_warehouse::buckets`]).
//!
//! A bucketed table is scanned with one partition per bucket, and the scan
//! declares that its rows are hash-partitioned by the bucket column. A
//! per-customer aggregation over it then runs in one step per partition
//! (`SinglePartitioned`), with no repartition and no final merge.
//!
//! The declaration is true for every operator that needs equal keys in one
//! partition, but DataFusion also takes two hash partitionings on the same
//! columns and count as co-partitioned: a join or a union would pair bucket
//! `i` with partition `i` of an input DataFusion hashed itself, with another
//! hash function. [`BucketsOnlyAlone`] therefore drops the declaration from
//! every plan with an operator of more than one input, before the
//! partitioning is enforced; those plans read the table as an unbucketed one.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use crm_warehouse::SnapshotFile;
use crm_warehouse::buckets::{BucketReport, bucket_layout, buckets_for, files_to_bucket};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::datasource::TableType;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};

use crate::error::{Error, Result};
use crate::session::Engine;

/// A table whose files each hold one bucket's rows, read bucket by bucket.
#[derive(Debug)]
pub(crate) struct BucketedTable {
    /// The same files as a plain Parquet listing.
    inner: Arc<dyn TableProvider>,
    /// The bucket of each file, by file name.
    bucket_of: HashMap<String, usize>,
    column: String,
    buckets: usize,
}

impl BucketedTable {
    /// `inner` read by bucket, when every one of `files` is bucketed alike
    /// by a column of the table; `inner` itself otherwise.
    pub(crate) fn wrap(
        inner: Arc<dyn TableProvider>,
        files: &[SnapshotFile],
    ) -> Arc<dyn TableProvider> {
        let Some((column, groups)) = bucket_layout(files) else {
            return inner;
        };
        if inner.schema().index_of(&column).is_err()
            || files.iter().any(|f| !f.partition_values.is_empty())
        {
            return inner;
        }
        let mut bucket_of = HashMap::new();
        for (bucket, members) in groups.iter().enumerate() {
            for &i in members {
                bucket_of.insert(file_name(&files[i].path).to_string(), bucket);
            }
        }
        Arc::new(BucketedTable {
            inner,
            bucket_of,
            column,
            buckets: groups.len(),
        })
    }

    /// The scan `plan` with one file group per bucket, declared hash
    /// partitioned; `None` when `plan` is not a file scan of these files.
    fn by_bucket(&self, plan: &Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
        let source = plan.downcast_ref::<DataSourceExec>()?;
        let config = source.data_source().downcast_ref::<FileScanConfig>()?;
        let mut groups: Vec<Vec<_>> = vec![Vec::new(); self.buckets];
        for file in config.file_groups.iter().flat_map(|g| g.files()) {
            let name = file_name(file.object_meta.location.as_ref());
            groups[*self.bucket_of.get(name)?].push(file.clone());
        }
        let table_schema = config.file_source().table_schema().table_schema();
        let index = table_schema.index_of(&self.column).ok()?;
        let partitioning = Partitioning::Hash(
            vec![Arc::new(Column::new(&self.column, index))],
            self.buckets,
        );
        let config = FileScanConfigBuilder::from(config.clone())
            .with_file_groups(groups.into_iter().map(FileGroup::new).collect())
            .with_output_partitioning(Some(partitioning))
            .build();
        Some(DataSourceExec::from_data_source(config))
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[async_trait]
impl TableProvider for BucketedTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let plan = self.inner.scan(state, projection, filters, limit).await?;
        // A limit may read a few files only; nothing to gain from buckets.
        // Nor is a plan with many times more partitions than the session's
        // worth it: every operator above the scan would run that many
        // partitions, and under a memory limit (one partition per core)
        // each sort would set aside its spill reserve that many times.
        let target = state.config().target_partitions().max(1);
        if limit.is_some() || self.buckets > 4 * target {
            return Ok(plan);
        }
        Ok(self.by_bucket(&plan).unwrap_or(plan))
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<datafusion::logical_expr::TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }
}

/// Drops the bucket declaration of every scan in a plan with an operator of
/// more than one input (see the module docs). Runs first, before
/// `EnforceDistribution`.
#[derive(Debug, Default)]
pub(crate) struct BucketsOnlyAlone;

impl BucketsOnlyAlone {
    fn has_several_inputs(plan: &Arc<dyn ExecutionPlan>) -> bool {
        let mut found = false;
        let _ = plan.apply(|node| {
            if node.children().len() > 1 {
                found = true;
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        });
        found
    }
}

impl PhysicalOptimizerRule for BucketsOnlyAlone {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if !Self::has_several_inputs(&plan) {
            return Ok(plan);
        }
        plan.transform_up(|node| {
            let declared = node
                .downcast_ref::<DataSourceExec>()
                .and_then(|s| s.data_source().downcast_ref::<FileScanConfig>())
                .filter(|c| c.output_partitioning.is_some());
            match declared {
                Some(config) => {
                    let mut config = config.clone();
                    config.output_partitioning = None;
                    Ok(Transformed::yes(DataSourceExec::from_data_source(config)))
                }
                None => Ok(Transformed::no(node)),
            }
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "crm_buckets_only_alone"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

impl fmt::Display for BucketsOnlyAlone {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Engine {
    /// Rewrites the files of table `name` that are not yet bucketed by
    /// customer into `buckets` buckets (by default those it has, else a
    /// count for its size: [`buckets_for`]), in one commit.
    pub async fn bucket_table(&self, name: &str, buckets: Option<u32>) -> Result<BucketReport> {
        if self.scratch().is_some() {
            return Err(Error::Invalid(
                "crm optimize rewrites files from this process: run it without --engine".into(),
            ));
        }
        let table: crm_core::Table = name
            .parse()
            .map_err(|_| Error::Invalid(format!("'{name}' is not a canonical table")))?;
        let Some(delta) = self.warehouse().table(name).await? else {
            return Err(Error::Invalid(format!(
                "table {name} has not been loaded yet"
            )));
        };
        let files = crm_warehouse::snapshot_files(&delta)?;
        let buckets = buckets_for(&files, buckets);
        let (rewrite, kept) = files_to_bucket(files, buckets);
        if rewrite.is_empty() {
            return Ok(BucketReport {
                buckets,
                files_kept: kept,
                version: delta.version().map(|v| v as i64),
                ..BucketReport::default()
            });
        }
        let provider = self.files_provider(table.stored_schema(), &rewrite)?;
        let streams = self
            .context()
            .read_table(provider)?
            .execute_stream_partitioned()
            .await?;
        let mut report = self
            .warehouse()
            .commit_bucketed(table, &delta, buckets, streams, &rewrite)
            .await?;
        report.files_kept = kept;
        Ok(report)
    }
}
