-- wrk script for bin/bench http: POST /events with JSON arrays of about BATCH events (default 100), half
-- LLM_REQUEST_STARTED and half LLM_REQUEST_COMPLETED, one pair per call, spread over POOL sessions
-- (default 1000, inside the default meters.max.sessions of 2000) and five models; with BENCH_SCORES=1 each
-- call also gets an LLM_REQUEST_SCORED of its correlation id (a third of the events); with BENCH_ATTRIBUTES=1
-- each completed event carries three attributes (user, tenant, feature); with BENCH_FAILURES=1 each call ends in
-- an LLM_REQUEST_FAILED with an error text instead of a completion. The bodies are built once
-- per wrk thread in init() and cycled, so that wrk spends its time sending, not formatting.
-- Usage: [BENCH_BATCH=100] [BENCH_POOL=1000] [BENCH_SCORES=1] [BENCH_ATTRIBUTES=1] [BENCH_FAILURES=1] wrk ... -s bench/http/post-events.lua http://127.0.0.1:PORT
-- (environment, not script arguments: wrk calls done() in a Lua state where init() never ran)
local batch = tonumber(os.getenv("BENCH_BATCH") or "100")
local pool = tonumber(os.getenv("BENCH_POOL") or "1000")
local scores = os.getenv("BENCH_SCORES") == "1"
local per_call = scores and 3 or 2
local attributes = os.getenv("BENCH_ATTRIBUTES") == "1"
local failures = os.getenv("BENCH_FAILURES") == "1"
local bodies = 64
local models = { "gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-pro", "llama-3.3-70b" }
local requests = {}
local counter = 0

init = function(args)
  math.randomseed(12345)
  local calls = math.floor(batch / per_call)
  for b = 1, bodies do
    local parts = {}
    for k = 1, calls do
      local n = ((b - 1) * calls + k - 1) % pool
      local sid = string.format("post-session-%06d", n)
      local model = models[(n % #models) + 1]
      local cid = string.format("c-%d-%d", b, k)
      local prompt = 50 + math.random(0, 3949)
      local completion = 10 + math.random(0, 1489)
      parts[#parts + 1] = string.format(
        '{"type":"LLM_REQUEST_STARTED","session_id":"%s","model":"%s","messages_count":%d,"tools_count":%d,"correlation_id":"%s"}',
        sid, model, math.random(1, 40), math.random(0, 7), cid)
      local extra = ""
      if attributes then
        extra = string.format(',"attributes":{"user":"user-%d","tenant":"tenant-%d","feature":"%s"}',
          math.random(1, 100000), n % 10, (k % 3 == 0) and "chat" or "search")
      end
      if failures then
        parts[#parts + 1] = string.format(
          '{"type":"LLM_REQUEST_FAILED","session_id":"%s","model":"%s","duration_ms":%d,"error_type":"rate_limit",'
            .. '"http_status":429,"error":"RateLimitError: 429 Too Many Requests for %s (request req-%d)",'
            .. '"correlation_id":"%s"%s}',
          sid, model, 200 + math.random(0, 11799), model, math.random(1, 1000000000), cid, extra)
      else
        parts[#parts + 1] = string.format(
          '{"type":"LLM_REQUEST_COMPLETED","session_id":"%s","model":"%s","duration_ms":%d,"prompt_tokens":%d,'
            .. '"completion_tokens":%d,"total_tokens":%d,"has_tool_calls":%s,"correlation_id":"%s"%s}',
          sid, model, 200 + math.random(0, 11799), prompt, completion, prompt + completion,
          (math.random(1, 4) == 1) and "true" or "false", cid, extra)
      end
      if scores then
        parts[#parts + 1] = string.format(
          '{"type":"LLM_REQUEST_SCORED","session_id":"%s","name":"%s","value":%d,"correlation_id":"%s"}',
          sid, (k % 2 == 0) and "quality" or "relevance", math.random(0, 10), cid)
      end
    end
    local body = "[" .. table.concat(parts, ",") .. "]"
    requests[b] = wrk.format("POST", "/events", { ["Content-Type"] = "application/json" }, body)
  end
end

request = function()
  counter = counter + 1
  return requests[(counter % bodies) + 1]
end

done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f req_s=%.1f events_s=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f"
      .. " bytes=%d non2xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
    summary.requests, s, summary.requests / s, summary.requests * per_call * math.floor(batch / per_call) / s, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000, summary.bytes, e.status,
    e.connect, e.read, e.write, e.timeout))
end
