#!/usr/bin/env bash
# The nightly marts at scale on one machine, under a memory limit (issue 7):
#   benches/scale.sh 10000000 4GiB      # 10M transactions, all marts, 4 GiB for the queries
#   benches/scale.sh 300000000 4GiB
# Prints (and appends to benches/results.jsonl) wall time, CPU time, peak RSS of the
# whole process, and what the queries spilled; the log of every query (`-vv`) goes
# to benches/data/scale-run.log.
#
# Set-up, not measured: `crm gen --dir` writes Parquet; the small tables go in with
# `crm load`; the transactions table is written as Delta by delta-rs' own writer
# (Python `deltalake`, streaming batch by batch) because `crm load` still holds a
# whole file in memory, which does not fit at 10^8..10^9 rows (issue 2 follow-up).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:?transactions}
limit=${2:-4GiB}
crm=${CRM_BIN:-target/release/crm}
py=${CRM_PYTHON:-.venv/bin/python}
data=${BENCH_DATA:-benches/data}
as_of=2025-12-31
wh="$data/scale-$n"
results=benches/results.jsonl
# The tree's commit, marked dirty when code differs (results.jsonl itself does not count).
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- . ':!benches/results.jsonl' || commit="$commit-dirty"
mkdir -p "$data"

if [ ! -f "$wh/.ready" ]; then
  rm -rf "$wh" "$data/scale-gen-$n"
  t0=$(date +%s)
  "$crm" gen --transactions "$n" --end-date $as_of --dir "$data/scale-gen-$n" -q
  "$crm" --warehouse "$wh" init -q >/dev/null
  for t in managers customers campaigns interests interest_stages interactions; do
    if ls "$data/scale-gen-$n/$t"/*.parquet >/dev/null 2>&1; then
      "$crm" --warehouse "$wh" load --table "$t" "$data/scale-gen-$n/$t"/*.parquet -q
    fi
  done
  "$py" benches/delta_write.py "$data/scale-gen-$n/transactions" "$wh/tables/transactions"
  rm -rf "$data/scale-gen-$n"
  touch "$wh/.ready"
  echo "set-up of $n transactions took $(( $(date +%s) - t0 )) s" >&2
fi

parquet_bytes=$(du -sb "$wh/tables/transactions" | cut -f1)
l=$(cut -d' ' -f1 /proc/loadavg)
t0=$(date +%s.%N)
/usr/bin/time -v -o "$data/time-scale.txt" \
  "$crm" --warehouse "$wh" --memory-limit "$limit" -vv run --as-of $as_of --format json \
  > "$data/scale-run.json" 2> "$data/scale-run.log"
t1=$(date +%s.%N)
rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$data/time-scale.txt")
cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u+s}' "$data/time-scale.txt")
"$py" - "$data/scale-run.json" "$n" "$limit" "$(echo "$t1 - $t0" | bc)" "$cpu" "$rss" "$l" "$commit" "$parquet_bytes" <<'PY' | tee -a "$results"
import json, sys
run = json.load(open(sys.argv[1]))
n, limit, wall, cpu, rss, load1, commit, pq = sys.argv[2:]
print(json.dumps({
    "engine": "crm", "task": "nightly_scale", "n": int(n), "memory_limit": limit,
    "seconds": round(float(wall), 1), "cpu_s": float(cpu), "peak_rss_mb": round(int(rss) / 1024, 1),
    "rows_per_s": round(int(n) / float(wall)), "spilled_mb": round(run["spilled_bytes"] / 2**20, 1),
    "spill_files": run["spill_files"], "transactions_parquet_mb": round(int(pq) / 2**20, 1),
    "marts": {m["mart"]: m["rows"] for m in run["marts"]}, "load1": float(load1), "commit": commit,
}))
PY

# With REPORT=1: the dashboard for the same date, on the marts just written
# (customers = n/20, so 20M transactions give the 1M-customer report benchmark).
if [ "${REPORT:-0}" = 1 ]; then
  l=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$data/time-report.txt" \
    "$crm" --warehouse "$wh" report --as-of $as_of --out "$data/report-$n" -q >/dev/null
  t1=$(date +%s.%N)
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$data/time-report.txt")
  customers=$("$crm" --warehouse "$wh" sql "SELECT count(*) FROM rfm_customer WHERE as_of = DATE '$as_of'" --format csv | tail -1)
  printf '{"engine":"crm","task":"report","n":%s,"customers":%s,"seconds":%.2f,"peak_rss_mb":%.1f,"html_kb":%s,"load1":%s,"commit":"%s"}\n' \
    "$n" "$customers" "$(echo "$t1 - $t0" | bc)" "$(echo "$rss / 1024" | bc -l)" \
    "$(( $(stat -c %s "$data/report-$n/dashboard.html") / 1024 ))" "$l" "$commit" | tee -a "$results"
fi
