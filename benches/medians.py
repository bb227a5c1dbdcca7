"""Medians and ratios of one `benches/run.sh rfm` invocation (its JSON lines on stdin).

Rounds ran in turn, so round i of crm is paired with round i of each peer: the
ratios are given per round and as the median of those, which a slow minute on a
shared machine moves less than a ratio of two medians.
"""
import json
import statistics
import sys


def main():
    runs = {}
    for line in sys.stdin:
        r = json.loads(line)
        if "seconds" in r:
            runs.setdefault((r["engine"], r["task"]), []).append(r)
    if not runs:
        return
    print("engine  task                 rounds  median s  min s    max s    median MB", file=sys.stderr)
    for (engine, task), rs in sorted(runs.items()):
        secs = [r["seconds"] for r in rs]
        mb = statistics.median(r["peak_rss_mb"] for r in rs)
        print(f"{engine:7} {task:20} {len(rs):6}  {statistics.median(secs):8.3f}  {min(secs):7.3f}  "
              f"{max(secs):7.3f}  {mb:9.0f}", file=sys.stderr)
    # Each crm output against the peers that compute the same columns.
    pairs = [
        ("rfm_7_columns", "DuckDB's 7-column query", ("duckdb", "rfm_per_customer")),
        ("rfm_7_columns", "polars (7 columns)", ("polars", "rfm_per_customer")),
        ("rfm_7_columns", "crm's floor", ("crm", "floor_scan_groupby")),
        ("rfm_7_columns", "DuckDB's floor", ("duckdb", "floor_scan_groupby")),
        ("rfm_per_customer", "DuckDB writing the same mart", ("duckdb", "rfm_mart")),
        ("rfm_per_customer", "DuckDB's 7-column query", ("duckdb", "rfm_per_customer")),
        ("rfm_per_customer", "crm's floor", ("crm", "floor_scan_groupby")),
    ]
    for task, name, key in pairs:
        crm = [r["seconds"] for r in runs.get(("crm", task), [])]
        peer = [r["seconds"] for r in runs.get(key, [])]
        ratios = [c / p for c, p in zip(crm, peer) if p > 0]
        if ratios:
            each = " ".join(f"{x:.2f}" for x in ratios)
            print(f"crm {task} / {name}: median {statistics.median(ratios):.2f}x (rounds: {each})",
                  file=sys.stderr)

if __name__ == "__main__":
    main()
