package dev.llmmetrics.session.sqlite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.event.RecordingFailedException;
import dev.llmmetrics.session.EvictionReason;
import dev.llmmetrics.session.RequestRecord;
import dev.llmmetrics.session.RequestScore;
import dev.llmmetrics.session.SessionMetrics;
import dev.llmmetrics.session.SessionStoreFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The records of recent commits and their fold into the records by session: a session reads the same records,
 * in order and each once, whether they sit in the table being written, in the frozen one, in both while a fold
 * is under way, or folded; and so does a copy of the files taken at any of those moments, as {@code kill -9}
 * leaves them.
 */
class RecentRecordsTest {

    /** More sessions than two slices hold, so that folding a frozen table takes several transactions. */
    private static final int SESSIONS = 2 * RecentRecords.SLICE_SESSIONS + 50;
    private static final int MAX_RECORDS = 12;
    private static final int FOLD_AT = 400;

    @TempDir
    Path dir;

    private final List<SqliteSessionStore> opened = new ArrayList<>();
    /** Each session's durations as recorded, in order: a record's duration is its number, unique in the test. */
    private final Map<String, List<Long>> recorded = new HashMap<>();
    private long nextDuration = 1;

    @AfterEach
    void closeStores() {
        opened.forEach(SqliteSessionStore::close);
    }

    private SqliteSessionStore open(Path file) {
        return open(file, MAX_RECORDS, FOLD_AT);
    }

    private SqliteSessionStore open(Path file, int maxRecords, int foldAt) {
        SqliteSessionStore store = SqliteSessionStore.open(file, new SessionStoreFactory.Parameters(1_000, maxRecords, 3,
                        Long.MAX_VALUE, Duration.ofHours(1), Duration.ofMinutes(10), 10_000, InstantSource.system(),
                        new ModelCatalog(PriceTable.builder().build(), 200)), SqliteSessionStore.Durability.PROCESS_CRASH,
                foldAt);
        opened.add(store);
        return store;
    }

    /** One batch of 60 completed requests over random sessions, a few of them several times; kept once applied. */
    private void recordBatch(SqliteSessionStore store, Random random) {
        recordBatch(store, random, SESSIONS);
    }

    /** One batch of 60 completed requests over {@code sessions} random sessions; kept once applied. */
    private void recordBatch(SqliteSessionStore store, Random random, int sessions) {
        List<LlmRequestCompleted> batch = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            long duration = nextDuration++;
            batch.add(LlmRequestCompleted.builder("s" + random.nextInt(sessions), "m" + duration % 3).durationMs(duration)
                    .correlationId("c" + duration).build());
        }
        store.record(batch);
        for (LlmRequestCompleted e : batch) {
            recorded.computeIfAbsent(e.sessionId(), s -> new ArrayList<>()).add(e.durationMs());
        }
    }

    /** Every session reads its most recent records, in order, each once, and finds a retained request's model. */
    private void assertEverySessionAsRecorded(SqliteSessionStore store, String when) {
        for (Map.Entry<String, List<Long>> e : recorded.entrySet()) {
            List<Long> all = e.getValue();
            List<Long> expected = all.subList(Math.max(0, all.size() - MAX_RECORDS), all.size());
            SessionMetrics m = store.session(e.getKey()).orElseThrow();
            assertEquals(all.size(), m.totalRequests(), when + ": " + e.getKey() + "'s total");
            assertEquals(expected, m.requests().stream().map(RequestRecord::durationMs).toList(),
                    when + ": " + e.getKey() + "'s records");
            long newest = all.getLast();
            assertEquals(Optional.of("m" + newest % 3), store.requestModel(e.getKey(), "c" + newest), when);
            if (all.size() > MAX_RECORDS) {
                long dropped = all.get(all.size() - MAX_RECORDS - 1);
                assertEquals(Optional.empty(), store.requestModel(e.getKey(), "c" + dropped), when + ": past the bound");
            }
        }
    }

    /**
     * The rows of {@code record} and of both recent tables, read in one snapshot: a fold commits on the writer's
     * thread after the batch that preceded it was acknowledged, so counts read one by one may straddle it.
     */
    private static long[] rowsOfEachTable(Path file) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT (SELECT count(*) FROM record), (SELECT count(*) FROM recent_record_0),"
                     + " (SELECT count(*) FROM recent_record_1)")) {
            r.next();
            return new long[] {r.getLong(1), r.getLong(2), r.getLong(3)};
        }
    }

    private static long rows(Path file, String table) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT count(*) FROM " + table)) {
            return r.next() ? r.getLong(1) : -1;
        }
    }

    /** Copies the database and its write-ahead log as they are on disk, the store still open: what kill -9 leaves. */
    private Path crashCopy(Path file, String name) throws Exception {
        Path copy = Files.createDirectories(dir.resolve(name)).resolve("store.db");
        Files.copy(file, copy);
        Path log = file.resolveSibling(file.getFileName() + "-wal");
        if (Files.exists(log)) {
            Files.copy(log, copy.resolveSibling("store.db-wal"));
        }
        return copy;
    }

    @Test
    void sessionsReadEveryRecordOnceInOrderWhileTheirRecordsAreFoldedInSlicesAndAfterAReopen() throws Exception {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file);
        Random random = new Random(11);
        boolean sawBothTables = false;
        boolean sawFolded = false;
        for (int b = 0; b < 60; b++) {
            recordBatch(store, random);
            long first = rows(file, "recent_record_0");
            long second = rows(file, "recent_record_1");
            sawBothTables |= first > 0 && second > 0;
            assertTrue(first <= FOLD_AT + 60 && second <= FOLD_AT + 60, "each table at most its bound and a batch: "
                    + first + ", " + second);
            sawFolded |= rows(file, "record") > 0;
            assertEverySessionAsRecorded(store, "after batch " + b);
        }
        assertTrue(sawBothTables, "a fold was under way while commits went to the other table");
        assertTrue(sawFolded, "records were folded");
        store.close();
        assertEquals(0, rows(file, "recent_record_0") + rows(file, "recent_record_1"), "a clean close folds them all");
        assertEverySessionAsRecorded(open(file), "reopened");
    }

    @Test
    void aCopyOfTheFilesTakenAtAnyPointOfTheFoldOpensWithEveryRecordOnce() throws Exception {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file);
        Random random = new Random(23);
        int mixed = 0;
        for (int b = 0; b < 40; b++) {
            recordBatch(store, random);
            if (b % 3 != 0) {
                continue;
            }
            Path copy = crashCopy(file, "crash-" + b);
            boolean both = rows(copy, "recent_record_0") > 0 && rows(copy, "recent_record_1") > 0;
            mixed += both ? 1 : 0;
            SqliteSessionStore reopened = open(copy);
            assertEverySessionAsRecorded(reopened, "a copy after batch " + b + (both ? ", rows in both tables" : ""));
            // It writes on where the copy left off, and a later reopen reads the same.
            Map<String, List<Long>> before = new HashMap<>();
            recorded.forEach((session, durations) -> before.put(session, new ArrayList<>(durations)));
            long next = nextDuration;
            Random more = new Random(b);
            for (int i = 0; i < 3; i++) { // a commit folds at least one of the frozen table's three slices
                recordBatch(reopened, more);
            }
            assertTrue(rows(copy, "recent_record_0") == 0 || rows(copy, "recent_record_1") == 0,
                    "the copy of batch " + b + ": the fold taken up again went through");
            reopened.close();
            assertEverySessionAsRecorded(open(copy), "the copy of batch " + b + " written on and reopened");
            recorded.clear();
            recorded.putAll(before);
            nextDuration = next;
        }
        assertTrue(mixed > 0, "some copies held rows in both tables, whose order the store does not know");
    }

    @Test
    void aCopyReopenedUnderAHigherRecordBoundServesTheNewestRecordsNotTheOnesPastTheBoundTheyWereWrittenUnder()
            throws Exception {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file, 12, 10);
        recordDurations(store, "s", 1, 12); // fills the table being written: frozen after this commit
        recordDurations(store, "t", 1_000, 1_000); // this commit's fold copies s's records 1 to 12 into record
        recordDurations(store, "s", 13, 42); // s keeps 31 to 42; 1 to 12 wait in record for s's next fold
        Path copy = crashCopy(file, "crash");
        SqliteSessionStore reopened = open(copy, 100, 10);
        assertEquals(LongStream.rangeClosed(31, 42).boxed().toList(),
                reopened.session("s").orElseThrow().requests().stream().map(RequestRecord::durationMs).toList());
        recordDurations(reopened, "s", 43, 44);
        assertEquals(LongStream.rangeClosed(31, 44).boxed().toList(),
                reopened.session("s").orElseThrow().requests().stream().map(RequestRecord::durationMs).toList(),
                "the records after the reopen join the kept ones, under the new bound");
        reopened.close();
        assertEquals(LongStream.rangeClosed(31, 44).boxed().toList(),
                open(copy, 100, 10).session("s").orElseThrow().requests().stream().map(RequestRecord::durationMs).toList(),
                "and so after everything was folded");
    }

    @Test
    void theByteBoundEvictsNoSessionForTheRowsAFoldHoldsTwice() throws Exception {
        long maxBytes = 8L << 20;
        Path file = dir.resolve("bounded.db");
        SqliteSessionStore store = SqliteSessionStore.open(file, new SessionStoreFactory.Parameters(100_000, 1_000, 3,
                maxBytes, Duration.ofHours(1), Duration.ofMinutes(10), 100, InstantSource.system(),
                new ModelCatalog(PriceTable.builder().build(), 200)), SqliteSessionStore.Durability.PROCESS_CRASH);
        opened.add(store);
        Random random = new Random(3);
        long lowest = Long.MAX_VALUE;
        int sessionsAtFirstEviction = 0;
        for (int b = 0; b < 360; b++) { // the bound is reached near the 300th
            List<LlmRequestCompleted> batch = new ArrayList<>();
            for (int i = 0; i < 500; i++) { // 200 sessions at a time, three new ones a batch
                batch.add(LlmRequestCompleted.builder("s" + (b * 3 + random.nextInt(200)), "gpt-4o").durationMs(i)
                        .correlationId("c" + b + "-" + i).build());
            }
            store.record(batch);
            if (store.evictions(EvictionReason.MEMORY) > 0) {
                sessionsAtFirstEviction = sessionsAtFirstEviction == 0 ? store.sessionCount() : sessionsAtFirstEviction;
                lowest = Math.min(lowest, SqliteFiles.pagesInUse(file));
            }
        }
        assertTrue(sessionsAtFirstEviction > 0, "the bound was reached");
        assertTrue(lowest >= maxBytes * 9 / 10, "once at the bound, the pages in use stay near it, the folds' double"
                + " count aside: at least " + lowest + " bytes of " + maxBytes + "; "
                + store.evictions(EvictionReason.MEMORY) + " sessions evicted");
    }


    @Test
    void aSessionLargerThanTheBoundInBytesDropsItsOldestRecordsFromTheFrozenTableNotYetFoldedAndEverywhereElse()
            throws Exception {
        long maxBytes = 512L << 10;
        Path file = dir.resolve("large.db");
        SqliteSessionStore store = SqliteSessionStore.open(file, new SessionStoreFactory.Parameters(1_000, 1_000, 3,
                maxBytes, Duration.ofHours(1), Duration.ofMinutes(10), 100, InstantSource.system(),
                new ModelCatalog(PriceTable.builder().build(), 200)), SqliteSessionStore.Durability.PROCESS_CRASH, 30);
        opened.add(store);
        Map<String, String> attributes = new HashMap<>();
        for (int a = 0; a < 10; a++) {
            attributes.put("key" + a, String.valueOf((char) ('a' + a)).repeat(1_000)); // about 10 KB a record
        }
        // Three batches of 10 fill the table being written to the fold's 30 rows, within the bound: frozen after
        // the third commit. The fourth, of 60 records, passes the bound by itself while the frozen table still
        // holds the session's 30 oldest: the commit drops those, then its own oldest, and the fold finds nothing.
        long duration = 1;
        for (int size : new int[] {10, 10, 10, 60}) {
            List<LlmRequestCompleted> batch = new ArrayList<>();
            for (int i = 0; i < size; i++, duration++) {
                batch.add(LlmRequestCompleted.builder("large", "m" + duration % 3).durationMs(duration)
                        .correlationId("c" + duration).attributes(attributes).build());
            }
            store.record(batch);
        }
        store.usedBytes(); // a job: the fold after the last commit is done once it is answered
        long[] rows = rowsOfEachTable(file);
        List<Long> kept = durations(store, "large");
        assertTrue(SqliteFiles.pagesInUse(file) <= maxBytes + 4096, "the pages in use, the remembered ids' root page aside, are"
                + " within the bound: " + SqliteFiles.pagesInUse(file) + " bytes, " + kept.size() + " records kept, rows by table "
                + Arrays.toString(rows));
        assertTrue(kept.size() > 10 && kept.size() < 60, "the newest records that fit: " + kept.size());
        assertEquals(LongStream.rangeClosed(91 - kept.size(), 90).boxed().toList(), kept, "the newest, oldest first");
        assertEquals(kept.size(), rows[0] + rows[1] + rows[2], "no row of a dropped record is left in any table: "
                + Arrays.toString(rows));
        assertEquals(90, store.session("large").orElseThrow().totalRequests());
        assertEquals(attributes, store.session("large").orElseThrow().requests().getLast().attributes());
        assertEquals(Optional.of("m" + 90 % 3), store.requestModel("large", "c90"));
        assertEquals(Optional.empty(), store.requestModel("large", "c" + (90 - kept.size())), "dropped");
        assertEquals(kept, durations(open(crashCopy(file, "crash"), 1_000, 30), "large"), "as kill -9 leaves it");

        // Later batches drop the oldest records from record, where the folds moved them.
        for (int b = 0; b < 12; b++) {
            List<LlmRequestCompleted> batch = new ArrayList<>();
            for (int i = 0; i < 10; i++, duration++) {
                batch.add(LlmRequestCompleted.builder("large", "m").durationMs(duration).correlationId("c" + duration)
                        .attributes(attributes).build());
            }
            store.record(batch);
            List<Long> now = durations(store, "large");
            assertEquals(LongStream.range(duration - now.size(), duration).boxed().toList(), now, "after batch " + b);
            assertTrue(now.size() < 60, "after batch " + b + ": " + now.size() + " records");
        }
        assertTrue(rows(file, "record") > 0, "records were folded, and dropped from record");
        List<Long> last = durations(store, "large");
        store.close();
        assertEquals(last, durations(open(file, 1_000, 30), "large"), "reopened");
    }

    @Test
    void aBoundLoweredAtOneStartAndRaisedAtTheNextServesWhatTheLowerBoundKept() throws Exception {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file, 12, 10);
        recordDurations(store, "s", 1, 12);
        store.close();
        SqliteSessionStore lower = open(file, 5, 10);
        assertEquals(LongStream.rangeClosed(8, 12).boxed().toList(), durations(lower, "s"));
        recordDurations(lower, "other", 1, 30); // s itself is not written under the lower bound
        lower.close();
        SqliteSessionStore higher = open(file, 100, 10);
        assertEquals(LongStream.rangeClosed(8, 12).boxed().toList(), durations(higher, "s"));
        recordDurations(higher, "s", 13, 13);
        assertEquals(LongStream.rangeClosed(8, 13).boxed().toList(), durations(higher, "s"));
    }

    @Test
    void aStartUnderALowerBoundKeepsTheNewestScoresOfRequestsOnlyAndALaterHigherBoundDoesNotBringBackTheOthers() {
        Path file = dir.resolve("store.db");
        SqliteSessionStore store = open(file, 12, 10);
        List<Event> events = new ArrayList<>();
        for (int i = 1; i <= 12; i++) {
            events.add(LlmRequestCompleted.builder("s", "m").durationMs(i).correlationId("c" + i).build());
        }
        for (int i = 1; i <= 12; i++) {
            events.add(LlmRequestScored.builder("s", "q", i).correlationId("c12").build());
        }
        store.record(events);
        store.close();
        SqliteSessionStore lower = open(file, 5, 10);
        assertEquals(List.of(8.0, 9.0, 10.0, 11.0, 12.0), scoresOfLastRecord(lower, "s"));
        lower.close();
        assertEquals(List.of(8.0, 9.0, 10.0, 11.0, 12.0), scoresOfLastRecord(open(file, 100, 10), "s"));
    }

    private static List<Double> scoresOfLastRecord(SqliteSessionStore store, String session) {
        return store.session(session).orElseThrow().requests().getLast().scores().stream().map(RequestScore::value)
                .toList();
    }

    private static List<Long> durations(SqliteSessionStore store, String session) {
        return store.session(session).orElseThrow().requests().stream().map(RequestRecord::durationMs).toList();
    }

    /** One batch of completed requests of {@code session} whose durations run from {@code from} to {@code to}. */
    private static void recordDurations(SqliteSessionStore store, String session, long from, long to) {
        List<LlmRequestCompleted> batch = new ArrayList<>();
        for (long d = from; d <= to; d++) {
            batch.add(LlmRequestCompleted.builder(session, "m").durationMs(d).build());
        }
        store.record(batch);
    }

    @Test
    void aFullDiskRefusesBatchesInTheMiddleOfAFoldWithoutLosingARecordAndTheFoldGoesOnWhenSpaceReturns() throws Exception {
        try (Tmpfs disk = Tmpfs.mount(dir.resolve("disk"), "3m")) {
            Path file = disk.dir().resolve("store.db");
            SqliteSessionStore store = open(file);
            Random random = new Random(5);
            // Over this many sessions the frozen table spans three slices, one folded after each later commit: once
            // a commit went to the other table and a slice is folded, the last slice is still to come, whenever the
            // writer's fold after the newest commit lands.
            int sessions = 1_000;
            long[] rows = rowsOfEachTable(file);
            for (int b = 0; b < 20 && !(rows[0] > 0 && rows[1] > 0 && rows[2] > 0); b++) {
                recordBatch(store, random, sessions);
                rows = rowsOfEachTable(file);
            }
            assertTrue(rows[0] > 0 && rows[1] > 0 && rows[2] > 0, "a fold under way: " + Arrays.toString(rows));
            disk.fill();
            int refused = 0;
            for (int b = 0; b < 40; b++) {
                try {
                    recordBatch(store, random, sessions);
                } catch (RecordingFailedException e) {
                    refused++;
                }
                assertEverySessionAsRecorded(store, "disk full, batch " + b);
            }
            assertTrue(refused > 0, "the full disk refused batches");
            disk.free();
            for (int b = 0; b < 20; b++) {
                recordBatch(store, random, sessions);
            }
            long[] after = rowsOfEachTable(file);
            assertTrue(after[0] > rows[0], "folds went on: " + Arrays.toString(rows) + " then " + Arrays.toString(after));
            assertTrue(after[1] <= FOLD_AT + 60 && after[2] <= FOLD_AT + 60, "the fold caught up: " + Arrays.toString(after));
            assertEverySessionAsRecorded(store, "space back");
            store.close();
            assertEquals(0, rows(file, "recent_record_0") + rows(file, "recent_record_1"), "a clean close folds them all");
            assertEverySessionAsRecorded(open(file), "reopened");
        }
    }
}
