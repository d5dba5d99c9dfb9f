package dev.llmmetrics.session.sqlite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.RecordingFailedException;
import dev.llmmetrics.session.SessionStoreFactory;
import dev.llmmetrics.testing.LogCapture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the SQLite store logs of the faults an operator mends (its file removed, its disk full, its write lock held
 * by another process): one line at WARNING that names the file, the cause and what to do, with no stack trace,
 * which only DEBUG carries; and a line once it writes again.
 */
class SqliteSessionStoreLogTest {

    @TempDir
    Path dir;

    private final List<SqliteSessionStore> opened = new ArrayList<>();

    @AfterEach
    void closeStores() {
        opened.forEach(SqliteSessionStore::close);
    }

    private SqliteSessionStore open(Path file) {
        SqliteSessionStore store = SqliteSessionStore.open(file, new SessionStoreFactory.Parameters(10_000, 1_000, 16,
                Long.MAX_VALUE, Duration.ofHours(1), Duration.ofMinutes(10), 100_000, InstantSource.system(),
                new ModelCatalog(PriceTable.EMPTY, 200)), SqliteSessionStore.Durability.POWER_LOSS);
        opened.add(store);
        return store;
    }

    private static List<Event> batch(String session) {
        List<Event> batch = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            batch.add(LlmRequestCompleted.builder(session, "m").durationMs(3).promptTokens(2).completionTokens(1)
                    .eventId(session + "-" + i).build());
        }
        return batch;
    }

    /** The one WARNING or ERROR line logged, checked to carry no trace, and its trace logged below WARNING. */
    private static String theOneLine(LogCapture log) {
        // The writer thread logs them just after readiness changes.
        Awaitility.await("the line and its trace").atMost(Duration.ofSeconds(5)).until(() -> !log.atLeast(Level.WARNING)
                .isEmpty() && log.below(Level.INFO).stream().anyMatch(r -> r.getThrown() != null));
        List<LogRecord> lines = log.atLeast(Level.WARNING);
        assertEquals(1, lines.size(), log.describe(Level.WARNING));
        LogRecord line = lines.get(0);
        assertNull(line.getThrown(), "no stack trace beside the line: " + line.getMessage());
        return line.getMessage();
    }

    /** The INFO lines that say the store writes again. */
    private static long resumes(LogCapture log) {
        return log.atLeast(Level.INFO).stream()
                .filter(r -> r.getLevel() == Level.INFO && r.getMessage().endsWith("writes again")).count();
    }

    @Test
    void aFileRemovedUnderTheStoreIsLoggedInOneLineNamingItAndTheRestartWithoutATrace() throws Exception {
        Path file = dir.resolve("removed.db");
        SqliteSessionStore store = open(file);
        store.record(batch("before"));
        try (LogCapture log = LogCapture.of(SqliteSessionStore.class)) {
            Files.delete(file);
            for (int i = 0; i < 3; i++) {
                String session = "after-" + i;
                assertThrows(RecordingFailedException.class, () -> store.record(batch(session)));
            }
            String line = theOneLine(log);
            assertTrue(line.contains(file.toString()) && line.contains("was removed or replaced")
                    && line.contains("restarted"), line);
        }
    }

    @Test
    void aFullDiskIsLoggedInOneLineSayingToFreeRoomAndOnceMoreWhenItWritesAgain() throws Exception {
        try (Tmpfs disk = Tmpfs.mount(dir.resolve("disk"), "2m"); LogCapture log = LogCapture.of(SqliteSessionStore.class)) {
            Path file = disk.dir().resolve("full.db");
            SqliteSessionStore store = open(file);
            store.record(batch("before"));
            disk.fill();
            int refused = 0;
            for (int i = 0; i < 500 && refused < 3; i++) {
                try {
                    store.record(batch("fill-" + i));
                } catch (RecordingFailedException e) {
                    refused++;
                }
            }
            assertEquals(3, refused, "a full disk refuses batches");
            String line = theOneLine(log);
            assertTrue(line.contains(file.toString()) && line.contains("SQLITE_FULL") && line.contains("free room"), line);
            disk.free();
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(store::ready);
            store.record(batch("freed"));
            assertEquals(1, resumes(log), log.describe(Level.INFO));
            store.close();
        }
    }

    @Test
    void aWriteLockHeldByAnotherConnectionIsLoggedInOneLineSayingToEndItsTransaction() throws Exception {
        Path file = dir.resolve("locked.db");
        SqliteSessionStore store = open(file);
        store.record(batch("before"));
        try (LogCapture log = LogCapture.of(SqliteSessionStore.class)) {
            try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + file);
                 Statement s = other.createStatement()) {
                s.execute("BEGIN IMMEDIATE");
                Awaitility.await("not ready, no batch sent").atMost(Duration.ofSeconds(5)).until(() -> !store.ready());
                s.execute("COMMIT");
            }
            String line = theOneLine(log);
            assertTrue(line.contains(file.toString()) && line.contains("SQLITE_BUSY") && line.contains("end that process's"
                    + " transaction"), line);
            Awaitility.await("ready again").atMost(Duration.ofSeconds(5)).until(store::ready);
        }
    }

    @Test
    void aStartOnAFileWhoseWriteLockIsHeldIsLoggedInOneLineAndOnceMoreWhenItWritesAgain() throws Exception {
        Path file = dir.resolve("start.db");
        open(file).record(batch("before"));
        opened.remove(0).close();
        try (LogCapture log = LogCapture.of(SqliteSessionStore.class)) {
            SqliteSessionStore store;
            try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + file);
                 Statement s = other.createStatement()) {
                s.execute("BEGIN IMMEDIATE");
                store = open(file); // waits out the lock's busy timeout at its start, and starts unready
                assertTrue(!store.ready(), "unready from the start");
                s.execute("COMMIT");
            }
            String line = theOneLine(log);
            assertTrue(line.contains(file.toString()) && line.contains("SQLITE_BUSY"), line);
            Awaitility.await("ready again").atMost(Duration.ofSeconds(5)).until(store::ready);
            assertNotNull(store.record(batch("after")));
            assertEquals(1, resumes(log), log.describe(Level.INFO));
        }
    }
}
