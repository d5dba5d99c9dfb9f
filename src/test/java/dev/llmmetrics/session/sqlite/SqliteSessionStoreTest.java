package dev.llmmetrics.session.sqlite;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.session.EvictionReason;
import dev.llmmetrics.session.SessionStore;
import dev.llmmetrics.session.SessionStoreContractTest;
import dev.llmmetrics.session.SessionStoreFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store contract, held by the SQLite store on a file of its own per test. */
class SqliteSessionStoreTest extends SessionStoreContractTest {

    @TempDir
    Path dir;

    private final List<SqliteSessionStore> opened = new ArrayList<>();

    @Override
    protected SessionStore newStore(int maxSessions, int maxRecords, Duration idleTimeout, InstantSource clock,
                                    PriceTable prices) {
        try {
            Path file = Files.createTempFile(dir, "store", ".db");
            Files.delete(file);
            SqliteSessionStore store = SqliteSessionStore.open(file, new SessionStoreFactory.Parameters(maxSessions,
                    maxRecords, Integer.MAX_VALUE, Long.MAX_VALUE, idleTimeout, Duration.ofMinutes(10), 100_000, clock,
                    new ModelCatalog(prices, 200)), SqliteSessionStore.Durability.PROCESS_CRASH);
            opened.add(store);
            return store;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Measured as the bound in bytes holds it, the pages in use: within the bound after every event, exactly, as
     * the session gives room back until the pages in use are. The scores' comments of 3 KB take a page each (two
     * such rows do not share a page), so the scores of 300 requests alone take more than 1 MiB, and under the
     * in-memory store's bound only the newest record would be left: the bound is twice that, so that records
     * are kept beside the scores.
     */
    @Test
    void aSessionLargerThanTheBoundByItselfDropsItsOldestRecordsAndScoresToStayWithinIt() throws IOException {
        long bound = 2L << 20;
        SqliteSessionStore store = boundedInBytes(bound);
        aSessionLargerThanTheBoundKeepsItsNewestRecordsWithinIt(store, store::usedBytes, bound);
        assertEquals(0, store.evictions(EvictionReason.MEMORY), "the session gave room back itself");
    }

    @Test
    void aSessionPastTheBoundDropsTheScoresOfTheRecordsItDrops() throws IOException {
        long bound = 1L << 20; // the scores alone, a page each, take more
        SqliteSessionStore store = boundedInBytes(bound);
        aSessionPastTheBoundKeepsTheScoresOfTheRecordsItKeeps(store, store::usedBytes, bound);
    }

    /** A store in a new file, of the default bounds but {@code maxBytes}, on the system clock. */
    private SqliteSessionStore boundedInBytes(long maxBytes) throws IOException {
        Path file = Files.createTempFile(dir, "store", ".db");
        Files.delete(file);
        SqliteSessionStore store = SqliteSessionStore.open(file, new SessionStoreFactory.Parameters(10_000, 1_000,
                16, maxBytes, Duration.ofHours(1), Duration.ofMinutes(10), 100_000, InstantSource.system(),
                new ModelCatalog(PriceTable.EMPTY, 200)), SqliteSessionStore.Durability.PROCESS_CRASH);
        opened.add(store);
        return store;
    }

    @AfterEach
    void closeStores() {
        opened.forEach(SqliteSessionStore::close);
    }
}
