"""Writes crm gen's transactions Parquet as the warehouse's Delta table, batch by
batch, for benches/scale.sh (set-up only; crm load holds a whole file in memory).

Usage: delta_write.py PARQUET_DIR TABLE_DIR
Adds the `_load_id` column that crm's stored tables carry.
"""

import sys

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import write_deltalake

src, dst = sys.argv[1:3]
dataset = ds.dataset(src, format="parquet")
schema = dataset.schema.append(pa.field("_load_id", pa.string(), nullable=False))


def batches():
    for b in dataset.to_batches(batch_size=1 << 20):
        yield pa.RecordBatch.from_arrays(
            b.columns + [pa.array(["bench-scale"] * b.num_rows, pa.string())], schema=schema
        )


write_deltalake(dst, pa.RecordBatchReader.from_batches(schema, batches()), mode="overwrite")
