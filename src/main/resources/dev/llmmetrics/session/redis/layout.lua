-- What the store's scripts share, put in each of them by Script.load after its #!lua line: a session's key, the
-- layout of its stored numbers and the size its bound counts.

-- The first number of each value of a session's hash: its header 'h' (life, last activity ms, finished
-- requests, records kept, scores of requests kept, scores received, size, model labels, score names), a pair's
-- 16 figures per 'p:<label>', a score name's 5 per 's:<name>' and the session's requests in flight of a model
-- label, 5 per 'f:<label>' (present while above 0: see BUCKETS), all MessagePack numbers. Layout 1 had no 'f:' fields (its
-- requests in flight were counted in llm:in-flight alone, which expired): its sessions' requests in flight cannot
-- leave with them, so a version of layout 1 and one of 2 on one Redis would drift the counts apart. Layout 2 sums
-- its counts in a key of its own (KEYS[4], llm:requests-in-flight): HSET keeps a key's expiry, so layout 1's
-- llm:in-flight, left in a database not emptied, would take layout 2's sums with it when it expires.
local LAYOUT = 2

-- What a hash field takes beside its name and value, as the bound in bytes counts it.
local RECORD_OVERHEAD = 16

-- Whether a stored value is of this layout (a MessagePack 2 is the byte 2).
local function ofThisLayout(value) return string.byte(value, 1) == LAYOUT end

-- A session's key, as RedisSessionStore.key writes it: a backslash before each backslash and closing brace.
local function sessionKey(prefix, id) return prefix .. '{' .. (string.gsub(id, '[\\}]', '\\%0')) .. '}' end

-- The size the bound counts for the session at key: its header's (layout 1's in the same place), or field b of a
-- session of an earlier layout (which kept its counts as text), so that removing any gives its bytes back.
-- A key of another type at the session's place, or a header whose size is no number (written by someone else),
-- counts as nothing: the DEL that follows removes it, where an error would stop the script after its first writes.
local function size(key)
  local v = redis.pcall('HMGET', key, 'h', 'b')
  if v.err then return 0 end
  local b
  if v[1] and (ofThisLayout(v[1]) or string.byte(v[1], 1) == 1) then
    local header = {pcall(cmsgpack.unpack, v[1])} -- true, then the layout number and the header's numbers
    b = header[1] and header[9]
  else
    b = tonumber(v[2])
  end
  return type(b) == 'number' and b == b and math.abs(b) < 2^53 and math.floor(b) or 0
end

-- The requests in flight per model label summed over the sessions (KEYS[4]), as a script changes them: read once
-- per label, written once at the end (flightWrite).
local flight, flightTouched = {}, {}

-- Adds delta to label's requests in flight, never below 0 nor above 2^53 - 1. A count held that is no integer of
-- digits only (set by someone else; Lua's tonumber also takes '1e3', ' 7', '0x10', '5.0', which the processes read
-- as none) counts as 0.
local function flightAdd(keys, label, delta)
  local count = flight[label]
  if count == nil then
    local held = redis.call('HGET', keys[4], label)
    count = held and string.len(held) <= 18 and string.match(held, '^%d+$') and tonumber(held) or 0
    if count >= 2^53 then count = 0 end
    flightTouched[#flightTouched + 1] = label
  end
  count = count + delta
  if count < 0 then count = 0 end
  if count > 2^53 - 1 then count = 2^53 - 1 end -- past it, the next script would read it as none
  flight[label] = count
end

-- Writes the counts changed (a label at 0 is removed); returns them as label, count, label, count...
local function flightWrite(keys)
  local counts = {}
  for _, label in ipairs(flightTouched) do
    local count = flight[label]
    if count > 0 then
      redis.call('HSET', keys[4], label, string.format('%d', count))
    else
      redis.call('HDEL', keys[4], label)
    end
    counts[#counts + 1] = label
    counts[#counts + 1] = count
  end
  return counts
end

-- A session's requests in flight of a label ('f:<label>') are counted by the start's bucket of time, as
-- InFlightRequests counts them: BUCKETS buckets, each a quarter of the idle timeout wide (numbered from the epoch,
-- the bucket of ms t being floor(t / width)). The value holds the layout number, the newest bucket, then the
-- starts in it and in each of the three before it. A bucket the idle timeout old stops counting (flightAdvance): at
-- a batch's start or end of the label, and at the idle sweep for each session the sorted set KEYS[5] (session key
-- -> a bucket no later than its oldest start's) names, so that an active session sheds a start whose end never came.
local BUCKETS = 4

-- The requests in flight of a stored 'f:<label>' value, as {LAYOUT, newest bucket, counts newest first}, or nil
-- for a value no batch writes (another layout, a count that is no whole number from 0 below 2^53). A value of a
-- count alone, as versions without buckets wrote it, holds its count in the bucket current.
local function flightOf(value, current)
  if not ofThisLayout(value) then return nil end
  local ok, _, a, b, c, d, e, extra = pcall(cmsgpack.unpack, value)
  if not ok or extra ~= nil then return nil end
  local f
  if b == nil then
    if c ~= nil or d ~= nil or e ~= nil then return nil end
    f = {LAYOUT, current, a, 0, 0, 0}
  elseif e ~= nil then
    f = {LAYOUT, a, b, c, d, e}
  else
    return nil
  end
  if type(f[2]) ~= 'number' or f[2] % 1 ~= 0 or math.abs(f[2]) >= 2^53 then return nil end
  for k = 3, 6 do
    local x = f[k]
    if type(x) ~= 'number' or x % 1 ~= 0 or x < 0 or x >= 2^53 then return nil end
  end
  return f
end

-- The starts f counts.
local function flightTotal(f) return f[3] + f[4] + f[5] + f[6] end

-- The bucket of f's oldest start; nil when it counts none.
local function flightOldest(f)
  for k = BUCKETS, 1, -1 do
    if f[k + 2] > 0 then return f[2] - k + 1 end
  end
  return nil
end

-- Moves f (label's) to bucket current: the buckets then the idle timeout old leave the sums. A bucket behind f's
-- (a clock behind another process's) moves nothing: its starts count in f's newest; but one the whole idle timeout
-- behind (a clock that had been set ahead) becomes f's newest, the counts kept, so that they stop within the
-- timeout of the clock's time rather than of the time it had been set to.
local function flightAdvance(keys, f, label, current)
  local shift = current - f[2]
  if shift <= -BUCKETS then f[2] = current end
  if shift <= 0 then return end
  for k = BUCKETS, 1, -1 do -- the bucket in place k goes to place k + shift, or past the last
    local count = f[k + 2]
    f[k + 2] = 0
    if k + shift <= BUCKETS then
      f[k + shift + 2] = count
    elseif count > 0 then
      flightAdd(keys, label, -count)
    end
  end
  f[2] = current
end

-- Takes the requests in flight of the session at key off the sum, before its keys are deleted: its 'f:<label>'
-- fields; and the session out of KEYS[5]. A key of another type, or a value no batch writes, counts as nothing, as
-- in size().
local function leaveInFlight(keys, key)
  redis.call('ZREM', keys[5], key)
  local all = redis.pcall('HGETALL', key)
  if all.err then return end
  for j = 1, #all, 2 do
    local field = all[j]
    if string.sub(field, 1, 2) == 'f:' then
      local f = flightOf(all[j + 1], 0)
      if f then
        flightAdd(keys, string.sub(field, 3), -flightTotal(f))
      end
    end
  end
end

-- Redis keeps a script's writes up to a command that fails, so a script checks, before its first write, that
-- the keys it writes hold what the store writes there (someone else may have set them, or another type):
-- otherwise it would stop half done. foreign refuses the script with the key's name.
local function foreign(key, what)
  error('FOREIGN ' .. key .. ' holds ' .. what .. ', which llm-metrics never writes there; delete it', 0)
end

-- Refuses the script when key holds a type other than expected (absent is fine).
local function checkType(key, expected)
  local t = redis.call('TYPE', key)['ok']
  if t ~= expected and t ~= 'none' then foreign(key, 'a ' .. t) end
end

-- Refuses the script when the index (KEYS[1]), the retained bytes (KEYS[2]), the counter of lives (KEYS[3]), the
-- requests in flight (KEYS[4]) or the sessions holding some (KEYS[5]) hold what INCRBY, DECRBY, INCR, ZADD or HSET
-- would fail on.
local function checkGlobals(keys)
  checkType(keys[1], 'zset')
  checkType(keys[4], 'hash')
  checkType(keys[5], 'zset')
  for k = 2, 3 do
    local v = redis.pcall('GET', keys[k]) -- an error: a key of another type than a string
    if type(v) == 'table' then foreign(keys[k], 'a ' .. redis.call('TYPE', keys[k])['ok']) end
    if v and not (string.match(v, '^%-?%d+$') and string.len(v) <= 18) then foreign(keys[k], 'no integer') end
  end
end

-- The first command the scripts and reads run that the user may not run (ACL), as 'COMMAND key', else nil; each
-- is checked on a key of its kind: the globals (keys, as checkGlobals takes them) and the session key s with its
-- lists. Redis checks a script's command only when the script reaches it, so a script that wrote first would stop
-- half done, its event ids written, were a right taken away after the store's last check.
local function deniedCommand(keys, s)
  local r, q = s .. ':r', s .. ':s'
  local checks = {
    {'EXISTS', s .. ':id:'}, {'SET', s .. ':id:', '1', 'PX', '1'}, {'HMGET', s, 'h'}, {'HGET', s, 'h'},
    {'HSET', s, 'h', ''}, {'HDEL', s, ''}, {'HGETALL', s}, {'TYPE', r}, {'LPOP', r, '1'}, {'RPUSH', r, ''},
    {'LRANGE', r, '0', '-1'},
    {'TYPE', q}, {'LPOP', q, '1'}, {'RPUSH', q, ''}, {'LRANGE', q, '0', '-1'}, {'DEL', s, r, q},
    {'ZADD', keys[1], '0', ''}, {'ZREM', keys[1], ''}, {'ZCARD', keys[1]}, {'ZRANGE', keys[1], '0', '0', 'REV'},
    {'ZRANGEBYSCORE', keys[1], '0', '0'}, {'TYPE', keys[1]}, {'GET', keys[2]}, {'INCRBY', keys[2], '0'},
    {'DECRBY', keys[2], '0'}, {'GET', keys[3]}, {'INCR', keys[3]}, {'SET', keys[3], '0'}, {'TYPE', keys[4]},
    {'HGET', keys[4], ''}, {'HSET', keys[4], '', '0'}, {'HDEL', keys[4], ''}, {'HGETALL', keys[4]},
    {'TYPE', keys[5]}, {'ZADD', keys[5], 'LT', '0', ''}, {'ZREM', keys[5], ''}, {'ZRANGEBYSCORE', keys[5], '0', '0'}
  }
  for _, c in ipairs(checks) do
    if not redis.acl_check_cmd(unpack(c)) then return c[1] .. ' ' .. c[2] end
  end
  return nil
end

-- Refuses the script, before its first write, when the user may not run one of the store's commands.
local function refuseDenied(keys, s)
  local denied = deniedCommand(keys, s)
  -- A table, so that the reply starts with the code NOPERM as Redis's own refusal does (a string gets ERR first).
  if denied then error({err = 'NOPERM the user may not run ' .. denied .. ', so the script wrote nothing'}) end
end
