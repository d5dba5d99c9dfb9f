#!lua flags=allow-oom
-- Removes the sessions last active before a cutoff, with their requests in flight, a bounded number per call; then
-- drops the starts the idle timeout old of the sessions still held (KEYS[5]), as many at most.
-- KEYS[1] the session index, KEYS[2] the retained bytes, KEYS[4] the requests in flight, KEYS[5] the sessions with
-- requests in flight (KEYS[3] only checked); ARGV[1] the key prefix, ARGV[2] the cutoff in ms, ARGV[3] the most to
-- remove, ARGV[4] now in ms, ARGV[5] the width of a bucket of start times in ms (BUCKETS).
-- Returns {sessions removed, sessions held, the labels whose requests in flight it changed, each followed by its
-- requests in flight, sessions whose starts it expired}.
local removed = 0
local most = tonumber(ARGV[3])
refuseDenied(KEYS, sessionKey(ARGV[1], ''))
checkGlobals(KEYS)
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, most)) do
  local key = sessionKey(ARGV[1], id)
  redis.call('DECRBY', KEYS[2], size(key))
  leaveInFlight(KEYS, key)
  redis.call('DEL', key, key .. ':r', key .. ':s')
  redis.call('ZREM', KEYS[1], id)
  removed = removed + 1
end

-- Moves every 'f:<label>' of the session at key to bucket current, dropping the starts then the idle timeout old,
-- writes back what changed (the session's size with it), and names the session in KEYS[5] by its oldest start left,
-- or no longer when none is left. A session whose header or hash no batch wrote is left as it is.
local function expire(key, current)
  local all = redis.pcall('HGETALL', key)
  local header = nil
  if not all.err then
    for j = 1, #all, 2 do
      if all[j] == 'h' then header = all[j + 1] end
    end
  end
  local h = header and ofThisLayout(header) and {pcall(cmsgpack.unpack, header)}
  if not (h and h[1] and type(h[9]) == 'number' and h[12] == nil) then
    redis.call('ZREM', KEYS[5], key)
    return
  end
  local writes, gone, grown, oldest = {}, {}, 0, nil
  for j = 1, #all, 2 do
    local field, value = all[j], all[j + 1]
    local f = string.sub(field, 1, 2) == 'f:' and flightOf(value, current)
    if f then
      flightAdvance(KEYS, f, string.sub(field, 3), current)
      if flightTotal(f) == 0 then
        gone[#gone + 1] = field
        grown = grown - string.len(field) - string.len(value) - RECORD_OVERHEAD
      else
        local packed = cmsgpack.pack(unpack(f))
        writes[#writes + 1] = field
        writes[#writes + 1] = packed
        grown = grown + string.len(packed) - string.len(value)
        local o = flightOldest(f)
        if oldest == nil or o < oldest then oldest = o end
      end
    end
  end
  if grown ~= 0 then
    h[9] = h[9] + grown
    writes[#writes + 1] = 'h'
    writes[#writes + 1] = cmsgpack.pack(unpack(h, 2, 11))
    redis.call('INCRBY', KEYS[2], grown)
  end
  if #writes > 0 then redis.call('HSET', key, unpack(writes)) end
  if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
  if oldest then
    redis.call('ZADD', KEYS[5], oldest, key)
  else
    redis.call('ZREM', KEYS[5], key)
  end
end

local current = math.floor(tonumber(ARGV[4]) / tonumber(ARGV[5]))
local expired = 0
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', current - BUCKETS, 'LIMIT', 0, most)) do
  expire(key, current)
  expired = expired + 1
end
-- and the sessions whose starts are dated the whole timeout ahead (a clock that had been set ahead: flightAdvance)
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '(' .. (current + BUCKETS), '+inf', 'LIMIT', 0,
    most - expired)) do
  expire(key, current)
  expired = expired + 1
end
return {removed, redis.call('ZCARD', KEYS[1]), flightWrite(KEYS), expired}
