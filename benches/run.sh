#!/usr/bin/env bash
# Benchmarks, run by hand (never in CI beyond smoke size):
#   benches/run.sh ingest 10000000     # crm load vs DuckDB COPY on the same CSV
#   benches/run.sh gen 10000000        # crm gen throughput
#   benches/run.sh rfm 10000000        # RFM end to end vs DuckDB and polars
# Results are printed as JSON lines and appended to benches/results.jsonl.
# Needs a release build (cargo build --release) and the Python peers (scripts/test creates .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
task=${1:?task: ingest|gen|rfm}
n=${2:-1000000}
crm=${CRM_BIN:-target/release/crm}
py=${CRM_PYTHON:-.venv/bin/python}
data=${BENCH_DATA:-benches/data}
mkdir -p "$data"
results=benches/results.jsonl
as_of=2025-12-31

# Wall time and peak RSS of a command, as a JSON object.
measure() {
  local label=$1; shift
  local t0 t1 rss
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$data/time.txt" "$@" >/dev/null
  t1=$(date +%s.%N)
  rss=$(tail -1 "$data/time.txt")
  printf '{"engine":"crm","task":"%s","n":%s,"seconds":%.3f,"peak_rss_mb":%.1f}\n' \
    "$label" "$n" "$(echo "$t1 - $t0" | bc)" "$(echo "$rss / 1024" | bc -l)" | tee -a "$results"
}

case "$task" in
  gen)
    rm -rf "$data/gen"
    measure gen_parquet "$crm" gen --transactions "$n" --end-date $as_of --dir "$data/gen" -q
    ;;
  ingest)
    csv_dir="$data/csv-$n"
    if [ ! -d "$csv_dir" ]; then
      "$crm" gen --transactions "$n" --end-date $as_of --dir "$csv_dir" --csv -q
    fi
    csv=$(ls "$csv_dir"/transactions/*.csv | head -1)
    if [ "$(ls "$csv_dir"/transactions/*.csv | wc -l)" -gt 1 ]; then
      # One file for both engines.
      head -1 "$csv" > "$data/tx-$n.csv"
      for f in "$csv_dir"/transactions/*.csv; do tail -n +2 "$f" >> "$data/tx-$n.csv"; done
      csv="$data/tx-$n.csv"
    fi
    rm -rf "$data/wh-ingest"
    measure ingest_csv_load "$crm" --warehouse "$data/wh-ingest" load --table transactions "$csv" -q
    rm -f "$data/duck.parquet"
    "$py" benches/peers.py duckdb-ingest "$csv" "$data/duck.parquet" | tee -a "$results"
    ;;
  rfm)
    wh="$data/wh-rfm-$n"
    if [ ! -d "$wh/tables/transactions" ]; then
      rm -rf "$data/gen-$n"
      "$crm" gen --transactions "$n" --end-date $as_of --dir "$data/gen-$n" -q
      "$crm" --warehouse "$wh" load --table transactions "$data/gen-$n"/transactions/*.parquet -q
    fi
    measure rfm_per_customer "$crm" --warehouse "$wh" rfm --as-of $as_of --per-customer --format parquet --out "$data/crm-rfm.parquet" -q
    "$py" benches/peers.py duckdb-rfm "$wh" $as_of "$data/duck-rfm.parquet" | tee -a "$results"
    "$py" benches/peers.py polars-rfm "$wh" $as_of "$data/polars-rfm.parquet" | tee -a "$results"
    ;;
  *) echo "unknown task $task" >&2; exit 2 ;;
esac
