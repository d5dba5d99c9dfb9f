package dev.llmmetrics.store;

import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import java.time.Instant;
import java.util.List;

/**
 * One session's mutable state in the {@link InMemorySessionStore}. Every method but
 * {@link #lastActiveMs()} must be called while holding the instance's monitor: the lock is per session,
 * never global.
 */
final class SessionState {

    final String id;
    private volatile long lastActiveMs;
    private boolean removed;

    private long successful;
    private long failed;
    private long totalDurationMs;
    private long promptTokens;
    private long completionTokens;
    private long totalTokens;
    private long requestsWithTools;
    private final RecordRing records;

    SessionState(String id, int maxRecords, long nowMs) {
        this.id = id;
        this.records = new RecordRing(maxRecords);
        this.lastActiveMs = nowMs;
    }

    long lastActiveMs() {
        return lastActiveMs;
    }

    boolean removed() {
        return removed;
    }

    void markRemoved() {
        removed = true;
    }

    void touch(long nowMs) {
        lastActiveMs = nowMs;
    }

    void add(LlmRequestCompleted e, String model, long nowMs) {
        successful++;
        totalDurationMs += e.durationMs();
        promptTokens += e.promptTokens();
        completionTokens += e.completionTokens();
        totalTokens += e.totalTokens();
        if (e.hasToolCalls()) {
            requestsWithTools++;
        }
        records.add(e.timestamp().toEpochMilli(), model, e.durationMs(), e.promptTokens(),
                e.completionTokens(), e.totalTokens(), true, e.hasToolCalls(), null);
        lastActiveMs = nowMs;
    }

    void add(LlmRequestFailed e, String model, long nowMs) {
        failed++;
        long duration = e.hasDuration() ? e.durationMs() : 0L;
        records.add(e.timestamp().toEpochMilli(), model, duration, 0, 0, 0, false, false, e.error());
        lastActiveMs = nowMs;
    }

    /** The aggregates, without the records. */
    SessionMetrics summary() {
        return snapshot(List.of());
    }

    /** The aggregates and the records, oldest first. */
    SessionMetrics snapshot() {
        return snapshot(records.toList());
    }

    private SessionMetrics snapshot(List<RequestRecord> requests) {
        return new SessionMetrics(id, successful + failed, successful, failed, totalDurationMs, promptTokens,
                completionTokens, totalTokens, requestsWithTools, Instant.ofEpochMilli(lastActiveMs), requests);
    }
}
