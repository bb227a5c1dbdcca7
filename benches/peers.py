#!/usr/bin/env python3
"""Peers for the benchmarks: DuckDB and polars doing the same work as crm.

Each subcommand prints one JSON object: {"engine", "task", "seconds", "rows", "peak_rss_mb"}.
Peak RSS is this process's own (ru_maxrss), so run one task per process.
"""
import argparse
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
    return table_files(warehouse, "transactions")


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


# The default R x F segment map of crates/core/src/rfm.rs: key, Russian label, R range, F range.
RFM_DEFAULT_MAP = [
    ("hibernating", "Спящие", "1-2", "1-2"), ("at_risk", "В зоне риска", "1-2", "3-4"),
    ("cant_lose", "Нельзя потерять", "1-2", "5"), ("about_to_sleep", "Засыпающие", "3", "1-2"),
    ("need_attention", "Требуют внимания", "3", "3"), ("loyal", "Лояльные", "3-4", "4-5"),
    ("promising", "Перспективные", "4", "1"), ("potential_loyalist", "Потенциально лояльные", "4", "2-3"),
    ("new_customers", "Новички", "5", "1"), ("potential_loyalist", "Потенциально лояльные", "5", "2-3"),
    ("champions", "Чемпионы", "5", "4-5"),
]


def rfm_segment_cases():
    """The segment map as crm binds it into rfm_segmented.sql: CASE branches over
    the cell key r * 10000 + f * 100 + m, one per (r, f, m) cell."""
    span = lambda t: range(int(t.split("-")[0]), int(t.split("-")[-1]) + 1)
    quote = lambda s: "'" + s.replace("'", "''") + "'"
    cases = {"rfm_cells": "", "segments": "", "segments_ru": ""}
    for key, ru, rs, fs in RFM_DEFAULT_MAP:
        for r in span(rs):
            for f in span(fs):
                for m in range(1, 6):
                    when = f"WHEN {r * 10000 + f * 100 + m} THEN "
                    cases["rfm_cells"] += f"{when}'{r}{f}{m}' "
                    cases["segments"] += f"{when}{quote(key)} "
                    cases["segments_ru"] += f"{when}{quote(ru)} "
    return cases


# crm's tie_quantile(x, 5) OVER () is 1 + floor(5 * (RANK() - 1) / N) (queries/rfm_scores_quantile.sql).
RFM_SCORES_SQL = """
SELECT *,
       1 + (5 * (rank() OVER (ORDER BY recency_days DESC) - 1)) // count(*) OVER () AS r,
       1 + (5 * (rank() OVER (ORDER BY frequency) - 1)) // count(*) OVER ()         AS f,
       1 + (5 * (rank() OVER (ORDER BY monetary) - 1)) // count(*) OVER ()          AS m
FROM rfm_base
"""


def duckdb_rfm_mart(warehouse, as_of, out):
    """crm rfm --per-customer as crm computes it: the project's own rfm_base.sql,
    rfm_segmented.sql and rfm_customer.sql, the default segment map, all 21 columns of the rfm_customer
    mart written with zstd (DuckDB's own rank() for the scores)."""
    import datetime as dt
    import duckdb
    day = dt.date.fromisoformat(as_of)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW transactions AS SELECT * FROM read_parquet({tx_files(warehouse)})")
    p = {"as_of": as_of, "as_of_end": ts_lit(day + dt.timedelta(days=1)), "window_filter": "TRUE",
         "dormant_days": "365", **rfm_segment_cases()}
    t = time.perf_counter()
    # Materialised, as crm does: the scores read it three times.
    con.execute(f"CREATE TABLE rfm_base AS {render('rfm_base', p)}")
    con.execute(f"CREATE VIEW rfm_scores AS {RFM_SCORES_SQL.format(as_of=as_of)}")
    con.execute(f"CREATE VIEW rfm_segmented AS {render('rfm_segmented', p)}")
    con.execute(f"COPY ({render('rfm_customer', p)}) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
    secs = time.perf_counter() - t
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    emit("duckdb", "rfm_mart", secs, rows)


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


RFM_COLUMNS = ["customer_id", "recency_days", "frequency", "monetary", "r", "f", "m"]


def same_rfm(a, b):
    """Exits non-zero unless the Parquet files a and b hold the same per-customer
    RFM rows (the seven columns of RFM_SQL), whatever their row order."""
    import duckdb
    cols = ", ".join(RFM_COLUMNS)
    q = f"(SELECT {cols} FROM read_parquet('{{}}'))"
    con = duckdb.connect()
    rows = [con.execute(f"SELECT count(*) FROM read_parquet('{f}')").fetchone()[0] for f in (a, b)]
    diff = con.execute(f"SELECT count(*) FROM ({q.format(a)} EXCEPT ALL {q.format(b)})").fetchone()[0]
    diff += con.execute(f"SELECT count(*) FROM ({q.format(b)} EXCEPT ALL {q.format(a)})").fetchone()[0]
    if diff or rows[0] != rows[1]:
        sys.exit(f"{a} ({rows[0]} rows) and {b} ({rows[1]} rows) differ in {diff} rows")


def table_files(warehouse, table):
    """The files of the table's current version, from its Delta log: `crm
    optimize` and MERGE loads leave the files they replace on disk for time
    travel, so a glob of the folder would read some rows twice."""
    from deltalake import DeltaTable

    path = os.path.join(warehouse, "tables", table)
    if not os.path.isdir(os.path.join(path, "_delta_log")):
        sys.exit(f"no Delta table at {path}")
    files = sorted(DeltaTable(path).file_uris())
    if not files:
        sys.exit(f"no parquet files in {path}")
    return files


FLOOR_SQL = """
SELECT customer_id, max(ts) AS last_ts, count(*) AS n, sum(amount) AS total
FROM read_parquet({files})
GROUP BY customer_id
"""


def duckdb_floor(warehouse, out):
    """The floor of RFM: one scan and one hash group-by, nothing else."""
    import duckdb
    con = duckdb.connect()
    sql = FLOOR_SQL.format(files=tx_files(warehouse))
    t = time.perf_counter()
    con.execute(f"COPY ({sql}) TO '{out}' (FORMAT parquet)")
    secs = time.perf_counter() - t
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    emit("duckdb", "floor_scan_groupby", secs, rows)


def polars_floor(warehouse, out):
    import polars as pl
    t = time.perf_counter()
    df = (pl.scan_parquet(tx_files(warehouse)).group_by("customer_id")
          .agg(pl.col("ts").max().alias("last_ts"), pl.len().alias("n"), pl.col("amount").sum().alias("total"))
          .collect(engine="streaming"))
    df.write_parquet(out)
    secs = time.perf_counter() - t
    emit("polars", "floor_scan_groupby", secs, df.height)


# --- Funnel and traffic light: the project's own queries/*.sql run by DuckDB ---
#
# The peer binds the same parameters and registers the same lookup tables as
# crates/engine/src/funnel.rs (default [funnel] and [traffic_light] config),
# so DuckDB executes exactly the SQL crm executes. One dialect difference is
# rewritten: DataFusion's to_char(ts, fmt) is DuckDB's strftime(ts, fmt).

QUERIES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "queries")
FUNNEL_STAGES = ["lead", "qualified", "proposal", "negotiation", "won"]
FUNNEL_ALIASES = {
    "Первичный контакт": "lead", "Переговоры": "qualified", "Принимают решение": "negotiation",
    "Успешно реализовано": "won", "Закрыто и не реализовано": "lost", "Новый": "lead", "Лид": "lead",
    "Квалификация": "qualified", "Предложение": "proposal", "Коммерческое предложение": "proposal",
    "Согласование условий": "negotiation", "Сделка успешна": "won", "Выиграна": "won",
    "Сделка провалена": "lost", "Проиграна": "lost",
}
PORTRAIT_FIELDS = ["full_name", "birth_date", "city", "market_segment", "source", "email", "phone", "attributes"]
PORTRAIT_DEFAULT = {"full_name", "birth_date", "city", "market_segment"}


def render(name, params):
    import re
    with open(os.path.join(QUERIES, name + ".sql"), encoding="utf-8") as f:
        sql = f.read()
    for k, v in params.items():
        sql = sql.replace("{" + k + "}", v)
    left = re.search(r"\{[a-z_]+\}", sql)
    if left:
        sys.exit(f"query {name}: parameter {left.group(0)} is not bound")
    # DataFusion counts days between dates as a difference of CAST(date AS INT);
    # DuckDB subtracts the dates.
    sql = re.sub(r"CAST\(DATE '([^']+)' AS INT\)\s*-\s*CAST\(ts_date\((.+?)\) AS INT\)",
                 r"(DATE '\1' - CAST(\2 AS DATE))", sql, flags=re.S)
    # crm's ts_date(ts) is CAST(ts AS DATE) by division.
    sql = re.sub(r"\bts_date\(([\w.]+)\)", r"CAST(\1 AS DATE)", sql)
    return sql.replace("to_char(", "strftime(")


def ts_lit(d):
    return f"TIMESTAMP '{d.isoformat()} 00:00:00'"


def stage_map_rows():
    key = lambda s: s.strip().lower()
    m = {}
    num = lambda t: next((i + 1 for i, s in enumerate(FUNNEL_STAGES) if key(s) == key(t)), None)
    for s in FUNNEL_STAGES:
        m[key(s)] = (s, num(s))
    m["lost"] = ("lost", None)
    for raw, target in FUNNEL_ALIASES.items():
        n = num(target)
        m[key(raw)] = (FUNNEL_STAGES[n - 1] if n else "lost", n)
    return [(k, v[0], v[1]) for k, v in sorted(m.items())]


class DuckFunnel:
    def __init__(self, warehouse):
        import duckdb
        self.con = duckdb.connect()
        c = self.con
        for t in ("interests", "interest_stages", "customers", "interactions", "managers"):
            c.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet({table_files(warehouse, t)})")
        c.execute("CREATE TABLE funnel_stage_map (raw_key VARCHAR, stage VARCHAR, stage_no INTEGER)")
        c.executemany("INSERT INTO funnel_stage_map VALUES (?, ?, ?)", stage_map_rows())
        c.execute("CREATE TABLE funnel_stages (stage_no INTEGER, stage VARCHAR)")
        c.executemany("INSERT INTO funnel_stages VALUES (?, ?)", list(enumerate(FUNNEL_STAGES, 1)))
        c.execute("CREATE VIEW funnel_customer_segment AS SELECT customer_id, market_segment FROM customers")
        cols = ", ".join(f"{f in PORTRAIT_DEFAULT} AS need_{f}" for f in PORTRAIT_FIELDS)
        c.execute(f"CREATE TABLE traffic_light_settings AS SELECT {cols}")
        c.execute("""CREATE TABLE traffic_light_rules AS SELECT * FROM (VALUES
            (1, 'red',    false, true,  false, false, NULL::BOOLEAN),
            (2, 'red',    true,  false, false, false, true),
            (3, 'yellow', false, false, true,  false, NULL),
            (4, 'yellow', false, false, false, true,  NULL))
            AS r(rule_no, colour, fail_active_interest, fail_no_overdue, fail_portrait, fail_contact, warm)""")
        c.execute(f"CREATE TABLE traffic_light_colours AS {render('traffic_light_colours', {})}")
        c.execute("""CREATE TABLE manager_summary_norms (metric VARCHAR, team VARCHAR, manager_id VARCHAR,
            unacceptable DOUBLE, goal DOUBLE, higher_is_better BOOLEAN)""")
        c.execute("CREATE VIEW manager_summary_managers AS SELECT manager_id, team FROM managers")

    def table(self, name, sql):
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")

    def view(self, name, sql):
        self.con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")

    def params(self, as_of):
        import datetime as dt
        return {"as_of": as_of.isoformat(), "as_of_end": ts_lit(as_of + dt.timedelta(days=1)),
                "won_no": str(len(FUNNEL_STAGES)), "imply": "true"}

    def prepare(self, as_of):
        p = self.params(as_of)
        self.view("funnel_entries", render("funnel_entries", p))
        # A table, as crm materialises it: funnel_interest and funnel_reach both read it.
        self.table("funnel_entry_stats", render("funnel_entry_stats", p))
        self.table("funnel_interest_now", render("funnel_interest", p))
        self.view("funnel_reach", render("funnel_reach", p))

    def funnel(self, as_of, by):
        """crm funnel --by BY --mode cohort --period all."""
        import datetime as dt
        self.prepare(as_of)
        p = self.params(as_of)
        p.update({"by": by, "mode": "cohort", "period_start": ts_lit(dt.date(1900, 1, 1)),
                  "period_end": ts_lit(as_of + dt.timedelta(days=1)),
                  "period_start_date": "1900-01-01", "period_end_date": as_of.isoformat()})
        self.view("funnel_selected", render("funnel_selected", p))
        self.table("out_funnel_stage", render("funnel_stage", p))
        self.table("out_funnel_issues", render("funnel_issues", p))
        return self.con.execute("SELECT count(*) FROM out_funnel_stage").fetchone()[0]

    def quality(self, as_of):
        """crm quality --period month: traffic light now and a month before, manager summary."""
        import datetime as dt
        end = as_of + dt.timedelta(days=1)
        start = month_back(end)
        prev_start = month_back(start)
        for side, day, lo, hi in (("prev", start - dt.timedelta(days=1), prev_start, start),
                                  ("now", as_of, start, end)):
            self.prepare(day)
            warm_start = day + dt.timedelta(days=1) - dt.timedelta(days=90)
            self.table(f"traffic_light_{side}", render("traffic_light", {
                "as_of": day.isoformat(), "as_of_end": ts_lit(day + dt.timedelta(days=1)),
                "warm_start": ts_lit(warm_start), "warm_days": "90",
                "funnel_interest": "funnel_interest_now"}))
            self.table(f"funnel_interest_{side}", "SELECT * FROM funnel_interest_now")
            self.table(f"manager_metrics_{side}", render("manager_metrics", {
                "traffic_light": f"traffic_light_{side}", "funnel_interest": f"funnel_interest_{side}",
                "start": ts_lit(lo), "end": ts_lit(hi)}))
        self.table("out_manager_summary", render("manager_summary", {
            "as_of": as_of.isoformat(), "period_start": start.isoformat(),
            "previous_start": prev_start.isoformat()}))
        return self.con.execute("SELECT count(*) FROM traffic_light_now").fetchone()[0]


def month_back(d):
    import calendar
    import datetime as dt
    y, m = (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def duckdb_funnel(warehouse, as_of, by, out_dir):
    import datetime as dt
    day = dt.date.fromisoformat(as_of)
    f = DuckFunnel(warehouse)
    t = time.perf_counter()
    rows = f.funnel(day, by)
    f.con.execute(f"COPY out_funnel_stage TO '{out_dir}/duck-funnel-stage.parquet' (FORMAT parquet)")
    emit("duckdb", f"funnel_by_{by}", time.perf_counter() - t, rows)


def duckdb_quality(warehouse, as_of, out_dir):
    import datetime as dt
    day = dt.date.fromisoformat(as_of)
    f = DuckFunnel(warehouse)
    t = time.perf_counter()
    rows = f.quality(day)
    # Sorted as crm writes it (the query leaves the order to the writer).
    f.con.execute("COPY (SELECT * FROM traffic_light_now ORDER BY manager_id, customer_id) "
                  f"TO '{out_dir}/duck-traffic-light.parquet' (FORMAT parquet)")
    emit("duckdb", "quality_month", time.perf_counter() - t, rows)


# --- CLV: lifetimes (BG/NBD + Gamma-Gamma), end to end from the transactions ---

def lifetimes_clv(warehouse, as_of, horizon_months, out):
    """What crm clv predict does, the lifetimes way: the summary by
    summary_data_from_transaction_data (days / 7 = weeks, as crm's unit=week),
    BG/NBD fit, Gamma-Gamma on repeat buyers with positive spend, and per
    customer expected purchases, P(alive), expected spend and CLV."""
    import datetime as dt
    import warnings
    import pandas as pd
    import pyarrow.dataset as ds
    import pyarrow.compute as pc
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data
    warnings.simplefilter("ignore")
    end = dt.datetime.fromisoformat(as_of) + dt.timedelta(days=1)
    t = time.perf_counter()
    d = ds.dataset(tx_files(warehouse), format="parquet")
    tbl = d.to_table(columns=["customer_id", "ts", "amount"],
                     filter=pc.field("customer_id").is_valid() & (pc.field("ts") < pc.scalar(end)))
    tbl = tbl.set_column(2, "amount", pc.cast(tbl["amount"], "float64"))
    tbl = tbl.filter(pc.greater_equal(tbl["amount"], 0.0))
    tx = tbl.to_pandas()
    del tbl
    t_read = time.perf_counter() - t
    s = summary_data_from_transaction_data(tx, "customer_id", "ts", monetary_value_col="amount",
                                           observation_period_end=as_of, freq="D", freq_multiplier=7)
    del tx
    t_summary = time.perf_counter() - t
    bgf = BetaGeoFitter(penalizer_coef=0.0)
    bgf.fit(s["frequency"], s["recency"], s["T"])
    t_fit = time.perf_counter() - t
    rb = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    ggf = GammaGammaFitter(penalizer_coef=0.0)
    ggf.fit(rb["frequency"], rb["monetary_value"])
    weeks = horizon_months * 365.25 / 12 / 7
    s["expected_purchases"] = bgf.conditional_expected_number_of_purchases_up_to_time(
        weeks, s["frequency"], s["recency"], s["T"])
    s["p_alive"] = bgf.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
    s["expected_spend"] = ggf.conditional_expected_average_profit(s["frequency"], s["monetary_value"])
    s["clv"] = ggf.customer_lifetime_value(bgf, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                                           time=horizon_months, freq="W", discount_rate=0.01)
    s.reset_index().to_parquet(out)
    secs = time.perf_counter() - t
    print(json.dumps({"engine": "lifetimes", "task": "clv_predict", "seconds": round(secs, 3),
                      "rows": len(s), "peak_rss_mb": round(peak_mb(), 1),
                      "split": {"read": round(t_read, 2), "summary": round(t_summary - t_read, 2),
                                "bgnbd_fit": round(t_fit - t_summary, 2),
                                "gg_fit_predict_write": round(secs - t_fit, 2)},
                      "params": {k: round(float(v), 4) for k, v in bgf.params_.items()}}))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("duckdb-ingest"); a.add_argument("csv"); a.add_argument("out")
    for name in ("duckdb-rfm", "duckdb-rfm-mart", "polars-rfm"):
        b = sub.add_parser(name); b.add_argument("warehouse"); b.add_argument("as_of"); b.add_argument("out")
    for name in ("duckdb-floor", "polars-floor"):
        b = sub.add_parser(name); b.add_argument("warehouse"); b.add_argument("out")
    b = sub.add_parser("duckdb-funnel"); b.add_argument("warehouse"); b.add_argument("as_of")
    b.add_argument("by"); b.add_argument("out_dir")
    b = sub.add_parser("duckdb-quality"); b.add_argument("warehouse"); b.add_argument("as_of"); b.add_argument("out_dir")
    b = sub.add_parser("lifetimes-clv"); b.add_argument("warehouse"); b.add_argument("as_of")
    b.add_argument("horizon", type=int); b.add_argument("out")
    b = sub.add_parser("same-rfm"); b.add_argument("a"); b.add_argument("b")
    args = p.parse_args()
    if args.cmd == "duckdb-ingest":
        duckdb_ingest(args.csv, args.out)
    elif args.cmd == "duckdb-rfm":
        duckdb_rfm(args.warehouse, args.as_of, args.out)
    elif args.cmd == "duckdb-rfm-mart":
        duckdb_rfm_mart(args.warehouse, args.as_of, args.out)
    elif args.cmd == "polars-rfm":
        polars_rfm(args.warehouse, args.as_of, args.out)
    elif args.cmd == "duckdb-floor":
        duckdb_floor(args.warehouse, args.out)
    elif args.cmd == "polars-floor":
        polars_floor(args.warehouse, args.out)
    elif args.cmd == "duckdb-funnel":
        duckdb_funnel(args.warehouse, args.as_of, args.by, args.out_dir)
    elif args.cmd == "duckdb-quality":
        duckdb_quality(args.warehouse, args.as_of, args.out_dir)
    elif args.cmd == "same-rfm":
        same_rfm(args.a, args.b)
    else:
        lifetimes_clv(args.warehouse, args.as_of, args.horizon, args.out)


if __name__ == "__main__":
    main()
