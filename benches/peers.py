#!/usr/bin/env python3
"""Peers for the benchmarks: DuckDB and polars doing the same work as crm.

Each subcommand prints one JSON object: {"engine", "task", "seconds", "rows", "peak_rss_mb"}.
Peak RSS is this process's own (ru_maxrss), so run one task per process.
"""
import argparse
import glob
import json
import os
import resource
import sys
import time


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(engine, task, seconds, rows):
    print(json.dumps({"engine": engine, "task": task, "seconds": round(seconds, 3),
                      "rows": rows, "peak_rss_mb": round(peak_mb(), 1)}))


def duckdb_ingest(csv, out):
    import duckdb
    con = duckdb.connect()
    t = time.perf_counter()
    con.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{out}' (FORMAT parquet)")
    secs = time.perf_counter() - t
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    emit("duckdb", "ingest_csv_to_parquet", secs, rows)


def tx_files(warehouse):
    files = sorted(glob.glob(os.path.join(warehouse, "tables", "transactions", "*.parquet")))
    if not files:
        sys.exit(f"no parquet files under {warehouse}/tables/transactions")
    # Only the files of the table's current version: crm loads the table once
    # (a first load is a single commit), so every file is live.
    return files


RFM_SQL = """
WITH base AS (
    SELECT customer_id,
           count(*) FILTER (WHERE amount >= 0)  AS frequency,
           sum(amount)                          AS monetary,
           sum(amount) FILTER (WHERE amount >= 0) AS purchase_revenue,
           min(ts) FILTER (WHERE amount >= 0)   AS first_purchase,
           max(ts) FILTER (WHERE amount >= 0)   AS last_purchase
    FROM read_parquet({files})
    WHERE customer_id IS NOT NULL AND ts < DATE '{as_of}' + INTERVAL 1 DAY
    GROUP BY customer_id
    HAVING count(*) FILTER (WHERE amount >= 0) > 0
), b AS (
    SELECT *, date_diff('day', CAST(last_purchase AS DATE), DATE '{as_of}') AS recency_days FROM base
), n AS (SELECT count(*) AS n FROM b)
SELECT customer_id, recency_days, frequency, monetary,
       1 + (5 * (rank() OVER (ORDER BY recency_days DESC) - 1)) // n AS r,
       1 + (5 * (rank() OVER (ORDER BY frequency ASC) - 1)) // n     AS f,
       1 + (5 * (rank() OVER (ORDER BY monetary ASC) - 1)) // n      AS m
FROM b, n
"""


def duckdb_rfm(warehouse, as_of, out):
    import duckdb
    con = duckdb.connect()
    files = tx_files(warehouse)
    sql = RFM_SQL.format(files=files, as_of=as_of)
    t = time.perf_counter()
    con.execute(f"COPY ({sql}) TO '{out}' (FORMAT parquet)")
    secs = time.perf_counter() - t
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    emit("duckdb", "rfm_per_customer", secs, rows)


def polars_rfm(warehouse, as_of, out):
    import datetime as dt
    import polars as pl
    files = tx_files(warehouse)
    end = dt.datetime.fromisoformat(as_of) + dt.timedelta(days=1)
    as_of_d = dt.date.fromisoformat(as_of)
    t = time.perf_counter()
    purchase = pl.col("amount") >= 0
    base = (
        pl.scan_parquet(files)
        .filter(pl.col("customer_id").is_not_null() & (pl.col("ts") < end))
        .group_by("customer_id")
        .agg(
            purchase.sum().alias("frequency"),
            pl.col("amount").sum().alias("monetary"),
            pl.col("ts").filter(purchase).max().alias("last_purchase"),
        )
        .filter(pl.col("frequency") > 0)
        .with_columns(
            (pl.lit(as_of_d) - pl.col("last_purchase").dt.date()).dt.total_days().alias("recency_days")
        )
    )
    n = pl.len()
    scored = base.with_columns(
        (1 + (5 * (pl.col("recency_days").rank("min", descending=True) - 1)) // n).alias("r"),
        (1 + (5 * (pl.col("frequency").rank("min") - 1)) // n).alias("f"),
        (1 + (5 * (pl.col("monetary").rank("min") - 1)) // n).alias("m"),
    ).select("customer_id", "recency_days", "frequency", "monetary", "r", "f", "m")
    df = scored.collect(engine="streaming")
    df.write_parquet(out)
    secs = time.perf_counter() - t
    emit("polars", "rfm_per_customer", secs, df.height)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("duckdb-ingest"); a.add_argument("csv"); a.add_argument("out")
    for name in ("duckdb-rfm", "polars-rfm"):
        b = sub.add_parser(name); b.add_argument("warehouse"); b.add_argument("as_of"); b.add_argument("out")
    args = p.parse_args()
    if args.cmd == "duckdb-ingest":
        duckdb_ingest(args.csv, args.out)
    elif args.cmd == "duckdb-rfm":
        duckdb_rfm(args.warehouse, args.as_of, args.out)
    else:
        polars_rfm(args.warehouse, args.as_of, args.out)


if __name__ == "__main__":
    main()
