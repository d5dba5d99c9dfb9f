#!/usr/bin/env bash
# Soak run, called by `bin/bench soak [--minutes N] [--connections C]` (not part of the test suite):
# the packaged server with its default bounds under sustained POST /events load with session churn.
# Every minute: wrk's throughput and p99, then heap used after a full GC (jcmd GC.run; GC.heap_info)
# and the process's thread count. Flat heap and threads across the minutes is the pass criterion.
set -euo pipefail
minutes=10
connections=16
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    *) echo "usage: bin/bench soak [--minutes N] [--connections C]" >&2; exit 2 ;;
  esac
done
out=target/soak
mkdir -p "$out"
echo "Building target/llm-metrics.jar" >&2
mvn -B -ntp -q -DskipTests package > "$out/build.log" 2>&1 || { cat "$out/build.log" >&2; exit 1; }
log=$out/server.log
env -u LLM_METRICS_AUTH_TOKEN SERVER_HOST=127.0.0.1 SERVER_PORT=0 "$JAVA_HOME/bin/java" -Xmx1g \
  -Djava.util.logging.config.file=bench/http/logging-quiet.properties -jar target/llm-metrics.jar > "$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
port=""
for _ in $(seq 600); do
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n 1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$log" >&2; exit 1; }
echo "machine: $(nproc) cores; JDK $("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1); server pid $pid on port $port" >&2
printf '%-7s %10s %10s %10s %14s %8s %10s\n' minute "req/s" "events/s" "p99 ms" "heap after GC" threads sessions
for minute in $(seq "$minutes"); do
  BENCH_BATCH=100 wrk -t2 -c"$connections" -d60s --latency -s bench/http/churn-events.lua "http://127.0.0.1:$port" > "$out/wrk-$minute.txt"
  rps=$(awk '/^Requests\/sec/ {print $2}' "$out/wrk-$minute.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$out/wrk-$minute.txt")
  "$JAVA_HOME/bin/jcmd" "$pid" GC.run > /dev/null
  heap=$("$JAVA_HOME/bin/jcmd" "$pid" GC.heap_info | sed -n 's/.*used \([0-9]*K\).*/\1/p' | head -n 1)
  threads=$(awk '/^Threads/ {print $2}' "/proc/$pid/status")
  sessions=$(curl -fsS "http://127.0.0.1:$port/health" | sed -n 's/.*"sessions":\([0-9]*\).*/\1/p')
  printf '%-7s %10s %10.0f %10s %14s %8s %10s\n' "$minute" "$rps" "$(awk -v r="$rps" 'BEGIN {print r * 100}')" "$p99" "$heap" "$threads" "$sessions"
done
