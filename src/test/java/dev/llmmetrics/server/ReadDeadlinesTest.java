package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;

/**
 * The sweep behind the header and body deadlines: a passed deadline interrupts its thread, an ended one never;
 * ended ones are dropped, at once past the threshold; one thread that cannot be interrupted stops no other.
 */
class ReadDeadlinesTest {

    @Test
    void aDeadlineThatPassesInterruptsItsThreadAndCannotBeEndedInTime() {
        try (ReadDeadlines deadlines = new ReadDeadlines(Duration.ofMillis(10))) {
            long begin = System.nanoTime();
            ReadDeadlines.Deadline deadline = deadlines.start(Duration.ofMillis(200));
            assertThrows(InterruptedException.class, () -> Thread.sleep(30_000),
                    "the sweep interrupts the thread whose deadline passed");
            assertTrue(System.nanoTime() - begin >= TimeUnit.MILLISECONDS.toNanos(200), "not before its timeout");
            assertFalse(deadline.end(), "a deadline that expired reports it, so the connection is closed");
        }
    }

    @Test
    void aDeadlineEndedInTimeNeverInterruptsItsThread() throws InterruptedException {
        try (ReadDeadlines deadlines = new ReadDeadlines(Duration.ofMillis(10))) {
            for (int i = 0; i < 1_000; i++) {
                assertTrue(deadlines.start(Duration.ofMillis(20)).end());
            }
            Thread.sleep(200); // ten sweeps past every one of those deadlines
            assertFalse(Thread.interrupted(), "no ended deadline interrupted the thread");
        }
    }

    @Test
    void deadlinesRunningTogetherPassEachAtItsOwnTime() {
        try (ReadDeadlines deadlines = new ReadDeadlines(Duration.ofMillis(10))) {
            ReadDeadlines.Deadline later = deadlines.start(Duration.ofMinutes(5));
            ReadDeadlines.Deadline sooner = deadlines.start(Duration.ofMillis(50));
            assertThrows(InterruptedException.class, () -> Thread.sleep(30_000));
            assertFalse(sooner.end(), "the shorter deadline passed");
            assertTrue(later.end(), "the longer one, started first, still runs");
        }
    }

    @Test
    void endedDeadlinesAreDroppedAtTheNextSweep() throws InterruptedException {
        try (ReadDeadlines deadlines = new ReadDeadlines(Duration.ofMillis(10))) {
            ReadDeadlines.Deadline running = deadlines.start(Duration.ofMinutes(5));
            for (int i = 0; i < 1_000; i++) {
                deadlines.start(Duration.ofMinutes(5)).end();
            }
            assertTrue(eventually(deadlines::waiting, 1), "only the running deadline waits; " + deadlines.waiting());
            assertTrue(running.end());
        }
    }

    @Test
    void pastTheThresholdASweepRunsAtOnceInsteadOfAtItsPeriod() throws InterruptedException {
        try (ReadDeadlines deadlines = new ReadDeadlines(Duration.ofHours(1), 100)) {
            for (int i = 0; i < 10_000; i++) {
                deadlines.start(Duration.ofMinutes(5)).end();
            }
            assertTrue(eventually(deadlines::waiting, 100),
                    "the periodic sweep is an hour away, yet the ended deadlines were dropped; " + deadlines.waiting());
        }
    }

    @Test
    void aThreadThatCannotBeInterruptedStopsNoOtherDeadline() throws InterruptedException {
        try (ReadDeadlines deadlines = new ReadDeadlines(Duration.ofMillis(10))) {
            CountDownLatch started = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicReference<ReadDeadlines.Deadline> stubborn = new AtomicReference<>();
            Thread unwilling = new Thread(() -> {
                stubborn.set(deadlines.start(Duration.ofMillis(20)));
                started.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }) {
                @Override
                public void interrupt() {
                    throw new IllegalStateException("this thread refuses interrupts");
                }
            };
            unwilling.start();
            started.await();
            ReadDeadlines.Deadline mine = deadlines.start(Duration.ofMillis(50));
            assertThrows(InterruptedException.class, () -> Thread.sleep(30_000),
                    "a deadline running beside the one whose interrupt threw still passes");
            assertFalse(mine.end());
            ReadDeadlines.Deadline later = deadlines.start(Duration.ofMillis(20));
            assertThrows(InterruptedException.class, () -> Thread.sleep(30_000), "and so do those of later sweeps");
            assertFalse(later.end());
            assertFalse(stubborn.get().end(), "the unwilling thread's deadline passed too");
            release.countDown();
            unwilling.join();
        }
    }

    @Test
    void noDeadlineStartsOnceClosed() {
        ReadDeadlines deadlines = new ReadDeadlines(Duration.ofMillis(10));
        deadlines.close();
        assertThrows(IllegalStateException.class, () -> deadlines.start(Duration.ofSeconds(1)));
    }

    /** Whether {@code value} falls to at most {@code bound} within five seconds. */
    private static boolean eventually(IntSupplier value, int bound) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (value.getAsInt() > bound) {
            if (System.nanoTime() > until) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }
}
