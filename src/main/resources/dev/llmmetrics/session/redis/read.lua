#!lua flags=no-writes
-- One session's aggregates, records and scores of requests, read together so that they agree. ARGV[1] the
-- session's key. Returns {the hash's fields and values, the records oldest first, the scores oldest first}.
return {redis.call('HGETALL', ARGV[1]), redis.call('LRANGE', ARGV[1] .. ':r', 0, -1),
        redis.call('LRANGE', ARGV[1] .. ':s', 0, -1)}
