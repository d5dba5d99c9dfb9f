package dev.llmmetrics.session.redis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/** {@link HeaderReads} against a real {@code redis-server}: shared round trips, each caller its own answer. */
class HeaderReadsTest {

    private static final byte[] FIELD = bytes("h");
    private static final Duration TIMEOUT = Duration.ofMillis(500);
    /** What a read that waited the whole timeout for its answer says. */
    private static final String NO_ANSWER_WITHIN_THE_TIMEOUT = "no answer from Redis within the timeout";

    @RegisterExtension
    static final RedisProcess redis = RedisProcess.emptiedBeforeEachTest();
    private RedisClient client;
    private HeaderReads reads;

    @BeforeEach
    void connect() {
        client = RedisClient.builder().hostAndPort("127.0.0.1", redis.port())
                .clientConfig(DefaultJedisClientConfig.builder().timeoutMillis((int) TIMEOUT.toMillis()).build()).build();
        reads = new HeaderReads(client, FIELD, TIMEOUT);
    }

    @AfterEach
    void disconnect() {
        client.close();
    }

    @Test
    void concurrentCallersEachGetTheirOwnKeysFieldInFewerRoundTripsThanReads() throws Exception {
        int callers = 16;
        int readsEach = 300;
        for (int c = 0; c < callers; c++) {
            client.hset(bytes("k" + c), FIELD, bytes("value of k" + c));
        }
        long roundsBefore = readsProcessed();
        AtomicInteger wrong = new AtomicInteger();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < callers; c++) {
                int caller = c;
                threads.submit(() -> {
                    for (int r = 0; r < readsEach; r++) {
                        if (!"value of k%d".formatted(caller).equals(text(reads.read(bytes("k" + caller))))) {
                            wrong.incrementAndGet();
                        }
                    }
                });
            }
        }
        assertEquals(0, wrong.get(), "every read answered with its own key's field");
        long rounds = readsProcessed() - roundsBefore;
        assertTrue(rounds < callers * readsEach / 2,
                "Redis read " + rounds + " times for " + callers * readsEach + " reads: they should share round trips");
    }

    @Test
    void aMissingKeyOrFieldReadsAsNull() {
        client.hset(bytes("other-field"), bytes("x"), bytes("1"));
        assertNull(reads.read(bytes("missing")));
        assertNull(reads.read(bytes("other-field")));
    }

    @Test
    void aKeyOfAnotherTypeFailsItsOwnReadsOnlyAsRefused() throws Exception {
        client.set(bytes("string"), bytes("not a hash"));
        client.hset(bytes("hash"), FIELD, bytes("fine"));
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < 8; c++) {
                boolean wrongType = c % 2 == 0;
                done.add(threads.submit(() -> {
                    for (int r = 0; r < 200; r++) {
                        if (wrongType) {
                            assertThrows(JedisDataException.class, () -> reads.read(bytes("string")));
                        } else {
                            assertEquals("fine", text(reads.read(bytes("hash"))));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void everyWaitingCallerFailsWithinTheTimeoutWhenRedisStopsAnsweringAndReadsAgainOnceItDoes() throws Exception {
        client.hset(bytes("k"), FIELD, bytes("v"));
        assertArrayEquals(bytes("v"), reads.read(bytes("k")));
        redis.pause();
        List<Future<Long>> callers = new ArrayList<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < 8; c++) {
                callers.add(threads.submit(() -> {
                    long start = System.nanoTime();
                    assertThrows(JedisConnectionException.class, () -> reads.read(bytes("k")));
                    return System.nanoTime() - start;
                }));
            }
            for (Future<Long> caller : callers) {
                long took = TimeUnit.NANOSECONDS.toMillis(caller.get(30, TimeUnit.SECONDS));
                // At most the timeout waiting for its round, then the round: a free connection and the answer.
                assertTrue(took < 3 * TIMEOUT.toMillis() + TIMEOUT.toMillis() / 2, "a caller waited " + took + " ms");
            }
        } finally {
            redis.resume();
        }
        assertArrayEquals(bytes("v"), reads.read(bytes("k")), "a broken connection is not reused");
    }

    @Test
    void anInterruptedCallerFailsAloneAndSendsNoRoundThatItsInterruptWouldCut() throws Exception {
        client.hset(bytes("k"), FIELD, bytes("v"));
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger answered = new AtomicInteger();
        AtomicInteger interruptedFailures = new AtomicInteger();
        List<Future<List<String>>> others = new ArrayList<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < 8; c++) {
                others.add(threads.submit(() -> {
                    List<String> failures = new ArrayList<>();
                    while (!stop.get()) {
                        try {
                            assertArrayEquals(bytes("v"), reads.read(bytes("k")));
                            answered.incrementAndGet();
                        } catch (JedisException e) {
                            // A caller (or Redis) the machine's load keeps off the CPU past the timeout fails on
                            // the timeout; a round cut by another's interrupt fails otherwise: that must not happen.
                            if (!timedOut(e)) {
                                failures.add(e.toString());
                            }
                        }
                    }
                    return failures.stream().distinct().toList();
                }));
            }
            Future<?> interrupter = threads.submit(() -> {
                while (!stop.get()) {
                    Thread.currentThread().interrupt();
                    try {
                        // Answered by another caller's round before it looked at its interrupt: the answer stands.
                        assertArrayEquals(bytes("v"), reads.read(bytes("k")));
                    } catch (JedisConnectionException e) {
                        interruptedFailures.incrementAndGet();
                    }
                    Thread.interrupted();
                    LockSupport.parkNanos(100_000);
                }
                return null;
            });
            Thread.sleep(1_000);
            stop.set(true);
            for (Future<List<String>> other : others) {
                assertEquals(List.of(), other.get(30, TimeUnit.SECONDS), "reads of callers not interrupted that failed");
            }
            interrupter.get(30, TimeUnit.SECONDS);
        }
        assertTrue(answered.get() > 0 && interruptedFailures.get() > 0, answered + " answered, " + interruptedFailures
                + " interrupted");
    }

    /** Whether {@code e} is a read that waited out the timeout, for its turn or for Redis's answer. */
    private static boolean timedOut(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (NO_ANSWER_WITHIN_THE_TIMEOUT.equals(t.getMessage()) || t instanceof java.net.SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    @Test
    void aReadThatFindsNoFreeConnectionFailsAsSuchNotAsAnUnreachableRedis() throws Exception {
        GenericObjectPoolConfig<Connection> one = new GenericObjectPoolConfig<>();
        one.setMaxTotal(1);
        one.setMaxWait(Duration.ofMillis(200));
        try (RedisClient single = RedisClient.builder().hostAndPort("127.0.0.1", redis.port()).poolConfig(one)
                .clientConfig(DefaultJedisClientConfig.builder().timeoutMillis(5_000).build()).build()) {
            HeaderReads onOne = new HeaderReads(single, FIELD, Duration.ofSeconds(2));
            Thread holder = Thread.ofVirtual().start(() -> single.blpop(1.0, "nothing"));
            Thread.sleep(100);
            JedisException e = assertThrows(JedisException.class, () -> onOne.read(bytes("k")));
            assertFalse(e instanceof JedisConnectionException || e instanceof JedisDataException, e.toString());
            holder.join();
            assertNull(onOne.read(bytes("k")), "answered once the connection is free");
        }
    }

    /** Redis's count of the read events it processed on client sockets: one per round trip of a pipeline. */
    private static long readsProcessed() {
        for (String line : redis.cli("INFO", "stats").split("\\R")) {
            if (line.startsWith("total_reads_processed:")) {
                return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        throw new IllegalStateException("no total_reads_processed in INFO stats");
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] bytes) {
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }
}
