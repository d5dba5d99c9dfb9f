package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The sweep behind the header and body deadlines: a passed deadline interrupts its thread, an ended one never. */
class ReadDeadlinesTest {

    @Test
    void aDeadlineThatPassesInterruptsItsThreadAndCannotBeEndedInTime() {
        try (ReadDeadlines deadlines = new ReadDeadlines(Duration.ofMillis(10))) {
            ReadDeadlines.Deadline deadline = deadlines.start(Duration.ofMillis(50));
            assertThrows(InterruptedException.class, () -> Thread.sleep(30_000),
                    "the sweep interrupts the thread whose deadline passed");
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
}
