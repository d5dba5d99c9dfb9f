package dev.llmmetrics.session.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.session.EvictionReason;
import dev.llmmetrics.session.SessionMetrics;
import dev.llmmetrics.session.SessionStore;
import dev.llmmetrics.session.SessionStoreContractTest;
import dev.llmmetrics.session.SessionStoreFactory;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The store contract, held by the Redis store on a real redis-server, emptied before each test. */
class RedisSessionStoreTest extends SessionStoreContractTest {

    private static RedisProcess redis;
    private final List<RedisSessionStore> opened = new ArrayList<>();

    @BeforeAll
    static void startRedis() {
        redis = RedisProcess.start();
    }

    @AfterAll
    static void stopRedis() {
        redis.close();
    }

    @BeforeEach
    void emptyRedis() {
        redis.cli("FLUSHALL");
    }

    @Override
    protected SessionStore newStore(int maxSessions, int maxRecords, Duration idleTimeout, InstantSource clock,
                                    PriceTable prices) {
        RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(redis.url(), Duration.ofSeconds(30)).create(
                new SessionStoreFactory.Parameters(maxSessions, maxRecords, Integer.MAX_VALUE, Long.MAX_VALUE,
                        idleTimeout, Duration.ofMinutes(10), 100_000, clock, new ModelCatalog(prices, 200)));
        opened.add(store);
        return store;
    }

    @AfterEach
    void closeStores() {
        opened.forEach(RedisSessionStore::close);
    }

    @Test
    void attributesAndScoresCountTowardTheBoundInBytesAndGoWithTheirSession() {
        AtomicLong millis = new AtomicLong(Instant.parse("2026-01-17T15:00:00Z").toEpochMilli());
        long bound = 2L << 20;
        RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(redis.url(), Duration.ofSeconds(30)).create(
                new SessionStoreFactory.Parameters(10_000, 1_000, 16, bound, Duration.ofHours(1), Duration.ofMinutes(10),
                        100_000, () -> Instant.ofEpochMilli(millis.get()), new ModelCatalog(PriceTable.EMPTY, 200)));
        opened.add(store);
        Map<String, String> attributes = new HashMap<>();
        for (int a = 0; a < Event.MAX_ATTRIBUTES; a++) {
            attributes.put("key" + a, "\u4e00".repeat(100));
        }
        String comment = "\u4e00".repeat(LlmRequestScored.MAX_COMMENT_LENGTH);
        for (int s = 0; s < 20; s++) {
            for (int i = 0; i < 10; i++) {
                store.record(LlmRequestCompleted.builder("s" + s, "m").correlationId("c" + i).attributes(attributes).build());
                store.record(LlmRequestScored.builder("s" + s, "grade", 1).correlationId("c" + i).comment(comment).build());
            }
            millis.addAndGet(1_000);
            assertTrue(store.retainedBytes() <= bound, "within the bound after session " + s + ": " + store.retainedBytes());
        }
        assertTrue(store.evictions(EvictionReason.MEMORY) > 0, "each session holds about 220 KB of attributes and comments");
        assertTrue(store.session("s0").isEmpty(), "the oldest went first");
        SessionMetrics newest = store.session("s19").orElseThrow();
        assertEquals(attributes, newest.requests().get(9).attributes());
        assertEquals(comment, newest.requests().get(9).scores().get(0).comment());
        for (int s = 0; s < 20; s++) {
            store.clear("s" + s);
        }
        assertEquals(0, store.retainedBytes(), "what a session counted goes with it");
        assertEquals("0", redis.cli("EXISTS", "llm:{s19}:s"), "its scores went with it");
    }
}
