#!/usr/bin/env bash
# Benchmarks, run by hand (never in CI beyond smoke size):
#   benches/run.sh gen 10000000        # crm gen throughput
#   benches/run.sh ingest 10000000     # crm load of a 10M-row CSV vs DuckDB COPY read_csv -> Parquet
#   benches/run.sh rfm 10000000        # RFM end to end vs DuckDB and polars, plus the scan+group-by floor
#     ROUNDS=5 benches/run.sh rfm 10000000     # five rounds in turn, then medians and ratios
#     WAREHOUSE=benches/data/scale-100000000 AS_OF=2025-12-30 ROUNDS=3 benches/run.sh rfm 100000000
#                                        # an existing warehouse (10^8: made by benches/scale.sh)
#     OPTIMIZE=0 benches/run.sh rfm 10000000   # the files as loaded, not bucketed by `crm optimize` first
#   benches/run.sh clv 20000000        # crm clv predict (summary+fit+score) vs lifetimes (CUSTOMERS=N overrides n/20)
#   CUSTOMERS=10800000 benches/run.sh funnel 21600000   # crm funnel --by manager and crm quality vs DuckDB on the same SQL
# Results are printed as JSON lines and appended to benches/results.jsonl
# (seconds = wall, cpu_s = user+sys, load1 = 1-minute load average just before the run).
# Needs a release build (cargo build --release) and the Python peers (scripts/test creates .venv;
# the clv task also needs `.venv/bin/pip install lifetimes`).
set -euo pipefail
cd "$(dirname "$0")/.."
task=${1:?task: gen|ingest|rfm|clv|funnel}
n=${2:-1000000}
crm=${CRM_BIN:-target/release/crm}
py=${CRM_PYTHON:-.venv/bin/python}
data=${BENCH_DATA:-benches/data}
peer_timeout=${PEER_TIMEOUT:-600}
mkdir -p "$data"
results=benches/results.jsonl
as_of=${AS_OF:-2025-12-31}
rounds=${ROUNDS:-1}
# This invocation's result lines, for the medians at the end.
run_lines=$(mktemp)
trap 'rm -f "$run_lines"' EXIT
# The tree's commit, marked dirty when code differs (results.jsonl itself does not count).
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- . ':!benches/results.jsonl' || commit="$commit-dirty"

load1() { cut -d' ' -f1 /proc/loadavg; }

# Wall time, CPU time and peak RSS of a crm command, as a JSON object.
measure() {
  local label=$1 rows=$2; shift 2
  local l t0 t1 rss cpu
  l=$(load1)
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$data/time.txt" "$@" >/dev/null
  t1=$(date +%s.%N)
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$data/time.txt")
  cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u+s}' "$data/time.txt")
  printf '{"engine":"crm","task":"%s","n":%s,"rows":%s,"seconds":%.3f,"cpu_s":%.2f,"peak_rss_mb":%.1f,"load1":%s,"commit":"%s"}\n' \
    "$label" "$n" "$rows" "$(echo "$t1 - $t0" | bc)" "$cpu" "$(echo "$rss / 1024" | bc -l)" "$l" "$commit" | tee -a "$results" "$run_lines"
}

# A peer (benches/peers.py SUBCOMMAND ...): its JSON line, with n, load1 and CPU time added.
peer() {
  local l line cpu
  l=$(load1)
  local rc=0
  line=$(/usr/bin/time -v -o "$data/time-peer.txt" timeout "$peer_timeout" "$py" benches/peers.py "$@") || rc=$?
  if [ "$rc" -ne 0 ]; then
    # 124 = killed by the timeout
    printf '{"engine":"peer","task":"%s","n":%s,"failed":"exit %s (124 = over %ss)","load1":%s,"commit":"%s"}\n' \
      "$1" "$n" "$rc" "$peer_timeout" "$l" "$commit" | tee -a "$results" "$run_lines"
    return 0
  fi
  cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u+s}' "$data/time-peer.txt")
  echo "${line%\}},\"n\":$n,\"cpu_s\":$cpu,\"load1\":$l,\"commit\":\"$commit\"}" | tee -a "$results" "$run_lines"
}

# A warehouse holding only the generated transactions of size n (customers = n/20 unless CUSTOMERS).
tx_warehouse() {
  local wh=$1 cust=${CUSTOMERS:-}
  if [ ! -d "$wh/tables/transactions" ]; then
    rm -rf "$data/gen-tmp"
    "$crm" gen --transactions "$n" ${cust:+--customers $cust} --end-date $as_of --dir "$data/gen-tmp" -q
    "$crm" --warehouse "$wh" load --table transactions "$data/gen-tmp"/transactions/*.parquet -q
    rm -rf "$data/gen-tmp"
  fi
}

# Reads a warehouse's files once, unmeasured: crm runs first in each task, and
# after another warehouse's run it would otherwise pay for the page cache alone
# (a funnel at 1M interests: 4.18 s cold against 2.84 s warm).
warm() { find "$1/tables" -name '*.parquet' -exec cat {} + > /dev/null; }

case "$task" in
  gen)
    rm -rf "$data/gen"
    measure gen_parquet "$n" "$crm" gen --transactions "$n" --end-date $as_of --dir "$data/gen" -q
    rm -rf "$data/gen"
    ;;
  ingest)
    csv="$data/tx-$n.csv"
    if [ ! -f "$csv" ]; then
      csv_dir="$data/csv-$n"
      rm -rf "$csv_dir"
      "$crm" gen --transactions "$n" --end-date $as_of --dir "$csv_dir" --csv -q
      # One file for both engines.
      first=$(ls "$csv_dir"/transactions/*.csv | head -1)
      head -1 "$first" > "$csv"
      for f in "$csv_dir"/transactions/*.csv; do tail -n +2 "$f" >> "$csv"; done
      rm -rf "$csv_dir"
    fi
    rows=$(($(wc -l < "$csv") - 1))
    sync
    rm -rf "$data/wh-ingest"
    measure ingest_csv_load "$rows" "$crm" --warehouse "$data/wh-ingest" load --table transactions "$csv" -q
    rm -rf "$data/wh-ingest"
    rm -f "$data/duck.parquet"
    peer duckdb-ingest "$csv" "$data/duck.parquet"
    rm -f "$data/duck.parquet"
    ;;
  rfm)
    wh=${WAREHOUSE:-"$data/wh-tx-$n"}
    [ -n "${WAREHOUSE:-}" ] || tx_warehouse "$wh"
    # The layout the README tells users to keep: transactions bucketed by
    # customer (`crm optimize`; a no-op when they are already). Every engine
    # reads the same files. OPTIMIZE=0 measures the files as loaded.
    [ "${OPTIMIZE:-1}" = 0 ] || measure optimize "$n" "$crm" --warehouse "$wh" optimize -q
    cust=$("$crm" --warehouse "$wh" sql "SELECT count(DISTINCT customer_id) FROM transactions" --format csv | tail -1)
    warm "$wh"
    # Rounds in turn (crm, its peers, the floors; then again), so that a slow
    # minute on a shared machine hits every engine rather than one.
    for _ in $(seq "$rounds"); do
      # The whole rfm_customer mart (18 columns), against DuckDB writing the same mart
      # with crm's own rfm_base.sql, rfm_segmented.sql and rfm_customer.sql, the
      # segment map, in zstd.
      measure rfm_per_customer "$cust" "$crm" --warehouse "$wh" rfm --as-of $as_of --per-customer --format parquet --out "$data/crm-rfm.parquet" -q
      peer duckdb-rfm-mart "$wh" $as_of "$data/duck-rfm-mart.parquet"
      # The seven columns of the peers' RFM query (peers.py RFM_SQL), the same values.
      measure rfm_7_columns "$cust" "$crm" --warehouse "$wh" rfm --as-of $as_of --per-customer \
        --columns customer_id,recency_days,frequency,monetary,r,f,m --format parquet --out "$data/crm-rfm7.parquet" -q
      peer duckdb-rfm "$wh" $as_of "$data/duck-rfm.parquet"
      peer polars-rfm "$wh" $as_of "$data/polars-rfm.parquet"
      # The floor: one scan and one group-by, output written the same way.
      measure floor_scan_groupby "$cust" "$crm" --warehouse "$wh" sql \
        "SELECT customer_id, max(ts) AS last_ts, count(*) AS n, sum(amount) AS total FROM transactions GROUP BY customer_id" \
        --format parquet --out "$data/crm-floor.parquet" -q
      peer duckdb-floor "$wh" "$data/duck-floor.parquet"
      peer polars-floor "$wh" "$data/polars-floor.parquet"
    done
    # The engines agree, row for row.
    "$py" benches/peers.py same-rfm "$data/crm-rfm7.parquet" "$data/duck-rfm.parquet"
    "$py" benches/peers.py same-rfm "$data/crm-rfm.parquet" "$data/polars-rfm.parquet"
    "$py" benches/medians.py < "$run_lines"
    ;;
  clv)
    wh="$data/wh-tx-$n${CUSTOMERS:+-c$CUSTOMERS}"
    tx_warehouse "$wh"
    cust=$("$crm" --warehouse "$wh" sql "SELECT count(DISTINCT customer_id) FROM transactions WHERE amount >= 0" --format csv | tail -1)
    warm "$wh"
    measure clv_predict "$cust" "$crm" --warehouse "$wh" clv predict --as-of $as_of --horizon 12 --format parquet --out "$data/crm-clv.parquet" -q
    if [ -z "${SKIP_LIFETIMES:-}" ]; then
      peer lifetimes-clv "$wh" $as_of 12 "$data/lifetimes-clv.parquet"
    fi
    ;;
  funnel)
    # Interests and interactions scale with customers (about 0.185 interests and 0.88
    # interactions per customer): CUSTOMERS=10800000 gives ~2M interests and ~9.5M interactions.
    wh="$data/wh-all-$n${CUSTOMERS:+-c$CUSTOMERS}"
    if [ ! -d "$wh/tables/interests" ]; then
      "$crm" --warehouse "$wh" gen --transactions "$n" ${CUSTOMERS:+--customers $CUSTOMERS} --end-date $as_of -q
    fi
    interests=$("$crm" --warehouse "$wh" sql "SELECT count(*) FROM interests" --format csv | tail -1)
    "$crm" --warehouse "$wh" sql "SELECT (SELECT count(*) FROM interests) AS interests, (SELECT count(*) FROM interest_stages) AS stages, (SELECT count(*) FROM interactions) AS interactions, (SELECT count(*) FROM customers) AS customers" --format csv >&2
    warm "$wh"
    measure funnel_by_manager "$interests" "$crm" --warehouse "$wh" funnel --by manager --as-of $as_of --format parquet --out "$data/crm-funnel.parquet" -q
    peer duckdb-funnel "$wh" $as_of manager "$data"
    measure quality_month "$interests" "$crm" --warehouse "$wh" quality --as-of $as_of --format parquet --out "$data/crm-quality.parquet" -q
    peer duckdb-quality "$wh" $as_of "$data"
    ;;
  *) echo "unknown task $task" >&2; exit 2 ;;
esac
