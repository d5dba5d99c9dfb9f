#!lua flags=allow-oom
-- Removes the sessions last active before a cutoff, with their requests in flight, a bounded number per call.
-- KEYS[1] the session index, KEYS[2] the retained bytes, KEYS[4] the requests in flight (KEYS[3] only checked);
-- ARGV[1] the key prefix, ARGV[2] the cutoff in ms, ARGV[3] the most to remove.
-- Returns {sessions removed, sessions held, the labels whose requests in flight it changed, each followed by its
-- requests in flight}.
local removed = 0
refuseDenied(KEYS, sessionKey(ARGV[1], ''))
checkGlobals(KEYS)
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))) do
  local key = sessionKey(ARGV[1], id)
  redis.call('DECRBY', KEYS[2], size(key))
  leaveInFlight(KEYS, key)
  redis.call('DEL', key, key .. ':r', key .. ':s')
  redis.call('ZREM', KEYS[1], id)
  removed = removed + 1
end
return {removed, redis.call('ZCARD', KEYS[1]), flightWrite(KEYS)}
