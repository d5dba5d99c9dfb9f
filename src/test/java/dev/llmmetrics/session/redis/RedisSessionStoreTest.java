package dev.llmmetrics.session.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.session.PairFigures;
import dev.llmmetrics.session.SessionStore;
import dev.llmmetrics.session.SessionStoreContractTest;
import dev.llmmetrics.session.SessionStoreFactory;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
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
        attributesAndScoresCountTowardTheBound(store, store::retainedBytes, millis, bound);
        assertEquals("0", redis.cli("EXISTS", "llm:{s19}:s"), "its scores went with it");
    }

    @Test
    void thisProcesssFiguresOfASessionEvictedAndMadeAgainCountItsNewLifeOnly() {
        AtomicLong millis = new AtomicLong(Instant.parse("2026-01-17T15:00:00Z").toEpochMilli());
        RedisSessionStore store = (RedisSessionStore) RedisSessionStore.at(redis.url(), Duration.ofSeconds(30)).create(
                new SessionStoreFactory.Parameters(10, 10, 16, 1, Duration.ofHours(1), Duration.ofMinutes(10),
                        100_000, () -> Instant.ofEpochMilli(millis.get()), new ModelCatalog(PriceTable.EMPTY, 200)));
        opened.add(store);
        store.record(List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).build()));
        millis.addAndGet(1_000);
        store.record(List.of(LlmRequestCompleted.builder("b", "m").durationMs(1).build())); // a evicted: 1 byte
        millis.addAndGet(1_000);
        store.record(List.of(LlmRequestCompleted.builder("a", "m").durationMs(1).build())); // a's new life

        assertEquals(1, store.session("a").orElseThrow().totalRequests());
        List<PairFigures> a = store.mostRecentPairs(10, 100).stream().filter(p -> p.sessionId().equals("a")).toList();
        assertEquals(1, a.size());
        assertEquals(1, a.getFirst().successes(), "the series count what the session's JSON shows");
    }
}
