package dev.llmmetrics.session;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.ToLongFunction;

/**
 * Picks the least recently active entries of a live collection for eviction, in one pass with a heap
 * bounded by the number wanted. Each entry's activity time is read once: the times change while the
 * pass runs, and a heap ordered by live values would see them change under it. Shared by the store's
 * capacity eviction and the collector's bound on metered sessions.
 */
public final class LeastRecentlyActive {

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
    public static <T> List<T> pick(Iterable<T> entries, ToLongFunction<T> lastActiveMs, int n) {
        PriorityQueue<Read<T>> newestOnTop = new PriorityQueue<>(n + 1,
                Comparator.comparingLong((Read<T> r) -> r.lastActiveMs()).reversed());
        for (T entry : entries) {
            long lastActive = lastActiveMs.applyAsLong(entry);
            if (newestOnTop.size() < n) {
                newestOnTop.add(new Read<>(entry, lastActive));
            } else if (lastActive < newestOnTop.peek().lastActiveMs()) {
                newestOnTop.poll();
                newestOnTop.add(new Read<>(entry, lastActive));
            }
        }
        List<T> oldest = new ArrayList<>(newestOnTop.size());
        for (Read<T> read : newestOnTop) {
            oldest.add(read.entry());
        }
        return oldest;
    }
}
