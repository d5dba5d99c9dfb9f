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
local function size(key)
  local v = redis.call('HMGET', key, 'h', 'b')
  if v[1] and ofThisLayout(v[1]) then return (select(8, cmsgpack.unpack(v[1]))) end
  return tonumber(v[2]) or 0
end

