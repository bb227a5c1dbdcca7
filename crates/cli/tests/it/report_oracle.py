"""Independent figures for every dashboard chart, compared with charts.json.

Usage: report_oracle.py CHARTS_JSON EXPORT_DIR TRANSACTIONS_PARQUET AS_OF

The marts come from `crm export marts` (Parquet), the raw transactions from
`crm sql ... --format parquet`; DuckDB and pandas recompute what each chart
should show. Cohort retention is recomputed from the raw transactions, not
from the mart. Prints "ok N" or the mismatches (and exits 1).
"""

import datetime as dt
import json
import math
import sys

import duckdb
import numpy as np
import pandas as pd

charts_path, export_dir, tx_path, as_of = sys.argv[1:5]
dash = json.load(open(charts_path, encoding="utf-8"))
charts = {s["id"]: s["chart"] for s in dash["sections"]}
problems = []
checks = 0


def mart(name):
    return f"read_parquet('{export_dir}/{name}/{name}_{as_of}.parquet')"


def close(a, b, tol=1e-9):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return abs(float(a) - float(b)) <= tol * max(1.0, abs(float(b)))


def same(label, got, want, tol=1e-9):
    global checks
    checks += 1
    if len(got) != len(want) or not all(close(g, w, tol) for g, w in zip(got, want)):
        problems.append(f"{label}: chart {got[:12]} vs oracle {want[:12]}")


def q(sql):
    return duckdb.sql(sql).fetchall()


# R x F heatmap: customers per cell, y = R, x = F
hm = charts["rfm_heatmap"]["plot"]
for r, f, n in q(f"SELECT r, f, count(*) FROM {mart('rfm_customer')} GROUP BY 1, 2"):
    same(f"rf cell R{r}F{f}", [hm["values"][r - 1][f - 1]], [n])
total_cells = sum(v for row in hm["values"] for v in row if v is not None)
same("rf total", [total_cells], q(f"SELECT count(*) FROM {mart('rfm_customer')}")[0])

# Segment shares, ordered by customers desc, then code
seg = q(
    f"""SELECT segment, count(*) AS n, sum(monetary) AS rev FROM {mart('rfm_customer')}
        GROUP BY 1 ORDER BY n DESC, segment"""
)
n_all = sum(r[1] for r in seg)
rev_all = sum(float(r[2]) for r in seg)
bars = charts["segments"]["plot"]["series"]
same("segment customer share", bars[0]["values"], [r[1] / n_all for r in seg], 1e-9)
same("segment revenue share", bars[1]["values"], [float(r[2]) / rev_all for r in seg], 1e-9)

# Migration: counts per (from, to), axes sorted by code
mig = pd.DataFrame(
    q(f"SELECT from_segment, to_segment, customers FROM {mart('rfm_migration')}"),
    columns=["a", "b", "n"],
)
ys, xs = sorted(mig.a.unique()), sorted(mig.b.unique())
want = [[None] * len(xs) for _ in ys]
for a, b, n in mig.itertuples(index=False):
    want[ys.index(a)][xs.index(b)] = n
got = charts["migration"]["plot"]["values"]
same("migration matrix", [v for row in got for v in row], [v for row in want for v in row])

# CLV histogram, two log bins per decade, below 1 in bin 0
clv = np.array([r[0] for r in q(f"SELECT clv FROM {mart('clv_customer')} WHERE clv IS NOT NULL")])
bins = np.where(clv < 1, 0, 1 + np.floor(np.log10(np.maximum(clv, 1)) * 2)).astype(int)
counts = np.bincount(bins)
same("clv histogram", charts["clv_distribution"]["plot"]["series"][0]["values"], counts.tolist())

# Budget vs planned contact cost per RFM segment
b = q(
    f"""SELECT total_budget, total_cost FROM {mart('clv_segment')}
        WHERE segment_kind = 'rfm' ORDER BY total_budget DESC, segment"""
)
s = charts["clv_budget"]["plot"]["series"]
same("budget", s[0]["values"], [float(r[0]) for r in b])
same("planned cost", s[1]["values"], [float(r[1]) for r in b])

# Funnel per manager / source: the 8 largest groups by first-stage entries
for kind in ["manager", "source"]:
    fs = pd.DataFrame(
        q(
            f"""SELECT "group", stage_no, entered, share_of_first FROM {mart('funnel_stage')}
                WHERE grouped_by = '{kind}'"""
        ),
        columns=["g", "s", "entered", "share"],
    )
    first = fs[fs.s == fs.s.min()].sort_values(["entered", "g"], ascending=[False, True])
    top = [g for g in first.g][:8]
    lines = charts[f"funnel_{kind}"]["plot"]["series"]
    same(f"funnel {kind} groups", [hash(l["name"]) for l in lines], [hash(g) for g in top])
    for line in lines:
        want = fs[fs.g == line["name"]].sort_values("s").share.tolist()
        same(f"funnel {kind} {line['name']}", line["values"], want)

# Traffic light: colour shares per manager
tl = q(
    f"""SELECT manager_id, avg((colour = 'green')::INT), avg((colour = 'yellow')::INT),
               avg((colour = 'red')::INT) FROM {mart('traffic_light')} GROUP BY 1 ORDER BY 1"""
)
s = charts["traffic_light"]["plot"]["series"]
for i, colour in enumerate(["green", "yellow", "red"]):
    same(f"traffic light {colour}", s[i]["values"], [r[i + 1] for r in tl])

# Cohort retention, recomputed from the raw transactions
tx = pd.read_parquet(tx_path, columns=["customer_id", "ts", "amount"])
end = pd.Timestamp(dt.date.fromisoformat(as_of) + dt.timedelta(days=1))
p = tx[tx.customer_id.notna() & (tx.amount >= 0) & (pd.to_datetime(tx.ts) < end)].copy()
p["month"] = pd.to_datetime(p.ts).dt.to_period("M")
pm = p[["customer_id", "month"]].drop_duplicates()
cohort = pm.groupby("customer_id").month.min().rename("cohort")
pm = pm.join(cohort, on="customer_id")
pm["since"] = (pm.month - pm.cohort).apply(lambda d: d.n)
size = pm[pm.since == 0].groupby("cohort").size()
ret = pm.groupby(["cohort", "since"]).size() / size.reindex(
    pm.groupby(["cohort", "since"]).size().index.get_level_values(0)
).values
asof_month = pd.Period(as_of[:7], "M")
cohorts = [c for c in sorted(size.index) if (asof_month - c).n <= 17]
hm = charts["cohort_retention"]["plot"]
same("cohort months", [hash(y) for y in hm["y"]], [hash(str(c)) for c in cohorts])
for yi, c in enumerate(cohorts):
    row = [ret.get((c, k)) for k in range(len(hm["x"]))]
    same(f"cohort {c}", hm["values"][yi], [None if v is None else float(v) for v in row])

# Holdout: predicted vs actual by calibration frequency
h = q(
    f"""SELECT predicted, actual FROM {mart('clv_validation')}
        WHERE section = 'by_frequency' ORDER BY length(key), key"""
)
s = charts["clv_holdout"]["plot"]["series"]
same("holdout predicted", s[0]["values"], [r[0] for r in h])
same("holdout actual", s[1]["values"], [r[1] for r in h])

# Headline: anonymous receipts counted apart (CONVENTIONS)
anon = int((tx.customer_id.isna() & (pd.to_datetime(tx.ts) < end)).sum())
head = dict(dash["headline"])
label = [k for k in head if k.startswith("Анонимные") or k.startswith("Anonymous")][0]
grouped = f"{anon:,}".replace(",", "\u00a0" if dash["locale"]["lang"] == "ru" else ",")
checks += 1
if not head[label].startswith(grouped + " "):
    problems.append(f"anonymous receipts: {head[label]!r} vs {grouped}")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"ok {checks}")
