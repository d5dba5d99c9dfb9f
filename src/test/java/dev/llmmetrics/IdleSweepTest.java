package dev.llmmetrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.event.RecordingFailedException;
import dev.llmmetrics.session.InMemorySessionStore;
import dev.llmmetrics.session.SessionFigures;
import dev.llmmetrics.session.SessionStore;
import dev.llmmetrics.session.StoreUnavailableException;
import dev.llmmetrics.session.sqlite.SqliteSessionStore;
import dev.llmmetrics.testing.LogCapture;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdleSweepTest {

    @Test
    void aStoreThatFailsEverySweepIsLoggedOnceUntilASweepSucceedsAgain() throws Exception {
        AtomicBoolean failing = new AtomicBoolean(true);
        LogCapture capture = LogCapture.of(LlmMetrics.class);
        // A sweep every 10 ms (a tenth of the idle timeout, 10 ms at least).
        LlmMetricsConfig config = LlmMetricsConfig.builder().sessionIdleTimeout(Duration.ofMillis(100)).build();
        try (LlmMetrics metrics = LlmMetrics.builder(new SimpleMeterRegistry()).config(config)
                .store(p -> failingSweeps(InMemorySessionStore.factory().create(p), failing)).build()) {
            Thread.sleep(500); // fifty sweeps or so, each failing
            assertEquals(List.of(Level.WARNING), levels(capture, Level.INFO), "one warning for the whole outage");
            failing.set(false);
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> levels(capture, Level.INFO).size() == 2);
            assertEquals(List.of(Level.WARNING, Level.INFO), levels(capture, Level.INFO), "then once that it works again");
            failing.set(true);
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> levels(capture, Level.INFO).size() == 3);
            Thread.sleep(200);
            assertEquals(List.of(Level.WARNING, Level.INFO, Level.WARNING), levels(capture, Level.INFO),
                    "a new outage is logged again, once");
        } finally {
            capture.close();
        }
    }

    @Test
    void aSweepOfASqliteStoreWhoseFileWasRemovedIsLoggedInOneLineWithItsCauseAndNoTrace(@TempDir Path dir)
            throws Exception {
        Path file = dir.resolve("sessions.db");
        LogCapture capture = LogCapture.of(LlmMetrics.class);
        LlmMetricsConfig config = LlmMetricsConfig.builder().sessionIdleTimeout(Duration.ofMillis(100)).build();
        try (LlmMetrics metrics = LlmMetrics.builder(new SimpleMeterRegistry()).config(config)
                .store(SqliteSessionStore.at(file)).build()) {
            Files.delete(file); // the store refuses every write from then on, the sweep's too
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !levels(capture, Level.WARNING).isEmpty());
            Thread.sleep(200);
            List<LogRecord> warnings = sweepLines(capture).stream().filter(r -> r.getLevel() == Level.WARNING).toList();
            assertEquals(1, warnings.size(), "once for the whole outage");
            assertNull(warnings.get(0).getThrown(), "no stack trace: " + warnings.get(0).getMessage());
            assertTrue(warnings.get(0).getMessage().contains("(the session store's file could not be written)"),
                    warnings.get(0).getMessage());
        } finally {
            capture.close();
        }
    }

    @Test
    void aSweepThatCloseCutsShortLogsNoWarning() throws Exception {
        CountDownLatch sweeping = new CountDownLatch(1);
        AtomicBoolean storeClosed = new AtomicBoolean();
        LogCapture capture = LogCapture.of(LlmMetrics.class);
        LlmMetricsConfig config = LlmMetricsConfig.builder().sessionIdleTimeout(Duration.ofMillis(100)).build();
        try {
            LlmMetrics metrics = LlmMetrics.builder(new SimpleMeterRegistry()).config(config)
                    .store(p -> sweptWhileClosing(InMemorySessionStore.factory().create(p), sweeping, storeClosed)).build();
            assertTrue(sweepStarted(sweeping), "a sweep started");
            metrics.close(); // while the sweep runs: it then finds the store closed, as a SQLite store's does
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !sweepLines(capture).isEmpty());
            assertEquals(List.of(), levels(capture, Level.INFO), "a sweep cut short by close is no failure to report");
        } finally {
            capture.close();
        }
    }

    private static boolean sweepStarted(CountDownLatch sweeping) throws InterruptedException {
        return sweeping.await(10, TimeUnit.SECONDS);
    }

    /** The levels of the sweep's records at {@code least} or above, in order. */
    private static List<Level> levels(LogCapture capture, Level least) {
        return sweepLines(capture).stream().map(LogRecord::getLevel).filter(l -> l.intValue() >= least.intValue()).toList();
    }

    /** What the idle sweep logged, among what the library's logger did. */
    private static List<LogRecord> sweepLines(LogCapture capture) {
        return capture.atLeast(Level.ALL).stream().filter(r -> r.getMessage().startsWith("Idle session sweep")).toList();
    }

    /**
     * {@code store}, whose first idle sweep signals {@code sweeping}, waits (not interruptibly, as a SQLite store's
     * sweep waits for its writer) until the store is closed, then fails as a closed SQLite store's next write does.
     */
    private static SessionStore sweptWhileClosing(SessionStore store, CountDownLatch sweeping, AtomicBoolean closed) {
        return (SessionStore) Proxy.newProxyInstance(IdleSweepTest.class.getClassLoader(), new Class<?>[] {SessionStore.class, SessionFigures.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("evictIdle")) {
                        sweeping.countDown();
                        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                        while (!closed.get() && System.nanoTime() < until) {
                            Thread.onSpinWait();
                        }
                        throw new RecordingFailedException("the session store is closed", new IllegalStateException("closed"));
                    }
                    if (method.getName().equals("close")) {
                        closed.set(true);
                    }
                    try {
                        return method.invoke(store, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
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
