#!lua flags=no-writes
-- The lives Redis holds of some sessions. KEYS[1] the counter that numbers the lives; ARGV the sessions' keys,
-- as RedisSessionStore.key writes them. Returns {the counter, each session's life in ARGV's order, 0 when Redis
-- holds none}: a life made after this read is above the counter.
local lives = {}
for i = 1, #ARGV do
  local h = redis.call('HGET', ARGV[i], 'h')
  -- the life: the header's first number after the layout number; none in a session of another layout
  lives[i] = h and ofThisLayout(h) and select(2, cmsgpack.unpack(h)) or 0
end
return {tonumber(redis.call('GET', KEYS[1]) or '0'), lives}
