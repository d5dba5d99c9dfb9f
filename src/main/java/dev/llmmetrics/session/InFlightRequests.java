package dev.llmmetrics.session;

import dev.llmmetrics.cost.ModelCatalog.Model;
import dev.llmmetrics.cost.ModelCatalog;
import java.time.Duration;
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
 *
 * <p>A start whose end never comes (its producer died) must not count for as long as its session stays active, so
 * a session counts its starts in {@value #BUCKETS} buckets by start time, each a quarter of the timeout wide: a
 * bucket stops counting once its start is the timeout old ({@link #expire}, which every start and end of the session
 * and the store's idle sweep call), so a start counts for at most the timeout, and for at least three quarters of
 * it. An end that says how long its call ran takes one off the bucket its start fell in (its time less the duration),
 * so that each call's end meets its own start and a start whose end never came is the one left to expire, however
 * many calls of the session overlap it; one whose start's bucket is over takes nothing (its start left with it).
 * An end without a duration, or whose bucket holds none (a start received late), takes one off the nearest bucket
 * that has one, newer ones first, the newest first when it says no duration.
 */
public final class InFlightRequests {

    /** How many buckets of start times a session's label keeps; a power of 2, so a bucket's slot is a mask. */
    static final int BUCKETS = 4;
    /** How long after its call began a start may reach the store, as an end's bucket is found. */
    static final long START_LATENESS_MS = 10_000;
    /** The key of {@link ModelCatalog#OTHER_LABEL} in a session's counts; other keys are models' numbers. */
    private static final int OTHER = -1;
    /** A further label's place in {@link Session#more}: its key, then its count in each slot. */
    private static final int GROUP = 1 + BUCKETS;

    private final ModelCatalog catalog;
    private final long bucketMs;
    private final AtomicLongArray byNumber = new AtomicLongArray(ModelCatalog.MAX_NUMBERED);
    private final AtomicLong other = new AtomicLong();

    /**
     * Counts the models as {@code catalog} labels them; a start stops counting once {@code timeout} (at least 1 ms)
     * has passed since it, as {@link #expire} says.
     */
    public InFlightRequests(ModelCatalog catalog, Duration timeout) {
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        this.bucketMs = bucketMs(timeout);
    }

    /**
     * The width in ms of a bucket of start times for {@code timeout} (at least 1 ms): a quarter of it, at least 1 ms;
     * so that a store counting elsewhere (in Redis) buckets its starts as this does.
     */
    public static long bucketMs(Duration timeout) {
        long ms = Objects.requireNonNull(timeout, "timeout").compareTo(Duration.ofMillis(Long.MAX_VALUE)) > 0
                ? Long.MAX_VALUE : timeout.toMillis();
        if (ms < 1) {
            throw new IllegalArgumentException("timeout must be at least 1 ms, was " + timeout);
        }
        return Math.max(1, ms / BUCKETS);
    }

    /** A request of {@code model} started in {@code session} at {@code nowMs}. */
    public void started(Session session, Model model, long nowMs) {
        expire(session, nowMs);
        int key = key(model);
        if (session.addOne(key, (int) (session.bucket & (BUCKETS - 1)))) {
            add(key, 1);
        }
    }

    /**
     * A request of {@code model} ended in {@code session} at {@code nowMs} after running {@code durationMs}
     * ({@code -1} when the end does not say): one is taken off, from the bucket its start fell in when it holds
     * one, else from the nearest that does, newer ones first; nothing when its start's bucket is over, or the
     * session holds none. A start reaches the store a little after its call began ({@link #START_LATENESS_MS} at
     * most, a quarter of a bucket for short timeouts), so an end whose call began within that before a bucket's edge
     * looks in the bucket after the edge first.
     */
    public void ended(Session session, Model model, long nowMs, long durationMs) {
        expire(session, nowMs);
        long newest = session.bucket;
        int late = 0;
        int early = 0;
        if (durationMs >= 0 && nowMs - durationMs < newest * bucketMs) { // else it began in the newest bucket
            long began = nowMs - durationMs;
            long lateBehind = newest - Math.floorDiv(began + Math.min(START_LATENESS_MS, bucketMs / 4), bucketMs);
            if (lateBehind >= BUCKETS) {
                return; // its start's bucket is over: the start left the counts then
            }
            late = (int) Math.max(0, lateBehind);
            long earlyBehind = newest - Math.floorDiv(began, bucketMs);
            early = earlyBehind < BUCKETS ? (int) Math.max(late, earlyBehind) : late;
        }
        int key = key(model);
        if (session.takeOne(key, (int) (newest & (BUCKETS - 1)), late, early)) {
            add(key, -1);
        }
    }

    /**
     * The bucket, as an offset behind the newest, that the {@code k}-th try of an end looks in, whose start fell
     * {@code late} behind the newest as the store received it and {@code early} (the same or one more) as its call
     * began: those two, then the newer ones, then the older ones.
     */
    static int tryOffset(int late, int early, int k) {
        if (k == 0) {
            return late;
        }
        int shift = early - late; // 0 or 1: the buckets tried before the newer ones
        if (k <= shift) {
            return early;
        }
        int newer = k - shift; // the late bucket's newer neighbours, one by one
        return newer <= late ? late - newer : k;
    }

    /**
     * Drops the starts of {@code session} whose bucket began the timeout or longer before {@code nowMs}: they leave
     * the sums. A clock going back drops nothing, and later starts count in the newest bucket the session has; but
     * one gone back the whole timeout or more (it had been set ahead) makes the current bucket the newest, the counts
     * kept, so that they stop within the timeout of the clock's time rather than of the time it had been set to.
     */
    public void expire(Session session, long nowMs) {
        long newest = session.bucket;
        if (newest != Long.MIN_VALUE && nowMs - newest * bucketMs >= 0 && nowMs - newest * bucketMs < bucketMs) {
            return; // still in the newest bucket, found without a division: the case of nearly every event
        }
        long current = Math.floorDiv(nowMs, bucketMs);
        if (current <= newest) {
            if (newest - current >= BUCKETS) {
                session.bucket = current;
            }
            return;
        }
        if (!session.isEmpty()) {
            long last = current - newest >= BUCKETS ? newest + BUCKETS : current;
            for (long b = newest + 1; b <= last; b++) {
                session.drop((int) (b & (BUCKETS - 1)), this);
            }
        }
        session.bucket = current;
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
        return catalog.known(label).filter(model -> !model.sharesLabel()).map(model -> byNumber.get(model.number()))
                .orElse(0L);
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
     * One session's requests in flight per model label: its starts less the ends after them, never below 0, in
     * {@value #BUCKETS} slots by start time (the slot of bucket {@code b} is {@code b % BUCKETS}; the newest bucket
     * is {@link #bucket}, the others the three before it). The first label is kept in fields, so that a store may
     * extend this class to keep the counts of most sessions in the session's own object; further labels take an
     * array. Not thread-safe: the owner of the session guards it.
     */
    public static class Session {

        /**
         * The newest bucket of start times counted, as {@link #expire} numbers them; volatile so that a sweep may
         * skip, without the session's guard, a session already expired in the current bucket.
         */
        private volatile long bucket = Long.MIN_VALUE;
        /** A label with requests in flight, or none while its counts are all 0. */
        private int firstKey;
        /** The first label's starts in each slot: {@code int}s, as a slot's count is bounded ({@link #addOne}). */
        private int first0;
        private int first1;
        private int first2;
        private int first3;
        /**
         * Keys and counts per slot, in groups of {@value #GROUP}, of {@link #moreSize} further labels; {@code null}
         * until a second label.
         */
        private long @Nullable [] more;
        private int moreSize;

        /** Whether the session has no request in flight. */
        public final boolean isEmpty() {
            return firstEmpty() && moreSize == 0;
        }

        /**
         * Whether {@link InFlightRequests#expire} at {@code nowMs} may drop some of the session's starts, as far as a
         * read without the session's guard tells: {@code false} when the session was expired in the current bucket
         * (or a later one less than the timeout ahead).
         */
        public final boolean mayExpire(InFlightRequests by, long nowMs) {
            long current = Math.floorDiv(nowMs, by.bucketMs);
            long newest = bucket;
            return current > newest || newest - current >= BUCKETS;
        }

        /** What the counts of labels past the first take on the heap. */
        public final long inFlightBytes() {
            return more == null ? 0 : RecordRing.ARRAY_HEADER + 8L * more.length;
        }

        private boolean firstEmpty() {
            return (first0 | first1 | first2 | first3) == 0;
        }

        private int first(int slot) {
            return switch (slot) {
                case 0 -> first0;
                case 1 -> first1;
                case 2 -> first2;
                default -> first3;
            };
        }

        private void setFirst(int slot, int count) {
            switch (slot) {
                case 0 -> first0 = count;
                case 1 -> first1 = count;
                case 2 -> first2 = count;
                default -> first3 = count;
            }
        }

        /**
         * Counts one more start of the label of {@code key} in {@code slot}; {@code false}, counting nothing, when the
         * first label's slot holds {@link Integer#MAX_VALUE} starts already (more than any producer sends in a bucket).
         */
        private boolean addOne(int key, int slot) {
            if (firstKey == key && !firstEmpty()) {
                int count = first(slot);
                if (count == Integer.MAX_VALUE) {
                    return false;
                }
                setFirst(slot, count + 1);
                return true;
            }
            for (int i = 0; i < moreSize; i++) {
                if (more[GROUP * i] == key) {
                    more[GROUP * i + 1 + slot]++;
                    return true;
                }
            }
            if (firstEmpty()) {
                firstKey = key;
                setFirst(slot, 1);
                return true;
            }
            if (more == null) {
                more = new long[GROUP];
            } else if (GROUP * moreSize == more.length) {
                more = Arrays.copyOf(more, 2 * more.length);
            }
            int at = GROUP * moreSize;
            Arrays.fill(more, at, at + GROUP, 0);
            more[at] = key;
            more[at + 1 + slot] = 1;
            moreSize++;
            return true;
        }

        /**
         * Takes one start of the label of {@code key} off, from the slots behind the {@code newest} as
         * {@link #tryOffset} orders them for {@code late} and {@code early}; {@code false} when the session holds none.
         */
        private boolean takeOne(int key, int newest, int late, int early) {
            if (firstKey == key && !firstEmpty()) {
                for (int k = 0; k < BUCKETS; k++) {
                    int slot = (newest - tryOffset(late, early, k)) & (BUCKETS - 1);
                    int count = first(slot);
                    if (count > 0) {
                        setFirst(slot, count - 1);
                        return true;
                    }
                }
            }
            for (int i = 0; i < moreSize; i++) {
                int at = GROUP * i;
                if (more[at] == key) {
                    for (int k = 0; k < BUCKETS; k++) {
                        int slot = (newest - tryOffset(late, early, k)) & (BUCKETS - 1);
                        if (more[at + 1 + slot] > 0) {
                            more[at + 1 + slot]--;
                            removeIfEmpty(i);
                            return true;
                        }
                    }
                }
            }
            return false;
        }

        /** Takes the counts of {@code slot}, of every label, off {@code from}: that bucket is over. */
        private void drop(int slot, InFlightRequests from) {
            long count = first(slot);
            if (count > 0) {
                from.add(firstKey, -count);
                setFirst(slot, 0);
            }
            for (int i = moreSize - 1; i >= 0; i--) {
                int at = GROUP * i + 1 + slot;
                if (more[at] > 0) {
                    from.add((int) more[GROUP * i], -more[at]);
                    more[at] = 0;
                    removeIfEmpty(i);
                }
            }
        }

        /** A further label none is in flight of takes no place: the last one moves into its group. */
        private void removeIfEmpty(int i) {
            int at = GROUP * i;
            for (int k = 1; k <= BUCKETS; k++) {
                if (more[at + k] != 0) {
                    return;
                }
            }
            moreSize--;
            System.arraycopy(more, GROUP * moreSize, more, at, GROUP);
        }

        /** Takes every count off {@code from}, then holds none. */
        private void leave(InFlightRequests from) {
            for (int slot = 0; slot < BUCKETS; slot++) {
                long count = first(slot);
                if (count > 0) {
                    from.add(firstKey, -count);
                }
            }
            first0 = first1 = first2 = first3 = 0;
            for (int i = 0; i < moreSize; i++) {
                for (int k = 1; k <= BUCKETS; k++) {
                    from.add((int) more[GROUP * i], -more[GROUP * i + k]);
                }
            }
            moreSize = 0;
        }
    }
}
