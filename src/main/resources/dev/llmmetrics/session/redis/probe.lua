#!lua flags=allow-oom
-- Whether Redis lets the store run what its scripts and reads run, for readiness. Its #!lua line has no
-- no-writes flag, so that Redis refuses or holds it wherever it refuses or holds the batch script: on a
-- read-only replica, while writes are paused (CLIENT PAUSE WRITE), while it cannot persist (MISCONF); and
-- allow-oom, as a Redis out of memory still runs reads, DELETE and the idle sweep. It writes nothing.
-- KEYS[1] the session index, KEYS[2] the retained bytes, KEYS[3] the counter of lives, KEYS[4] the requests in
-- flight; ARGV[1] the key prefix.
-- Returns the first command, with its key, that the user may not run (ACL); '' when it may run them all.
return deniedCommand(KEYS, sessionKey(ARGV[1], '')) or ''
