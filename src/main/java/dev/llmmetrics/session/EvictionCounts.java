package dev.llmmetrics.session;

import java.util.concurrent.atomic.LongAdder;

/**
 * A store's count of evicted sessions per {@link EvictionReason}, what {@link SessionStore#evictions} answers.
 * Thread-safe; adding never blocks.
 */
public final class EvictionCounts {

    private final LongAdder[] byReason = new LongAdder[EvictionReason.values().length];

    /** Counts with no session evicted for any reason. */
    public EvictionCounts() {
        for (int i = 0; i < byReason.length; i++) {
            byReason[i] = new LongAdder();
        }
    }

    /** Counts {@code sessions} more sessions evicted for {@code reason}. */
    public void add(EvictionReason reason, long sessions) {
        byReason[reason.ordinal()].add(sessions);
    }

    /** How many sessions were evicted for {@code reason}. */
    public long count(EvictionReason reason) {
        return byReason[reason.ordinal()].sum();
    }
}
