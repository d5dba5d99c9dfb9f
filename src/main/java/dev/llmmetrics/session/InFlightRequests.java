package dev.llmmetrics.session;

import dev.llmmetrics.cost.ModelCatalog.Model;
import dev.llmmetrics.cost.ModelCatalog;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.jspecify.annotations.Nullable;

/**
 * Requests in flight per model label, as {@link SessionStore#inFlight(String)} defines them, for a store whose
 * events all pass through this process: each session counts its own ({@link Session}), and this counts their sum,
 * so that a session leaving the store takes its requests in flight with it ({@link #left}). A numbered model with a
 * label of its own counts in its slot, every other model under {@link ModelCatalog#OTHER_LABEL}, as the meters
 * label them. The sums are lock-free; a session's counts are guarded by whoever guards its session, and each
 * method taking a {@link Session} must be called under that guard.
 */
public final class InFlightRequests {

    /** The key of {@link ModelCatalog#OTHER_LABEL} in a session's counts; other keys are models' numbers. */
    private static final int OTHER = -1;

    private final ModelCatalog catalog;
    private final AtomicLongArray byNumber = new AtomicLongArray(ModelCatalog.MAX_NUMBERED);
    private final AtomicLong other = new AtomicLong();

    /** Counts the models as {@code catalog} labels them. */
    public InFlightRequests(ModelCatalog catalog) {
        this.catalog = Objects.requireNonNull(catalog, "catalog");
    }

    /** A request of {@code model} started in {@code session}. */
    public void started(Session session, Model model) {
        int key = key(model);
        session.addOne(key);
        add(key, 1);
    }

    /** A request of {@code model} ended in {@code session}: one is taken off while the session holds one. */
    public void ended(Session session, Model model) {
        int key = key(model);
        if (session.takeOne(key)) {
            add(key, -1);
        }
    }

    /** {@code session} left the store: its requests in flight leave the sums, and it holds none afterwards. */
    public void left(Session session) {
        session.leave(this);
    }

    /** The requests of {@code label} in flight; 0 for a label never counted. */
    public long count(String label) {
        if (label.equals(ModelCatalog.OTHER_LABEL)) {
            return other.get();
        }
        Model model = catalog.known(label);
        return model == null || model.sharesLabel() ? 0 : byNumber.get(model.number());
    }

    /** The requests in flight of every label that has some. */
    public Map<String, Long> byLabel() {
        Map<String, Long> counts = new TreeMap<>();
        for (int number = 0; number < byNumber.length(); number++) {
            long count = byNumber.get(number);
            if (count > 0) {
                counts.put(catalog.model(number).label(), count);
            }
        }
        long others = other.get();
        if (others > 0) {
            counts.put(ModelCatalog.OTHER_LABEL, others);
        }
        return counts;
    }

    private static int key(Model model) {
        return model.sharesLabel() ? OTHER : model.number();
    }

    private void add(int key, long delta) {
        if (key == OTHER) {
            other.addAndGet(delta);
        } else {
            byNumber.addAndGet(key, delta);
        }
    }

    /**
     * One session's requests in flight per model label: its starts less the ends after them, never below 0. The
     * first label is kept in fields, so that a store may extend this class to keep the counts of most sessions in
     * the session's own object; further labels take an array. Not thread-safe: the owner of the session guards it.
     */
    public static class Session {

        /** A label with requests in flight, or none while {@link #firstCount} is 0. */
        private int firstKey;
        private long firstCount;
        /** Keys and counts, in pairs, of {@link #moreSize} further labels; {@code null} until a second label. */
        private long @Nullable [] more;
        private int moreSize;

        /** Whether the session has no request in flight. */
        public final boolean isEmpty() {
            return firstCount == 0 && moreSize == 0;
        }

        /** What the counts of labels past the first take on the heap. */
        public final long inFlightBytes() {
            return more == null ? 0 : RecordRing.ARRAY_HEADER + 8L * more.length;
        }

        /** Counts one more start of the label of {@code key}. */
        private void addOne(int key) {
            if (firstCount > 0 && firstKey == key) {
                firstCount++;
                return;
            }
            for (int i = 0; i < moreSize; i++) {
                if (more[2 * i] == key) {
                    more[2 * i + 1]++;
                    return;
                }
            }
            if (firstCount == 0) {
                firstKey = key;
                firstCount = 1;
                return;
            }
            if (more == null) {
                more = new long[2];
            } else if (2 * moreSize == more.length) {
                more = Arrays.copyOf(more, 2 * more.length);
            }
            more[2 * moreSize] = key;
            more[2 * moreSize + 1] = 1;
            moreSize++;
        }

        /** Takes one start of the label of {@code key} off; {@code false} when the session holds none. */
        private boolean takeOne(int key) {
            if (firstCount > 0 && firstKey == key) {
                firstCount--;
                return true;
            }
            for (int i = 0; i < moreSize; i++) {
                if (more[2 * i] == key) {
                    if (--more[2 * i + 1] == 0) { // a label none is in flight of takes no place: the last one moves in
                        moreSize--;
                        more[2 * i] = more[2 * moreSize];
                        more[2 * i + 1] = more[2 * moreSize + 1];
                    }
                    return true;
                }
            }
            return false;
        }

        /** Takes every count off {@code from}, then holds none. */
        private void leave(InFlightRequests from) {
            if (firstCount > 0) {
                from.add(firstKey, -firstCount);
                firstCount = 0;
            }
            for (int i = 0; i < moreSize; i++) {
                from.add((int) more[2 * i], -more[2 * i + 1]);
            }
            moreSize = 0;
        }
    }
}
