package dev.llmmetrics.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.cost.CostSource;
import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.event.RecordingFailedException;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link SessionStore} owes: each implementation's test extends this class and says how
 * to make a store with given bounds, clock and prices. Among it: every field of an event a
 * {@link RequestRecord} has comes back as it went in (provider, error type, HTTP status, absent usage,
 * reported cost and where a cost came from), and absent usage or cost stays absent, never zero.
 */
public abstract class SessionStoreContractTest {

    /** A store with these bounds, dating activity by {@code clock} and costing with {@code prices}. */
    protected abstract SessionStore newStore(int maxSessions, int maxRecords, Duration idleTimeout, InstantSource clock,
                                             PriceTable prices);

    /**
     * For a store that counts what it retains ({@code retainedBytes}) against {@code bound} bytes: sessions
     * carrying the largest attributes and score comments keep it within the bound, the least recently active
     * go first, the newest keeps its attributes and comments whole, and clearing every session gives back all
     * it counted. {@code millis} is the store's clock.
     */
    protected static void attributesAndScoresCountTowardTheBound(SessionStore store, LongSupplier retainedBytes,
                                                                 AtomicLong millis, long bound) {
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
            assertTrue(retainedBytes.getAsLong() <= bound, "within the bound after session " + s + ": " + retainedBytes.getAsLong());
        }
        assertTrue(store.evictions(EvictionReason.MEMORY) > 0, "each session holds about 220 KB of attributes and comments");
        assertTrue(store.session("s0").isEmpty(), "the oldest went first");
        SessionMetrics newest = store.session("s19").orElseThrow();
        assertEquals(attributes, newest.requests().get(9).attributes());
        assertEquals(comment, newest.requests().get(9).scores().get(0).comment());
        for (int s = 0; s < 20; s++) {
            store.clear("s" + s);
        }
        assertEquals(0, retainedBytes.getAsLong(), "what a session counted goes with it");
    }

    /**
     * For a store that counts what it retains ({@code retainedBytes}) against {@code bound} bytes: one session
     * whose records and scores of requests alone pass the bound stays within it, event by event and batch by
     * batch, by dropping its oldest records first; it keeps its newest ones whole, in order, and its totals
     * over every request. Smaller requests then fill it again. Returns the first request number still held of
     * the 800 sent.
     */
    protected static int aSessionLargerThanTheBoundKeepsItsNewestRecordsWithinIt(SessionStore store,
                                                                                 LongSupplier retainedBytes, long bound) {
        Map<String, String> attributes = new HashMap<>();
        for (int a = 0; a < Event.MAX_ATTRIBUTES; a++) {
            attributes.put("key" + a, "\u4e00".repeat(100));
        }
        String comment = "\u4e00".repeat(LlmRequestScored.MAX_COMMENT_LENGTH);
        int requests = 300;
        for (int i = 0; i < requests; i++) {
            LlmRequestCompleted completed = LlmRequestCompleted.builder("large", "m").durationMs(i + 1)
                    .correlationId("c" + i).attributes(attributes).build();
            LlmRequestScored score = LlmRequestScored.builder("large", "grade", i).correlationId("c" + i)
                    .comment(comment).build();
            if (i % 2 == 0) {
                store.record(completed);
                store.record(score);
            } else {
                store.record(List.of(completed, score));
            }
            assertTrue(retainedBytes.getAsLong() <= bound,
                    "within the bound after request " + i + ": " + retainedBytes.getAsLong());
        }
        SessionMetrics large = store.session("large").orElseThrow();
        assertEquals(requests, large.totalRequests(), "the totals count every request");
        assertEquals((long) requests * (requests + 1) / 2, large.totalDurationMs());
        List<RequestRecord> kept = large.requests();
        assertTrue(kept.size() > 1 && kept.size() < requests, "each request holds about 20 KB: " + kept.size());
        int first = requests - kept.size();
        for (int k = 0; k < kept.size(); k++) {
            assertEquals("c" + (first + k), kept.get(k).correlationId(), "the newest are kept, oldest first");
        }
        RequestRecord newest = kept.getLast();
        assertEquals(attributes, newest.attributes());
        assertEquals(List.of(comment), newest.scores().stream().map(RequestScore::comment).toList());
        assertEquals(requests, large.scores().getFirst().count(), "the score summary counts every score");

        // Small requests after the large ones: the records and scores held grow again past where they were
        // dropped from, and stay whole and in order.
        int small = 500;
        for (int from = requests; from < requests + small; from += 100) {
            List<Event> batch = new ArrayList<>();
            for (int i = from; i < from + 100; i++) {
                batch.add(LlmRequestCompleted.builder("large", "m").durationMs(i + 1).correlationId("c" + i).build());
                batch.add(LlmRequestScored.builder("large", "grade", i).correlationId("c" + i).build());
            }
            store.record(batch);
            assertTrue(retainedBytes.getAsLong() <= bound, "within the bound: " + retainedBytes.getAsLong());
        }
        large = store.session("large").orElseThrow();
        kept = large.requests();
        assertTrue(kept.size() >= small, "the small requests are all kept: " + kept.size());
        int firstAfter = requests + small - kept.size();
        for (int k = 0; k < kept.size(); k++) {
            RequestRecord record = kept.get(k);
            int i = firstAfter + k;
            assertEquals("c" + i, record.correlationId(), "the newest are kept, oldest first");
            assertEquals(i + 1, record.durationMs());
            assertEquals(List.of((double) i), record.scores().stream().map(RequestScore::value).toList());
        }
        assertEquals(requests + small, large.totalRequests());
        return firstAfter;
    }

    /**
     * For a store that counts what it retains against {@code bound} bytes: one session past the bound whose
     * scores of requests alone would fill it (a long comment on every request) keeps the scores of the records it
     * keeps, dropping those of the requests it drops with them, rather than all but one record and scores no
     * read shows.
     */
    protected static void aSessionPastTheBoundKeepsTheScoresOfTheRecordsItKeeps(SessionStore store,
                                                                              LongSupplier retainedBytes, long bound) {
        Map<String, String> attributes = new HashMap<>();
        for (int a = 0; a < 8; a++) {
            attributes.put("key" + a, "\u4e00".repeat(128));
        }
        String comment = "\u4e00".repeat(LlmRequestScored.MAX_COMMENT_LENGTH);
        int requests = 400;
        for (int i = 0; i < requests; i++) {
            store.record(List.of(
                    LlmRequestCompleted.builder("graded", "m").durationMs(1).correlationId("c" + i).attributes(attributes).build(),
                    LlmRequestScored.builder("graded", "grade", i).correlationId("c" + i).comment(comment).build()));
            assertTrue(retainedBytes.getAsLong() <= bound, "within the bound: " + retainedBytes.getAsLong());
        }
        List<RequestRecord> kept = store.session("graded").orElseThrow().requests();
        assertTrue(kept.size() >= 10, "records and their scores share the bound: " + kept.size() + " records kept");
        for (int k = 1; k < kept.size(); k++) {
            assertEquals(List.of((double) requests - kept.size() + k), kept.get(k).scores().stream().map(RequestScore::value).toList(),
                    "the records kept keep their scores");
        }
    }

    /**
     * For a store bounded to about a megabyte, whose requests in flight count toward the bound, with at most 1 000
     * records a session: a session at the bound that gives records back, or, with one record, scores of it, when
     * starts add requests in flight (no request finished, no score came) serves fewer of them, and its revision
     * changes with them, so that neither a kept rendering nor a client's entity tag shows what it no longer holds.
     * (The SQLite store keeps requests in flight outside its file: a start gives room back there only after a
     * restart with a lower bound, {@code SqliteSessionStoreFileTest.theRevisionNamesTheScoresOfRequestsTheFileHolds…}.)
     */
    protected static void aSessionGivingRecordsOrScoresBackToTheBoundOnAStartHasANewRevision(SessionStore store) {
        Map<String, String> attributes = new HashMap<>();
        for (int a = 0; a < 4; a++) {
            attributes.put("k" + a, "x".repeat(Event.MAX_ATTRIBUTE_LENGTH));
        }
        for (int b = 0; b < 10; b++) {
            List<Event> batch = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                batch.add(LlmRequestCompleted.builder("records", "m").durationMs(1).attributes(attributes).build());
            }
            store.record(batch);
        }
        int held = store.session("records").orElseThrow().requests().size();
        assertTrue(held > 1 && held < 1_000, "the bound keeps fewer than 1 000 records of about 4 KB: " + held);
        String revision = store.revision("records").orElseThrow();
        int starts = 0;
        while (store.session("records").orElseThrow().requests().size() == held && starts < 1_000) {
            store.record(LlmRequestStarted.builder("records", "model-" + starts).build()); // each model's flight apart
            starts++;
        }
        int served = store.session("records").orElseThrow().requests().size();
        assertTrue(served < held, "no record given back after " + starts + " starts");
        assertFalse(revision.equals(store.revision("records").orElseThrow()),
                "the revision of " + held + " records, " + served + " served now");
        store.clear("records");

        store.record(LlmRequestCompleted.builder("graded", "m").durationMs(1).correlationId("c").build());
        String comment = "\u4e00".repeat(LlmRequestScored.MAX_COMMENT_LENGTH); // 3 KB in UTF-8
        for (int b = 0; b < 10; b++) {
            List<Event> batch = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                batch.add(LlmRequestScored.builder("graded", "grade", i).correlationId("c").comment(comment).build());
            }
            store.record(batch);
        }
        List<RequestRecord> requests = store.session("graded").orElseThrow().requests();
        assertEquals(1, requests.size());
        int scores = requests.getFirst().scores().size();
        assertTrue(scores > 1 && scores < 1_000, "the bound keeps fewer than 1 000 scores of about 3 KB: " + scores);
        revision = store.revision("graded").orElseThrow();
        starts = 0;
        while (store.session("graded").orElseThrow().requests().getFirst().scores().size() == scores && starts < 1_000) {
            store.record(LlmRequestStarted.builder("graded", "model-" + starts).build());
            starts++;
        }
        requests = store.session("graded").orElseThrow().requests();
        assertEquals(1, requests.size(), "its one record stays");
        assertTrue(requests.getFirst().scores().size() < scores, "no score given back after " + starts + " starts");
        assertFalse(revision.equals(store.revision("graded").orElseThrow()),
                "the revision of " + scores + " scores, " + requests.getFirst().scores().size() + " served now");
    }

    /** A clock the test moves by hand. */
    private static final class ManualClock implements InstantSource {
        final AtomicLong millis = new AtomicLong(Instant.parse("2026-01-17T15:00:00Z").toEpochMilli());

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis.get());
        }

        void advance(Duration d) {
            millis.addAndGet(d.toMillis());
        }
    }

    private final ManualClock clock = new ManualClock();

    /** {@code priced} at $2.50 input, $1.25 cached input and $10 output per million tokens; nothing else priced. */
    private static final PriceTable PRICED = PriceTable.builder()
            .model("priced", ModelPrice.perMillionTokens("openai", new BigDecimal("2.5"), new BigDecimal("1.25"),
                    new BigDecimal("10")))
            .build();

    private SessionStore store(int maxSessions, int maxRecords) {
        return newStore(maxSessions, maxRecords, Duration.ofHours(1), clock, PriceTable.EMPTY);
    }

    private static LlmRequestCompleted completed(String session, long ms, int prompt, int completion, boolean tools) {
        return LlmRequestCompleted.builder(session, "gpt-4").durationMs(ms).promptTokens(prompt).completionTokens(completion).totalTokens(prompt + completion).hasToolCalls(tools).build();
    }

    @Test
    void aClosedStoreRecordsNothingMoreAndSaysItIsClosed() {
        SessionStore store = store(10, 10);
        store.record(completed("s", 5, 1, 1, false));
        store.close();
        RecordingFailedException one = assertThrows(RecordingFailedException.class,
                () -> store.record(completed("s", 5, 1, 1, false)));
        RecordingFailedException batch = assertThrows(RecordingFailedException.class,
                () -> store.record(List.of(completed("t", 5, 1, 1, false), completed("s", 5, 1, 1, false))));
        assertTrue(one.getMessage().contains("closed") && batch.getMessage().contains("closed"),
                one.getMessage() + " / " + batch.getMessage());
        assertTrue(store.notReadyBecause().orElse("").contains("closed"), String.valueOf(store.notReadyBecause()));
        store.close(); // a second close does nothing
        assertThrows(RecordingFailedException.class, () -> store.record(completed("u", 5, 1, 1, false)));
    }

    @Test
    void aggregatesFollowTheSeedSemanticsDurationsAndAveragesOverSuccessfulRequests() {
        SessionStore store = store(10, 100);
        store.record(completed("s", 3000, 1000, 500, true));
        store.record(completed("s", 1001, 200, 100, false));
        store.record(LlmRequestFailed.builder("s", "gpt-4").error("RateLimitError: 429").durationMs(250L).build());

        SessionMetrics m = store.session("s").orElseThrow();
        assertEquals(3, m.totalRequests());
        assertEquals(2, m.successfulRequests());
        assertEquals(1, m.failedRequests());
        assertEquals(4001, m.totalDurationMs());
        assertEquals(2000.5, m.averageDurationMs());
        assertEquals(1200, m.totalPromptTokens());
        assertEquals(600, m.totalCompletionTokens());
        assertEquals(1800, m.totalTokens());
        assertEquals(900.0, m.averageTokensPerRequest());
        assertEquals(1, m.requestsWithTools());

        RequestRecord failure = m.requests().get(2);
        assertFalse(failure.success());
        assertEquals("RateLimitError: 429", failure.error());
        assertEquals(250, failure.durationMs());
        assertNull(failure.totalTokens(), "a failure reported no usage");
    }

    @Test
    void averagesAreZeroWithoutSuccessfulRequestsAndRoundedToTwoDecimals() {
        SessionStore store = store(10, 100);
        store.record(LlmRequestFailed.builder("s", "m").error("boom").build());
        SessionMetrics failedOnly = store.session("s").orElseThrow();
        assertEquals(0.0, failedOnly.averageDurationMs());
        assertEquals(0.0, failedOnly.averageTokensPerRequest());
        assertEquals(0, failedOnly.requests().get(0).durationMs());

        for (int i = 0; i < 3; i++) {
            store.record(completed("t", i == 0 ? 1 : 0, 1, 0, false));
        }
        assertEquals(0.33, store.session("t").orElseThrow().averageDurationMs());
    }

    @Test
    void requestRecordsAreKeptOldestFirstUpToTheBoundWhileAggregatesStayExact() {
        SessionStore store = store(10, 5);
        for (int i = 1; i <= 12; i++) {
            store.record(LlmRequestCompleted.builder("s", "m" + (i % 2)).durationMs(i).promptTokens(i).completionTokens(0).totalTokens(i).hasToolCalls(false).timestamp(Instant.ofEpochSecond(i)).build());
        }
        SessionMetrics m = store.session("s").orElseThrow();
        assertEquals(12, m.totalRequests());
        assertEquals(78, m.totalDurationMs());
        assertEquals(78, m.totalTokens());
        List<Long> durations = m.requests().stream().map(RequestRecord::durationMs).toList();
        assertEquals(List.of(8L, 9L, 10L, 11L, 12L), durations);
        assertEquals(Instant.ofEpochSecond(8), m.requests().get(0).timestamp());
        assertEquals("m0", m.requests().get(0).model());
        assertEquals("m1", m.requests().get(1).model());
    }

    @Test
    void recordsAndTheirScoresAreInTheOrderReceivedNotInTheirTimestampsOrder() {
        SessionStore store = store(10, 2);
        for (int i : new int[] {3, 1, 2}) { // the event of second 1 arrives late, after that of second 3
            store.record(LlmRequestCompleted.builder("s", "m").durationMs(i).correlationId("c" + i)
                    .timestamp(Instant.ofEpochSecond(i)).build());
        }
        store.record(LlmRequestScored.builder("s", "q", 1).correlationId("c2").timestamp(Instant.ofEpochSecond(9)).build());
        store.record(LlmRequestScored.builder("s", "q", 2).correlationId("c2").timestamp(Instant.ofEpochSecond(8)).build());

        List<RequestRecord> records = store.session("s").orElseThrow().requests();
        assertEquals(List.of(1L, 2L), records.stream().map(RequestRecord::durationMs).toList(),
                "the two received last, as received: the late one of second 1 kept, the one of second 3 dropped");
        assertEquals(List.of(1.0, 2.0), records.get(1).scores().stream().map(RequestScore::value).toList());
    }

    @Test
    void requestsInFlightAreTheStartsLessTheirEndsPerModelLabelNeverBelowZero() {
        SessionStore store = store(10, 10);
        store.record(LlmRequestStarted.builder("a", "m1").build());
        store.record(List.of(LlmRequestStarted.builder("b", "m1").build(), LlmRequestStarted.builder("a", "m2").build()));
        assertEquals(2, store.inFlight("m1"), "two sessions' starts of m1");
        assertEquals(1, store.inFlight("m2"));
        assertEquals(0, store.inFlight("never-seen"));

        store.record(LlmRequestCompleted.builder("a", "m1").durationMs(5).build());
        store.record(LlmRequestFailed.builder("b", "m1").error("boom").errorType(ErrorType.TIMEOUT).build());
        assertEquals(0, store.inFlight("m1"), "a completion and a failure end them");
        store.record(LlmRequestCompleted.builder("c", "m1").durationMs(5).build());
        assertEquals(0, store.inFlight("m1"), "an end without a start takes nothing off");
        store.record(LlmRequestStarted.builder("c", "m1").build());
        assertEquals(1, store.inFlight("m1"), "so the next start is in flight");
        assertEquals(1, store.inFlight("m2"), "m2's start is still in flight");

        store.record(List.of(LlmRequestCompleted.builder("d", "m3").durationMs(5).build(),
                LlmRequestStarted.builder("d", "m3").build()));
        assertEquals(1, store.inFlight("m3"), "in the order of the batch: the end before the start took nothing off");
        store.record(List.of(LlmRequestStarted.builder("e", "m4").build(), LlmRequestStarted.builder("e", "m4").build(),
                LlmRequestScored.builder("e", "grade", 1).build(), LlmRequestCompleted.builder("e", "m4").build()));
        assertEquals(1, store.inFlight("m4"), "two starts and an end of one session in one batch");
        assertEquals(Map.of("m1", 1L, "m2", 1L, "m3", 1L, "m4", 1L), store.inFlightByLabel(),
                "every label with requests in flight, as inFlight counts them");
        store.record(LlmRequestCompleted.builder("c", "m1").durationMs(5).build());
        assertEquals(Map.of("m2", 1L, "m3", 1L, "m4", 1L), store.inFlightByLabel(), "a label with none is left out");
    }

    @Test
    void requestsInFlightFollowEachBatchInItsOrderAcrossSessionsAndRetries() {
        SessionStore store = store(100, 10);
        Random random = new Random(17);
        List<String> models = List.of("m0", "m1");
        Map<String, Long> inSession = new HashMap<>(); // "session/model" -> its requests in flight
        Set<String> appliedIds = new HashSet<>();
        List<Event> sent = new ArrayList<>();
        for (int b = 0; b < 300; b++) {
            List<Event> batch = new ArrayList<>();
            for (int k = random.nextInt(12) + 1; k > 0; k--) {
                Event event;
                if (!sent.isEmpty() && random.nextInt(8) == 0) {
                    event = sent.get(random.nextInt(sent.size())); // a retry, applied already or not
                } else {
                    String session = "s" + random.nextInt(4);
                    String model = models.get(random.nextInt(models.size()));
                    String id = random.nextBoolean() ? null : "e" + b + "-" + k;
                    event = switch (random.nextInt(4)) {
                        case 0, 1 -> LlmRequestStarted.builder(session, model).eventId(id).build();
                        case 2 -> LlmRequestCompleted.builder(session, model).durationMs(1).eventId(id).build();
                        default -> LlmRequestScored.builder(session, "grade", 1).eventId(id).build();
                    };
                }
                batch.add(event);
                sent.add(event);
            }
            store.record(batch);
            for (Event event : batch) { // each event in the batch's order, once by its id
                if (event.eventId() != null && !appliedIds.add(event.eventId())) {
                    continue;
                }
                if (event instanceof LlmRequestStarted s) {
                    inSession.merge(s.sessionId() + "/" + s.model(), 1L, Long::sum);
                } else if (event instanceof LlmRequestCompleted c) { // an end takes off a start of its own session
                    inSession.merge(c.sessionId() + "/" + c.model(), 0L, (count, zero) -> Math.max(0, count - 1));
                }
            }
            for (String model : models) {
                long expected = inSession.entrySet().stream().filter(e -> e.getKey().endsWith("/" + model))
                        .mapToLong(Map.Entry::getValue).sum();
                assertEquals(expected, store.inFlight(model), model + " after batch " + b);
            }
        }
    }

    @Test
    void aSessionsRequestsInFlightLeaveTheStoreWithItWhateverRemovesIt() {
        SessionStore store = store(3, 10);
        store.record(List.of(started("a", "m"), started("a", "m"), started("b", "m"), started("b", "n")));
        clock.advance(Duration.ofSeconds(1));
        store.record(LlmRequestCompleted.builder("c", "m").durationMs(1).build());
        assertEquals(3, store.inFlight("m"), "an end takes off a start of its own session only");

        assertTrue(store.clear("a"));
        assertEquals(1, store.inFlight("m"), "the cleared session's two starts left with it");
        clock.advance(Duration.ofSeconds(1));
        store.record(LlmRequestCompleted.builder("a", "m").durationMs(1).build());
        assertEquals(1, store.inFlight("m"), "an end coming after its session was cleared takes nothing off b's");

        clock.advance(Duration.ofSeconds(1));
        store.record(started("d", "m"));
        assertTrue(store.session("b").isEmpty(), "b, the least recently active, was evicted for d");
        assertEquals(0, store.inFlight("n"), "b's start of n left with it");
        assertEquals(1, store.inFlight("m"), "b's start of m left with it, d's came");

        clock.advance(Duration.ofMinutes(61));
        assertEquals(3, store.evictIdle());
        assertEquals(0, store.inFlight("m"), "d's start, whose end never came, left with d when it was idle");
        store.record(List.of(started("e", "m"), LlmRequestCompleted.builder("d", "m").durationMs(1).build()));
        assertEquals(1, store.inFlight("m"), "d's late end takes nothing off e's start");
    }

    @Test
    void aStartWhoseEndNeverComesStopsCountingWithinTheIdleTimeoutThoughItsSessionStaysActive() {
        SessionStore store = store(10, 10);
        clock.advance(Duration.ofMinutes(7)); // off the edge of a quarter hour
        // a's start of m and s's of n never end; a stays active with calls that end, s with scores only
        store.record(List.of(started("a", "m"), started("s", "n")));
        for (int minute = 1; minute <= 90; minute++) {
            clock.advance(Duration.ofMinutes(1));
            store.record(List.of(started("a", "m"), LlmRequestCompleted.builder("a", "m").durationMs(1).build(),
                    LlmRequestScored.builder("s", "grade", 1).build()));
            if (minute == 50) {
                store.record(started("b", "m")); // a call still running, which must not be taken for a's
            }
            store.evictIdle(); // as the server's sweeper does
            if (minute < 45) {
                assertEquals(Map.of("m", 1L, "n", 1L), store.inFlightByLabel(), "minute " + minute);
            } else if (minute >= 60) {
                assertEquals(Map.of("m", 1L), store.inFlightByLabel(), "minute " + minute
                        + ": the starts of a and s left, b's is running");
                assertEquals(1, store.inFlight("m"));
                assertEquals(0, store.inFlight("n"));
            }
        }
        assertTrue(store.session("a").isPresent(), "a stayed active, so stayed in the store");
        assertTrue(store.session("s").isPresent());
        clock.advance(Duration.ofMinutes(15));
        store.record(LlmRequestCompleted.builder("b", "m").durationMs(1).build());
        assertEquals(Map.of(), store.inFlightByLabel(), "b's end ended b's start, within the timeout");
    }

    @Test
    void aSessionAlwaysRunningCallsCountsEachUntilItEndsAndOnlyTheStartWithoutEndLeaves() {
        SessionStore store = store(10, 10);
        clock.advance(Duration.ofMinutes(7)); // off the edge of a quarter hour
        store.record(started("a", "m")); // its end never comes
        Duration run = Duration.ofMinutes(3);
        for (int minute = 1; minute <= 150; minute++) {
            clock.advance(Duration.ofMinutes(1));
            // a call a minute, each running three: the end of the one three minutes back, then the next start
            List<Event> batch = minute > 3
                    ? List.of(LlmRequestCompleted.builder("a", "m").durationMs(run.toMillis()).build(), started("a", "m"))
                    : List.of(started("a", "m"));
            store.record(batch);
            store.evictIdle();
            long running = Math.min(minute, 3);
            if (minute < 45) {
                assertEquals(running + 1, store.inFlight("m"), "minute " + minute + ": the calls and the start without end");
            } else if (minute >= 60) {
                assertEquals(running, store.inFlight("m"), "minute " + minute + ": each call until its end, however "
                        + "long the session never ran dry");
            }
        }
    }

    @Test
    void aStartStopsCountingWithinTheIdleTimeoutAfterTheClockWentFarAheadAndCameBack() {
        SessionStore store = store(10, 10);
        clock.advance(Duration.ofMinutes(7));
        clock.advance(Duration.ofDays(365)); // a clock set a year ahead, then put right
        // the ends of these starts and the next never come; s stays active with scores only
        store.record(List.of(started("a", "m"), started("s", "n")));
        store.evictIdle();
        clock.advance(Duration.ofDays(-365));
        store.record(started("a", "m")); // a stays active with calls that end
        for (int minute = 1; minute <= 90; minute++) {
            clock.advance(Duration.ofMinutes(1));
            store.record(List.of(started("a", "m"), LlmRequestCompleted.builder("a", "m").durationMs(1).build(),
                    LlmRequestScored.builder("s", "grade", 1).build()));
            store.evictIdle();
            if (minute < 45) {
                assertTrue(store.inFlight("m") >= 1, "minute " + minute + ": the start after the clock came back");
            } else if (minute >= 60) {
                assertEquals(Map.of(), store.inFlightByLabel(), "minute " + minute + ": the starts are the idle "
                        + "timeout old of the clock's time");
            }
        }
        assertTrue(store.session("a").isPresent(), "a stayed active, so stayed in the store");
        assertTrue(store.session("s").isPresent());
    }

    private static LlmRequestStarted started(String session, String model) {
        return LlmRequestStarted.builder(session, model).build();
    }

    @Test
    void requestsInFlightStayTheSumOfTheSessionsHeldWhileBatchesRaceClearsEvictionsAndSweeps() throws Exception {
        SessionStore store = newStore(6, 4, Duration.ofHours(1), clock, PriceTable.EMPTY);
        List<String> models = List.of("m0", "m1", "m2");
        int writers = 3;
        ExecutorService pool = Executors.newFixedThreadPool(writers + 1);
        java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger(writers);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < writers; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    Random random = new Random(31 + thread);
                    List<Event> sent = new ArrayList<>();
                    try {
                        for (int b = 0; b < 300; b++) {
                            List<Event> batch = new ArrayList<>();
                            for (int k = random.nextInt(8) + 1; k > 0; k--) {
                                if (!sent.isEmpty() && random.nextInt(10) == 0) {
                                    batch.add(sent.get(random.nextInt(sent.size()))); // a retry
                                    continue;
                                }
                                String session = "s" + random.nextInt(10);
                                String model = models.get(random.nextInt(models.size()));
                                String id = random.nextBoolean() ? null : thread + "-" + b + "-" + k;
                                int kind = random.nextInt(10);
                                Event event = kind < 6 ? LlmRequestStarted.builder(session, model).eventId(id).build()
                                        : kind < 9 ? LlmRequestCompleted.builder(session, model).durationMs(1).eventId(id).build()
                                        : LlmRequestFailed.builder(session, model).error("e").eventId(id).build();
                                batch.add(event);
                                sent.add(event);
                            }
                            store.record(batch);
                        }
                    } finally {
                        running.decrementAndGet();
                    }
                    return null;
                }));
            }
            futures.add(pool.submit(() -> { // DELETEs and idle sweeps while the batches run
                Random random = new Random(7);
                for (int i = 0; running.get() > 0; i++) {
                    store.clear("s" + random.nextInt(10));
                    if (i % 25 == 0) {
                        clock.advance(Duration.ofMinutes(61));
                        store.evictIdle();
                    }
                }
                return null;
            }));
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(store.evictions(EvictionReason.CAPACITY) + store.evictions(EvictionReason.IDLE) > 0);
        Thread.sleep(1_100); // a store that reads a shared count as last read (Redis: every 500 ms) reads it anew

        // Each session held ends its requests in flight one by one: then none is left, or the sum drifted.
        for (String id : store.sessionIds(0, 100)) {
            for (String model : models) {
                long last = -1;
                for (int guard = 0; guard < 10_000; guard++) {
                    store.record(LlmRequestCompleted.builder(id, model).durationMs(1).build());
                    long now = store.inFlight(model);
                    if (now == last) {
                        break;
                    }
                    last = now;
                }
            }
        }
        Thread.sleep(1_100);
        for (String model : models) {
            assertEquals(0, store.inFlight(model), model + ": each session held ended all of its own");
        }
    }

    @Test
    void aStartOrEndAppliedOnceByItsEventIdCountsOnceInFlight() {
        SessionStore store = store(10, 10);
        LlmRequestStarted start = LlmRequestStarted.builder("a", "m").eventId("start-1").build();
        store.record(start);
        store.record(List.of(start, LlmRequestStarted.builder("b", "m").eventId("start-2").build()));
        assertEquals(2, store.inFlight("m"), "the retried start counted once");
        LlmRequestCompleted end = LlmRequestCompleted.builder("a", "m").eventId("end-1").durationMs(1).build();
        store.record(end);
        store.record(end);
        assertEquals(1, store.inFlight("m"), "the retried end took one off once");
    }

    @Test
    void atCapacityTheLeastRecentlyActiveSessionsAreEvictedAndCounted() {
        SessionStore store = store(3, 10);
        for (String id : List.of("a", "b", "c")) {
            store.record(LlmRequestStarted.builder(id, "m").messagesCount(1).toolsCount(0).build());
            clock.advance(Duration.ofSeconds(1));
        }
        store.record(completed("a", 1, 1, 1, false));
        clock.advance(Duration.ofSeconds(1));

        store.record(LlmRequestStarted.builder("d", "m").messagesCount(1).toolsCount(0).build());

        assertEquals(3, store.sessionCount());
        assertEquals(1, store.evictions(EvictionReason.CAPACITY));
        assertTrue(store.session("b").isEmpty());
        assertEquals(List.of("d", "a", "c"), store.sessionIds(0, 10));
    }

    @Test
    void ofSessionsActiveInTheSameMillisecondTheCapacityEvictsTheLesserIdsWhichTheListingPutsLast() {
        SessionStore store = store(3, 10);
        for (String id : List.of("zz", "aa", "mm", "bb", "yy")) {
            store.record(completed(id, 1, 1, 1, false));
        }
        assertEquals(List.of("zz", "yy", "mm"), store.sessionIds(0, 10));
        assertEquals(2, store.evictions(EvictionReason.CAPACITY));

        SessionStore batched = store(3, 10);
        batched.record(List.of(completed("zz", 1, 1, 1, false), completed("aa", 1, 1, 1, false),
                completed("mm", 1, 1, 1, false), completed("bb", 1, 1, 1, false), completed("yy", 1, 1, 1, false)));
        assertEquals(List.of("zz", "yy", "mm"), batched.sessionIds(0, 10), "the same from one batch");
    }

    @Test
    void ofSessionsActiveInTheSameMillisecondTheListingTheScrapeAndTheCapacityOrderIdsByTheirCodePoints() {
        // U+FF01 is a lesser code point (and UTF-8 bytes, as Redis compares them) than U+1F600, but its one UTF-16
        // unit is greater than the surrogates U+1F600 is written with
        String fullwidth = "tied-\uFF01";
        String emoji = "tied-\uD83D\uDE00";
        SessionStore store = store(10, 10);
        for (String id : List.of(fullwidth, "tied-a", emoji)) {
            store.record(completed(id, 1, 1, 1, false));
        }
        assertEquals(List.of(emoji, fullwidth, "tied-a"), store.sessionIds(0, 10));
        assertEquals(List.of(emoji, fullwidth, "tied-a"), ((SessionFigures) store).mostRecentPairs(10, 100).stream()
                .map(PairFigures::sessionId).toList(), "the scrape in the listing's order");

        SessionStore one = store(1, 10);
        one.record(completed(emoji, 1, 1, 1, false));
        one.record(completed(fullwidth, 1, 1, 1, false));
        assertEquals(List.of(emoji), one.sessionIds(0, 10), "the lesser by code point evicted");
    }

    @Test
    void aSessionActiveInTheBatchThatPassesTheCapacityKeepsItsHistory() {
        SessionStore store = store(2, 10);
        store.record(completed("old1", 1, 1, 1, false));
        clock.advance(Duration.ofSeconds(1));
        store.record(completed("old2", 2, 1, 1, false));
        clock.advance(Duration.ofSeconds(1));

        store.record(List.of(completed("new1", 3, 1, 1, false), completed("old1", 4, 1, 1, false)));

        assertEquals(List.of(1L, 4L), durations(store, "old1"), "old1 is active in this batch: old2 goes");
        assertTrue(store.session("old2").isEmpty());
        assertEquals(List.of(3L), durations(store, "new1"));
    }

    @Test
    void thePerSessionSeriesGoToTheMostRecentSessionsWithAFinishedRequest() {
        SessionStore store = store(10, 10);
        store.record(completed("a", 5, 1, 1, false));
        clock.advance(Duration.ofSeconds(1));
        store.record(LlmRequestStarted.builder("b", "m").messagesCount(1).build());
        clock.advance(Duration.ofSeconds(1));
        store.record(LlmRequestScored.builder("c", "q", 1).build());

        List<PairFigures> pairs = ((SessionFigures) store).mostRecentPairs(1, 100);
        assertEquals(List.of("a"), pairs.stream().map(PairFigures::sessionId).toList(),
                "b (only started) and c (only scored) have no series to take a's place");
    }

    @Test
    void sessionsIdleLongerThanTheTimeoutAreEvicted() {
        SessionStore store = store(10, 10);
        store.record(completed("old", 1, 1, 1, false));
        clock.advance(Duration.ofMinutes(30));
        store.record(completed("recent", 1, 1, 1, false));
        clock.advance(Duration.ofMinutes(31));

        assertEquals(1, store.evictIdle());
        assertEquals(1, store.evictions(EvictionReason.IDLE));
        assertEquals(0, store.evictions(EvictionReason.CAPACITY));
        assertTrue(store.session("old").isEmpty());
        assertTrue(store.session("recent").isPresent());
    }

    @Test
    void clearRemovesOneSessionAndReportsWhetherItExisted() {
        SessionStore store = store(10, 10);
        store.record(completed("s", 1, 1, 1, false));
        assertTrue(store.clear("s"));
        assertFalse(store.clear("s"));
        assertTrue(store.session("s").isEmpty());
        assertEquals(0, store.sessionCount());
        store.record(completed("s", 1, 1, 1, false));
        assertEquals(1, store.session("s").orElseThrow().totalRequests());
    }

    @Test
    void aConditionalClearRemovesTheSessionOnlyWhenItsRevisionMeetsTheCondition() {
        SessionStore store = store(10, 10);
        store.record(completed("s", 1, 1, 1, false));
        String read = store.revision("s").orElseThrow();
        assertFalse(store.clear("absent", read::equals), "a session not held");
        store.record(completed("s", 2, 1, 1, false));
        assertFalse(store.clear("s", read::equals), "a request finished after the revision was read");
        assertEquals(2, store.session("s").orElseThrow().totalRequests(), "nothing removed");

        String now = store.revision("s").orElseThrow();
        assertFalse(store.clear("s", (now + "0")::equals), "another revision");
        assertFalse(store.clear("s", "not a revision"::equals));
        store.record(completed("other", 1, 1, 1, false));
        assertTrue(store.clear("s", now::equals), "another session's request changes nothing of this one's state");
        assertTrue(store.session("s").isEmpty());
        assertEquals(1, store.sessionCount());
        assertFalse(store.clear("s", now::equals), "already removed");

        store.record(completed("s", 1, 1, 1, false));
        assertFalse(store.clear("s", now::equals), "the id's next life has revisions of its own");
        assertEquals(1, store.session("s").orElseThrow().totalRequests());
        assertTrue(store.clear("s", revision -> !revision.equals(now)), "a condition every other state meets");
        assertTrue(store.session("s").isEmpty());
    }

    @Test
    void sessionIdsAreMostRecentlyActiveFirstAndPaged() {
        SessionStore store = store(10, 10);
        for (String id : List.of("s1", "s2", "s3", "s4")) {
            store.record(completed(id, 1, 1, 1, false));
            clock.advance(Duration.ofMillis(5));
        }
        assertEquals(List.of("s4", "s3", "s2", "s1"), store.sessionIds(0, 100));
        assertEquals(List.of("s3", "s2"), store.sessionIds(1, 2));
        assertEquals(List.of(), store.sessionIds(10, 2));
        assertEquals(List.of(), store.sessionIds(0, 0));
    }

    /** Records a completed request of 40 sessions {@code tied-00} to {@code tied-39}, out of id order, in one millisecond. */
    private static List<String> recordTiedSessions(SessionStore store) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            ids.add("tied-%02d".formatted((i * 17) % 40));
        }
        for (String id : ids) {
            store.record(completed(id, 1, 1, 1, false));
        }
        return ids;
    }

    @Test
    void sessionsActiveInTheSameMillisecondAreListedGreatestIdFirstSoThatPagesNeitherOverlapNorSkip() {
        SessionStore store = store(100, 10);
        List<String> ids = recordTiedSessions(store);
        clock.advance(Duration.ofMillis(5));
        store.record(completed("newest", 1, 1, 1, false));
        List<String> expected = new ArrayList<>(ids);
        expected.sort(Comparator.reverseOrder());
        expected.addFirst("newest");
        assertEquals(expected, store.sessionIds(0, 100));
        List<String> paged = new ArrayList<>();
        for (int offset = 0; offset < 41; offset += 7) {
            paged.addAll(store.sessionIds(offset, 7));
        }
        assertEquals(expected, paged, "pages of 7, one after the other");
    }

    @Test
    void thePerSessionSeriesOfSessionsActiveInTheSameMillisecondGoToTheGreatestIdsAsTheListingOrdersThem() {
        SessionStore store = store(100, 10);
        List<String> ids = recordTiedSessions(store);
        List<String> listed = store.sessionIds(0, 10);
        for (int round = 0; round < 3; round++) {
            List<String> metered = ((SessionFigures) store).mostRecentPairs(10, 100).stream()
                    .map(PairFigures::sessionId).toList();
            assertEquals(listed, metered, "the ten the listing puts first, in its order");
        }
        assertEquals(List.of("tied-39", "tied-38", "tied-37", "tied-36", "tied-35", "tied-34", "tied-33", "tied-32",
                "tied-31", "tied-30"), listed);
    }

    @Test
    void startedEventsMakeASessionActiveWithoutCountingARequest() {
        SessionStore store = store(10, 10);
        store.record(LlmRequestStarted.builder("s", "m").messagesCount(3).toolsCount(1).build());
        SessionMetrics m = store.session("s").orElseThrow();
        assertEquals(0, m.totalRequests());
        assertEquals(List.of(), m.requests());
        assertNull(store.session("other").orElse(null));
    }

    @Test
    void concurrentUpdatesAcrossSessionsLoseNothing() throws Exception {
        int threads = 4;
        int perThread = 20_000;
        int sessions = 50;
        SessionStore store = newStore(1_000, 10, Duration.ofHours(1), InstantSource.system(), PriceTable.EMPTY);
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < perThread; i++) {
                        String session = "s" + ((i + thread) % sessions);
                        if (i % 10 == 0) {
                            store.record(LlmRequestFailed.builder(session, "m").error("e").build());
                        } else {
                            store.record(completed(session, 2, 3, 4, i % 3 == 0));
                        }
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        long total = 0;
        long failed = 0;
        long prompt = 0;
        for (String id : store.sessionIds(0, sessions)) {
            SessionMetrics m = store.session(id).orElseThrow();
            total += m.totalRequests();
            failed += m.failedRequests();
            prompt += m.totalPromptTokens();
            assertEquals(m.successfulRequests() * 7, m.totalTokens());
        }
        assertEquals((long) threads * perThread, total);
        assertEquals((long) threads * perThread / 10, failed);
        assertEquals(3L * (total - failed), prompt);
    }

    /**
     * Whether this process's per-session figures ({@link SessionFigures}) are read from the store's own table, so
     * that a session the store no longer holds has none; a store shared with other processes keeps figures of its
     * own beside it, which may outlast a clear or an eviction until its sweep (docs/replicas.md).
     */
    protected boolean figuresAreTheStoresOwnTable() {
        return true;
    }

    @Test
    void afterBatchesRaceClearsAndEvictionsTheFiguresOfEachHeldSessionAreTheStoresAndOfNoOther() throws Exception {
        int sessions = 300;
        int batch = 200;
        int capacity = 100;
        SessionStore store = newStore(capacity, 10, Duration.ofHours(1), InstantSource.system(), PriceTable.EMPTY);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> work = new ArrayList<>();
            for (int s = 0; s < sessions; s++) {
                String id = "race-" + s;
                List<Event> events = new ArrayList<>();
                for (int i = 0; i < batch; i++) {
                    events.add(i % 5 == 4 ? LlmRequestFailed.builder(id, "m" + (i % 3)).error("e").build()
                            : LlmRequestCompleted.builder(id, "m" + (i % 3)).durationMs(i + 1).promptTokens(i)
                                    .completionTokens(1).totalTokens(i + 1).build());
                }
                CountDownLatch start = new CountDownLatch(2);
                AtomicBoolean recorded = new AtomicBoolean();
                AtomicBoolean watching = new AtomicBoolean();
                // The first half fill the store past its capacity: every other one is not cleared, and the clears of
                // the others may come before their batch, the session outliving its clear. The clears of the second
                // half wait for the session to show, so that they land inside the batch were it applied in parts.
                boolean clearOnceShown = s >= sessions / 2;
                boolean cleared = clearOnceShown || s % 2 == 0;
                work.add(pool.submit(() -> {
                    start.countDown();
                    start.await();
                    while (clearOnceShown && !watching.get()) {
                        Thread.onSpinWait(); // the clear is already looking when the batch begins
                    }
                    store.record(events);
                    recorded.set(true);
                    return null;
                }));
                work.add(pool.submit(() -> {
                    start.countDown();
                    start.await();
                    watching.set(true);
                    while (clearOnceShown && !recorded.get() && store.summary(id).isEmpty()) {
                        Thread.onSpinWait();
                    }
                    if (cleared) {
                        store.clear(id);
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(store.evictions(EvictionReason.CAPACITY) > 0, "the capacity evicted while batches and clears raced");
        Map<String, long[]> figures = new HashMap<>();
        for (PairFigures pair : ((SessionFigures) store).mostRecentPairs(Integer.MAX_VALUE, Integer.MAX_VALUE)) {
            long[] sum = figures.computeIfAbsent(pair.sessionId(), id -> new long[3]);
            sum[0] += pair.successes();
            sum[1] += pair.failures();
            sum[2] += pair.promptTokens();
        }
        int held = 0;
        for (int s = 0; s < sessions; s++) {
            String id = "race-" + s;
            Optional<SessionMetrics> session = store.session(id);
            long[] sum = figures.get(id);
            if (session.isEmpty()) {
                if (figuresAreTheStoresOwnTable()) {
                    assertNull(sum, id + " is gone from the store, so from its figures");
                }
                continue;
            }
            held++;
            SessionMetrics m = session.get();
            assertEquals(batch, m.totalRequests(), id + ": a clear takes all of a batch's events for the session or none");
            assertTrue(sum != null, id + " is held, so it has figures");
            assertEquals(List.of(m.successfulRequests(), m.failedRequests(), m.totalPromptTokens()),
                    List.of(sum[0], sum[1], sum[2]), id + ": its figures are the store's");
        }
        assertTrue(held > 0 && held <= capacity, "sessions held within the capacity: " + held);
    }

    @Test
    void anUpdateRacingWithCapacityEvictionIsNeverLost() throws Exception {
        SessionStore store = newStore(8, 4, Duration.ofHours(1), InstantSource.system(), PriceTable.EMPTY);
        int threads = 4;
        int perThread = 20_000;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        AtomicLong recordedInLiveSessions = new AtomicLong();
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        store.record(completed("t" + thread + "-" + (i % 40), 1, 1, 1, false));
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(store.sessionCount() <= 8, "bound holds: " + store.sessionCount());
        for (String id : store.sessionIds(0, 100)) {
            recordedInLiveSessions.addAndGet(store.session(id).orElseThrow().totalRequests());
        }
        assertTrue(store.evictions(EvictionReason.CAPACITY) > 0);
        assertTrue(recordedInLiveSessions.get() > 0);
    }

    @Test
    void costsCachedReasoningAndFirstTokenTimesSurviveTheRingWrappingAndTheTotalsStayExact() {
        PriceTable prices = PriceTable.builder()
                .model("priced", ModelPrice.perMillionTokens("openai", new BigDecimal("2.5"), new BigDecimal("1.25"),
                        new BigDecimal("10")))
                .build();
        SessionStore store = newStore(10, 3, Duration.ofHours(1), clock, prices);
        long expectedPico = 0;
        for (int i = 0; i < 7; i++) {
            int prompt = 1000 + i;
            int cached = i % 2 == 0 ? 0 : 500 + i;
            int completion = 100 + i;
            boolean priced = i != 3;
            store.record(LlmRequestCompleted.builder("s", priced ? "priced" : "unpriced").durationMs(2000 + i).promptTokens(prompt).completionTokens(completion).totalTokens(prompt + completion).hasToolCalls(false).cachedTokens(cached).reasoningTokens(i).timeToFirstTokenMs(i % 3 == 0 ? null : 100L + i).build());
            if (priced) {
                expectedPico += (prompt - cached) * 2_500_000L + cached * 1_250_000L + completion * 10_000_000L;
            }
        }
        store.record(LlmRequestFailed.builder("s", "priced").error("boom").durationMs(10L).build());

        SessionMetrics m = store.session("s").orElseThrow();
        assertEquals(new SessionCost(6, 1, expectedPico), m.cost());
        assertEquals(ModelPrice.usd(expectedPico), m.totalCostUsd());
        assertEquals(501 + 503 + 505, m.totalCachedTokens());
        assertEquals(21, m.totalReasoningTokens());
        // The ring holds the last three: completions 5 and 6, then the failure.
        List<RequestRecord> records = m.requests();
        assertEquals(3, records.size());
        RequestRecord fifth = records.get(0);
        assertEquals(505, fifth.cachedTokens());
        assertEquals(5, fifth.reasoningTokens());
        assertEquals(105L, fifth.timeToFirstTokenMs());
        assertEquals(2005, fifth.durationMs());
        assertEquals(ModelPrice.usd((1005 - 505) * 2_500_000L + 505 * 1_250_000L + 105 * 10_000_000L), fifth.costUsd());
        RequestRecord sixth = records.get(1);
        assertNull(sixth.timeToFirstTokenMs(), "not streamed");
        assertEquals(0, sixth.cachedTokens());
        RequestRecord failure = records.get(2);
        assertNull(failure.costUsd());
        assertEquals(0, failure.cachedTokens());
    }

    /**
     * A response without usage adds no tokens (not zeros) and is counted apart, so that the session's token
     * figures and its average cover only the requests that reported usage; a priced model's request without
     * usage has no cost.
     */
    @Test
    void aResponseWithoutUsageHasNoTokensAndCountsAmongTheRequestsWithoutUsage() {
        SessionStore store = newStore(10, 10, Duration.ofHours(1), clock, PRICED);
        store.record(LlmRequestCompleted.builder("s", "priced").durationMs(100).promptTokens(1000).completionTokens(100)
                .build());
        LlmRequestCompleted noUsage = LlmRequestCompleted.builder("s", "priced").durationMs(300).build();
        assertFalse(noUsage.hasUsage());
        store.record(noUsage);
        store.record(LlmRequestFailed.builder("s", "priced").error("boom").build());

        SessionMetrics m = store.session("s").orElseThrow();
        assertEquals(2, m.successfulRequests());
        assertEquals(1, m.requestsWithoutUsage());
        assertEquals(1000, m.totalPromptTokens());
        assertEquals(1100, m.totalTokens());
        assertEquals(1100.0, m.averageTokensPerRequest(), "over the one request that reported usage");
        assertEquals(200.0, m.averageDurationMs(), "durations cover both");
        assertEquals(new SessionCost(1, 1, 1000 * 2_500_000L + 100 * 10_000_000L), m.cost());
        RequestRecord without = m.requests().get(1);
        assertFalse(without.hasUsage());
        assertNull(without.promptTokens());
        assertNull(without.completionTokens());
        assertNull(without.totalTokens());
        assertNull(without.costUsd());
        assertNull(without.costSource());
        RequestRecord failure = m.requests().get(2);
        assertFalse(failure.hasUsage(), "a failure has no usage either");
        assertEquals(1100, m.requests().get(0).totalTokens());
    }

    /**
     * A provider-reported cost is the request's cost whatever the price table says, in the records and the
     * session's total, and each record says where its cost came from.
     */
    @Test
    void aProviderReportedCostIsPreferredAndEachRecordSaysWhereItsCostCameFrom() {
        SessionStore store = newStore(10, 10, Duration.ofHours(1), clock, PRICED);
        store.record(LlmRequestCompleted.builder("s", "priced").durationMs(10).promptTokens(1000).completionTokens(100)
                .costUsd(0.5).provider("openrouter").build());
        store.record(LlmRequestCompleted.builder("s", "priced").durationMs(10).promptTokens(1000).completionTokens(100)
                .build());
        store.record(LlmRequestCompleted.builder("s", "unpriced").durationMs(10).costUsd(0.25).build());
        store.record(LlmRequestCompleted.builder("s", "unpriced").durationMs(10).promptTokens(5).build());

        SessionMetrics m = store.session("s").orElseThrow();
        long table = 1000 * 2_500_000L + 100 * 10_000_000L;
        assertEquals(new SessionCost(3, 1, 500_000_000_000L + table + 250_000_000_000L), m.cost());
        List<RequestRecord> records = m.requests();
        assertEquals(0.5, records.get(0).costUsd());
        assertEquals(CostSource.PROVIDER, records.get(0).costSource());
        assertEquals("openrouter", records.get(0).provider());
        assertEquals(ModelPrice.usd(table), records.get(1).costUsd());
        assertEquals(CostSource.PRICE_TABLE, records.get(1).costSource());
        assertNull(records.get(1).provider());
        assertEquals(0.25, records.get(2).costUsd(), "reported without usage, of a model the table does not price");
        assertEquals(CostSource.PROVIDER, records.get(2).costSource());
        assertNull(records.get(3).costUsd());
        assertNull(records.get(3).costSource());
    }

    /**
     * A failure's error type, HTTP status and provider are kept on its record; an HTTP status alone gives
     * the type it means, and a failure without either has no type.
     */
    @Test
    void aFailuresErrorTypeHttpStatusAndProviderAreKeptOnItsRecord() {
        SessionStore store = store(10, 10);
        store.record(LlmRequestFailed.builder("s", "gpt-4").error("429 Too Many Requests").httpStatus(429)
                .provider("openai").build());
        store.record(LlmRequestFailed.builder("s", "gpt-4").error("flagged").errorType(ErrorType.CONTENT_FILTER)
                .httpStatus(400).build());
        store.record(LlmRequestFailed.builder("s", "gpt-4").error("read timed out").errorType(ErrorType.TIMEOUT)
                .build());
        store.record(LlmRequestFailed.builder("s", "gpt-4").error("boom").build());

        List<RequestRecord> records = store.session("s").orElseThrow().requests();
        assertEquals(ErrorType.RATE_LIMIT, records.get(0).errorType());
        assertEquals(429, records.get(0).httpStatus());
        assertEquals("openai", records.get(0).provider());
        assertEquals(ErrorType.CONTENT_FILTER, records.get(1).errorType());
        assertEquals(400, records.get(1).httpStatus());
        assertEquals(ErrorType.TIMEOUT, records.get(2).errorType());
        assertNull(records.get(2).httpStatus());
        assertNull(records.get(3).errorType());
        assertNull(records.get(3).httpStatus());
        assertNull(records.get(3).provider());
    }

    /**
     * Every figure of a record reads back as its event gave it, at the edges the events accept: the first and
     * last timestamps, the longest duration, token counts of {@code Integer.MAX_VALUE}, a total apart from the
     * prompt and completion tokens' sum, the largest cost, each error type and the HTTP statuses' range.
     */
    @Test
    void aRecordKeepsEveryFigureAtTheEdgesItsEventAccepts() {
        SessionStore store = store(10, 40);
        Instant first = Event.MIN_TIMESTAMP;
        Instant last = Instant.ofEpochMilli(Event.MAX_TIMESTAMP.toEpochMilli());
        int max = Integer.MAX_VALUE;
        List<RequestRecord> expected = new ArrayList<>();
        store.record(LlmRequestCompleted.builder("s", "edge").timestamp(first).durationMs(Event.MAX_DURATION_MS)
                .timeToFirstTokenMs(Event.MAX_DURATION_MS).promptTokens(max).completionTokens(max).totalTokens(0)
                .cachedTokens(max).reasoningTokens(max).costUsd(Event.MAX_COST_USD).hasToolCalls(true).build());
        expected.add(RequestRecord.builder(first, "edge").durationMs(Event.MAX_DURATION_MS)
                .timeToFirstTokenMs(Event.MAX_DURATION_MS).promptTokens(max).completionTokens(max).totalTokens(0)
                .cachedTokens(max).reasoningTokens(max).costUsd(Event.MAX_COST_USD).costSource(CostSource.PROVIDER)
                .hasToolCalls(true).success(true).build());
        store.record(LlmRequestCompleted.builder("s", "edge").timestamp(last).durationMs(0).timeToFirstTokenMs(0L)
                .promptTokens(0).completionTokens(0).totalTokens(max).build());
        expected.add(RequestRecord.builder(last, "edge").durationMs(0).timeToFirstTokenMs(0L).promptTokens(0)
                .completionTokens(0).totalTokens(max).success(true).build());
        store.record(LlmRequestCompleted.builder("s", "edge").timestamp(first).durationMs(1).costUsd(0.0).build());
        expected.add(RequestRecord.builder(first, "edge").durationMs(1).costUsd(0.0).costSource(CostSource.PROVIDER)
                .success(true).build());
        store.record(LlmRequestCompleted.builder("s", "edge").timestamp(last).durationMs(2).promptTokens(max)
                .completionTokens(0).build());
        expected.add(RequestRecord.builder(last, "edge").durationMs(2).promptTokens(max).completionTokens(0)
                .totalTokens(max).success(true).build());
        int[] statuses = {100, 599, 101, 598, 200, 404, 429, 500, 503, 302};
        for (ErrorType type : ErrorType.values()) {
            int status = statuses[type.ordinal() % statuses.length];
            store.record(LlmRequestFailed.builder("s", "edge").timestamp(last).error("e").errorType(type)
                    .httpStatus(status).durationMs(Event.MAX_DURATION_MS).build());
            expected.add(RequestRecord.builder(last, "edge").durationMs(Event.MAX_DURATION_MS).success(false).error("e").errorType(type)
                    .httpStatus(status).build());
        }
        store.record(LlmRequestFailed.builder("s", "edge").timestamp(first).error("e").build());
        expected.add(RequestRecord.builder(first, "edge").durationMs(0).success(false).error("e").build());

        assertEquals(expected, store.session("s").orElseThrow().requests());
    }

    @Test
    void reportedCostsAddUpExactlyToTheLargestWholeFigure() {
        SessionStore store = store(10, 20);
        List<Event> batch = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            batch.add(LlmRequestCompleted.builder("s", "m").durationMs(1).costUsd(1_000_000.0).build());
        }
        batch.add(LlmRequestCompleted.builder("s", "m").durationMs(1).costUsd(223_372.0).build());
        store.record(batch);
        assertEquals(9_223_372_000_000_000_000L, store.session("s").orElseThrow().cost().picoUsd());
    }

    @Test
    void aSessionWithOnlyUnpricedRequestsHasNoTotalCostRatherThanZero() {
        SessionStore store = store(10, 10);
        store.record(completed("s", 100, 10, 10, false));
        SessionMetrics m = store.session("s").orElseThrow();
        assertNull(m.totalCostUsd());
        assertEquals(1, m.cost().unpricedRequests());
        assertNull(m.requests().get(0).costUsd());
    }

    @Test
    void theRevisionChangesWithEveryRequestAndAcrossAClearButNotWithAStart() {
        SessionStore store = store(10, 10);
        assertTrue(store.revision("s").isEmpty());
        store.record(completed("s", 100, 10, 10, false));
        String first = store.revision("s").orElseThrow();
        store.record(LlmRequestStarted.builder("s", "gpt-4").messagesCount(1).toolsCount(0).build());
        assertEquals(first, store.revision("s").orElseThrow(), "a start changes nothing the snapshot shows");
        store.record(LlmRequestFailed.builder("s", "gpt-4").error("boom").build());
        String second = store.revision("s").orElseThrow();
        assertFalse(first.equals(second));
        assertTrue(store.clear("s"));
        assertTrue(store.revision("s").isEmpty());
        store.record(completed("s", 100, 10, 10, false));
        store.record(LlmRequestFailed.builder("s", "gpt-4").error("boom").build());
        assertFalse(second.equals(store.revision("s").orElseThrow()), "the same number of requests in the session's next life");
    }

    @Test
    void recordsKeepTheirModelPastTheStoresNumberedModelNames() {
        SessionStore store = store(10, 3000);
        int models = ModelCatalog.MAX_NUMBERED + 30;
        for (int i = 0; i < models; i++) {
            store.record(LlmRequestCompleted.builder("s", "model-" + i).durationMs(10).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(false).build());
            if (i % 500 == 0) {
                store.record(LlmRequestFailed.builder("s", "model-" + i).error("boom").build());
            }
        }
        List<RequestRecord> records = store.session("s").orElseThrow().requests();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < models; i++) {
            expected.add("model-" + i);
            if (i % 500 == 0) {
                expected.add("model-" + i);
            }
        }
        assertEquals(expected, records.stream().map(RequestRecord::model).toList());
    }

    @Test
    void aBatchIsAppliedWholeAndInOrder() {
        SessionStore store = store(10, 10);
        store.record(List.of(LlmRequestStarted.builder("s", "gpt-4").messagesCount(2).build(),
                completed("s", 100, 10, 5, false), LlmRequestFailed.builder("s", "gpt-4").error("boom").build(),
                completed("t", 50, 1, 1, true)));

        SessionMetrics s = store.session("s").orElseThrow();
        assertEquals(2, s.totalRequests());
        assertTrue(s.requests().get(0).success());
        assertFalse(s.requests().get(1).success());
        assertEquals(1, store.session("t").orElseThrow().requestsWithTools());
    }

    @Test
    void anEventIdIsAppliedOnceHoweverOftenItsBatchIsRetried() {
        SessionStore store = store(10, 100);
        List<Event> batch = List.of(
                LlmRequestCompleted.builder("s", "gpt-4").durationMs(10).promptTokens(5).eventId("e-1").build(),
                LlmRequestFailed.builder("s", "gpt-4").error("boom").eventId("e-2").build(),
                LlmRequestCompleted.builder("s", "gpt-4").durationMs(10).promptTokens(5).build());
        assertEquals(batch, store.record(batch), "the first time every event is applied");
        assertEquals(List.of(batch.get(2)), store.record(batch), "a retry applies only the event without an id");
        assertFalse(store.record(batch.get(0)));

        SessionMetrics s = store.session("s").orElseThrow();
        assertEquals(3, s.successfulRequests(), "e-1 once, the event without an id twice");
        assertEquals(1, s.failedRequests());
    }

    @Test
    void aRetriedBatchAppliesEveryEventWithoutAnIdInOrderStartsAndScoresAmongThem() {
        SessionStore store = store(10, 100);
        List<Event> batch = List.of(
                LlmRequestStarted.builder("a", "gpt-4").build(),
                LlmRequestStarted.builder("b", "gpt-4").eventId("b-start").build(),
                LlmRequestStarted.builder("c", "gpt-4").build(),
                completed("a", 100, 10, 5, false),
                LlmRequestStarted.builder("c", "gpt-4").build(),
                LlmRequestCompleted.builder("b", "gpt-4").durationMs(7).eventId("b-end").build(),
                LlmRequestStarted.builder("b", "gpt-4").build(),
                LlmRequestScored.builder("d", "thumbs", 1).build(),
                LlmRequestStarted.builder("d", "gpt-4").build(),
                LlmRequestStarted.builder("e", "gpt-4").eventId("e-start").build());
        assertEquals(batch, store.record(batch), "the first time every event is applied");
        assertEquals(List.of(batch.get(0), batch.get(2), batch.get(3), batch.get(4), batch.get(6), batch.get(7),
                batch.get(8)), store.record(batch), "a retry applies the events without an id, in their order");

        assertEquals(2, store.session("a").orElseThrow().successfulRequests());
        assertEquals(1, store.session("b").orElseThrow().successfulRequests());
        assertEquals(0, store.session("c").orElseThrow().totalRequests(), "a session with only starts is held");
        assertEquals(2, store.session("d").orElseThrow().scores().get(0).count());
        assertTrue(store.session("e").isPresent());
        assertEquals(Set.of("a", "b", "c", "d", "e"), Set.copyOf(store.sessionIds(0, 10)));
    }

    @Test
    void aSessionWhoseIdReadsLikeAnotherSessionsKeyIsASessionOfItsOwn() {
        SessionStore store = store(20, 10);
        // Braces, colons and backslashes: the separators a key layout may use.
        store.record(LlmRequestCompleted.builder("a", "gpt-4").durationMs(1).eventId("x}").build());
        List<String> ids = List.of("a", "a}:id:x", "a}", "a}:r", "a\\", "a\\}:id:x", "{a}", "a:b", "a}:id:x}");
        for (int i = 0; i < ids.size(); i++) {
            store.record(completed(ids.get(i), 10 + i, 1, 1, false));
        }
        store.record(completed("b}:id:y", 2, 1, 1, false));
        assertTrue(store.record(LlmRequestCompleted.builder("b", "gpt-4").durationMs(3).eventId("y}").build()),
                "b's event id is not another session's key");

        assertEquals(List.of(1L, 10L), durations(store, "a"));
        for (int i = 1; i < ids.size(); i++) {
            assertEquals(List.of(10L + i), durations(store, ids.get(i)), ids.get(i));
        }
        assertEquals(List.of(2L), durations(store, "b}:id:y"));
        assertEquals(List.of(3L), durations(store, "b"));
        assertTrue(store.clear("a}"));
        assertEquals(List.of(1L, 10L), durations(store, "a"), "clearing a} leaves a");
        assertEquals(List.of(11L), durations(store, "a}:id:x"));
    }

    private static List<Long> durations(SessionStore store, String session) {
        return store.session(session).orElseThrow().requests().stream().map(RequestRecord::durationMs).toList();
    }

    // ------------------------------------------------------------------------------ attributes and scores

    private static LlmRequestCompleted call(String session, String model, String correlationId) {
        return LlmRequestCompleted.builder(session, model).durationMs(10).promptTokens(1).completionTokens(1)
                .correlationId(correlationId).build();
    }

    private static LlmRequestScored score(String session, @Nullable String correlationId, String name, double value) {
        return LlmRequestScored.builder(session, name, value).correlationId(correlationId).build();
    }

    @Test
    void aRequestsRecordKeepsItsCorrelationIdAndTheAttributesOfItsFinishingEvent() {
        SessionStore store = store(10, 100);
        store.record(LlmRequestStarted.builder("s", "gpt-4").correlationId("c1").attributes(Map.of("at", "start")).build());
        store.record(LlmRequestCompleted.builder("s", "gpt-4").durationMs(5).correlationId("c1")
                .attributes(Map.of("feature", "search", "prompt_version", "v7", "note", "line one\nline two")).build());
        store.record(LlmRequestFailed.builder("s", "gpt-4").error("boom").attributes(Map.of("tier", "free")).build());

        List<RequestRecord> records = store.session("s").orElseThrow().requests();
        assertEquals("c1", records.get(0).correlationId());
        assertEquals(Map.of("feature", "search", "prompt_version", "v7", "note", "line one\nline two"),
                records.get(0).attributes());
        assertNull(records.get(1).correlationId());
        assertEquals(Map.of("tier", "free"), records.get(1).attributes());
    }

    @Test
    void scoresShowWithTheirRequestWhetherTheyCameBeforeOrAfterItAndEveryScoreCountsInTheSummary() {
        SessionStore store = store(10, 100);
        store.record(LlmRequestScored.builder("s", "helpfulness", 0.5).correlationId("c1").comment("early judge")
                .timestamp(Instant.parse("2026-01-17T15:00:00Z")).build());
        store.record(call("s", "gpt-4", "c1"));
        store.record(call("s", "gpt-4", "c2"));
        store.record(score("s", "c1", "helpfulness", 1.0));
        store.record(score("s", "c2", "thumbs", 0));
        store.record(score("s", null, "session_rating", 4));

        SessionMetrics m = store.session("s").orElseThrow();
        List<RequestScore> first = m.requests().get(0).scores();
        assertEquals(List.of("helpfulness", "helpfulness"), first.stream().map(RequestScore::name).toList());
        assertEquals(0.5, first.get(0).value());
        assertEquals("early judge", first.get(0).comment());
        assertEquals(Instant.parse("2026-01-17T15:00:00Z"), first.get(0).timestamp());
        assertEquals(1.0, first.get(1).value());
        assertNull(first.get(1).comment());
        assertEquals(List.of(new RequestScore("thumbs", 0, null, m.requests().get(1).scores().get(0).timestamp())),
                m.requests().get(1).scores());

        assertEquals(List.of(new ScoreSummary("helpfulness", 2, 1.5, 0.75, 0.5, 1.0),
                new ScoreSummary("thumbs", 1, 0, 0, 0, 0), new ScoreSummary("session_rating", 1, 4, 4, 4, 4)), m.scores());
        assertEquals(m.scores(), store.summary("s").orElseThrow().scores());
        assertEquals(2, m.totalRequests(), "a score is not a request");
    }

    @Test
    void aScoreOfARequestNoLongerRetainedStillCountsInTheSessionsSummary() {
        SessionStore store = store(10, 2);
        for (int i = 1; i <= 3; i++) {
            store.record(call("s", "gpt-4", "c" + i));
        }
        store.record(score("s", "c1", "helpfulness", 0.2));
        store.record(score("s", "c3", "helpfulness", 0.8));

        SessionMetrics m = store.session("s").orElseThrow();
        assertEquals(List.of("c2", "c3"), m.requests().stream().map(RequestRecord::correlationId).toList());
        assertEquals(List.of(), m.requests().get(0).scores());
        assertEquals(1, m.requests().get(1).scores().size());
        assertEquals(List.of(new ScoreSummary("helpfulness", 2, 1.0, 0.5, 0.2, 0.8)), m.scores());
    }

    @Test
    void theScoresOfRequestsAreKeptUpToTheBoundOnRecordsTheOldestDroppedFirst() {
        SessionStore store = store(10, 3);
        store.record(call("s", "gpt-4", "c"));
        for (int i = 1; i <= 5; i++) {
            store.record(score("s", "c", "grade", i));
        }
        SessionMetrics m = store.session("s").orElseThrow();
        assertEquals(List.of(3.0, 4.0, 5.0), m.requests().get(0).scores().stream().map(RequestScore::value).toList());
        assertEquals(5, m.scores().get(0).count());
    }

    @Test
    void scoreNamesPastTheSessionsBoundAreSummedUnderOther() {
        SessionStore store = store(10, 100);
        for (int i = 0; i < SessionStore.MAX_SCORE_NAMES + 3; i++) {
            store.record(score("s", null, "name" + i, i));
        }
        List<ScoreSummary> scores = store.session("s").orElseThrow().scores();
        assertEquals(SessionStore.MAX_SCORE_NAMES + 1, scores.size());
        ScoreSummary other = scores.getLast();
        assertEquals(SessionStore.OTHER_SCORE_NAME, other.name());
        assertEquals(3, other.count());
        assertEquals(SessionStore.MAX_SCORE_NAMES, other.min());
        assertEquals(SessionStore.MAX_SCORE_NAMES + 2, other.max());
    }

    @Test
    void aRetriedScoreIsAppliedOnceAndAScoreChangesTheSessionsRevision() {
        SessionStore store = store(10, 100);
        store.record(call("s", "gpt-4", "c1"));
        String before = store.revision("s").orElse(null);
        LlmRequestScored scored = LlmRequestScored.builder("s", "thumbs", 1).correlationId("c1").eventId("score-1").build();
        assertTrue(store.record(scored));
        assertFalse(store.record(scored), "a retry of an applied event id");
        assertEquals(List.of(), store.record(List.of(scored)));
        SessionMetrics m = store.session("s").orElseThrow();
        assertEquals(1, m.scores().get(0).count());
        assertEquals(1, m.requests().get(0).scores().size());
        if (before != null) {
            assertFalse(before.equals(store.revision("s").orElseThrow()), "a score changes what the snapshot shows");
        }
    }

    @Test
    void theModelOfAScoredRequestIsThatOfItsMostRecentRecord() {
        SessionStore store = store(10, 2);
        store.record(call("s", "gpt-4", "c1"));
        store.record(call("s", "claude", "c2"));
        assertEquals(Optional.of("gpt-4"), store.requestModel("s", "c1"));
        assertEquals(Optional.of("claude"), store.requestModel("s", "c2"));
        assertEquals(Optional.empty(), store.requestModel("s", "nope"));
        assertEquals(Optional.empty(), store.requestModel("other", "c1"));
        store.record(call("s", "gpt-4", "c3"));
        store.record(call("s", "gpt-4", "c4"));
        assertEquals(Optional.empty(), store.requestModel("s", "c1"), "its record is no longer retained");
    }

    @Test
    void theModelOfAScoredRequestIsFoundAmongManyRecordsAndNotFooledByItsIdInOtherText() {
        SessionStore store = store(10, 300);
        store.record(call("s", "oldest", "c0"));
        for (int i = 1; i < 200; i++) {
            store.record(call("s", "m" + i % 3, "c" + i));
        }
        store.record(call("s", "again", "c100")); // the same correlation id, later: the most recent counts
        store.record(LlmRequestCompleted.builder("s", "decoy").durationMs(10).correlationId("d")
                .attributes(Map.of("note", "|2|c0|3|c99|")).build()); // another record naming them in its text
        assertEquals(Optional.of("oldest"), store.requestModel("s", "c0"), "far behind the newest records");
        assertEquals(Optional.of("m0"), store.requestModel("s", "c99"));
        assertEquals(Optional.of("again"), store.requestModel("s", "c100"));
        assertEquals(Optional.of("decoy"), store.requestModel("s", "d"));
        assertEquals(Optional.empty(), store.requestModel("s", "c200"));
        assertEquals(Optional.empty(), store.requestModel("s", "note"));
    }

    @Test
    void aRequestIsNotFoundByAnIdWithALoneSurrogateThatEncodesLikeItsOwn() {
        SessionStore store = store(10, 10);
        store.record(call("s", "gpt-4", "c?"));
        assertEquals(Optional.of("gpt-4"), store.requestModel("s", "c?"));
        assertEquals(Optional.empty(), store.requestModel("s", "c\uD800"));
        assertEquals(Optional.empty(), store.requestModel("s", "c\uDC00"));
    }

    @Test
    void summariesAreThoseOfEachHeldSessionInTheOrderAsked() {
        SessionStore store = store(10, 10);
        store.record(call("a", "gpt-4", "c1"));
        store.record(call("b", "claude", "c2"));
        store.record(call("b", "gpt-4", "c3"));
        store.record(List.of(LlmRequestStarted.builder("started", "gpt-4").build()));
        List<String> asked = List.of("b", "missing", "a", "started", "b");
        List<SessionMetrics> expected = new ArrayList<>();
        for (String id : asked) {
            store.summary(id).ifPresent(expected::add);
        }
        assertEquals(4, expected.size(), "b, a, started and b again");
        assertEquals(expected, store.summaries(asked));
        assertEquals(List.of(), store.summaries(List.of()));
        assertEquals(List.of(), store.summaries(List.of("missing")));
    }

    @Test
    void aClearedSessionStartsAgainWithoutItsScores() {
        SessionStore store = store(10, 100);
        store.record(call("s", "gpt-4", "c1"));
        store.record(score("s", "c1", "thumbs", 1));
        assertTrue(store.clear("s"));
        store.record(call("s", "gpt-4", "c1"));
        SessionMetrics m = store.session("s").orElseThrow();
        assertEquals(List.of(), m.scores());
        assertEquals(List.of(), m.requests().get(0).scores());
    }

    @Test
    void aSessionWithOnlyScoresIsHeldAndListed() {
        SessionStore store = store(10, 100);
        store.record(score("s", "c9", "thumbs", 1));
        assertEquals(List.of("s"), store.sessionIds(0, 10));
        SessionMetrics m = store.session("s").orElseThrow();
        assertEquals(0, m.totalRequests());
        assertEquals(1, m.scores().size());
    }
}
