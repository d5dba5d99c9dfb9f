package dev.llmmetrics.session.sqlite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import dev.llmmetrics.session.EvictionReason;
import dev.llmmetrics.session.PairFigures;
import dev.llmmetrics.session.RequestRecord;
import dev.llmmetrics.session.RequestScore;
import dev.llmmetrics.session.ScoreSummary;
import dev.llmmetrics.session.SessionMetrics;
import dev.llmmetrics.session.SessionStoreFactory;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the SQLite store owes beyond the store contract: the file survives a reopen, holds its bounds, refuses what is not its own. */
class SqliteSessionStoreFileTest {

    @TempDir
    Path dir;

    private final AtomicLong millis = new AtomicLong(Instant.parse("2026-01-17T15:00:00Z").toEpochMilli());
    private final InstantSource clock = () -> Instant.ofEpochMilli(millis.get());
    private final List<SqliteSessionStore> opened = new ArrayList<>();

    @AfterEach
    void closeStores() {
        opened.forEach(SqliteSessionStore::close);
    }

    private SqliteSessionStore open(Path file, int maxSessions, int maxRecords, long maxBytes, int maxIds) {
        return open(file, new SessionStoreFactory.Parameters(maxSessions, maxRecords, 3, maxBytes, Duration.ofHours(1),
                Duration.ofMinutes(10), maxIds, clock, new ModelCatalog(PRICES, 200)), SqliteSessionStore.Durability.POWER_LOSS);
    }

    private SqliteSessionStore open(Path file, SessionStoreFactory.Parameters parameters, SqliteSessionStore.Durability durability) {
        SqliteSessionStore store = SqliteSessionStore.open(file, parameters, durability);
        opened.add(store);
        return store;
    }

    private SqliteSessionStore open(Path file) {
        return open(file, 100, 10, Long.MAX_VALUE, 1_000);
    }

    private static final PriceTable PRICES = PriceTable.builder()
            .model("priced", ModelPrice.perMillionTokens("openai", new BigDecimal("2.5"), new BigDecimal("1.25"),
                    new BigDecimal("10")))
            .build();

    /** Records 200 sessions of 20 completed requests each, one batch per session. */
    private static void fill(SqliteSessionStore store, String sessionPrefix) {
        for (int s = 0; s < 200; s++) {
            List<Event> batch = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                batch.add(completed(sessionPrefix + s, "m", null));
            }
            store.record(batch);
        }
    }

    /** Overwrites three pages in the middle of a file's bytes. */
    private static void damageMiddlePages(byte[] bytes) {
        for (int i = bytes.length / 2; i < bytes.length / 2 + 3 * 4096; i++) {
            bytes[i] = (byte) 0x5A;
        }
    }

    private static LlmRequestCompleted completed(String session, String model, String eventId) {
        return LlmRequestCompleted.builder(session, model).durationMs(120).promptTokens(40).completionTokens(9)
                .cachedTokens(10).reasoningTokens(2).timeToFirstTokenMs(30L).hasToolCalls(true).eventId(eventId).build();
    }

    @Test
    void aReopenedStoreServesItsSessionsRecordsFiguresAndRetriesAsBeforeTheClose() {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file);
        for (int i = 0; i < 14; i++) {
            store.record(List.of(completed("s", i % 5 == 0 ? "priced" : "m" + (i % 4), "e-" + i),
                    LlmRequestFailed.builder("s", "m1").error("boom " + i).durationMs(5L).eventId("f-" + i).build()));
            millis.addAndGet(1_000);
        }
        store.record(LlmRequestStarted.builder("t", "m").messagesCount(1).build());
        millis.addAndGet(1_000);
        store.record(completed("gone", "m", "g-1"));
        assertTrue(store.clear("gone"));
        SessionMetrics before = store.session("s").orElseThrow();
        List<PairFigures> figuresBefore = store.mostRecentPairs(10, 100);
        String revision = store.revision("s").orElseThrow();
        List<String> ids = store.sessionIds(0, 10);
        store.close();

        SqliteSessionStore reopened = open(file);
        assertEquals(before, reopened.session("s").orElseThrow(), "aggregates, cost and the last ten records");
        assertEquals(10, before.requests().size());
        assertEquals(before.withoutRequests(), reopened.summary("s").orElseThrow());
        assertEquals(revision, reopened.revision("s").orElseThrow());
        assertEquals(ids, reopened.sessionIds(0, 10));
        assertEquals(List.of("t", "s"), ids);
        assertTrue(reopened.session("gone").isEmpty(), "a clear is in the file");
        assertEquals(figuresBefore, reopened.mostRecentPairs(10, 100), "the per-session series resume from the file");
        assertEquals(List.of("priced", "m1", "m2", "_other"),
                figuresBefore.stream().filter(p -> p.sessionId().equals("s")).map(PairFigures::model).toList(),
                "three labels of its own, then _other");

        assertEquals(List.of(), reopened.record(List.of(completed("s", "m0", "e-3"))), "a retry after the reopen");
        assertTrue(reopened.record(completed("gone", "m", "g-2")));
        assertEquals(1, reopened.session("gone").orElseThrow().totalRequests(), "a cleared session starts afresh");
        assertFalse(revision.equals(reopened.revision("gone").orElseThrow()));
    }

    /** A store in {@code file} whose catalog gives {@code maxModels} models a label of their own; 16 per session. */
    private SqliteSessionStore openWithModelBound(Path file, int maxModels) {
        return open(file, new SessionStoreFactory.Parameters(100, 10, 16, Long.MAX_VALUE, Duration.ofHours(1),
                Duration.ofMinutes(10), 1_000, clock, new ModelCatalog(PRICES, maxModels)),
                SqliteSessionStore.Durability.POWER_LOSS);
    }

    /** Each pair the store's figures hold, as session, label and finished requests. */
    private static List<String> pairs(SqliteSessionStore store) {
        return store.mostRecentPairs(100, 1_000).stream()
                .map(p -> p.sessionId() + " " + p.model() + " " + (p.successes() + p.failures())).sorted().toList();
    }

    /**
     * Three labels of their own, taken by a, b and c before the reopen; after it, x, y and z come first. Labelled
     * in the order events come, they would take the three labels and put a and c under {@code _other} beside
     * their own pairs; a and c keep their labels, and the new models share {@code _other}.
     */
    @Test
    void aModelKeepsItsLabelAcrossAReopenWhenNewModelsComeFirstAfterIt() {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = openWithModelBound(file, 3);
        store.record(List.of(completed("s1", "a", null), completed("s1", "b", null), completed("s2", "c", null)));
        store.close();

        SqliteSessionStore reopened = openWithModelBound(file, 3);
        reopened.record(List.of(completed("s3", "x", null), completed("s3", "y", null), completed("s3", "z", null)));
        reopened.record(List.of(completed("s1", "a", null), LlmRequestFailed.builder("s2", "c").error("boom").build()));
        assertEquals(List.of("s1 a 2", "s1 b 1", "s2 c 2", "s3 _other 3"), pairs(reopened));
        assertEquals(3, reopened.modelOverflows(), "only x, y and z went to _other for want of a label");
    }

    /**
     * Under a bound on models lower than the one the stored labels were given under, the labels of the most
     * recently active sessions are kept: here c's, whose session was active last. The pairs of a and b stay under
     * their own labels, and their new figures go to {@code _other}.
     */
    @Test
    void underALowerBoundOnModelsTheMostRecentlyActiveSessionsModelsKeepTheirLabels() {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = openWithModelBound(file, 3);
        store.record(List.of(completed("s1", "a", null), completed("s1", "b", null)));
        millis.addAndGet(1_000);
        store.record(completed("s2", "c", null));
        store.close();

        SqliteSessionStore reopened = openWithModelBound(file, 1);
        reopened.record(List.of(completed("s1", "a", null), completed("s2", "c", null), completed("s3", "x", null)));
        assertEquals(List.of("s1 _other 1", "s1 a 1", "s1 b 1", "s2 c 2", "s3 _other 1"), pairs(reopened));
    }

    @Test
    void theFiguresCoverTheMostRecentSessionsWholeWithinTheirPairBudget() {
        SqliteSessionStore store = open(dir.resolve("store.db"), 100, 10, Long.MAX_VALUE, 1_000);
        for (int s = 0; s < 10; s++) {
            store.record(List.of(completed("s" + s, "a", null), completed("s" + s, "b", null)));
            millis.addAndGet(1_000);
        }
        assertEquals(List.of("s9", "s9", "s8", "s8"),
                store.mostRecentPairs(100, 5).stream().map(PairFigures::sessionId).toList(), "two whole sessions in five pairs");
        assertEquals(List.of("s9", "s9", "s8", "s8", "s7", "s7"),
                store.mostRecentPairs(3, 100).stream().map(PairFigures::sessionId).toList());
        assertTrue(store.mostRecentPairs(0, 100).isEmpty());
    }

    @Test
    void aSessionEvictedAndStartedAgainHasOnlyItsNewLifeAfterAReopen() {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file, 2, 100, Long.MAX_VALUE, 1_000);
        for (int i = 0; i < 5; i++) {
            store.record(completed("a", "m", null));
        }
        millis.addAndGet(1_000);
        store.record(completed("b", "m", null));
        millis.addAndGet(1_000);
        store.record(completed("c", "m", null));
        assertTrue(store.session("a").isEmpty(), "evicted for capacity");
        millis.addAndGet(1_000);
        for (int i = 0; i < 10; i++) {
            store.record(completed("a", "m", null));
        }
        store.close();
        SqliteSessionStore reopened = open(file, 2, 100, Long.MAX_VALUE, 1_000);
        assertEquals(10, reopened.session("a").orElseThrow().totalRequests(), "its second life only");
        assertEquals(10, reopened.session("a").orElseThrow().requests().size());
        assertEquals(List.of("a", "c"), reopened.sessionIds(0, 10));
    }

    @Test
    void oneSessionsLongHistoryKeepsTheFileAtItsRecordBoundAndReopensAtOnce() {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file, 10, 1_000, Long.MAX_VALUE, 1_000);
        for (int b = 0; b < 200; b++) {
            List<Event> batch = new ArrayList<>();
            for (int i = 0; i < 1_000; i++) {
                batch.add(completed("busy", "m", null));
            }
            store.record(batch);
        }
        store.close();
        long bytes = sizes(file);
        assertTrue(bytes < 1L << 20, "200 000 events, 1 000 records kept: " + bytes + " B on disk");
        long start = System.nanoTime();
        SqliteSessionStore reopened = open(file, 10, 1_000, Long.MAX_VALUE, 1_000);
        SessionMetrics busy = reopened.session("busy").orElseThrow();
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertEquals(200_000, busy.totalRequests());
        assertEquals(1_000, busy.requests().size());
        assertTrue(tookMs < 2_000, "reopened and read in " + tookMs + " ms");
    }

    /** The database file and its write-ahead log. */
    private static long sizes(Path file) {
        long total = 0;
        for (String suffix : List.of("", "-wal")) {
            try {
                total += Files.size(file.resolveSibling(file.getFileName() + suffix));
            } catch (java.io.IOException absent) {
                // no log once closed
            }
        }
        return total;
    }

    @Test
    void aFileOfAnotherApplicationIsRefusedNamingItAndLeftUnchanged() throws Exception {
        Path file = dir.resolve("theirs.db");
        execute(file, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)",
                "INSERT INTO invoices (amount) VALUES (12.5), (99.0)");
        byte[] bytes = Files.readAllBytes(file);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("another application"), e.getMessage());
        assertArrayEquals(bytes, Files.readAllBytes(file));
        assertFalse(Files.exists(dir.resolve("theirs.db.lock")), "not even a lock file beside it");
    }

    @Test
    void aFileThatIsNotADatabaseIsRefusedNamingItAndLeftUnchanged() throws Exception {
        Path file = dir.resolve("notes.db");
        byte[] bytes = new byte[10_000];
        new Random(7).nextBytes(bytes);
        Files.write(file, bytes);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertArrayEquals(bytes, Files.readAllBytes(file));
    }

    @Test
    void aStoreWithDamagedPagesIsRefusedAtOpenAndLeftUnchanged() throws Exception {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file, 1_000, 100, Long.MAX_VALUE, 1_000);
        fill(store, "session-");
        store.close();
        execute(file, "VACUUM"); // no free pages: the damaged ones below are in use
        byte[] bytes = Files.readAllBytes(file);
        assertTrue(bytes.length > 32 * 4096, "a file of many pages: " + bytes.length);
        damageMiddlePages(bytes);
        Files.write(file, bytes);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("corrupt"), e.getMessage());
        assertArrayEquals(bytes, Files.readAllBytes(file));
    }

    @Test
    void aStoreWithoutALayoutVersionIsRefusedNamingItAndLeftUnchanged() throws Exception {
        assertRefusedUnchangedAfter("PRAGMA user_version = 0", "no layout version");
    }

    @Test
    void aStoreOfThisLayoutLackingATableIsRefusedNamingItAndLeftUnchanged() throws Exception {
        assertRefusedUnchangedAfter("DROP TABLE recent_record_1", "lacks its tables", "recent_record_1");
    }

    /** A store with one session, changed by {@code change} outside any store: its open is refused, naming it. */
    private void assertRefusedUnchangedAfter(String change, String... said) throws Exception {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file);
        store.record(completed("s", "m", "e-1"));
        store.close();
        execute(file, change);
        byte[] bytes = Files.readAllBytes(file);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        for (String words : said) {
            assertTrue(e.getMessage().contains(words), e.getMessage());
        }
        assertArrayEquals(bytes, Files.readAllBytes(file));
    }

    @Test
    void aDamagedStoreLeftWithCommitsInItsLogIsRefusedWithoutTheLogBeingCheckpointedIntoIt() throws Exception {
        Path live = dir.resolve("live.db");
        SqliteSessionStore store = open(live, 1_000, 100, Long.MAX_VALUE, 1_000);
        for (int round = 0; round < 2; round++) { // the first round checkpointed into the file at close, the second in the log
            fill(store, "session-" + round + "-");
            if (round == 0) {
                store.close();
                execute(live, "VACUUM"); // no free pages: the damaged ones below are in use
                store = open(live, 1_000, 100, Long.MAX_VALUE, 1_000);
            }
        }
        // What kill -9 leaves: the file and its write-ahead log, commits in the log not yet checkpointed.
        Path file = Files.createDirectories(dir.resolve("crashed")).resolve("store.db");
        Files.copy(live, file);
        Files.copy(live.resolveSibling("live.db-wal"), file.resolveSibling("store.db-wal"));
        store.close();
        byte[] bytes = Files.readAllBytes(file);
        byte[] log = Files.readAllBytes(file.resolveSibling("store.db-wal"));
        assertTrue(bytes.length > 32 * 4096 && log.length > 32 * 4096, "a file and a log of many pages: " + bytes.length
                + ", " + log.length);
        damageMiddlePages(bytes);
        Files.write(file, bytes);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open(file));

        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("corrupt"), e.getMessage());
        assertArrayEquals(bytes, Files.readAllBytes(file), "the file");
        assertArrayEquals(log, Files.readAllBytes(file.resolveSibling("store.db-wal")), "its log");
        assertFalse(Files.exists(file.resolveSibling("store.db.lock")), "no lock file left beside it");
    }

    @Test
    void aStoreOfTheFirstLayoutIsUpgradedInPlaceAndKeepsTheNewFieldsAcrossAReopen() throws Exception {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file);
        store.record(completed("s", "priced", "e-1"));
        store.record(LlmRequestFailed.builder("s", "priced").error("TimeoutException").durationMs(30L).build());
        SessionMetrics old = store.session("s").orElseThrow();
        store.close();
        // Layout 1: the same tables without the columns layouts 2 and 3 added, without the score tables and the
        // recent records of layout 4, and without layout 2's no-usage flag, which layout 1 did not have (its
        // failures were kept with zero tokens).
        execute(file, "DROP TABLE recent_record_0", "DROP TABLE recent_record_1", "DROP TABLE score", "DROP TABLE score_name",
                "ALTER TABLE record DROP COLUMN correlation_id",
                "ALTER TABLE record DROP COLUMN attributes", "ALTER TABLE pair DROP COLUMN no_usage_requests",
                "ALTER TABLE record DROP COLUMN provider", "ALTER TABLE record DROP COLUMN error_type",
                "ALTER TABLE record DROP COLUMN http_status", "UPDATE record SET flags = flags & ~" + Writer.NO_USAGE,
                "PRAGMA user_version = 1");

        SqliteSessionStore upgraded = open(file);
        assertEquals(old, upgraded.session("s").orElseThrow(), "what layout 1 held");
        assertEquals(List.of(), upgraded.record(List.of(completed("s", "priced", "e-1"))), "its event ids too");
        upgraded.record(LlmRequestCompleted.builder("s", "priced").durationMs(50).provider("openrouter").costUsd(0.25)
                .build());
        upgraded.record(LlmRequestFailed.builder("s", "priced").error("Too Many Requests").httpStatus(429)
                .provider("openai").build());
        SessionMetrics after = upgraded.session("s").orElseThrow();
        upgraded.close();
        assertEquals(Schema.VERSION, longOf(file, "PRAGMA user_version"));

        SessionMetrics reopened = open(file).session("s").orElseThrow();
        assertEquals(after, reopened);
        assertEquals(1, reopened.requestsWithoutUsage());
        assertFalse(reopened.requests().get(1).hasUsage(), "layout 1's failure");
        RequestRecord reported = reopened.requests().get(2);
        assertFalse(reported.hasUsage());
        assertEquals(0.25, reported.costUsd());
        assertEquals(CostSource.PROVIDER, reported.costSource());
        assertEquals("openrouter", reported.provider());
        RequestRecord failure = reopened.requests().get(3);
        assertEquals(ErrorType.RATE_LIMIT, failure.errorType());
        assertEquals(429, failure.httpStatus());
        assertEquals("openai", failure.provider());
        assertEquals(CostSource.PRICE_TABLE, reopened.requests().get(0).costSource());
    }

    @Test
    void attributesAndScoresSurviveAReopenAndRetriesOfScoresStayApplied() {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file, 100, 2, Long.MAX_VALUE, 1_000);
        store.record(LlmRequestScored.builder("s", "helpfulness", 0.25).correlationId("c3").comment("before").build());
        for (int i = 1; i <= 3; i++) {
            store.record(LlmRequestCompleted.builder("s", "priced").durationMs(5).correlationId("c" + i)
                    .attributes(Map.of("n", String.valueOf(i), "colon:key", "1:2:3")).build());
        }
        store.record(LlmRequestScored.builder("s", "helpfulness", 0.75).correlationId("c1").eventId("late").build());
        store.record(LlmRequestScored.builder("s", "thumbs", 1).build());
        SessionMetrics before = store.session("s").orElseThrow();
        String revision = store.revision("s").orElseThrow();
        store.close();

        SqliteSessionStore reopened = open(file, 100, 2, Long.MAX_VALUE, 1_000);
        assertEquals(before, reopened.session("s").orElseThrow());
        assertEquals(revision, reopened.revision("s").orElseThrow());
        assertEquals(Map.of("n", "3", "colon:key", "1:2:3"), before.requests().get(1).attributes());
        assertEquals("before", before.requests().get(1).scores().get(0).comment());
        assertEquals(List.of(new ScoreSummary("helpfulness", 2, 1.0, 0.5, 0.25, 0.75), new ScoreSummary("thumbs", 1, 1, 1, 1, 1)),
                before.scores());
        assertFalse(reopened.record(LlmRequestScored.builder("s", "helpfulness", 0.75).correlationId("c1").eventId("late").build()));
        assertEquals(Optional.of("priced"), reopened.requestModel("s", "c3"));
    }

    @Test
    void aStoreOfTheSecondLayoutIsBroughtToTheCurrentOneKeepingItsSessions() throws Exception {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file);
        store.record(completed("s", "priced", "e-1"));
        store.close();
        // What layout 2 was: the record table without the two columns, no score tables, no recent records.
        execute(file, "DROP TABLE recent_record_0", "DROP TABLE recent_record_1", "DROP TABLE score", "DROP TABLE score_name",
                "ALTER TABLE record DROP COLUMN correlation_id",
                "ALTER TABLE record DROP COLUMN attributes", "PRAGMA user_version = 2");
        SqliteSessionStore upgraded = open(file);
        assertEquals(1, upgraded.session("s").orElseThrow().totalRequests());
        upgraded.record(LlmRequestCompleted.builder("s", "priced").correlationId("c").attributes(Map.of("k", "v")).build());
        upgraded.record(LlmRequestScored.builder("s", "thumbs", 0).correlationId("c").build());
        SessionMetrics m = upgraded.session("s").orElseThrow();
        assertEquals(Map.of("k", "v"), m.requests().get(1).attributes());
        assertEquals(1, m.requests().get(1).scores().size());
        assertEquals(Schema.VERSION, longOf(file, "PRAGMA user_version"));
    }

    /** The records' table of layout 4: keyed by (session, seq), without a rowid, so a row over about 1 000 bytes overflows. */
    private static final String LAYOUT_4_RECORD = "CREATE TABLE record (session INTEGER NOT NULL, seq INTEGER NOT NULL,"
            + " at_ms INTEGER NOT NULL, model TEXT NOT NULL, duration_ms INTEGER NOT NULL, first_token_ms INTEGER,"
            + " prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, total_tokens INTEGER NOT NULL,"
            + " cached_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL, flags INTEGER NOT NULL, error TEXT,"
            + " cost_pico_usd INTEGER, provider TEXT, error_type TEXT, http_status INTEGER, correlation_id TEXT,"
            + " attributes TEXT, PRIMARY KEY (session, seq)) WITHOUT ROWID";

    /** Records 20 sessions of 20 records of 1 to 2 KB each (attributes, an error text for some); returns them. */
    private Map<String, SessionMetrics> largeRecords(Path file) {
        SqliteSessionStore store = open(file, 100, 30, Long.MAX_VALUE, 1_000);
        for (int s = 0; s < 20; s++) {
            List<Event> batch = new ArrayList<>();
            for (int i = 0; i < 20; i++) { // records of 1 to 2 KB: their attributes, an error text for some
                Map<String, String> attributes = Map.of("prompt", "p".repeat(500 + 47 * (s + i) % 500),
                        "answer", "a".repeat(500 + 31 * (s + i) % 500));
                batch.add(i % 4 == 3
                        ? LlmRequestFailed.builder("s" + s, "m").error("e".repeat(300) + i).correlationId("c" + s + "-" + i)
                                .attributes(attributes).build()
                        : LlmRequestCompleted.builder("s" + s, "m" + i % 3).durationMs(i).correlationId("c" + s + "-" + i)
                                .attributes(attributes).build());
            }
            store.record(batch);
        }
        Map<String, SessionMetrics> sessions = new HashMap<>();
        for (int s = 0; s < 20; s++) {
            sessions.put("s" + s, store.session("s" + s).orElseThrow());
        }
        store.close();
        return sessions;
    }

    /**
     * Brings a closed store back to layout 4: the records' table without a rowid, each session's 12 oldest records
     * folded into it and its newest still in the recent table, as a process stopped before its fold leaves them.
     */
    private static void toLayout4(Path file) throws Exception {
        execute(file, "ALTER TABLE record RENAME TO layout_5", LAYOUT_4_RECORD,
                "INSERT INTO record SELECT * FROM layout_5 WHERE seq < 12",
                "INSERT INTO recent_record_0 SELECT * FROM layout_5 WHERE seq >= 12", "DROP TABLE layout_5",
                "PRAGMA user_version = 4");
    }

    @Test
    void aStoreOfTheFourthLayoutKeepsEveryRecordInOrderAndItsLargeRecordsTakeAboutTheirSizeOnceUpgraded()
            throws Exception {
        Path file = dir.resolve("store.db");
        Map<String, SessionMetrics> before = largeRecords(file);
        long asWritten = SqliteFiles.pagesInUse(file);
        toLayout4(file);
        long layout4 = SqliteFiles.pagesInUse(file);
        assertTrue(layout4 > asWritten * 3 / 2, "layout 4 took more than its records' size: " + layout4 + " bytes, "
                + asWritten + " as written");

        SqliteSessionStore upgraded = open(file, 100, 30, Long.MAX_VALUE, 1_000);
        for (int s = 0; s < 20; s++) {
            assertEquals(before.get("s" + s), upgraded.session("s" + s).orElseThrow(), "s" + s);
        }
        assertEquals(Optional.of("m"), upgraded.requestModel("s7", "c7-3"), "a folded record by its correlation id");
        assertEquals(Optional.of("m1"), upgraded.requestModel("s7", "c7-13"), "a recent one");
        upgraded.record(LlmRequestCompleted.builder("s7", "m2").durationMs(99).correlationId("c7-20").build());
        SessionMetrics after = upgraded.session("s7").orElseThrow();
        assertEquals(21, after.requests().size());
        assertEquals(99, after.requests().getLast().durationMs());
        upgraded.close();
        assertEquals(Schema.VERSION, longOf(file, "PRAGMA user_version"));
        assertEquals(0, rowsIn(file, "recent_record_0") + rowsIn(file, "recent_record_1"), "all folded");
        long folded = SqliteFiles.pagesInUse(file);
        assertTrue(folded <= asWritten * 21 / 20, "folded into the upgraded table, the records take about the pages"
                + " they took as written: " + folded + " bytes, " + asWritten + " as written");

        SqliteSessionStore reopened = open(file, 100, 30, Long.MAX_VALUE, 1_000);
        assertEquals(after, reopened.session("s7").orElseThrow());
        assertEquals(before.get("s19"), reopened.session("s19").orElseThrow());
    }

    @Test
    void aStoreOfTheFourthLayoutOnADiskWithoutRoomForTheUpgradeIsRefusedWholeAndUpgradedOnceThereIsRoom()
            throws Exception {
        try (Tmpfs disk = Tmpfs.mount(dir.resolve("disk"), "8m")) {
            Path file = disk.dir().resolve("store.db");
            Map<String, SessionMetrics> before = largeRecords(file);
            toLayout4(file);
            execute(file, "VACUUM"); // no free pages for the copy to reuse
            Path spare = Files.write(disk.dir().resolve("spare"), new byte[128 << 10]);
            disk.fill();
            Files.delete(spare); // room for the log's first pages, far less than a copy of the records
            byte[] bytes = Files.readAllBytes(file);

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> open(file, 100, 30, Long.MAX_VALUE, 1_000));

            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("layout 4 to layout "
                    + Schema.VERSION) && e.getMessage().contains("full"), e.getMessage());
            assertArrayEquals(bytes, Files.readAllBytes(file), "the file as it was");
            disk.free();
            SqliteSessionStore upgraded = open(file, 100, 30, Long.MAX_VALUE, 1_000);
            for (int s = 0; s < 20; s++) {
                assertEquals(before.get("s" + s), upgraded.session("s" + s).orElseThrow(), "s" + s);
            }
            upgraded.close();
            assertEquals(Schema.VERSION, longOf(file, "PRAGMA user_version"));
        }
    }

    @Test
    void aFileWrittenByANewerLayoutIsRefused() throws Exception {
        Path file = dir.resolve("store.db");
        open(file).close();
        execute(file, "PRAGMA user_version = " + (Schema.VERSION + 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open(file));
        assertTrue(e.getMessage().contains("newer"), e.getMessage());
    }

    @Test
    void anEmptyFileBecomesAStoreAndASecondOpenOfItIsRefusedWhileTheFirstHoldsIt() throws Exception {
        Path file = dir.resolve("empty.db");
        Files.createFile(file);
        SqliteSessionStore store = open(file);
        store.record(completed("s", "m", null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertEquals(1, store.session("s").orElseThrow().totalRequests(), "the first one still works");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("PRAGMA journal_mode")) {
            assertTrue(r.next());
            assertEquals("wal", r.getString(1));
        }
    }

    @Test
    void aLockFileThatCannotBeCreatedIsRefusedInTheSystemsWordsNamingBothFiles() throws Exception {
        Path file = dir.resolve("unlockable.db");
        Path lockFile = Files.createDirectory(dir.resolve("unlockable.db.lock"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains(lockFile.toString())
                && e.getMessage().endsWith("Is a directory"), e.getMessage());
        assertFalse(e.getMessage().contains("java."), "no exception class in the message: " + e.getMessage());
    }

    @Test
    void aSecondOpenThroughALinkToTheFileIsRefusedWhileTheFirstHoldsIt() throws Exception {
        Path file = dir.resolve("linked.db");
        SqliteSessionStore store = open(file);
        store.record(completed("s", "m", null));
        Path link = Files.createSymbolicLink(dir.resolve("link.db"), file.getFileName());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open(link));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        store.record(completed("s", "m", null));
        assertEquals(2, store.session("s").orElseThrow().totalRequests(), "the first one still works");
    }

    @Test
    void aStoreFileWithASecondNameIsRefusedThroughEitherNameAndLeftUnchanged() throws Exception {
        // SQLite names the log, the shared memory and the lock file after the name a file is opened by: a second
        // server opening the store through a hard link kept a log of its own, and the checkpoints of the two
        // overwrote each other's acknowledged commits (5 765 events acknowledged through the link, none found).
        Path file = dir.resolve("named.db");
        SqliteSessionStore first = open(file);
        first.record(completed("s", "m", null));
        first.close(); // its log checkpointed into the file, as a server's is before the second one starts
        opened.remove(first);
        SqliteSessionStore store = open(file);
        Path link = Files.createLink(dir.resolve("hard.db"), file);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open(link));
        assertTrue(e.getMessage().contains(link.toString()) && e.getMessage().contains("hard link"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("hard.db.lock")) || Files.exists(dir.resolve("hard.db-wal")),
                "nothing was made beside the second name");
        store.record(completed("s", "m", null));
        assertEquals(2, store.session("s").orElseThrow().totalRequests(), "the first one still works");
        store.close();
        opened.remove(store);
        byte[] before = Files.readAllBytes(file);
        assertThrows(IllegalArgumentException.class, () -> open(file), "the first name too, while the second exists");
        assertArrayEquals(before, Files.readAllBytes(file));
        Files.delete(link);
        assertEquals(2, open(file).session("s").orElseThrow().totalRequests(), "opened again once it has one name");
    }

    @Test
    void afterItsFileIsDeletedTheStoreAcknowledgesNothingAndAReopenFindsEveryBatchItAcknowledged() throws Exception {
        Path file = dir.resolve("deleted.db");
        SqliteSessionStore store = open(file);
        store.record(batch("before"));
        for (String suffix : new String[] {"", "-wal", "-shm"}) {
            Files.deleteIfExists(dir.resolve(file.getFileName() + suffix));
        }
        RecordingFailedException e = assertThrows(RecordingFailedException.class, () -> store.record(batch("after")));
        assertTrue(e.getCause().getMessage().contains("was removed or replaced"), e.getCause().getMessage());
        assertFalse(store.ready());
        assertTrue(store.notReadyBecause().orElseThrow().contains("removed or replaced"), store.notReadyBecause().get());
        store.close();
        SqliteSessionStore reopened = open(file);
        assertTrue(reopened.session("after").isEmpty(), "not acknowledged, not there");
        assertEquals(0, reopened.sessionCount(), "the deleted file's sessions went with it");
        reopened.record(batch("again"));
        assertEquals(20, reopened.session("again").orElseThrow().totalRequests());
    }

    @Test
    void aFileOrLogThatCannotBeWrittenIsRefusedAtOpenNamingItAndOpensOnceWritable() throws Exception {
        // SQLite opened an immutable file read-only without a word: the store started unready, saying it tried
        // again every second, and went on refusing every batch once the file was writable, until a restart.
        Path file = dir.resolve("immutable.db");
        SqliteSessionStore first = open(file);
        first.record(batch("before"));
        first.close();
        opened.remove(first);
        for (Path unwritable : List.of(file, dir.resolve("immutable.db-wal"))) {
            boolean made = !Files.exists(unwritable);
            if (made) {
                Files.createFile(unwritable); // the log a killed server leaves, empty once checkpointed
            }
            byte[] before = Files.readAllBytes(file);
            chattr("+i", unwritable);
            try {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open(file));
                assertTrue(e.getMessage().contains(unwritable + " cannot be written"), e.getMessage());
                assertArrayEquals(before, Files.readAllBytes(file));
            } finally {
                chattr("-i", unwritable);
            }
            SqliteSessionStore store = open(file);
            store.record(batch("writable-" + unwritable.getFileName()));
            assertEquals(20, store.session("before").orElseThrow().totalRequests());
            store.close();
            opened.remove(store);
            if (made) {
                Files.deleteIfExists(unwritable);
            }
        }
    }

    private static void chattr(String flag, Path file) throws Exception {
        Process p = new ProcessBuilder("chattr", flag, file.toString()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS) && p.exitValue() == 0,
                "chattr " + flag + " failed: " + output);
    }

    @Test
    void aLockFileRemovedUnderTheStoreIsMadeAgainWithoutTrafficSoThatASecondOpenIsStillRefused() throws Exception {
        Path file = dir.resolve("locked.db");
        Path lock = dir.resolve("locked.db.lock");
        SqliteSessionStore store = open(file);
        store.record(batch("before"));
        Files.delete(lock);
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!Files.exists(lock) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(Files.exists(lock), "made again by the writer's check of an idle second");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        store.record(batch("after"));
        assertTrue(store.ready());
        assertEquals(20, store.session("after").orElseThrow().totalRequests(), "the first one still works");
    }

    @Test
    void aSecondStoreOpenedOnceTheLockFileWasRemovedMakesTheFirstRefuseBatchesAndBeUnreadyUntilARestart()
            throws Exception {
        // A second server opening the file beside a running one wrote it by what its own memory held: its first
        // batch of a new session met a key the first one had given since (a 503 while it answered ready), and the
        // first one went on acknowledging batches into the file the second one wrote too.
        Path file = dir.resolve("shared.db");
        SqliteSessionStore first = open(file);
        first.record(batch("before"));
        Files.delete(dir.resolve("shared.db.lock"));
        SqliteSessionStore second = open(file); // before the first one's next check: nothing stops it
        second.record(batch("second"));
        RecordingFailedException e = assertThrows(RecordingFailedException.class, () -> first.record(batch("first")));
        assertTrue(e.getCause().getMessage().contains("another process locked"), e.getCause().getMessage());
        assertFalse(first.ready());
        assertTrue(first.notReadyBecause().orElseThrow().contains("another server opened"),
                first.notReadyBecause().get());
        Thread.sleep(1_500); // an idle second's check does not make it ready again
        assertFalse(first.ready());
        second.record(batch("second-again"));
        first.close();
        second.close();
        opened.remove(first);
        opened.remove(second);
        SqliteSessionStore reopened = open(file);
        assertTrue(reopened.session("first").isEmpty(), "not acknowledged, not there");
        assertEquals(20, reopened.session("before").orElseThrow().totalRequests());
        assertEquals(20, reopened.session("second").orElseThrow().totalRequests());
        assertEquals(20, reopened.session("second-again").orElseThrow().totalRequests());
    }

    @Test
    void aSessionsRecordsInTheFileStayWithinTheirBoundWhileItsTotalsStayExact() throws Exception {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file, 10, 7, Long.MAX_VALUE, 1_000);
        for (int b = 0; b < 6; b++) {
            List<Event> batch = new ArrayList<>();
            for (int i = 0; i < (b == 3 ? 30 : 4); i++) {
                batch.add(completed("s", "m", null));
            }
            store.record(batch);
            assertTrue(rowsIn(file, "record") <= 7, "records in the file after batch " + b);
        }
        assertEquals(50, store.session("s").orElseThrow().totalRequests());
        assertEquals(7, store.session("s").orElseThrow().requests().size());
    }

    @Test
    void eventIdsAreForgottenPastTheirWindowAndPastTheMostRemembered() throws Exception {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file, 10, 10, Long.MAX_VALUE, 50);
        for (int i = 0; i < 120; i++) {
            store.record(completed("s", "m", "id-" + i));
            assertTrue(rowsIn(file, "applied_event") <= 50, "ids in the file after " + i);
        }
        assertTrue(store.record(completed("s", "m", "id-0")), "forgotten early: past the most remembered");
        assertFalse(store.record(completed("s", "m", "id-119")));
        millis.addAndGet(Duration.ofMinutes(11).toMillis());
        assertTrue(store.record(completed("s", "m", "id-119")), "forgotten past the window");
        store.close();
        SqliteSessionStore reopened = open(file, 10, 10, Long.MAX_VALUE, 50);
        assertFalse(reopened.record(completed("s", "m", "id-119")), "remembered across the reopen");
    }

    @Test
    void theDatabaseStaysWithinItsBoundInBytesAndGivesFreedSpaceBack() throws Exception {
        Path file = dir.resolve("store.db");
        long bound = 1L << 20;
        SqliteSessionStore store = open(file, 10_000, 1_000, bound, 1_000);
        String error = "\u4e00".repeat(2_000); // cut to 1 024 characters, three bytes each in UTF-8
        for (int s = 0; s < 40; s++) {
            List<Event> batch = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                batch.add(LlmRequestFailed.builder("s" + s, "m").error(error).build());
            }
            store.record(batch);
            millis.addAndGet(1_000);
            assertTrue(store.usedBytes() <= bound, "within the bound after session " + s + ": " + store.usedBytes());
        }
        assertTrue(store.evictions(EvictionReason.MEMORY) > 0);
        assertTrue(store.session("s0").isEmpty(), "the oldest went first");
        SessionMetrics newest = store.session("s39").orElseThrow();
        assertEquals(50, newest.totalRequests());
        assertEquals(SqliteSessionStore.MAX_ERROR_CHARS, newest.requests().get(0).error().length());
        long full = pages(file);
        for (String id : store.sessionIds(0, 100)) {
            store.clear(id);
        }
        store.close();
        long emptied = Files.size(file);
        assertTrue(emptied * 4 < full * 4096, "the freed pages went back to the file system: " + emptied + " B of "
                + full + " pages");
    }

    @Test
    void aSessionWhoseScoresAlonePassTheBoundInBytesDropsThemWithTheirRecordsKeepingThoseOfTheRecordsItKeeps()
            throws Exception {
        Path file = dir.resolve("store.db");
        long bound = 256L << 10;
        SqliteSessionStore store = open(file, 10_000, 1_000, bound, 1_000);
        String comment = "\u4e00".repeat(LlmRequestScored.MAX_COMMENT_LENGTH); // 3 KB in UTF-8: a page a score
        for (int i = 0; i < 300; i++) {
            store.record(List.of(LlmRequestCompleted.builder("s", "m").durationMs(i + 1).correlationId("c" + i).build(),
                    LlmRequestScored.builder("s", "grade", i).correlationId("c" + i).comment(comment).build()));
            assertTrue(store.usedBytes() <= bound, "within the bound after request " + i + ": " + store.usedBytes());
        }
        SessionMetrics s = store.session("s").orElseThrow();
        assertEquals(300, s.totalRequests());
        assertEquals(300, s.scores().getFirst().count(), "the score summary counts every score");
        List<RequestRecord> kept = s.requests();
        assertTrue(kept.size() > 1 && kept.size() < 100, "the newest records that fit with their scores: " + kept.size());
        for (int k = 0; k < kept.size(); k++) {
            int i = 300 - kept.size() + k;
            assertEquals("c" + i, kept.get(k).correlationId());
            assertEquals(List.of((double) i), kept.get(k).scores().stream().map(RequestScore::value).toList(),
                    "each record kept keeps its score");
        }
        assertEquals(kept.size(), rowsIn(file, "score"), "no score is held that no read shows");
        assertEquals(kept.size(), rowsIn(file, "recent_record_0") + rowsIn(file, "recent_record_1") + rowsIn(file, "record"));
        assertEquals(0, store.evictions(EvictionReason.MEMORY));
    }

    /**
     * The revision names the scores of requests the file holds: scores past the bound on records, a lone record's
     * scores given back to a lower bound in bytes on a start, and a lower bound on records at an open each leave
     * the revision a reopen reads from the file, and the ones that serve fewer scores change it.
     */
    @Test
    void theRevisionNamesTheScoresOfRequestsTheFileHoldsThroughTrimsAndReopens() throws Exception {
        Path file = dir.resolve("store.db");
        String comment = "\u4e00".repeat(LlmRequestScored.MAX_COMMENT_LENGTH); // 3 KB in UTF-8
        SqliteSessionStore store = open(file, 10, 200, Long.MAX_VALUE, 1_000);
        store.record(LlmRequestCompleted.builder("s", "m").durationMs(1).correlationId("c").build());
        for (int size : new int[] {1, 30, 269}) {
            List<Event> batch = new ArrayList<>();
            for (int i = 0; i < size; i++) {
                batch.add(LlmRequestScored.builder("s", "grade", i).correlationId("c").comment(comment).build());
            }
            store.record(batch);
        }
        assertEquals(200, rowsIn(file, "score"));
        String full = store.revision("s").orElseThrow();
        store.close();
        assertEquals(full, open(file, 10, 200, Long.MAX_VALUE, 1_000).revision("s").orElseThrow());
        opened.getLast().close();

        long bound = 256L << 10;
        store = open(file, 10, 200, bound, 1_000);
        store.record(LlmRequestStarted.builder("s", "m").build());
        assertTrue(store.usedBytes() <= bound, "within the bound: " + store.usedBytes());
        long held = rowsIn(file, "score");
        assertTrue(held > 1 && held < 200, "the lone record gave scores back: " + held);
        assertEquals(1, store.session("s").orElseThrow().requests().size());
        String trimmed = store.revision("s").orElseThrow();
        assertFalse(full.equals(trimmed), "the revision of 200 scores, " + held + " held now");
        store.close();
        assertEquals(trimmed, open(file, 10, 200, bound, 1_000).revision("s").orElseThrow());
        opened.getLast().close();

        store = open(file, 10, 5, bound, 1_000);
        assertEquals(5, rowsIn(file, "score"));
        String fewer = store.revision("s").orElseThrow();
        store.close();
        assertEquals(fewer, open(file, 10, 5, bound, 1_000).revision("s").orElseThrow());
    }

    @Test
    void theRememberedIdsPagesAreReckonedAsSQLiteCountsThemAndLeftOutOfTheBoundInBytes() throws Exception {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file, 10_000, 10, Long.MAX_VALUE, 4_000);
        Random random = new Random(7);
        int[] codePoints = {'a', 'f', '0', '9', 0xe9, 0xdf, 0x4e00, 0x4e8c, 0x1f600}; // UTF-8: 1, 2, 3 and 4 bytes
        for (int b = 0; b < 60; b++) {
            List<Event> batch = new ArrayList<>();
            for (int i = 0; i < 250; i++) {
                StringBuilder id = new StringBuilder().append(b).append('-').append(i).append('-');
                for (int chars = random.nextInt(120); chars > 0; chars--) {
                    id.appendCodePoint(codePoints[random.nextInt(codePoints.length)]);
                }
                batch.add(completed("s" + (i % 5), "m", id.toString()));
            }
            store.record(batch);
            millis.addAndGet(1_000);
            if (b == 9 || b % 20 == 19) { // growing, then deleted from its start past the most remembered
                long bound = store.usedBytes(); // a job: the writer is idle once it is answered
                long reckoned = store.idTableBytes();
                long counted = idPagesBySqlite(file);
                assertTrue(Math.abs(reckoned - counted) <= counted / 50 + 3 * 4096,
                        "after batch " + b + ": reckoned " + reckoned + " B, SQLite counts " + counted + " B");
                long used = SqliteFiles.pagesInUse(file);
                assertEquals(used - reckoned, bound, "the bound in bytes leaves the ids' pages out");
            }
        }
        assertEquals(4_000, rowsIn(file, "applied_event"));
        store.close();
        SqliteSessionStore reopened = open(file, 10_000, 10, Long.MAX_VALUE, 4_000);
        long counted = idPagesBySqlite(file);
        assertTrue(Math.abs(reopened.idTableBytes() - counted) <= counted / 50 + 3 * 4096, "as reopened: reckoned "
                + reopened.idTableBytes() + " B, SQLite counts " + counted + " B");
    }

    @Test
    void idsAllOfOneLengthAreReckonedAsSQLiteCountsThem() throws Exception {
        // Rows of one size waste the same room in every leaf, the remainder of the leaf by the row: reckoned by
        // half a row a leaf, ids of 230 characters were a tenth too few pages, of 254 too many.
        Map<String, String> shapes = Map.of("ascii-256", "a".repeat(248), "ascii-254", "a".repeat(246),
                "cjk-230", "\u4e2d".repeat(222), "ascii-36", "a".repeat(28));
        for (Map.Entry<String, String> shape : shapes.entrySet()) {
            Path file = dir.resolve(shape.getKey() + ".db");
            SqliteSessionStore store = open(file, 10_000, 10, Long.MAX_VALUE, 20_000);
            for (int b = 0; b < 24; b++) {
                List<Event> batch = new ArrayList<>();
                for (int i = 0; i < 500; i++) {
                    batch.add(completed("s" + (i % 5), "m", String.format("%08d", b * 500 + i) + shape.getValue()));
                }
                store.record(batch);
            }
            store.usedBytes(); // a job: the writer is idle once it is answered
            long reckoned = store.idTableBytes();
            long counted = idPagesBySqlite(file);
            assertTrue(Math.abs(reckoned - counted) <= counted / 100 + 2 * 4096,
                    shape.getKey() + ": reckoned " + reckoned + " B, SQLite counts " + counted + " B");
            store.close();
        }
    }

    /** The bytes of the remembered ids' table's pages, as SQLite's dbstat counts them. */
    private static long idPagesBySqlite(Path file) throws Exception {
        return longOf(file, "SELECT sum(pgsize) FROM dbstat WHERE name = 'applied_event' AND aggregate = TRUE");
    }

    @Test
    void onADiskSmallerThanItsLogsCheckpointPointTheLogNeverFillsTheDisk() throws Exception {
        try (Tmpfs disk = Tmpfs.mount(dir.resolve("logdisk"), "8m")) {
            Files.write(disk.dir().resolve("other"), new byte[3 << 20]); // 5 MiB left, far under the log's 64 MiB
            Path file = disk.dir().resolve("store.db");
            SqliteSessionStore store = open(file, 10_000, 50, 2 << 20, 100_000);
            for (int serial = 0; serial < 2_000; serial++) { // about 40 MiB of events through a 2 MiB store
                store.record(batch("w-" + serial));
            }
            assertTrue(Files.size(disk.dir().resolve("store.db-wal")) < 5 << 20, "the log was emptied in time");
            assertEquals(20, store.session("w-1999").orElseThrow().totalRequests());
        }
    }

    @Test
    void aFullDiskRefusesBatchesWithNothingAppliedAndWritingResumesWhenSpaceReturns() throws Exception {
        try (Tmpfs disk = Tmpfs.mount(dir.resolve("disk"), "2m")) {
            Path file = disk.dir().resolve("store.db");
            SqliteSessionStore store = open(file, 10_000, 1_000, Long.MAX_VALUE, 100_000);
            List<String> acknowledged = new ArrayList<>();
            List<String> refused = new ArrayList<>();
            int serial = 0;
            for (; serial < 5; serial++) {
                store.record(batch("b-" + serial));
                acknowledged.add("b-" + serial);
            }
            disk.fill();
            for (int tries = 0; tries < 500 && refused.size() < 3; tries++, serial++) {
                String session = "b-" + serial;
                try {
                    store.record(batch(session));
                    acknowledged.add(session);
                } catch (RecordingFailedException e) {
                    refused.add(session);
                    assertTrue(store.session(session).isEmpty(), "nothing of a refused batch is applied");
                    assertTrue(store.revision(session).isEmpty());
                }
            }
            assertEquals(3, refused.size(), "a full disk refuses batches");
            assertEquals(Optional.of("the session store's disk is full: it writes again once the disk has room"),
                    store.notReadyBecause());
            disk.free();
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(store::ready); // the writer's probe, no batch
            for (int i = 0; i < 5; i++, serial++) {
                store.record(batch("b-" + serial)); // no restart: the next batch finds the room
                acknowledged.add("b-" + serial);
            }
            store.close();

            SqliteSessionStore reopened = open(file, 10_000, 1_000, Long.MAX_VALUE, 100_000);
            for (String session : acknowledged) {
                assertEquals(20, reopened.session(session).orElseThrow().totalRequests(), session + " exactly once");
            }
            for (String session : refused) {
                assertTrue(reopened.session(session).isEmpty(), session + " was refused");
            }
            assertEquals(acknowledged.size(), reopened.sessionCount());
            reopened.close();
        }
    }

    private static List<Event> batch(String session) {
        List<Event> batch = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            batch.add(LlmRequestFailed.builder(session, "m").error("x".repeat(1_000) + i).eventId(session + "-" + i).build());
        }
        return batch;
    }

    private static long rowsIn(Path file, String table) throws Exception {
        return longOf(file, "SELECT count(*) FROM " + table);
    }


    private static long pages(Path file) throws Exception {
        return longOf(file, "PRAGMA page_count");
    }

    /** The first column of the first row {@code query} answers on the file, -1 when it answers no row. */
    private static long longOf(Path file, String query) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet r = s.executeQuery(query)) {
            return r.next() ? r.getLong(1) : -1;
        }
    }

    /** Runs {@code statements} on the file, as another program would, outside any store. */
    private static void execute(Path file, String... statements) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            for (String statement : statements) {
                s.execute(statement);
            }
        }
    }
}
