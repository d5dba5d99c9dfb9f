package dev.llmmetrics.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.event.LlmRequestStarted;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;
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

    /**
     * A store made again, as by a restart of the server, tags the first state of its first session unlike the
     * store before it did: those tags are HTTP entity tags, and a client holding the old one (the web view polls
     * an open session with If-None-Match) used to get 304 for the other content of the session's new life.
     */
    @Test
    void aStoreMadeAgainDoesNotTagANewStateAsTheStoreBeforeItTaggedAnother() {
        Set<String> revisions = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            InMemorySessionStore store = inMemory(10, 10, InstantSource.system(), new ModelCatalog(PriceTable.EMPTY, 10));
            store.record(LlmRequestCompleted.builder("s", "model-" + i).durationMs(100 + i).promptTokens(1).completionTokens(1).build());
            revisions.add(store.revision("s").orElseThrow());
        }
        assertEquals(5, revisions.size(), revisions.toString());
    }

    @Test
    void theFiguresOfEachModelOfASessionAddUpToItsAggregates() {
        InMemorySessionStore store = inMemory(10, 2, InstantSource.system(), new ModelCatalog(PriceTable.EMPTY, 1));
        store.record(LlmRequestCompleted.builder("s", "gpt-4").durationMs(100).promptTokens(10).completionTokens(5).totalTokens(15).hasToolCalls(true).build());
        store.record(LlmRequestCompleted.builder("s", "gpt-4").durationMs(300).promptTokens(20).completionTokens(7).totalTokens(27).hasToolCalls(false).build());
        store.record(LlmRequestCompleted.builder("s", "claude").durationMs(200).promptTokens(4).completionTokens(4).totalTokens(8).hasToolCalls(false).build());
        store.record(LlmRequestFailed.builder("s", "mistral").error("boom").build());

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
            store.record(LlmRequestCompleted.builder("s" + i, "m").durationMs(1).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(false).build());
            millis.addAndGet(1_000);
        }
        Set<String> shown = store.mostRecentPairs(5, 100).stream().map(PairFigures::sessionId).collect(Collectors.toSet());
        assertEquals(Set.of("s15", "s16", "s17", "s18", "s19"), shown);
        assertEquals(20, store.mostRecentPairs(50, 100).size());
        assertTrue(store.mostRecentPairs(0, 100).isEmpty());
    }

    @Test
    void pastItsBoundInBytesTheLeastRecentlyActiveSessionsAreEvictedForMemory() {
        AtomicLong millis = new AtomicLong(Instant.parse("2026-01-17T15:00:00Z").toEpochMilli());
        long bound = 2L << 20;
        InMemorySessionStore store = InMemorySessionStore.builder().maxSessions(10_000).maxRecordsPerSession(1_000)
                .idleTimeout(Duration.ofHours(1)).clock(() -> Instant.ofEpochMilli(millis.get())).maxBytes(bound).build();
        String error = "\u4e00".repeat(4_000);
        for (int s = 0; s < 40; s++) {
            for (int i = 0; i < 50; i++) {
                store.record(LlmRequestFailed.builder("s" + s, "m").error(error).build());
            }
            millis.addAndGet(1_000);
            assertTrue(store.retainedBytes() <= bound, "within the bound after session " + s + ": " + store.retainedBytes());
        }
        assertTrue(store.evictions(EvictionReason.MEMORY) > 0);
        assertTrue(store.session("s0").isEmpty(), "the oldest went first");
        SessionMetrics newest = store.session("s39").orElseThrow();
        assertEquals(50, newest.totalRequests());
        String kept = newest.requests().get(0).error();
        assertEquals(SessionStore.MAX_ERROR_CHARS, kept.length());
        assertTrue(kept.endsWith("…"));

        for (int s = 0; s < 40; s++) {
            store.clear("s" + s);
        }
        assertEquals(0, store.retainedBytes(), "what a session counted goes with it");
    }

    @Test
    void attributesAndScoresCountTowardTheBoundInBytesAndGoWithTheirSession() {
        AtomicLong millis = new AtomicLong(Instant.parse("2026-01-17T15:00:00Z").toEpochMilli());
        long bound = 2L << 20;
        InMemorySessionStore store = InMemorySessionStore.builder().maxSessions(10_000).maxRecordsPerSession(1_000)
                .idleTimeout(Duration.ofHours(1)).clock(() -> Instant.ofEpochMilli(millis.get())).maxBytes(bound).build();
        attributesAndScoresCountTowardTheBound(store, store::retainedBytes, millis, bound);
    }

    @Test
    void aSessionLargerThanTheBoundByItselfDropsItsOldestRecordsAndScoresToStayWithinIt() {
        long bound = 1L << 20;
        InMemorySessionStore store = boundedInBytes(bound);
        aSessionLargerThanTheBoundKeepsItsNewestRecordsWithinIt(store, store::retainedBytes, bound);
        assertEquals(0, store.evictions(EvictionReason.MEMORY), "the session gave room back itself");
        store.clear("large");
        assertEquals(0, store.retainedBytes(), "what the session still counted goes with it");
    }

    @Test
    void aSessionPastTheBoundDropsTheScoresOfTheRecordsItDrops() {
        long bound = 512L << 10;
        InMemorySessionStore store = boundedInBytes(bound);
        aSessionPastTheBoundKeepsTheScoresOfTheRecordsItKeeps(store, store::retainedBytes, bound);
    }

    /** A store of the default bounds but {@code maxBytes}. */
    private static InMemorySessionStore boundedInBytes(long maxBytes) {
        return InMemorySessionStore.builder().maxSessions(10_000).maxRecordsPerSession(1_000)
                .idleTimeout(Duration.ofHours(1)).maxBytes(maxBytes).build();
    }

    @Test
    void aSessionPastItsOwnModelLabelsCountsTheRestUnderOther() {
        InMemorySessionStore store = InMemorySessionStore.builder().maxSessions(10).maxRecordsPerSession(100)
                .idleTimeout(Duration.ofHours(1)).maxModelsPerSession(3).build();
        for (int m = 0; m < 10; m++) {
            store.record(LlmRequestCompleted.builder("s", "model-" + m).durationMs(1).promptTokens(1).build());
        }
        List<PairFigures> pairs = store.mostRecentPairs(10, 100);
        assertEquals(List.of("model-0", "model-1", "model-2", ModelCatalog.OTHER_LABEL),
                pairs.stream().map(PairFigures::model).toList());
        assertEquals(7, pairs.get(3).successes());
        assertEquals(7, store.modelOverflows());
        assertEquals(10, store.session("s").orElseThrow().successfulRequests(), "the session's totals are whole");
        assertEquals("model-9", store.session("s").orElseThrow().requests().get(9).model(), "records keep their model");
    }

    @Test
    void theFiguresStopAtTheirPairBudgetWithWholeSessionsMostRecentFirst() {
        AtomicLong millis = new AtomicLong(Instant.parse("2026-01-17T15:00:00Z").toEpochMilli());
        InMemorySessionStore store = inMemory(100, 2, () -> Instant.ofEpochMilli(millis.get()),
                new ModelCatalog(PriceTable.EMPTY, 10));
        for (int s = 0; s < 10; s++) {
            for (String model : List.of("a", "b")) {
                store.record(LlmRequestCompleted.builder("s" + s, model).durationMs(1).build());
            }
            millis.addAndGet(1_000);
        }
        List<PairFigures> pairs = store.mostRecentPairs(100, 5);
        assertEquals(4, pairs.size(), "two whole sessions fit in five pairs");
        assertEquals(List.of("s9", "s9", "s8", "s8"), pairs.stream().map(PairFigures::sessionId).toList());
    }

    @Test
    void concurrentFirstEventsOfNewSessionsCountTheirBytesOnceSoClearingAllGivesZero() throws Exception {
        InMemorySessionStore store = InMemorySessionStore.builder().maxSessions(100_000).maxRecordsPerSession(10)
                .idleTimeout(Duration.ofHours(1)).build();
        int threads = 4;
        int sessions = 5_000;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            List<java.util.concurrent.Future<?>> work = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++) {
                work.add(pool.submit(() -> {
                    for (int s = 0; s < sessions; s++) {
                        store.record(LlmRequestFailed.builder("race-" + s, "m").error("boom " + s).build());
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : work) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(store.retainedBytes() > 0);
        for (int s = 0; s < sessions; s++) {
            store.clear("race-" + s);
        }
        assertEquals(0, store.retainedBytes(), "every byte counted once, and given back with its session");
    }

    @Test
    void aSessionAtItsBoundOfRecordsShowsItsNewestInOrderAsItsRingWrapsAround() {
        int bound = 100;
        InMemorySessionStore store = inMemory(10, bound, InstantSource.system(), new ModelCatalog(PriceTable.EMPTY, 10));
        int written = 0;
        // At the bound, just past it, and around the ring more than once.
        for (int target : new int[] {bound, bound + 1, bound + 7, bound + 8, bound + 9, bound + 17, 3 * bound + 5}) {
            for (; written < target; written++) {
                record(store, written);
            }
            List<RequestRecord> records = store.session("s").orElseThrow().requests();
            assertEquals(bound, records.size());
            for (int i = 0; i < bound; i++) {
                int n = written - bound + i;
                RequestRecord r = records.get(i);
                String where = "record " + n + " after " + written;
                boolean failed = n % 3 == 2;
                assertEquals(failed ? "b" : "a", r.model(), where);
                assertEquals(failed ? 2_000 + n : 1_000 + n, r.durationMs(), where);
                assertEquals(failed ? null : n, r.promptTokens(), where);
                assertEquals(failed ? 0 : n, r.cachedTokens(), where);
                assertEquals(failed ? null : n / 100.0, r.costUsd(), where);
                assertEquals(failed ? "e" + n : null, r.error(), where);
                assertEquals("c-" + n, r.correlationId(), where);
                assertEquals(provider(n), r.provider(), where);
            }
            assertEquals(Optional.of((written - 1) % 3 == 2 ? "b" : "a"), store.requestModel("s", "c-" + (written - 1)));
            assertEquals(Optional.of((written - bound) % 3 == 2 ? "b" : "a"), store.requestModel("s", "c-" + (written - bound)));
            assertEquals(Optional.empty(), store.requestModel("s", "c-" + (written - bound - 1)));
        }
    }

    @Test
    void aSessionAtItsBoundOfScoresShowsEachKeptRecordWithItsOwnScoresAsTheScoresWrapAround() {
        int bound = 20;
        InMemorySessionStore store = inMemory(10, bound, InstantSource.system(), new ModelCatalog(PriceTable.EMPTY, 10));
        // Ids of 1- to 4-byte characters and of different lengths; two scores per request, the first of alternating
        // names, the second from the fifth request on of a name past the session's bound of score names.
        java.util.function.IntFunction<String> id = n -> "c" + "é€𝄞".repeat(n % 4) + "-" + n;
        int written = 0;
        for (int target : new int[] {bound / 2, bound, bound + 1, bound + 13, 4 * bound + 3}) {
            for (; written < target; written++) {
                store.record(LlmRequestCompleted.builder("s", "m").durationMs(1).correlationId(id.apply(written)).build());
                store.record(LlmRequestScored.builder("s", written % 2 == 0 ? "quality" : "relevance", written)
                        .correlationId(id.apply(written)).comment(written % 5 == 0 ? "comment " + written : null).build());
                store.record(LlmRequestScored.builder("s", grade(written), 1_000 + written).correlationId(id.apply(written))
                        .build());
                if (written == 3) {
                    for (int k = 0; k < SessionStore.MAX_SCORE_NAMES; k++) {
                        store.record(LlmRequestScored.builder("s", "name-" + k, k).build());
                    }
                }
            }
            List<RequestRecord> records = store.session("s").orElseThrow().requests();
            int kept = Math.min(written, bound);
            assertEquals(kept, records.size());
            // The ring keeps as many scores as records: two per request, so the newest half of the records.
            for (int i = 0; i < kept; i++) {
                int n = written - kept + i;
                RequestRecord r = records.get(i);
                String where = "record " + n + " after " + written;
                assertEquals(id.apply(n), r.correlationId(), where);
                if (n < written - bound / 2) {
                    assertEquals(List.of(), r.scores(), where);
                    continue;
                }
                assertEquals(2, r.scores().size(), where);
                RequestScore first = r.scores().getFirst();
                assertEquals(n % 2 == 0 ? "quality" : "relevance", first.name(), where);
                assertEquals(n, first.value(), where);
                assertEquals(n % 5 == 0 ? "comment " + n : null, first.comment(), where);
                assertEquals(grade(n), r.scores().get(1).name(), where);
                assertEquals(1_000 + n, r.scores().get(1).value(), where);
            }
        }
    }

    @Test
    void aFailureWithAnEmptyErrorTextKeepsTheSessionReadableAsTheRingWraps() {
        InMemorySessionStore store = inMemory(10, 3, InstantSource.system(), new ModelCatalog(PriceTable.EMPTY, 10));
        for (String error : List.of("e".repeat(39), "", "c", "", "", "longer error text")) {
            store.record(LlmRequestFailed.builder("s", "m").error(error).build());
            store.session("s").orElseThrow().requests().forEach(RequestRecord::error);
        }
        assertEquals(List.of("", "", "longer error text"),
                store.session("s").orElseThrow().requests().stream().map(RequestRecord::error).toList());
    }

    @Test
    void attributesAtTheirBoundsOfCountAndLengthReadBackWhole() {
        InMemorySessionStore store = inMemory(10, 3, InstantSource.system(), new ModelCatalog(PriceTable.EMPTY, 10));
        List<Map<String, String>> sent = new java.util.ArrayList<>();
        for (int n = 0; n < 7; n++) {
            Map<String, String> attributes = new java.util.LinkedHashMap<>();
            for (int k = 0; k < (n == 3 ? 0 : Event.MAX_ATTRIBUTES); k++) {
                // Keys of the longest id, some of 4-byte characters; values of the longest text in 1- to 4-byte ones.
                String key = k == 0 ? "😀".repeat(Event.MAX_ID_LENGTH / 2) : "k" + n + "-" + k;
                int length = Event.MAX_ATTRIBUTE_LENGTH - 2; // then "-" and n
                String value = switch (k % 4) {
                    case 0 -> "v".repeat(length);
                    case 1 -> "é".repeat(length);
                    case 2 -> "€".repeat(length);
                    default -> "😀".repeat(length / 2);
                };
                attributes.put(key, value + "-" + n);
            }
            sent.add(Map.copyOf(attributes));
            store.record(LlmRequestCompleted.builder("s", "m").durationMs(1).attributes(attributes).build());
        }
        List<RequestRecord> records = store.session("s").orElseThrow().requests();
        assertEquals(List.of(sent.get(4), sent.get(5), sent.get(6)),
                records.stream().map(RequestRecord::attributes).toList());
    }

    /** The third score's name: from the fifth request on, a name past the session's bound of score names. */
    private static String grade(int n) {
        return n < 4 ? "grade" : "late-grade";
    }

    @Test
    void anOverwrittenRecordGivesBackWhatItsTextsTook() {
        InMemorySessionStore store = inMemory(10, 3, InstantSource.system(), new ModelCatalog(PriceTable.EMPTY, 10));
        for (int i = 0; i < 3; i++) {
            store.record(LlmRequestCompleted.builder("s", "m").durationMs(1).build());
        }
        long plain = store.retainedBytes();
        for (int i = 0; i < 3; i++) {
            store.record(LlmRequestFailed.builder("s", "m").error("e".repeat(4_000)).correlationId("c-" + i)
                    .attributes(Map.of("k", "v".repeat(500))).build());
        }
        long texts = store.retainedBytes();
        assertTrue(texts - plain > 3 * (SessionStore.MAX_ERROR_CHARS + 500), "the texts count: " + plain + " -> " + texts);
        for (int i = 0; i < 3; i++) {
            store.record(LlmRequestCompleted.builder("s", "m").durationMs(1).build());
        }
        long after = store.retainedBytes();
        assertTrue(after - plain < 256, "only the side arrays stay: " + plain + " -> " + after);
        store.clear("s");
        assertEquals(0, store.retainedBytes());
    }

    /** Runs of the same provider, as a session's records mostly have, and none now and then. */
    private static String provider(int n) {
        return n % 11 == 0 ? null : new String(n % 8 < 5 ? "openai" : "azure"); // a string of its own, as parsed
    }

    /** The n-th record of session s: every third a failure of model b, the others completions of a. */
    private static void record(InMemorySessionStore store, int n) {
        if (n % 3 == 2) {
            store.record(LlmRequestFailed.builder("s", "b").error("e" + n).durationMs(2_000L + n).correlationId("c-" + n)
                    .provider(provider(n)).build());
        } else {
            store.record(LlmRequestCompleted.builder("s", "a").durationMs(1_000 + n).promptTokens(n).completionTokens(1)
                    .cachedTokens(n).costUsd(n / 100.0).correlationId("c-" + n).provider(provider(n)).build());
        }
    }

    @Test
    void anErrorTextIsNeverCutInsideACharacter() {
        InMemorySessionStore store = inMemory(10, 10, InstantSource.system(), new ModelCatalog(PriceTable.EMPTY, 10));
        String error = "a".repeat(SessionStore.MAX_ERROR_CHARS - 2) + "\uD83D\uDE80" + "tail";
        store.record(LlmRequestFailed.builder("s", "m").error(error).build());
        String kept = store.session("s").orElseThrow().requests().get(0).error();
        assertEquals("a".repeat(SessionStore.MAX_ERROR_CHARS - 2) + "…", kept);
    }

    @Test
    void sessionsWithoutAFinishedRequestTakeNoPlaceAmongTheMeteredOnes() {
        AtomicLong millis = new AtomicLong(Instant.parse("2026-01-17T15:00:00Z").toEpochMilli());
        InMemorySessionStore store = inMemory(100, 2, () -> Instant.ofEpochMilli(millis.get()),
                new ModelCatalog(PriceTable.EMPTY, 10));
        for (int s = 0; s < 3; s++) {
            store.record(LlmRequestCompleted.builder("done-" + s, "m").durationMs(1).build());
            millis.addAndGet(1_000);
        }
        for (int s = 0; s < 3; s++) {
            store.record(LlmRequestStarted.builder("in-flight-" + s, "m").build());
            millis.addAndGet(1_000);
        }
        assertEquals(List.of("done-2", "done-1", "done-0"),
                store.mostRecentPairs(3, 100).stream().map(PairFigures::sessionId).toList());
    }

    @Test
    void startsAndEndsOfAnExistingSessionAllocateNothingWithTwoLabelsInFlight() {
        Logger requests = Logger.getLogger(RequestLog.LOGGER);
        Level was = requests.getLevel();
        requests.setLevel(Level.WARNING); // the per-request lines are off, as by default in production
        try {
            InMemorySessionStore store = inMemory(10, 4, InstantSource.system(), new ModelCatalog(PriceTable.EMPTY, 200));
            Event[] events = {LlmRequestStarted.builder("s", "m").build(), LlmRequestStarted.builder("s", "n").build(),
                    LlmRequestCompleted.builder("s", "m").durationMs(1).build(), LlmRequestStarted.builder("s", "m").build(),
                    LlmRequestCompleted.builder("s", "n").durationMs(1).build(),
                    LlmRequestCompleted.builder("s", "m").durationMs(1).build()};
            ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
            for (int i = 0; i < 50_000; i++) { // the ring at its bound, the second label's array made, compiled
                for (int k = 0; k < events.length; k++) { // no iterator: what is measured is the store's alone
                    store.record(events[k]);
                }
            }
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 10_000; i++) {
                for (int k = 0; k < events.length; k++) {
                    store.record(events[k]);
                }
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertTrue(allocated < 1_000, allocated + " bytes for 60 000 events of an existing session");
            assertEquals(0, store.inFlight("m"));
            assertEquals(0, store.inFlight("n"));
        } finally {
            requests.setLevel(was);
        }
    }

    @Test
    void aSessionGivingRecordsOrScoresBackToTheBoundInBytesOnAStartHasANewRevision() {
        aSessionGivingRecordsOrScoresBackToTheBoundOnAStartHasANewRevision(boundedInBytes(1 << 20));
    }
}
