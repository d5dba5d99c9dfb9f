package dev.llmmetrics.bench;

import dev.llmmetrics.event.LlmRequestCompleted;
import java.util.concurrent.atomic.LongAdder;

/**
 * The floor: one {@link LongAdder} update per value our pipeline aggregates for a completed request, on
 * cells resolved in advance (no lookup, no lock, no allocation). {@value #UPDATES} updates per event:
 * <ol>
 *   <li>bus: events published of the type (1);</li>
 *   <li>per model (10): requests{outcome=success}; duration count, sum, histogram bucket; prompt tokens
 *       count, sum, bucket; completion tokens count, sum, bucket;</li>
 *   <li>per (session, model) (8): requests{outcome=success}; duration count, sum; prompt tokens count,
 *       sum; completion tokens count, sum; tool-call requests (adds 0 or 1);</li>
 *   <li>session store aggregates (6): successful requests, total duration, prompt, completion and total
 *       tokens, requests with tools (adds 0 or 1).</li>
 * </ol>
 * Not in the floor, though our pipeline does them: the six {@code _max} gauges, the in-flight gauge, the
 * recent-record ring (8 columns and the last-active time) and the bound bookkeeping. So the floor is
 * strictly less work than ours; the bucket index is computed per event, as any recorder must.
 */
public final class LongAdderFloor {

    /** LongAdder updates per completed event. */
    public static final int UPDATES = 25;

    private static final int BUCKETS = 15;

    private final LongAdder published = new LongAdder();
    /** [model][0..6]: requests, duration count, duration sum, prompt count, prompt sum, completion count, completion sum. */
    private final LongAdder[][] model;
    /** [model][bucket] for duration, prompt and completion. */
    private final LongAdder[][] durationBuckets;
    private final LongAdder[][] promptBuckets;
    private final LongAdder[][] completionBuckets;
    /** [session][0..7]: the per-(session, model) values. */
    private final LongAdder[][] sessionModel;
    /** [session][0..5]: the store's aggregates. */
    private final LongAdder[][] store;

    public LongAdderFloor(int sessions, int models) {
        model = cells(models, 7);
        durationBuckets = cells(models, BUCKETS);
        promptBuckets = cells(models, BUCKETS);
        completionBuckets = cells(models, BUCKETS);
        sessionModel = cells(sessions, 8);
        store = cells(sessions, 6);
    }

    /** Records {@code e} for session index {@code s} and model index {@code m}. */
    public void completed(LlmRequestCompleted e, int s, int m) {
        long duration = e.durationMs();
        int prompt = e.promptTokens();
        int completion = e.completionTokens();
        long tools = e.hasToolCalls() ? 1 : 0;

        published.increment();

        LongAdder[] mm = model[m];
        mm[0].increment();
        mm[1].increment();
        mm[2].add(duration);
        durationBuckets[m][durationBucket(duration)].increment();
        mm[3].increment();
        mm[4].add(prompt);
        promptBuckets[m][tokenBucket(prompt)].increment();
        mm[5].increment();
        mm[6].add(completion);
        completionBuckets[m][tokenBucket(completion)].increment();

        LongAdder[] sm = sessionModel[s];
        sm[0].increment();
        sm[1].increment();
        sm[2].add(duration);
        sm[3].increment();
        sm[4].add(prompt);
        sm[5].increment();
        sm[6].add(completion);
        sm[7].add(tools);

        LongAdder[] st = store[s];
        st[0].increment();
        st[1].add(duration);
        st[2].add(prompt);
        st[3].add(completion);
        st[4].add(e.totalTokens());
        st[5].add(tools);
    }

    /** Sum of every cell, so that nothing can be optimised away. */
    public long sum() {
        long sum = published.sum();
        for (LongAdder[][] table : new LongAdder[][][] {model, durationBuckets, promptBuckets, completionBuckets, sessionModel, store}) {
            for (LongAdder[] row : table) {
                for (LongAdder cell : row) {
                    sum += cell.sum();
                }
            }
        }
        return sum;
    }

    /** Buckets 10 ms doubling: index of the first bound at or above the value, 14 for +Inf. */
    private static int durationBucket(long ms) {
        if (ms <= 10) {
            return 0;
        }
        return Math.min(BUCKETS - 1, 64 - Long.numberOfLeadingZeros((ms - 1) / 10));
    }

    /** Buckets powers of 4: index of the first bound at or above the value, 14 for +Inf. */
    private static int tokenBucket(int tokens) {
        if (tokens <= 1) {
            return 0;
        }
        return Math.min(BUCKETS - 1, (33 - Integer.numberOfLeadingZeros(tokens - 1)) / 2);
    }

    private static LongAdder[][] cells(int rows, int columns) {
        LongAdder[][] cells = new LongAdder[rows][columns];
        for (LongAdder[] row : cells) {
            for (int i = 0; i < columns; i++) {
                row[i] = new LongAdder();
            }
        }
        return cells;
    }
}
