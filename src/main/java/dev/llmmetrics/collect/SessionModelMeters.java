package dev.llmmetrics.collect;

import dev.llmmetrics.cost.ModelPrice;
import static dev.llmmetrics.collect.MeterNames.*;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The meters of one (session, model) pair; no histogram buckets, removed with their session. The failure,
 * tool-call and cost counters are registered on their first increment: most sessions never need them, and a
 * new session's cost is mostly meter registration.
 */
final class SessionModelMeters {

    private final String session;
    private final String model;
    private final MeterRegistry registry;
    private final Counter successes;
    private final Timer duration;
    private final DistributionSummary promptTokens;
    private final DistributionSummary completionTokens;
    private volatile Counter failures;
    private volatile Counter toolCallRequests;
    private volatile Counter cost;
    /** Set once the session's meters left the registry; guarded by this instance's monitor. */
    private boolean removed;

    SessionModelMeters(String session, String model, MeterRegistry registry) {
        this.session = session;
        this.model = model;
        this.registry = registry;
        successes = requests(registry, session, model, OUTCOME_SUCCESS);
        duration = Timer.builder(SESSION_REQUEST_DURATION)
                .description("Duration of the successful LLM requests of a session, by model")
                .tags(TAG_SESSION, session, TAG_MODEL, model)
                .register(registry);
        promptTokens = tokens(registry, session, model, TYPE_PROMPT);
        completionTokens = tokens(registry, session, model, TYPE_COMPLETION);
    }

    /**
     * Records a completed request.
     *
     * @param costPicoUsd what it cost, or a negative value when its model has no price
     */
    void completed(long durationMs, int prompt, int completion, boolean hasToolCalls, long costPicoUsd) {
        successes.increment();
        duration.record(durationMs, TimeUnit.MILLISECONDS);
        promptTokens.record(prompt);
        completionTokens.record(completion);
        if (hasToolCalls) {
            Counter toolCalls = toolCallRequests != null ? toolCallRequests : registerToolCallRequests();
            if (toolCalls != null) {
                toolCalls.increment();
            }
        }
        if (costPicoUsd >= 0) {
            Counter costs = cost != null ? cost : registerCost();
            if (costs != null) {
                costs.increment(ModelPrice.usd(costPicoUsd));
            }
        }
    }

    void failed() {
        Counter failed = failures != null ? failures : registerFailures();
        if (failed != null) {
            failed.increment();
        }
    }

    /**
     * Marks these meters removed and returns the ones registered, for the caller to remove from the
     * registry; a lazy counter is never registered after this.
     */
    synchronized List<Meter> removeAll() {
        removed = true;
        return meters();
    }

    /** The meters registered so far. */
    private List<Meter> meters() {
        List<Meter> meters = new ArrayList<>(List.of(successes, duration, promptTokens, completionTokens));
        Counter failed = failures;
        Counter toolCalls = toolCallRequests;
        Counter costs = cost;
        if (failed != null) {
            meters.add(failed);
        }
        if (toolCalls != null) {
            meters.add(toolCalls);
        }
        if (costs != null) {
            meters.add(costs);
        }
        return meters;
    }

    /** The failure counter, registered now; {@code null} once the meters were removed. */
    private synchronized Counter registerFailures() {
        if (failures == null && !removed) {
            failures = requests(registry, session, model, OUTCOME_FAILURE);
        }
        return failures;
    }

    /** The tool-call counter, registered now; {@code null} once the meters were removed. */
    private synchronized Counter registerToolCallRequests() {
        if (toolCallRequests == null && !removed) {
            toolCallRequests = Counter.builder(SESSION_TOOL_CALL_REQUESTS)
                    .description("Completed LLM requests of a session whose response asked for tool calls, by model")
                    .tags(TAG_SESSION, session, TAG_MODEL, model)
                    .register(registry);
        }
        return toolCallRequests;
    }

    /** The cost counter, registered now; {@code null} once the meters were removed. */
    private synchronized Counter registerCost() {
        if (cost == null && !removed) {
            cost = Counter.builder(SESSION_COST)
                    .description("What the completed LLM requests of a session cost in US dollars by the price table, "
                            + "by model; absent for models without a price")
                    .tags(TAG_SESSION, session, TAG_MODEL, model)
                    .register(registry);
        }
        return cost;
    }

    private static Counter requests(MeterRegistry registry, String session, String model, String outcome) {
        return Counter.builder(SESSION_REQUESTS)
                .description("LLM requests finished by a session, by model and outcome")
                .tags(TAG_SESSION, session, TAG_MODEL, model, TAG_OUTCOME, outcome)
                .register(registry);
    }

    private static DistributionSummary tokens(MeterRegistry registry, String session, String model, String type) {
        return DistributionSummary.builder(SESSION_TOKENS)
                .description("Tokens per completed LLM request of a session, by model and type")
                .baseUnit(UNIT_TOKENS)
                .tags(TAG_SESSION, session, TAG_MODEL, model, TAG_TYPE, type)
                .register(registry);
    }
}
