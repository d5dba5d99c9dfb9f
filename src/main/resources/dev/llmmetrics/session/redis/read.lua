-- One session's aggregates and records, read together so that they agree. ARGV[1] the session's key.
-- Returns {the hash's fields and values, the records oldest first}.
return {redis.call('HGETALL', ARGV[1]), redis.call('LRANGE', ARGV[1] .. ':r', 0, -1)}
