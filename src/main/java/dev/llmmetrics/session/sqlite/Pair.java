package dev.llmmetrics.session.sqlite;

import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.session.PairFigures;

/**
 * The figures of one (session, model label) pair, as its row in the {@code pair} table holds them. The writer
 * changes a copy it made for its transaction; a pair published in a {@link Row} is never changed again, so
 * readers need no lock.
 */
final class Pair {

    final int ordinal;
    final String label;
    long successes;
    long failures;
    long toolCallRequests;
    long durationMs;
    long maxDurationMs;
    long promptTokens;
    long maxPromptTokens;
    long completionTokens;
    long maxCompletionTokens;
    long totalTokens;
    long cachedTokens;
    long reasoningTokens;
    long pricedRequests;
    long costPicoUsd;

    Pair(int ordinal, String label) {
        this.ordinal = ordinal;
        this.label = label;
    }

    Pair copy() {
        Pair c = new Pair(ordinal, label);
        c.successes = successes;
        c.failures = failures;
        c.toolCallRequests = toolCallRequests;
        c.durationMs = durationMs;
        c.maxDurationMs = maxDurationMs;
        c.promptTokens = promptTokens;
        c.maxPromptTokens = maxPromptTokens;
        c.completionTokens = completionTokens;
        c.maxCompletionTokens = maxCompletionTokens;
        c.totalTokens = totalTokens;
        c.cachedTokens = cachedTokens;
        c.reasoningTokens = reasoningTokens;
        c.pricedRequests = pricedRequests;
        c.costPicoUsd = costPicoUsd;
        return c;
    }

    /** @param cost what the request cost in picodollars, or -1 when its model has no price */
    void completed(LlmRequestCompleted e, long cost) {
        successes++;
        durationMs += e.durationMs();
        maxDurationMs = Math.max(maxDurationMs, e.durationMs());
        promptTokens += e.promptTokens();
        maxPromptTokens = Math.max(maxPromptTokens, e.promptTokens());
        completionTokens += e.completionTokens();
        maxCompletionTokens = Math.max(maxCompletionTokens, e.completionTokens());
        totalTokens += e.totalTokens();
        cachedTokens += e.cachedTokens();
        reasoningTokens += e.reasoningTokens();
        if (e.hasToolCalls()) {
            toolCallRequests++;
        }
        if (cost >= 0) {
            pricedRequests++;
            costPicoUsd = saturatedAdd(costPicoUsd, cost);
        }
    }

    void failed() {
        failures++;
    }

    PairFigures figures(String sessionId) {
        return PairFigures.builder(sessionId, label).successes(successes).failures(failures)
                .toolCallRequests(toolCallRequests).durationMs(durationMs).maxDurationMs(maxDurationMs)
                .promptTokens(promptTokens).maxPromptTokens(maxPromptTokens).completionTokens(completionTokens)
                .maxCompletionTokens(maxCompletionTokens).pricedRequests(pricedRequests).costPicoUsd(costPicoUsd).build();
    }

    /** Costs stay exact up to {@link Long#MAX_VALUE} picodollars, where they stay. */
    static long saturatedAdd(long a, long b) {
        return a > Long.MAX_VALUE - b ? Long.MAX_VALUE : a + b;
    }
}
