package dev.llmmetrics.session;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.ToLongFunction;

/**
 * Picks the least recently active entries of a live collection for eviction, in one pass with a heap
 * bounded by the number wanted. Each entry's activity time is read once: the times change while the
 * pass runs, and a heap ordered by live values would see them change under it. The store uses it for its
 * capacity eviction and for the most recently active sessions the per-session series show.
 */
final class LeastRecentlyActive {

    /** An entry with its activity time as read once. */
    private record Read<T>(T entry, long lastActiveMs) {
    }

    private LeastRecentlyActive() {
    }

    /**
     * The (at most) {@code n} entries of {@code entries} with the oldest activity times, in no order.
     *
     * @param lastActiveMs reads an entry's last activity time
     */
    static <T> List<T> pick(Iterable<T> entries, ToLongFunction<T> lastActiveMs, int n) {
        return keep(entries, lastActiveMs, n, Comparator.comparingLong((Read<T> r) -> r.lastActiveMs()).reversed());
    }

    /** The (at most) {@code n} entries of {@code entries} with the newest activity times, newest first. */
    static <T> List<T> pickMostRecent(Iterable<T> entries, ToLongFunction<T> lastActiveMs, int n) {
        return keep(entries, lastActiveMs, n, Comparator.comparingLong((Read<T> r) -> r.lastActiveMs()));
    }

    /** Keeps the {@code n} entries that {@code evictFirst} orders last, with a heap of at most {@code n}. */
    private static <T> List<T> keep(Iterable<T> entries, ToLongFunction<T> lastActiveMs, int n,
                                    Comparator<Read<T>> evictFirst) {
        if (n == 0) {
            return List.of();
        }
        PriorityQueue<Read<T>> heap = new PriorityQueue<>(n + 1, evictFirst);
        for (T entry : entries) {
            Read<T> read = new Read<>(entry, lastActiveMs.applyAsLong(entry));
            if (heap.size() < n) {
                heap.add(read);
            } else if (evictFirst.compare(read, heap.peek()) > 0) {
                heap.poll();
                heap.add(read);
            }
        }
        List<T> kept = new ArrayList<>(heap.size());
        while (!heap.isEmpty()) {
            kept.add(heap.poll().entry()); // the heap's top is the one to evict first: kept last
        }
        return kept.reversed();
    }
}
