-- The lives Redis holds of some sessions. KEYS[1] the counter that numbers the lives; ARGV[1] the key prefix,
-- ARGV[2..] session ids. Returns {the counter, each session's life in ARGV's order, 0 when Redis holds none}:
-- a life made after this read is above the counter.
-- A session's key, as RedisSessionStore.key writes it: a backslash before each backslash and closing brace.
local function sessionKey(id) return ARGV[1] .. '{' .. (string.gsub(id, '[\\}]', '\\%0')) .. '}' end
local lives = {}
for i = 2, #ARGV do
  lives[#lives + 1] = tonumber(redis.call('HGET', sessionKey(ARGV[i]), 'life') or '0')
end
return {tonumber(redis.call('GET', KEYS[1]) or '0'), lives}
