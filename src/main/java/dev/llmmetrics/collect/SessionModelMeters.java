package dev.llmmetrics.collect;

import static dev.llmmetrics.collect.MeterNames.*;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The meters of one (session, model) pair; no histogram buckets, removed with their session. */
final class SessionModelMeters {

    private final Counter successes;
    private final Counter failures;
    private final Timer duration;
    private final DistributionSummary promptTokens;
    private final DistributionSummary completionTokens;
    private final Counter toolCallRequests;

    SessionModelMeters(String session, String model, MeterRegistry registry) {
        successes = requests(registry, session, model, OUTCOME_SUCCESS);
        failures = requests(registry, session, model, OUTCOME_FAILURE);
        duration = Timer.builder(SESSION_REQUEST_DURATION)
                .description("Duration of the successful LLM requests of a session, by model")
                .tags(TAG_SESSION, session, TAG_MODEL, model)
                .register(registry);
        promptTokens = tokens(registry, session, model, TYPE_PROMPT);
        completionTokens = tokens(registry, session, model, TYPE_COMPLETION);
        toolCallRequests = Counter.builder(SESSION_TOOL_CALL_REQUESTS)
                .description("Completed LLM requests of a session whose response asked for tool calls, by model")
                .tags(TAG_SESSION, session, TAG_MODEL, model)
                .register(registry);
    }

    void completed(long durationMs, int prompt, int completion, boolean hasToolCalls) {
        successes.increment();
        duration.record(durationMs, TimeUnit.MILLISECONDS);
        promptTokens.record(prompt);
        completionTokens.record(completion);
        if (hasToolCalls) {
            toolCallRequests.increment();
        }
    }

    void failed() {
        failures.increment();
    }

    List<Meter> meters() {
        return List.of(successes, failures, duration, promptTokens, completionTokens, toolCallRequests);
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
