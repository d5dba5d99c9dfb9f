-- wrk script for bin/bench soak: POST /events batches of STARTED + COMPLETED pairs whose sessions never
-- repeat for long: each request moves the session window forward, so the store and the metered-session
-- cache churn continuously (new sessions in, the least recently active evicted).
-- Usage: [BENCH_BATCH=100] wrk ... -s bench/http/churn-events.lua http://127.0.0.1:PORT
local batch = tonumber(os.getenv("BENCH_BATCH") or "100")
local models = { "gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-pro", "llama-3.3-70b" }
local counter = 0
local thread_id = 0
local next_thread = 0

setup = function(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

request = function()
  counter = counter + 1
  local parts = {}
  for k = 1, math.floor(batch / 2) do
    -- 10 calls per session, then a new one: sessions churn at a tenth of the call rate.
    local sid = string.format("soak-%d-%d", thread_id, math.floor((counter * batch / 2 + k) / 10))
    local model = models[(k % #models) + 1]
    parts[#parts + 1] = string.format('{"type":"LLM_REQUEST_STARTED","session_id":"%s","model":"%s","messages_count":4}', sid, model)
    parts[#parts + 1] = string.format('{"type":"LLM_REQUEST_COMPLETED","session_id":"%s","model":"%s","duration_ms":%d,'
      .. '"prompt_tokens":%d,"completion_tokens":%d}', sid, model, 100 + (counter % 5000), 500 + (k % 900), 100 + (k % 300))
  end
  return wrk.format("POST", "/events", { ["Content-Type"] = "application/json" }, "[" .. table.concat(parts, ",") .. "]")
end
