package dev.llmmetrics.session;

import dev.llmmetrics.event.LlmRequestCompleted;
import java.time.Instant;
import java.util.List;

/**
 * The running figures of one (session, model label) pair, as a store keeps them: counts, sums and maxima of
 * the pair's requests. A session's aggregates are the sums of its pairs ({@link #metrics}). Not thread-safe:
 * the store that owns it guards it.
 */
public final class PairTotals {

    /** The figures, in the order a store that writes them column by column uses. */
    public enum Figure {
        SUCCESSES, FAILURES, TOOL_CALL_REQUESTS, DURATION_MS, MAX_DURATION_MS, PROMPT_TOKENS, MAX_PROMPT_TOKENS,
        COMPLETION_TOKENS, MAX_COMPLETION_TOKENS, TOTAL_TOKENS, CACHED_TOKENS, REASONING_TOKENS, PRICED_REQUESTS,
        COST_PICO_USD, NO_USAGE_REQUESTS
    }

    private final String label;
    private long successes;
    private long failures;
    private long toolCallRequests;
    private long durationMs;
    private long maxDurationMs;
    private long promptTokens;
    private long maxPromptTokens;
    private long completionTokens;
    private long maxCompletionTokens;
    private long totalTokens;
    private long cachedTokens;
    private long reasoningTokens;
    private long pricedRequests;
    private long costPicoUsd;
    private long noUsageRequests;

    /** A pair with no request yet. */
    public PairTotals(String label) {
        this.label = label;
    }

    /** The pair's model label. */
    public String label() {
        return label;
    }

    /**
     * Adds a completed request.
     *
     * @param cost what it cost in picodollars, or -1 when not known
     */
    public void completed(LlmRequestCompleted e, long cost) {
        successes++;
        durationMs += e.durationMs();
        maxDurationMs = Math.max(maxDurationMs, e.durationMs());
        if (e.hasUsage()) {
            promptTokens += e.promptTokens();
            maxPromptTokens = Math.max(maxPromptTokens, e.promptTokens());
            completionTokens += e.completionTokens();
            maxCompletionTokens = Math.max(maxCompletionTokens, e.completionTokens());
            totalTokens += e.totalTokens();
            cachedTokens += e.cachedTokens();
            reasoningTokens += e.reasoningTokens();
        } else {
            noUsageRequests++;
        }
        if (e.hasToolCalls()) {
            toolCallRequests++;
        }
        if (cost >= 0) {
            pricedRequests++;
            costPicoUsd = saturatedAdd(costPicoUsd, cost);
        }
    }

    /** Adds a failed request. */
    public void failed() {
        failures++;
    }

    /** Requests the pair finished. */
    public long requests() {
        return successes + failures;
    }

    /** Tokens of the pair's completed requests. */
    public long totalTokens() {
        return totalTokens;
    }

    /** One figure, as {@link #set} takes it. */
    public long get(Figure figure) {
        return switch (figure) {
            case SUCCESSES -> successes;
            case FAILURES -> failures;
            case TOOL_CALL_REQUESTS -> toolCallRequests;
            case DURATION_MS -> durationMs;
            case MAX_DURATION_MS -> maxDurationMs;
            case PROMPT_TOKENS -> promptTokens;
            case MAX_PROMPT_TOKENS -> maxPromptTokens;
            case COMPLETION_TOKENS -> completionTokens;
            case MAX_COMPLETION_TOKENS -> maxCompletionTokens;
            case TOTAL_TOKENS -> totalTokens;
            case CACHED_TOKENS -> cachedTokens;
            case REASONING_TOKENS -> reasoningTokens;
            case PRICED_REQUESTS -> pricedRequests;
            case COST_PICO_USD -> costPicoUsd;
            case NO_USAGE_REQUESTS -> noUsageRequests;
        };
    }

    /** Sets one figure, as a store reading its pairs back does. */
    public void set(Figure figure, long value) {
        switch (figure) {
            case SUCCESSES -> successes = value;
            case FAILURES -> failures = value;
            case TOOL_CALL_REQUESTS -> toolCallRequests = value;
            case DURATION_MS -> durationMs = value;
            case MAX_DURATION_MS -> maxDurationMs = value;
            case PROMPT_TOKENS -> promptTokens = value;
            case MAX_PROMPT_TOKENS -> maxPromptTokens = value;
            case COMPLETION_TOKENS -> completionTokens = value;
            case MAX_COMPLETION_TOKENS -> maxCompletionTokens = value;
            case TOTAL_TOKENS -> totalTokens = value;
            case CACHED_TOKENS -> cachedTokens = value;
            case REASONING_TOKENS -> reasoningTokens = value;
            case PRICED_REQUESTS -> pricedRequests = value;
            case COST_PICO_USD -> costPicoUsd = value;
            case NO_USAGE_REQUESTS -> noUsageRequests = value;
        }
    }

    /** A copy with the same label and figures. */
    public PairTotals copy() {
        PairTotals copy = new PairTotals(label);
        for (Figure figure : Figure.values()) {
            copy.set(figure, get(figure));
        }
        return copy;
    }

    /** The pair's figures for the per-session series. */
    public PairFigures figures(String sessionId) {
        return PairFigures.builder(sessionId, label)
                .successes(successes)
                .failures(failures)
                .toolCallRequests(toolCallRequests)
                .durationMs(durationMs)
                .maxDurationMs(maxDurationMs)
                .promptTokens(promptTokens)
                .maxPromptTokens(maxPromptTokens)
                .completionTokens(completionTokens)
                .maxCompletionTokens(maxCompletionTokens)
                .pricedRequests(pricedRequests)
                .costPicoUsd(costPicoUsd)
                .requestsWithoutUsage(noUsageRequests)
                .build();
    }

    /**
     * A session's snapshot: its aggregates are the sums of its {@code pairs}; {@code records} oldest first;
     * {@code scores} its score names' totals, in order of first use.
     */
    public static SessionMetrics metrics(String sessionId, Instant lastActive, Iterable<PairTotals> pairs,
                                         List<RequestRecord> records, List<ScoreTotals> scores) {
        PairTotals t = new PairTotals("");
        for (PairTotals p : pairs) {
            t.successes += p.successes;
            t.failures += p.failures;
            t.toolCallRequests += p.toolCallRequests;
            t.durationMs += p.durationMs;
            t.promptTokens += p.promptTokens;
            t.completionTokens += p.completionTokens;
            t.totalTokens += p.totalTokens;
            t.cachedTokens += p.cachedTokens;
            t.reasoningTokens += p.reasoningTokens;
            t.pricedRequests += p.pricedRequests;
            t.costPicoUsd = saturatedAdd(t.costPicoUsd, p.costPicoUsd);
            t.noUsageRequests += p.noUsageRequests;
        }
        return SessionMetrics.builder(sessionId, lastActive)
                .successfulRequests(t.successes)
                .failedRequests(t.failures)
                .totalDurationMs(t.durationMs)
                .totalPromptTokens(t.promptTokens)
                .totalCompletionTokens(t.completionTokens)
                .totalTokens(t.totalTokens)
                .requestsWithTools(t.toolCallRequests)
                .requests(records)
                .totalCachedTokens(t.cachedTokens)
                .totalReasoningTokens(t.reasoningTokens)
                .requestsWithoutUsage(t.noUsageRequests)
                .cost(new SessionCost(t.pricedRequests, t.successes - t.pricedRequests, t.costPicoUsd))
                .scores(ScoreTotals.summaries(scores))
                .build();
    }

    /** Costs stay exact up to {@link Long#MAX_VALUE} picodollars, where they stay. */
    private static long saturatedAdd(long a, long b) {
        return a > Long.MAX_VALUE - b ? Long.MAX_VALUE : a + b;
    }
}
