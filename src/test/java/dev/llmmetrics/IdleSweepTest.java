package dev.llmmetrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.session.InMemorySessionStore;
import dev.llmmetrics.session.SessionFigures;
import dev.llmmetrics.session.SessionStore;
import dev.llmmetrics.session.StoreUnavailableException;
import dev.llmmetrics.session.sqlite.SqliteSessionStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdleSweepTest {

    @Test
    void aStoreThatFailsEverySweepIsLoggedOnceUntilASweepSucceedsAgain() throws Exception {
        AtomicBoolean failing = new AtomicBoolean(true);
        List<LogRecord> logged = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getMessage().startsWith("Idle session sweep")) {
                    logged.add(record);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger logger = Logger.getLogger(LlmMetrics.class.getName());
        logger.addHandler(capture);
        // A sweep every 10 ms (a tenth of the idle timeout, 10 ms at least).
        LlmMetricsConfig config = LlmMetricsConfig.builder().sessionIdleTimeout(Duration.ofMillis(100)).build();
        try (LlmMetrics metrics = LlmMetrics.builder(new SimpleMeterRegistry()).config(config)
                .store(p -> failingSweeps(InMemorySessionStore.factory().create(p), failing)).build()) {
            Thread.sleep(500); // fifty sweeps or so, each failing
            assertEquals(List.of(Level.WARNING), levels(logged, Level.INFO), "one warning for the whole outage");
            failing.set(false);
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> levels(logged, Level.INFO).size() == 2);
            assertEquals(List.of(Level.WARNING, Level.INFO), levels(logged, Level.INFO), "then once that it works again");
            failing.set(true);
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> levels(logged, Level.INFO).size() == 3);
            Thread.sleep(200);
            assertEquals(List.of(Level.WARNING, Level.INFO, Level.WARNING), levels(logged, Level.INFO),
                    "a new outage is logged again, once");
        } finally {
            logger.removeHandler(capture);
        }
    }

    @Test
    void aSweepOfASqliteStoreWhoseFileWasRemovedIsLoggedInOneLineWithItsCauseAndNoTrace(@TempDir Path dir)
            throws Exception {
        Path file = dir.resolve("sessions.db");
        List<LogRecord> logged = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getMessage().startsWith("Idle session sweep")) {
                    logged.add(record);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger logger = Logger.getLogger(LlmMetrics.class.getName());
        logger.addHandler(capture);
        LlmMetricsConfig config = LlmMetricsConfig.builder().sessionIdleTimeout(Duration.ofMillis(100)).build();
        try (LlmMetrics metrics = LlmMetrics.builder(new SimpleMeterRegistry()).config(config)
                .store(SqliteSessionStore.at(file)).build()) {
            Files.delete(file); // the store refuses every write from then on, the sweep's too
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !levels(logged, Level.WARNING).isEmpty());
            Thread.sleep(200);
            List<LogRecord> warnings = logged.stream().filter(r -> r.getLevel() == Level.WARNING).toList();
            assertEquals(1, warnings.size(), "once for the whole outage");
            assertNull(warnings.get(0).getThrown(), "no stack trace: " + warnings.get(0).getMessage());
            assertTrue(warnings.get(0).getMessage().contains("(the session store's file could not be written)"),
                    warnings.get(0).getMessage());
        } finally {
            logger.removeHandler(capture);
        }
    }

    /** The levels of the records at {@code least} or above, in order. */
    private static List<Level> levels(List<LogRecord> records, Level least) {
        return records.stream().map(LogRecord::getLevel).filter(l -> l.intValue() >= least.intValue()).toList();
    }

    /** {@code store}, whose idle sweeps fail as a store that cannot write does while {@code failing} is set. */
    private static SessionStore failingSweeps(SessionStore store, AtomicBoolean failing) {
        return (SessionStore) Proxy.newProxyInstance(IdleSweepTest.class.getClassLoader(), new Class<?>[] {SessionStore.class, SessionFigures.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("evictIdle") && failing.get()) {
                        throw new StoreUnavailableException("the store cannot be written", null);
                    }
                    try {
                        return method.invoke(store, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
