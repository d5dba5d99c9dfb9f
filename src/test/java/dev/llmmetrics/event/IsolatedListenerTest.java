package dev.llmmetrics.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

class IsolatedListenerTest {

    @Test
    void aWaitPastWhatNanosecondsCountIsAWaitWithoutEndNotAnOverflow() throws Exception {
        CountDownLatch delivered = new CountDownLatch(1);
        try (IsolatedListener listener = IsolatedListener.of("patient", event -> delivered.countDown(), 1,
                Duration.ofDays(1_000_000_000L))) {
            listener.onEvent(new GenericEvent("X", null));
            assertTrue(delivered.await(10, TimeUnit.SECONDS));
            assertEquals(0, listener.dropped());
        }
        assertThrows(IllegalArgumentException.class,
                () -> IsolatedListener.of("impatient", event -> { }, 1, Duration.ofMillis(-1)));
    }

    @Test
    void aCapacityPastTheMaximumIsRefusedNamingItsRangeNotAnAllocationOfThatSize() throws Exception {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> IsolatedListener.of("huge", event -> { }, Integer.MAX_VALUE, Duration.ZERO));
        assertEquals("capacity must be 1 to 16777216: 2147483647", refused.getMessage());
        assertThrows(IllegalArgumentException.class, () -> IsolatedListener.of("none", event -> { }, 0, Duration.ZERO));
        try (IsolatedListener largest = IsolatedListener.of("largest", event -> { }, IsolatedListener.MAX_CAPACITY,
                Duration.ZERO)) {
            largest.onEvent(new GenericEvent("X", null));
        }
    }

    /**
     * A publisher that finds the listener open and queues its event just after the worker's last look at the queue
     * left it there, neither delivered nor counted: a race, which most runs of these rounds meet.
     */
    @Test
    void everyEventPublishedWhileItClosesIsDeliveredOrCountedAsDropped() throws Exception {
        int publishers = 4;
        int perPublisher = 200;
        for (int round = 0; round < 300; round++) {
            LongAdder delivered = new LongAdder();
            IsolatedListener listener = IsolatedListener.of("closing", event -> delivered.increment(), 1_000,
                    Duration.ZERO);
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < publishers; p++) {
                threads.add(Thread.ofPlatform().start(() -> {
                    awaitUninterruptibly(go);
                    for (int i = 0; i < perPublisher; i++) {
                        listener.onEvent(new GenericEvent("X", null));
                    }
                }));
            }
            go.countDown();
            while (delivered.sum() == 0) { // closes while the publishers publish
                Thread.onSpinWait();
            }
            assertTrue(listener.close(Duration.ofSeconds(10)), "the worker drained what it had");
            for (Thread thread : threads) {
                thread.join();
            }
            assertEquals(publishers * perPublisher, delivered.sum() + listener.dropped(),
                    "round " + round + ": delivered " + delivered.sum() + ", dropped " + listener.dropped());
        }
    }

    @Test
    void closingWithTimeToDrainDeliversEveryQueuedEvent() throws Exception {
        LongAdder delivered = new LongAdder();
        IsolatedListener slow = IsolatedListener.of("slow", event -> {
            sleep(1);
            delivered.increment();
        }, 1_000, Duration.ZERO);
        for (int i = 0; i < 300; i++) {
            slow.onEvent(new GenericEvent("X", null));
        }
        assertTrue(slow.close(Duration.ofSeconds(30)), "the queue drained in time");
        assertEquals(300, delivered.sum());
        assertEquals(0, slow.dropped());
        slow.onEvent(new GenericEvent("X", null));
        assertEquals(1, slow.dropped(), "an event after the close is dropped and counted");
    }

    @Test
    void closingAtOnceCountsEveryQueuedEventNotDeliveredAsDropped() {
        LongAdder entered = new LongAdder();
        CountDownLatch never = new CountDownLatch(1);
        IsolatedListener blocked = IsolatedListener.of("blocked", event -> {
            entered.increment();
            awaitUninterruptibly(never);
        }, 100, Duration.ZERO);
        for (int i = 0; i < 50; i++) {
            blocked.onEvent(new GenericEvent("X", null));
        }
        blocked.close();
        assertEquals(50, entered.sum() + blocked.dropped(), "each event reached the listener or was counted");
        assertTrue(blocked.dropped() >= 49, "at most the one being delivered escaped: " + blocked.dropped());
        never.countDown();
    }

    @Test
    void closingWithTimeToDrainStopsAStalledWorkerAtTheDeadlineAndCountsTheRest() throws Exception {
        LongAdder entered = new LongAdder();
        IsolatedListener stalled = IsolatedListener.of("stalled", event -> {
            entered.increment();
            sleep(60_000);
        }, 100, Duration.ZERO);
        for (int i = 0; i < 20; i++) {
            stalled.onEvent(new GenericEvent("X", null));
        }
        long start = System.nanoTime();
        boolean drained = stalled.close(Duration.ofMillis(300));
        long waitedMs = (System.nanoTime() - start) / 1_000_000;
        assertFalse(drained);
        assertTrue(waitedMs >= 300 && waitedMs < 10_000, "waited the drain time, not the listener: " + waitedMs);
        assertEquals(20, entered.sum() + stalled.dropped());
        assertEquals(1, entered.sum(), "the listener was interrupted in its first event, not handed another");
        assertThrows(IllegalArgumentException.class, () -> stalled.close(Duration.ofMillis(-1)));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
