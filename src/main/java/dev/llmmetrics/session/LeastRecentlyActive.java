package dev.llmmetrics.session;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.ToLongFunction;

/**
 * Picks the least, or the most, recently active entries of a live collection, in one pass with a heap bounded
 * by the number wanted, so that a page of the newest among many costs a pass and a heap of the page and those
 * before it, not a sort of them all. Each entry's activity time is read once: the times change while the pass
 * runs, and a heap ordered by live values would see them change under it. The store uses it for its capacity
 * eviction, its session listing and the most recently active sessions the per-session series show.
 */
final class LeastRecentlyActive {

    /** An entry with its activity time as read once. */
    private record Read<T>(T entry, long lastActiveMs) {
    }

    private LeastRecentlyActive() {
    }

    /**
     * The (at most) {@code n} entries of {@code entries} with the oldest activity times, in no order; of entries
     * active at the same time, the lesser by {@code ties} first, those {@link #pickMostRecent} puts last.
     *
     * @param lastActiveMs reads an entry's last activity time
     */
    static <T> List<T> pick(Iterable<T> entries, ToLongFunction<T> lastActiveMs, Comparator<? super T> ties, int n) {
        return keep(entries, lastActiveMs, ties, n, false);
    }

    /**
     * The (at most) {@code n} entries of {@code entries} with the newest activity times, newest first; of
     * entries active at the same time, the greater by {@code ties} first, so that pages of one listing neither
     * overlap nor leave one out.
     */
    static <T> List<T> pickMostRecent(Iterable<T> entries, ToLongFunction<T> lastActiveMs, Comparator<? super T> ties,
                                      int n) {
        return keep(entries, lastActiveMs, ties, n, true).reversed();
    }

    /**
     * The {@code n} newest (or oldest) entries, with a heap of at most {@code n} whose top is the one to let go
     * first; an entry that would not enter the heap costs a comparison, no allocation. In heap order from the
     * top: oldest first when keeping the newest, newest first when keeping the oldest.
     */
    private static <T> List<T> keep(Iterable<T> entries, ToLongFunction<T> lastActiveMs,
                                          Comparator<? super T> ties, int n, boolean newest) {
        if (n <= 0) {
            return new ArrayList<>();
        }
        Comparator<Read<T>> older = Comparator.<Read<T>>comparingLong(Read::lastActiveMs)
                .thenComparing(Read::entry, ties);
        PriorityQueue<Read<T>> heap = new PriorityQueue<>(n + 1, newest ? older : older.reversed());
        for (T entry : entries) {
            long lastActive = lastActiveMs.applyAsLong(entry);
            if (heap.size() < n) {
                heap.add(new Read<>(entry, lastActive));
                continue;
            }
            Read<T> top = heap.peek();
            int byTime = Long.compare(lastActive, top.lastActiveMs());
            int order = byTime != 0 ? byTime : ties.compare(entry, top.entry());
            if (newest ? order > 0 : order < 0) {
                heap.poll();
                heap.add(new Read<>(entry, lastActive));
            }
        }
        List<T> kept = new ArrayList<>(heap.size());
        while (!heap.isEmpty()) {
            kept.add(heap.poll().entry());
        }
        return kept;
    }
}
