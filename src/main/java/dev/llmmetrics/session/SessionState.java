package dev.llmmetrics.session;

import dev.llmmetrics.cost.ModelPrice;
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
    /** Which life of this session id this is: the store numbers each state it creates. */
    private final long incarnation;
    private volatile long lastActiveMs;
    private boolean removed;

    private long successful;
    private long failed;
    private long totalDurationMs;
    private long promptTokens;
    private long completionTokens;
    private long totalTokens;
    private long requestsWithTools;
    private long cachedTokens;
    private long reasoningTokens;
    private long pricedRequests;
    private long costPicoUsd;
    private final RecordRing records;

    SessionState(String id, int maxRecords, long nowMs, long incarnation) {
        this.id = id;
        this.incarnation = incarnation;
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

    /** Adds a successful request, costed with {@code price}, or counted as unpriced when it is {@code null}. */
    void add(LlmRequestCompleted e, int modelId, ModelPrice price, long nowMs) {
        successful++;
        totalDurationMs += e.durationMs();
        promptTokens += e.promptTokens();
        completionTokens += e.completionTokens();
        totalTokens += e.totalTokens();
        if (e.hasToolCalls()) {
            requestsWithTools++;
        }
        cachedTokens += e.cachedTokens();
        reasoningTokens += e.reasoningTokens();
        if (price != null) {
            pricedRequests++;
            long cost = price.costPicoUsd(e.promptTokens(), e.cachedTokens(), e.completionTokens());
            costPicoUsd = costPicoUsd > Long.MAX_VALUE - cost ? Long.MAX_VALUE : costPicoUsd + cost;
        }
        records.add(e.timestamp().toEpochMilli(), modelId, e.model(), e.durationMs(),
                e.hasTimeToFirstToken() ? e.timeToFirstTokenMs() : -1, e.promptTokens(), e.completionTokens(),
                e.totalTokens(), e.cachedTokens(), e.reasoningTokens(), true, e.hasToolCalls(), null);
        lastActiveMs = nowMs;
    }

    void add(LlmRequestFailed e, int modelId, long nowMs) {
        failed++;
        long duration = e.hasDuration() ? e.durationMs() : 0L;
        records.add(e.timestamp().toEpochMilli(), modelId, e.model(), duration, -1, 0, 0, 0, 0, 0, false, false,
                e.error());
        lastActiveMs = nowMs;
    }

    /** Changes whenever {@link #snapshot} would give something else; see {@link SessionStore#revision}. */
    String revision() {
        // Every request the snapshot shows is one more success or failure.
        return incarnation + "-" + (successful + failed);
    }

    /** The aggregates, without the records. */
    SessionMetrics summary() {
        return snapshot(List.of());
    }

    /** The aggregates and the records, oldest first, each costed with {@code prices}. */
    SessionMetrics snapshot(ModelNames names) {
        return snapshot(records.toList(names));
    }

    private SessionMetrics snapshot(List<RequestRecord> requests) {
        return new SessionMetrics(id, successful + failed, successful, failed, totalDurationMs, promptTokens,
                completionTokens, totalTokens, requestsWithTools, Instant.ofEpochMilli(lastActiveMs), requests,
                cachedTokens, reasoningTokens, new SessionCost(pricedRequests, successful - pricedRequests, costPicoUsd));
    }
}
