-- What the store's scripts share, put in each of them by Script.load after its #!lua line: a session's key, the
-- layout of its stored numbers and the size its bound counts.

-- The first number of each value of a session's hash: its header 'h' (life, last activity ms, finished
-- requests, records kept, scores of requests kept, scores received, size, model labels, score names), a pair's
-- 16 figures per 'p:<label>' and a score name's 5 per 's:<name>', all MessagePack numbers.
local LAYOUT = 1

-- Whether a stored value is of this layout (a MessagePack 1 is the byte 1).
local function ofThisLayout(value) return string.byte(value, 1) == LAYOUT end

-- A session's key, as RedisSessionStore.key writes it: a backslash before each backslash and closing brace.
local function sessionKey(prefix, id) return prefix .. '{' .. (string.gsub(id, '[\\}]', '\\%0')) .. '}' end

-- The size the bound counts for the session at key: its header's, or field b of a session of an earlier
-- layout (which kept its counts as text), so that removing either gives its bytes back.
-- A key of another type at the session's place, or a header whose size is no number (written by someone else),
-- counts as nothing: the DEL that follows removes it, where an error would stop the script after its first writes.
local function size(key)
  local v = redis.pcall('HMGET', key, 'h', 'b')
  if v.err then return 0 end
  local b
  if v[1] and ofThisLayout(v[1]) then
    local header = {pcall(cmsgpack.unpack, v[1])} -- true, then the layout number and the header's numbers
    b = header[1] and header[9]
  else
    b = tonumber(v[2])
  end
  return type(b) == 'number' and b == b and math.abs(b) < 2^53 and math.floor(b) or 0
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

-- Refuses the script when the index (KEYS[1]), the retained bytes (KEYS[2]), the counter of lives (KEYS[3]) or
-- the requests in flight (KEYS[4]) hold what INCRBY, DECRBY, INCR, ZADD or HSET would fail on.
local function checkGlobals(keys)
  checkType(keys[1], 'zset')
  checkType(keys[4], 'hash')
  for k = 2, 3 do
    local v = redis.pcall('GET', keys[k]) -- an error: a key of another type than a string
    if type(v) == 'table' then foreign(keys[k], 'a ' .. redis.call('TYPE', keys[k])['ok']) end
    if v and not (string.match(v, '^%-?%d+$') and string.len(v) <= 18) then foreign(keys[k], 'no integer') end
  end
end

