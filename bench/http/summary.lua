-- wrk script for the GET runs of bin/bench http: prints one machine-readable RESULT line at the end.
-- Latencies in milliseconds; non2xx counts answers outside 2xx/3xx (the run fails on any).
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f req_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f bytes=%d"
      .. " non2xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
    summary.requests, s, summary.requests / s, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout))
end
