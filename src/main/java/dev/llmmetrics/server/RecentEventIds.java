package dev.llmmetrics.server;

import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The {@code event_id}s seen within a time window, so that a producer's retry is acknowledged without
 * being applied twice. {@link #claim(String)} is atomic: of concurrent requests carrying the same id,
 * exactly one claims it. Bounded: past {@code capacity} ids the oldest are forgotten early, which
 * shortens the window rather than growing memory.
 */
final class RecentEventIds {

    /** One claim, in the order claims were made, for expiry. */
    private record Claim(String id, long atMs) {
    }

    private final ConcurrentHashMap<String, Long> claimedAt = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Claim> order = new ConcurrentLinkedQueue<>();
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
        forgetExpired(now);
        Long previous = claimedAt.putIfAbsent(id, now);
        if (previous != null) {
            if (now - previous < windowMs || !claimedAt.replace(id, previous, now)) {
                return false;
            }
        }
        order.add(new Claim(id, now));
        return true;
    }

    /** Gives a claim back, when what it was claimed for was not applied after all. */
    void release(String id) {
        claimedAt.remove(id);
    }

    int size() {
        return claimedAt.size();
    }

    private void forgetExpired(long now) {
        Claim oldest;
        while ((oldest = order.peek()) != null && (now - oldest.atMs() >= windowMs || claimedAt.size() > capacity)) {
            if (order.remove(oldest)) {
                claimedAt.remove(oldest.id(), oldest.atMs());
            }
        }
    }
}
