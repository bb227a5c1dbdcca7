#!/usr/bin/env bash
# Ballista's overhead against the local engine on one machine (issue 7):
#   benches/cluster.sh 10000000      # the nightly marts on the scale-N warehouse, local then on a cluster
# The cluster is 1 scheduler + 2 executors on loopback, each executor running
# one task at a time, so both engines use the machine's 2 cores. The same
# binary runs both (build it with --features ballista; CRM_BIN, CRM_SCHEDULER
# and CRM_EXECUTOR name the binaries). The warehouse is the one
# benches/scale.sh sets up (run that first for a new size).
# LIMIT=4GiB runs both under `--memory-limit` (the client's session, whose
# settings the tasks carry) and gives each executor half of it as its pool.
# Prints (and appends to benches/results.jsonl) wall time, the client's CPU
# time and peak RSS, and the executors' peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:?transactions}
bin=${BIN_DIR:-target/release}
crm=${CRM_BIN:-$bin/crm}
scheduler=${CRM_SCHEDULER:-$bin/crm-scheduler}
executor=${CRM_EXECUTOR:-$bin/crm-executor}
py=${CRM_PYTHON:-.venv/bin/python}
data=${BENCH_DATA:-benches/data}
as_of=2025-12-31
wh="$data/scale-$n"
results=benches/results.jsonl
# The tree's commit, marked dirty when code differs (results.jsonl itself does not count).
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- . ':!benches/results.jsonl' || commit="$commit-dirty"
limit=${LIMIT:-}
limit_args=()
pool_args=()
if [ -n "$limit" ]; then
  limit_args=(--memory-limit "$limit")
  bytes=$("$py" -c 'import sys; u={"KiB":2**10,"MiB":2**20,"GiB":2**30}; s=sys.argv[1]; print(int(float(s[:-3]) * u[s[-3:]]))' "$limit")
  pool_args=(--memory-pool-size $((bytes / 2)))
fi
[ -f "$wh/.ready" ] || { echo "no warehouse at $wh: run benches/scale.sh $n first" >&2; exit 2; }

port=$((40000 + RANDOM % 10000))
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
"$scheduler" --port "$port" --external-host 127.0.0.1 2>"$work/scheduler.log" &
pids+=($!)
for i in 1 2; do
  "$executor" --scheduler "127.0.0.1:$port" --port $((port + 2 * i)) --grpc-port $((port + 2 * i + 1)) \
    --concurrent-tasks 1 --work-dir "$work/executor-$i" "${pool_args[@]}" 2>"$work/executor-$i.log" &
  pids+=($!)
done
sleep 3

run() {
  local engine=$1 l t0 t1 rss cpu
  l=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$data/time-cluster.txt" \
    "$crm" --warehouse "$wh" --engine "$engine" "${limit_args[@]}" run --as-of $as_of --format json > "$data/cluster-run.json"
  t1=$(date +%s.%N)
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$data/time-cluster.txt")
  cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u+s}' "$data/time-cluster.txt")
  local exec_rss=0
  if [ "$engine" != local ]; then
    for p in "${pids[@]:1}"; do
      exec_rss=$((exec_rss + $(awk '/VmHWM/ {print $2}' "/proc/$p/status")))
    done
  fi
  "$py" - "$data/cluster-run.json" "$n" "$engine" "$(echo "$t1 - $t0" | bc)" "$cpu" "$rss" "$exec_rss" "$l" "$commit" "$limit" <<'PY' | tee -a "$results"
import json, sys
run = json.load(open(sys.argv[1]))
n, engine, wall, cpu, rss, exec_rss, load1, commit, limit = sys.argv[2:]
print(json.dumps({
    "engine": "crm", "task": "nightly_cluster", "n": int(n),
    "on": "local" if engine == "local" else "ballista 1 scheduler + 2 executors x 1 task",
    "seconds": round(float(wall), 1), "client_cpu_s": float(cpu), "client_peak_rss_mb": round(int(rss) / 1024, 1),
    "executors_peak_rss_mb": round(int(exec_rss) / 1024, 1),
    "marts": {m["mart"]: m["rows"] for m in run["marts"]}, "load1": float(load1), "commit": commit,
    "memory_limit": limit or "none",
}))
PY
}

run local
run "ballista://127.0.0.1:$port"
