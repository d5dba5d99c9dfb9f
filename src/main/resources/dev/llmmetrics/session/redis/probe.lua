#!lua flags=allow-oom
-- Whether Redis lets the store run what its scripts and reads run, for readiness. Its #!lua line has no
-- no-writes flag, so that Redis refuses or holds it wherever it refuses or holds the batch script: on a
-- read-only replica, while writes are paused (CLIENT PAUSE WRITE), while it cannot persist (MISCONF); and
-- allow-oom, as a Redis out of memory still runs reads, DELETE and the idle sweep. It writes nothing.
-- KEYS[1] the session index, KEYS[2] the retained bytes, KEYS[3] the counter of lives, KEYS[4] the requests in
-- flight; ARGV[1] the key prefix.
-- Returns the first command, with its key, that the user may not run (ACL); '' when it may run them all.
local s = sessionKey(ARGV[1], '')
local r, q = s .. ':r', s .. ':s'
local checks = {
  {'EXISTS', s .. ':id:'}, {'SET', s .. ':id:', '1', 'PX', '1'}, {'HMGET', s, 'h'}, {'HGET', s, 'h'},
  {'HSET', s, 'h', ''}, {'HGETALL', s}, {'TYPE', r}, {'LPOP', r, '1'}, {'RPUSH', r, ''}, {'LRANGE', r, '0', '-1'},
  {'TYPE', q}, {'LPOP', q, '1'}, {'RPUSH', q, ''}, {'LRANGE', q, '0', '-1'}, {'DEL', s, r, q},
  {'ZADD', KEYS[1], '0', ''}, {'ZREM', KEYS[1], ''}, {'ZCARD', KEYS[1]}, {'ZRANGE', KEYS[1], '0', '0', 'REV'},
  {'ZRANGEBYSCORE', KEYS[1], '0', '0'}, {'TYPE', KEYS[1]}, {'GET', KEYS[2]}, {'INCRBY', KEYS[2], '0'},
  {'DECRBY', KEYS[2], '0'}, {'GET', KEYS[3]}, {'INCR', KEYS[3]}, {'SET', KEYS[3], '0'}, {'TYPE', KEYS[4]},
  {'HGET', KEYS[4], ''}, {'HSET', KEYS[4], '', '0'}, {'HDEL', KEYS[4], ''}, {'EXISTS', KEYS[4]},
  {'PEXPIRE', KEYS[4], '1'}, {'HGETALL', KEYS[4]}
}
for _, c in ipairs(checks) do
  if not redis.acl_check_cmd(unpack(c)) then return c[1] .. ' ' .. c[2] end
end
return ''
