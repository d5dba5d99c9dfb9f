#!/usr/bin/env bash
# POST /events against one, then two, server replicas sharing one Redis (store.backend=redis): batches of
# BENCH_BATCH (100) events, CONNECTIONS (16) connections in all, split evenly between the replicas (one wrk
# per replica, run at once); prints each run's summed events/s, the slowest replica's p50 and p99, and the
# non-2xx answers (503 store_unavailable past store.redis.timeout), then MEMORY USAGE of a session of 50
# records. Each run also prints the share of the machine's CPU time left idle while it was measured (from
# /proc/stat). STORE=memory runs the peer: each replica on its own in-memory store, no Redis, so the
# replicas share nothing but the machine; its ratio of two to one is the most any shared store could reach
# here. Needs a redis-server on REDIS_URL (default redis://127.0.0.1:6391) unless STORE=memory, and
# target/bench-build from `bin/bench http` (which builds it). Usage: bench/replicas.sh [duration 20s] [warmup 5s]
set -euo pipefail
cd "$(dirname "$0")/.."
. bin/find-java.sh >/dev/null
duration=${1:-20s} warmup=${2:-5s}
url=${REDIS_URL:-redis://127.0.0.1:6391} connections=${CONNECTIONS:-16} store=${STORE:-redis}
redis_port=${url##*:}
build=target/bench-build out=target/bench-build/results
mkdir -p "$out"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
trap cleanup EXIT

start_replica() { # index -> sets port; not in a subshell, so that pids keeps the replica for cleanup
  local log=$out/replica-$1.log i
  port=""
  local redis=(); [ "$store" = memory ] || redis=(STORE_REDIS_URL="$url")
  env -u LLM_METRICS_AUTH_TOKEN STORE_BACKEND="$store" "${redis[@]}" SERVER_HOST=127.0.0.1 SERVER_PORT=0 \
    "$JAVA_HOME/bin/java" -Djava.util.logging.config.file=bench/http/logging-quiet.properties \
    -cp "$build/llm-metrics.jar" dev.llmmetrics.server.Main > "$log" 2>&1 &
  pids+=($!)
  for ((i = 0; i < 600; i++)); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n 1)
    [ -n "$port" ] && return
    sleep 0.1
  done
  echo "replica $1 did not start; see $log" >&2; exit 1
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $2"; }

cpu_times() { head -n 1 /proc/stat; } # cpu user nice system idle iowait irq softirq steal ...

idle_share() { # first and last cpu_times -> per cent of the CPU time between them spent idle
  awk -v a="$1" -v b="$2" 'BEGIN {
    n = split(a, x, " "); split(b, y, " "); total = 0
    for (i = 2; i <= n; i++) total += y[i] - x[i]
    printf "%.1f", 100 * ((y[5] - x[5]) + (y[6] - x[6])) / total }'
}

redis_stats() { [ "$store" = memory ] && return; redis-cli -p "$redis_port" "$@"; }

run() { # replicas
  local n=$1 ports=() i per=$((connections / $1))
  redis_stats flushall >/dev/null
  for ((i = 1; i <= n; i++)); do start_replica "$i"; ports+=("$port"); done
  for p in "${ports[@]}"; do wrk -t1 -c"$per" -d"$warmup" -s bench/http/post-events.lua "http://127.0.0.1:$p" >/dev/null & done
  wait_wrk
  for ((i = 0; i < n; i++)); do
    wrk -t1 -c"$per" -d"$duration" --timeout 60s --latency -s bench/http/post-events.lua "http://127.0.0.1:${ports[$i]}" \
      > "$out/wrk-replicas-$n-$i.txt" &
  done
  local before; before=$(cpu_times)
  wait_wrk
  local idle; idle=$(idle_share "$before" "$(cpu_times)")
  local events=0 p50=0 p99=0 non2xx=0 r
  for ((i = 0; i < n; i++)); do
    r=$(grep '^RESULT' "$out/wrk-replicas-$n-$i.txt")
    events=$(awk -v a="$events" -v b="$(field events_s "$r")" 'BEGIN { print a + b }')
    p50=$(awk -v a="$p50" -v b="$(field p50_ms "$r")" 'BEGIN { print (b > a ? b : a) }')
    p99=$(awk -v a="$p99" -v b="$(field p99_ms "$r")" 'BEGIN { print (b > a ? b : a) }')
    non2xx=$((non2xx + $(field non2xx "$r")))
  done
  printf '%d replica(s) (%s), %d connections: %.0f events/s, p50 %s ms, p99 %s ms, non-2xx %d; CPU idle %s %%; Redis %s\n' \
    "$n" "$store" "$connections" "$events" "$p50" "$p99" "$non2xx" "$idle" \
    "$(redis_stats info commandstats | grep evalsha | tr -d '\r')"
  redis_stats config resetstat >/dev/null
  cleanup
}

wait_wrk() { local j; for j in $(jobs -p); do case " ${pids[*]} " in *" $j "*) ;; *) wait "$j" ;; esac; done; }

echo "uptime: $(uptime)"
run 1
run 2
echo "uptime: $(uptime)"
