package dev.llmmetrics.session;

import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The {@code event_id}s seen within a time window, so that a producer's retry is acknowledged without
 * being applied twice. {@link #claim(String)} is atomic: of concurrent requests carrying the same id,
 * exactly one claims it. Bounded as a whole: the map of ids and the queue that orders them for expiry each
 * hold at most {@code capacity} entries, past which the oldest are forgotten early (a shorter window rather
 * than more memory), however often a producer retries.
 *
 * <p>Written by hand rather than with a Caffeine cache: a retry comes soon after its first try, so the newest
 * ids must be the last forgotten, and Caffeine's size eviction may drop a new entry first.
 */
final class RecentEventIds {

    /** One claim, in the order claims were made, for expiry. */
    private record Claim(String id, long atMs) {
    }

    private final ConcurrentHashMap<String, Long> claimedAt = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Claim> order = new ConcurrentLinkedQueue<>();
    /** Entries in {@link #order}: its own size() walks the queue. */
    private final AtomicInteger queued = new AtomicInteger();
    private final long windowMs;
    private final int capacity;
    private final InstantSource clock;

    RecentEventIds(Duration window, int capacity, InstantSource clock) {
        if (window.isNegative() || window.isZero() || capacity < 1) {
            throw new IllegalArgumentException("the dedupe window and capacity must be positive");
        }
        this.windowMs = window.toMillis();
        this.capacity = capacity;
        this.clock = clock;
    }

    /** {@code true} if {@code id} was not claimed within the window, and is now; {@code false} for a repeat. */
    boolean claim(String id) {
        long now = clock.millis();
        Long previous = claimedAt.putIfAbsent(id, now);
        if (previous != null) {
            if (now - previous < windowMs || !claimedAt.replace(id, previous, now)) {
                return false;
            }
        }
        order.add(new Claim(id, now));
        queued.incrementAndGet();
        forgetExpired(now);
        return true;
    }

    /** Entries held: ids remembered and claims queued for expiry, each at most the capacity. */
    int size() {
        return Math.max(claimedAt.size(), queued.get());
    }

    private void forgetExpired(long now) {
        Claim oldest;
        while ((oldest = order.peek()) != null && (now - oldest.atMs() >= windowMs || queued.get() > capacity)) {
            if (order.remove(oldest)) {
                queued.decrementAndGet();
                claimedAt.remove(oldest.id(), oldest.atMs());
            }
        }
    }
}
