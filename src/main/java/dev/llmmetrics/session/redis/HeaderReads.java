package dev.llmmetrics.session.redis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.Response;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * Reads one hash field of many keys for concurrent callers, the reads waiting at the same moment in one
 * pipelined round trip. A caller that finds no round trip in flight sends the oldest queued reads, up to
 * {@value #MAX_ROUND}, and on its way out wakes the oldest caller still waiting, which sends the next round;
 * the others wait for their answer. So under concurrent reads Redis and this process make one pair of socket
 * calls per round instead of per read, and a lone read costs what a plain command does. Grouping is done here
 * because a Jedis connection runs one caller's commands at a time.
 *
 * <p>A caller waits for its round at most the timeout; the round it then sends may take what a plain command
 * takes (a free connection, then the answer, each within the timeout): three times the timeout at worst.
 */
final class HeaderReads {

    /** Most reads in one round trip, so that one round's answers stay small. */
    static final int MAX_ROUND = 64;

    private final RedisClient client;
    private final byte[] field;
    private final long timeoutNanos;
    private final ConcurrentLinkedQueue<Read> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean sending = new AtomicBoolean();

    HeaderReads(RedisClient client, byte[] field, Duration timeout) {
        this.client = client;
        this.field = field.clone();
        this.timeoutNanos = timeout.toNanos();
    }

    /**
     * The field of {@code key}, or {@code null} when the key or the field does not exist.
     *
     * @throws JedisConnectionException when Redis could not be reached or did not answer within the timeouts,
     *                                  or the caller was interrupted while waiting
     * @throws JedisDataException       when Redis refused the read (a key of another type)
     * @throws JedisException           when no connection was free within the timeout
     */
    byte @Nullable [] read(byte[] key) {
        Read mine = new Read(key, Thread.currentThread());
        queue.add(mine);
        long deadline = System.nanoTime() + timeoutNanos;
        while (!mine.done) {
            long left = deadline - System.nanoTime();
            // An interrupted caller sends no round: its socket call would be cut, failing the others' reads.
            boolean interrupted = Thread.currentThread().isInterrupted();
            if (left <= 0 || interrupted) {
                queue.remove(mine);
                // It may have been the one woken to send the next round: another takes its place.
                wakeOldest();
                if (!mine.done) {
                    throw new JedisConnectionException(interrupted ? "interrupted while waiting for Redis"
                            : "no answer from Redis within the timeout");
                }
                break;
            }
            if (sending.compareAndSet(false, true)) {
                try {
                    sendRound();
                } finally {
                    sending.set(false);
                    wakeOldest();
                }
            } else {
                LockSupport.parkNanos(this, left);
            }
        }
        RuntimeException failure = mine.failure;
        if (failure != null) {
            throw anew(failure);
        }
        return mine.value;
    }

    /** Wakes the caller of the oldest queued read, if no round trip is in flight, to send the next round. */
    private void wakeOldest() {
        Read oldest = queue.peek();
        if (oldest != null && !sending.get()) {
            LockSupport.unpark(oldest.thread);
        }
    }

    /**
     * Sends the oldest queued reads, up to {@link #MAX_ROUND}, in one round trip and answers each; should the
     * sender fail for a reason other than Redis's, the round's reads fail too and the sender throws it on.
     */
    private void sendRound() {
        List<Read> round = new ArrayList<>();
        for (Read read; round.size() < MAX_ROUND && (read = queue.poll()) != null; ) {
            round.add(read);
        }
        if (round.isEmpty()) {
            return;
        }
        List<Response<byte[]>> answers = new ArrayList<>(round.size());
        try (AbstractPipeline pipeline = client.pipelined()) {
            for (Read read : round) {
                answers.add(pipeline.hget(read.key, field));
            }
            pipeline.sync();
        } catch (JedisException e) {
            round.forEach(read -> read.fail(e));
            return;
        } catch (RuntimeException | Error e) {
            JedisException failed = new JedisException("the read failed", e);
            round.forEach(read -> read.fail(failed));
            throw e;
        }
        for (int i = 0; i < round.size(); i++) {
            Read read = round.get(i);
            try {
                read.answer(answers.get(i).get());
            } catch (RuntimeException e) {
                read.fail(e);
            }
        }
    }

    /**
     * {@code failure}, met by whichever caller sent the round, as a new exception of the same kind, so that
     * the caller's own stack shows and the store tells a refused read from an unreachable Redis.
     */
    private static JedisException anew(RuntimeException failure) {
        String message = failure.getMessage();
        if (failure instanceof JedisConnectionException) {
            return new JedisConnectionException(message, failure);
        }
        if (failure instanceof JedisDataException) {
            return new JedisDataException(message, failure);
        }
        return new JedisException(message, failure);
    }

    /** One caller's read, answered by whichever caller sends it. */
    private static final class Read {
        final byte[] key;
        final Thread thread;
        byte @Nullable [] value;
        @Nullable RuntimeException failure;
        volatile boolean done;

        Read(byte[] key, Thread thread) {
            this.key = key;
            this.thread = thread;
        }

        void answer(byte @Nullable [] value) {
            this.value = value;
            finish();
        }

        void fail(RuntimeException failure) {
            this.failure = failure;
            finish();
        }

        private void finish() {
            done = true;
            if (thread != Thread.currentThread()) {
                LockSupport.unpark(thread);
            }
        }
    }
}
