package dev.llmmetrics.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class InMemorySessionStoreTest extends SessionStoreContractTest {

    @Override
    protected SessionStore newStore(int maxSessions, int maxRecords, Duration idleTimeout, InstantSource clock,
                                    PriceTable prices) {
        return inMemory(maxSessions, maxRecords, clock, new ModelCatalog(prices, 200));
    }

    private static InMemorySessionStore inMemory(int maxSessions, int maxRecords, InstantSource clock,
                                                 ModelCatalog catalog) {
        return InMemorySessionStore.builder().maxSessions(maxSessions).maxRecordsPerSession(maxRecords)
                .idleTimeout(Duration.ofHours(1)).clock(clock).catalog(catalog).build();
    }

    @Test
    void theFiguresOfEachModelOfASessionAddUpToItsAggregates() {
        InMemorySessionStore store = inMemory(10, 2, InstantSource.system(), new ModelCatalog(PriceTable.EMPTY, 1));
        store.onEvent(LlmRequestCompleted.builder("s", "gpt-4").durationMs(100).promptTokens(10).completionTokens(5).totalTokens(15).hasToolCalls(true).build());
        store.onEvent(LlmRequestCompleted.builder("s", "gpt-4").durationMs(300).promptTokens(20).completionTokens(7).totalTokens(27).hasToolCalls(false).build());
        store.onEvent(LlmRequestCompleted.builder("s", "claude").durationMs(200).promptTokens(4).completionTokens(4).totalTokens(8).hasToolCalls(false).build());
        store.onEvent(LlmRequestFailed.builder("s", "mistral").error("boom").build());

        List<PairFigures> pairs = store.mostRecentPairs(10, 100);
        PairFigures gpt = pairs.get(0);
        PairFigures other = pairs.get(1);
        assertEquals(2, pairs.size(), "models past the label bound share _other: " + pairs);
        assertEquals("gpt-4", gpt.model());
        assertEquals(2, gpt.successes());
        assertEquals(400, gpt.durationMs());
        assertEquals(300, gpt.maxDurationMs());
        assertEquals(20, gpt.maxPromptTokens());
        assertEquals(1, gpt.toolCallRequests());
        assertEquals(ModelCatalog.OTHER_LABEL, other.model());
        assertEquals(1, other.successes());
        assertEquals(1, other.failures());

        SessionMetrics session = store.summary("s").orElseThrow();
        assertEquals(session.successfulRequests(), gpt.successes() + other.successes());
        assertEquals(session.failedRequests(), gpt.failures() + other.failures());
        assertEquals(session.totalDurationMs(), gpt.durationMs() + other.durationMs());
        assertEquals(session.totalPromptTokens(), gpt.promptTokens() + other.promptTokens());
    }

    @Test
    void theFiguresCoverOnlyTheMostRecentlyActiveSessions() {
        AtomicLong millis = new AtomicLong(Instant.parse("2026-01-17T15:00:00Z").toEpochMilli());
        InstantSource clock = () -> Instant.ofEpochMilli(millis.get());
        InMemorySessionStore store = inMemory(100, 2, clock, new ModelCatalog(PriceTable.EMPTY, 10));
        for (int i = 0; i < 20; i++) {
            store.onEvent(LlmRequestCompleted.builder("s" + i, "m").durationMs(1).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(false).build());
            millis.addAndGet(1_000);
        }
        Set<String> shown = store.mostRecentPairs(5, 100).stream().map(PairFigures::sessionId).collect(Collectors.toSet());
        assertEquals(Set.of("s15", "s16", "s17", "s18", "s19"), shown);
        assertEquals(20, store.mostRecentPairs(50, 100).size());
        assertTrue(store.mostRecentPairs(0, 100).isEmpty());
    }
}
