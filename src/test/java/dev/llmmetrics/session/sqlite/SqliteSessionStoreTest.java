package dev.llmmetrics.session.sqlite;

import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
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

    @AfterEach
    void closeStores() {
        opened.forEach(SqliteSessionStore::close);
    }
}
