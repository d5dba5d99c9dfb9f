package dev.llmmetrics.session;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RecentEventIdsTest {

    private final AtomicLong now = new AtomicLong(1_000_000);
    private final InstantSource clock = () -> Instant.ofEpochMilli(now.get());

    @Test
    void anIdIsARepeatWithinTheWindowAndNewAgainAfterIt() {
        RecentEventIds ids = new RecentEventIds(Duration.ofSeconds(10), 100, clock);
        assertTrue(ids.claim("a"));
        assertFalse(ids.claim("a"));
        now.addAndGet(9_999);
        assertFalse(ids.claim("a"));
        now.addAndGet(1);
        assertTrue(ids.claim("a"));
        assertFalse(ids.claim("a"));
    }

    @Test
    void pastTheCapacityTheOldestIdsAreForgotten() {
        RecentEventIds ids = new RecentEventIds(Duration.ofHours(1), 3, clock);
        for (String id : new String[] {"a", "b", "c", "d", "e"}) {
            assertTrue(ids.claim(id));
            now.incrementAndGet();
        }
        assertTrue(ids.size() <= 4, "bounded: " + ids.size());
        assertFalse(ids.claim("e"));
        assertTrue(ids.claim("a"), "forgotten early once the bound was passed");
    }

    @Test
    void retriesAndNewIdsPastTheCapacityKeepTheStructureWithinIt() {
        RecentEventIds ids = new RecentEventIds(Duration.ofHours(1), 1_000, clock);
        for (int retry = 0; retry < 100_000; retry++) {
            for (int i = 0; i < 10; i++) {
                assertTrue(ids.claim("batch-" + i) == (retry == 0), "a retried id is a repeat");
            }
            assertTrue(ids.size() <= 10, "retries add nothing: " + ids.size());
        }
        for (int i = 0; i < 100_000; i++) {
            assertTrue(ids.claim("new-" + i));
            now.incrementAndGet();
            assertTrue(ids.size() <= 1_000, "bounded at id " + i + ": " + ids.size());
        }
    }
}
