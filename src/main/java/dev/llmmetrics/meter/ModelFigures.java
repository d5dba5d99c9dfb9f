package dev.llmmetrics.meter;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.ToDoubleFunction;

/**
 * The request figures of one model: the requests by outcome, the tool-call and unpriced requests,
 * the cost, and four fixed-bucket distributions (success and failure durations, prompt and completion tokens),
 * each with its count, sum and recent maximum. The meters that show a model's figures read them here.
 *
 * <p>Written by hand, as no metrics library records several distributions of one event without an atomic operation
 * on each count, sum and bucket: the figures are striped, and an event takes one stripe's lock once and writes its
 * figures plainly, so that threads recording at once rarely share a stripe and a reader takes each stripe's lock
 * in turn. A stripe is made on its first use. Thread-safe.
 */
final class ModelFigures {

    /** The distributions, by index. */
    static final int SUCCESS_DURATION = 0;
    static final int FAILURE_DURATION = 1;
    static final int PROMPT_TOKENS = 2;
    static final int COMPLETION_TOKENS = 3;
    private static final int DISTRIBUTIONS = 4;

    /**
     * How long a value stays the maximum: two to three minutes, in three windows of a minute counted from the
     * figures' making, so that the {@code _max} gauges decay when those of the timers of Micrometer's Prometheus
     * registry do (its step of a minute, three buffers, rotated from the timer's registration).
     */
    static final long MAX_WINDOW_MILLIS = 60_000;
    private static final int MAX_WINDOWS = 3;

    /** The upper bounds of each distribution's buckets, nanoseconds for durations, below the overflow bucket. */
    private static final long[][] BOUNDS = {
            durationBounds(), durationBounds(), tokenBounds(), tokenBounds()};
    private static final int BUCKETS = MeterNames.DURATION_BUCKETS.length + 1;
    private static final long FIRST_DURATION_BOUND = MeterNames.DURATION_BUCKETS[0].toNanos();
    /** Per distribution: its buckets (the last one past every bound), its window maxima; its sum is a double. */
    private static final int MAX = BUCKETS;
    private static final int SPAN = MAX + MAX_WINDOWS;
    private static final int SUCCESSES = DISTRIBUTIONS * SPAN;
    private static final int FAILURES = SUCCESSES + 1;
    private static final int TOOL_CALLS = SUCCESSES + 2;
    private static final int UNPRICED = SUCCESSES + 3;
    private static final int CELLS = SUCCESSES + 4;

    private static final int MAX_STRIPES = 64;

    private final AtomicReferenceArray<Stripe> stripes;
    private final int mask;
    /** The wall time the figures were made at, which the max windows are counted from. */
    private final long originMillis;

    /** @param originMillis the registry's wall time now, which the max windows are counted from */
    ModelFigures(long originMillis) {
        this.originMillis = originMillis;
        int wanted = Math.min(MAX_STRIPES, 2 * Runtime.getRuntime().availableProcessors());
        int count = Integer.highestOneBit(Math.max(2, wanted) * 2 - 1);
        this.stripes = new AtomicReferenceArray<>(count);
        this.mask = count - 1;
    }

    /**
     * Records a completed request.
     *
     * @param durationNanos        its duration
     * @param promptTokens         its prompt tokens, or -1 when it reported no usage
     * @param completionTokens     its completion tokens; ignored without usage
     * @param toolCalls            whether its response asked for tool calls
     * @param costUsd              its cost in US dollars, or a negative number when unknown
     * @param nowMillis            the registry's wall time, which ages the maxima
     */
    void completed(long durationNanos, long promptTokens, long completionTokens, boolean toolCalls, double costUsd,
                   long nowMillis) {
        Stripe stripe = lock();
        try {
            long[] cells = stripe.cells;
            int window = stripe.window(nowMillis - originMillis);
            cells[SUCCESSES]++;
            if (toolCalls) {
                cells[TOOL_CALLS]++;
            }
            record(stripe, SUCCESS_DURATION, durationNanos, window);
            if (promptTokens >= 0) {
                record(stripe, PROMPT_TOKENS, promptTokens, window);
                record(stripe, COMPLETION_TOKENS, completionTokens, window);
            }
            if (costUsd >= 0) {
                stripe.costUsd += costUsd;
            } else {
                cells[UNPRICED]++;
            }
        } finally {
            stripe.unlock();
        }
    }

    /**
     * Records a failed request.
     *
     * @param durationNanos its duration, or -1 when unknown
     * @param nowMillis     the registry's wall time, which ages the maxima
     */
    void failed(long durationNanos, long nowMillis) {
        Stripe stripe = lock();
        try {
            stripe.cells[FAILURES]++;
            if (durationNanos >= 0) {
                record(stripe, FAILURE_DURATION, durationNanos, stripe.window(nowMillis - originMillis));
            }
        } finally {
            stripe.unlock();
        }
    }

    private static void record(Stripe stripe, int distribution, long value, int window) {
        long[] cells = stripe.cells;
        int base = distribution * SPAN;
        cells[base + (distribution <= FAILURE_DURATION ? durationBucket(value) : tokenBucket(value))]++;
        stripe.sums[distribution] += value;
        int max = base + MAX + window;
        if (value > cells[max]) {
            cells[max] = value;
        }
    }

    /**
     * The bucket of a duration: the first of the bounds (10 ms doubling) at or above it, the bucket of its ceiling
     * as Micrometer counts, found by arithmetic rather than a search, whose branches mispredict on values that vary.
     */
    static int durationBucket(long nanos) {
        long multiples = Math.max(1, Math.ceilDiv(nanos, FIRST_DURATION_BOUND));
        return Math.min(BUCKETS - 1, 64 - Long.numberOfLeadingZeros(multiples - 1));
    }

    /** The bucket of a token count: the first of the bounds (powers of four) at or above it, found by arithmetic. */
    static int tokenBucket(long tokens) {
        int bits = 64 - Long.numberOfLeadingZeros(Math.max(1, tokens) - 1);
        return Math.min(BUCKETS - 1, (bits + 1) >>> 1);
    }

    long successes() {
        return sum(SUCCESSES);
    }

    long failures() {
        return sum(FAILURES);
    }

    long toolCallRequests() {
        return sum(TOOL_CALLS);
    }

    long unpricedRequests() {
        return sum(UNPRICED);
    }

    double costUsd() {
        return totalOf(stripe -> stripe.costUsd);
    }

    /** The count of values in {@code distribution}. */
    long count(int distribution) {
        return snapshot(distribution, 0).count();
    }

    /** The sum of the values in {@code distribution}. */
    double total(int distribution) {
        return totalOf(stripe -> stripe.sums[distribution]);
    }

    /** The values of {@code distribution} as they stand, its maximum as of {@code nowMillis}. */
    Distribution snapshot(int distribution, long nowMillis) {
        int base = distribution * SPAN;
        long[] buckets = new long[BUCKETS];
        double sum = 0;
        long max = 0;
        long epoch = Math.floorDiv(nowMillis - originMillis, MAX_WINDOW_MILLIS);
        for (int i = 0; i < stripes.length(); i++) {
            Stripe stripe = stripes.get(i);
            if (stripe == null) {
                continue;
            }
            stripe.lockToRead();
            try {
                for (int b = 0; b < BUCKETS; b++) {
                    buckets[b] += stripe.cells[base + b];
                }
                sum += stripe.sums[distribution];
                for (int w = 0; w < MAX_WINDOWS; w++) {
                    if (epoch - stripe.epochs[w] < MAX_WINDOWS) {
                        max = Math.max(max, stripe.cells[base + MAX + w]);
                    }
                }
            } finally {
                stripe.unlock();
            }
        }
        return new Distribution(BOUNDS[distribution], buckets, sum, max);
    }

    /**
     * One distribution's values at a time.
     *
     * @param bounds  the buckets' upper bounds, but for the last bucket's, which has none
     * @param buckets the count of each bucket, not cumulative
     * @param sum     the sum of the values
     * @param max     the largest value of the last two to three minutes, 0 when none
     */
    record Distribution(long[] bounds, long[] buckets, double sum, long max) {

        long count() {
            long count = 0;
            for (long bucket : buckets) {
                count += bucket;
            }
            return count;
        }

        /** The count of values at or below the bound of bucket {@code index}, the last one's being every value. */
        long cumulativeCount(int index) {
            long count = 0;
            for (int b = 0; b <= index; b++) {
                count += buckets[b];
            }
            return count;
        }
    }

    private long sum(int cell) {
        return (long) totalOf(stripe -> stripe.cells[cell]);
    }

    /** The sum of {@code part} over the stripes, each read under its lock. */
    private double totalOf(ToDoubleFunction<Stripe> part) {
        double total = 0;
        for (int i = 0; i < stripes.length(); i++) {
            Stripe stripe = stripes.get(i);
            if (stripe != null) {
                stripe.lockToRead();
                try {
                    total += part.applyAsDouble(stripe);
                } finally {
                    stripe.unlock();
                }
            }
        }
        return total;
    }

    /**
     * A stripe this thread holds the lock of: its own first, else the next free one, so that a writer never waits
     * while another stripe is free.
     */
    private Stripe lock() {
        int home = spread(Thread.currentThread().threadId()) & mask;
        while (true) {
            for (int i = 0; i <= mask; i++) {
                Stripe stripe = stripe((home + i) & mask);
                if (stripe.tryLock()) {
                    return stripe;
                }
            }
            Thread.onSpinWait();
        }
    }

    private Stripe stripe(int index) {
        Stripe stripe = stripes.get(index);
        if (stripe == null) {
            Stripe made = new Stripe();
            stripe = stripes.compareAndExchange(index, null, made);
            if (stripe == null) {
                stripe = made;
            }
        }
        return stripe;
    }

    private static int spread(long id) {
        long h = id * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    private static long[] durationBounds() {
        return Arrays.stream(MeterNames.DURATION_BUCKETS).mapToLong(d -> d.toNanos()).toArray();
    }

    private static long[] tokenBounds() {
        return Arrays.stream(MeterNames.TOKEN_BUCKETS).mapToLong(b -> (long) b).toArray();
    }

    /** Converts {@code nanos} to the seconds a Prometheus duration is in. */
    static double seconds(double nanos) {
        return nanos / (double) TimeUnit.SECONDS.toNanos(1);
    }

    /** One stripe of the figures: a lock word and the cells it guards. */
    private static final class Stripe {

        private static final VarHandle LOCK;

        static {
            try {
                LOCK = MethodHandles.lookup().findVarHandle(Stripe.class, "lock", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        @SuppressWarnings("unused") // through LOCK
        private volatile int lock;
        final long[] cells = new long[CELLS];
        /**
         * The epoch of each max window (the time since the figures' making over {@code MAX_WINDOW_MILLIS}), that
         * window's index its remainder.
         */
        final long[] epochs = {Long.MIN_VALUE / 2, Long.MIN_VALUE / 2, Long.MIN_VALUE / 2};
        double costUsd;
        /**
         * Each distribution's sum, a double as Micrometer's timers and summaries keep theirs: a long of nanoseconds
         * wraps, to a negative sum, once the durations of all requests add up to a few centuries, which long
         * requests of a busy server reach.
         */
        final double[] sums = new double[DISTRIBUTIONS];
        /** The current max window's wall-time span and index, so that most events divide nothing. */
        private long windowStart = Long.MAX_VALUE;
        private long windowEnd = Long.MIN_VALUE;
        private int window;

        boolean tryLock() {
            return LOCK.compareAndSet(this, 0, 1);
        }

        void lockToRead() {
            while (!tryLock()) {
                Thread.onSpinWait();
            }
        }

        void unlock() {
            LOCK.setRelease(this, 0);
        }

        /**
         * The max window of {@code sinceMillis}, the time since the figures' making, cleared when it last held an
         * older epoch; called under the lock.
         */
        int window(long sinceMillis) {
            if (sinceMillis >= windowStart && sinceMillis < windowEnd) {
                return window;
            }
            long epoch = Math.floorDiv(sinceMillis, MAX_WINDOW_MILLIS);
            int index = (int) Math.floorMod(epoch, MAX_WINDOWS);
            if (epochs[index] != epoch) {
                epochs[index] = epoch;
                for (int d = 0; d < DISTRIBUTIONS; d++) {
                    cells[d * SPAN + MAX + index] = 0;
                }
            }
            windowStart = epoch * MAX_WINDOW_MILLIS;
            windowEnd = windowStart + MAX_WINDOW_MILLIS;
            window = index;
            return index;
        }
    }
}
