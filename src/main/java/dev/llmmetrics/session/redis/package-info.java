/**
 * A session store shared by several processes through Redis,
 * {@link dev.llmmetrics.session.redis.RedisSessionStore}: every replica pointed at the same Redis serves every
 * session in full. It needs {@code redis.clients:jedis}, an optional dependency of the library, on the
 * class path; nothing else in the library uses it. Without it, the first use of the store's class fails with
 * a {@link NoClassDefFoundError} naming a Jedis class.
 */
@NullMarked
package dev.llmmetrics.session.redis;

import org.jspecify.annotations.NullMarked;
