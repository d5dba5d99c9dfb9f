#!lua flags=allow-oom
-- Removes one session with its requests in flight. KEYS[1] the session index, KEYS[2] the retained bytes, KEYS[3]
-- the counter of lives, KEYS[4] the requests in flight; ARGV[1] the session's key, ARGV[2] the session id. Returns
-- {1 when the session was held else 0, sessions held, the counter of lives: every life of the session up to it is
-- gone, a later one is made after this, the labels whose requests in flight it changed, each followed by its
-- requests in flight}. ARGV[3] to ARGV[7], when given, are the revision the session must have to be removed: its
-- header's life, finished requests, scores received, records kept and scores of requests kept, as
-- RedisSessionStore.revision names them; a session not held with them is left as it is, and the answer is then
-- {0, sessions held, 0, {}, 1}.
local key = ARGV[1]
local held = 0
refuseDenied(KEYS, key)
checkGlobals(KEYS)
if ARGV[3] then
  local v = redis.pcall('HGET', key, 'h')
  local h = type(v) == 'string' and ofThisLayout(v) and {pcall(cmsgpack.unpack, v)} or {}
  if not (h[1] and h[3] == tonumber(ARGV[3]) and h[5] == tonumber(ARGV[4]) and h[8] == tonumber(ARGV[5])
      and h[6] == tonumber(ARGV[6]) and h[7] == tonumber(ARGV[7])) then
    return {0, redis.call('ZCARD', KEYS[1]), 0, {}, 1}
  end
end
if redis.call('ZREM', KEYS[1], ARGV[2]) == 1 or redis.call('EXISTS', key) == 1 then
  held = 1
  redis.call('DECRBY', KEYS[2], size(key))
  leaveInFlight(KEYS, key)
  redis.call('DEL', key, key .. ':r', key .. ':s')
end
return {held, redis.call('ZCARD', KEYS[1]), tonumber(redis.call('GET', KEYS[3]) or '0'), flightWrite(KEYS)}
