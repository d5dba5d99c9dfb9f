package dev.llmmetrics.collect;

import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import static dev.llmmetrics.collect.MeterNames.*;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The meters of one model, created once and never removed. The cost, unpriced, cached and reasoning token
 * counters and the streaming timers are registered on their first use, so that a model never priced never
 * shows a cost of 0 and one never streamed shows no empty time-to-first-token histogram.
 */
final class ModelMeters {

    final String label;
    private final MeterRegistry registry;
    private final Counter successes;
    private final Counter failures;
    private final Timer successDuration;
    private final Timer failureDuration;
    private final DistributionSummary promptTokens;
    private final DistributionSummary completionTokens;
    private final DistributionSummary messages;
    private final DistributionSummary tools;
    private final AtomicLong inFlight = new AtomicLong();
    private volatile Counter cost;
    private volatile Counter unpriced;
    private volatile Counter cachedTokens;
    private volatile Counter reasoningTokens;
    private volatile Timer timeToFirstToken;
    private volatile Timer timePerOutputToken;
    /** The OpenTelemetry GenAI instruments, or {@code null} when that mode is off. */
    private final GenAiMeters genAi;

    /**
     * @param genAiProvider with {@code genAi}, the model's {@code gen_ai.provider.name}, {@code null} if unknown
     * @param genAi         whether to register the OpenTelemetry GenAI semantic-convention instruments too
     */
    ModelMeters(String label, MeterRegistry registry, boolean genAi, String genAiProvider) {
        this.label = label;
        this.registry = registry;
        this.genAi = genAi ? new GenAiMeters(label, genAiProvider, registry) : null;
        successes = requests(registry, OUTCOME_SUCCESS);
        failures = requests(registry, OUTCOME_FAILURE);
        successDuration = duration(registry, OUTCOME_SUCCESS);
        failureDuration = duration(registry, OUTCOME_FAILURE);
        promptTokens = tokens(registry, TYPE_PROMPT);
        completionTokens = tokens(registry, TYPE_COMPLETION);
        messages = DistributionSummary.builder(REQUEST_MESSAGES)
                .description("Messages sent per LLM request, from STARTED events")
                .baseUnit(UNIT_MESSAGES)
                .tag(TAG_MODEL, label)
                .register(registry);
        tools = DistributionSummary.builder(REQUEST_TOOLS)
                .description("Tools offered per LLM request, from STARTED events")
                .baseUnit(UNIT_TOOLS)
                .tag(TAG_MODEL, label)
                .register(registry);
        Gauge.builder(REQUESTS_IN_FLIGHT, inFlight, AtomicLong::get)
                .description("LLM requests started and not yet completed or failed")
                .tag(TAG_MODEL, label)
                .register(registry);
    }

    void started(int messagesCount, int toolsCount) {
        inFlight.incrementAndGet();
        messages.record(messagesCount);
        tools.record(toolsCount);
    }

    /**
     * Records a completed request.
     *
     * @param costPicoUsd what it cost, or a negative value when its model has no price
     */
    void completed(LlmRequestCompleted e, long costPicoUsd) {
        if (genAi != null) {
            genAi.completed(e);
        }
        finished();
        successes.increment();
        successDuration.record(e.durationMs(), TimeUnit.MILLISECONDS);
        promptTokens.record(e.promptTokens());
        completionTokens.record(e.completionTokens());
        if (costPicoUsd >= 0) {
            (cost != null ? cost : registerCost()).increment(ModelPrice.usd(costPicoUsd));
        } else {
            (unpriced != null ? unpriced : registerUnpriced()).increment();
        }
        if (e.cachedTokens() > 0) {
            (cachedTokens != null ? cachedTokens : registerCachedTokens()).increment(e.cachedTokens());
        }
        if (e.reasoningTokens() > 0) {
            (reasoningTokens != null ? reasoningTokens : registerReasoningTokens()).increment(e.reasoningTokens());
        }
        if (e.hasTimeToFirstToken()) {
            long firstTokenMs = e.timeToFirstTokenMs();
            (timeToFirstToken != null ? timeToFirstToken : registerTimeToFirstToken())
                    .record(firstTokenMs, TimeUnit.MILLISECONDS);
            long perTokenNanos = perOutputTokenNanos(e.durationMs(), firstTokenMs, e.completionTokens());
            if (perTokenNanos >= 0) {
                (timePerOutputToken != null ? timePerOutputToken : registerTimePerOutputToken())
                        .record(perTokenNanos, TimeUnit.NANOSECONDS);
            }
        }
    }

    /**
     * The decoding time per output token after the first: the time after the first token divided by the
     * tokens after the first, in nanoseconds; -1 when fewer than two tokens came.
     */
    static long perOutputTokenNanos(long durationMs, long firstTokenMs, int completionTokens) {
        if (completionTokens < 2) {
            return -1;
        }
        return TimeUnit.MILLISECONDS.toNanos(durationMs - firstTokenMs) / (completionTokens - 1);
    }

    void failed(LlmRequestFailed e) {
        if (genAi != null) {
            genAi.failed(e);
        }
        finished();
        failures.increment();
        if (e.hasDuration()) {
            failureDuration.record(e.durationMs(), TimeUnit.MILLISECONDS);
        }
    }

    ModelTotals totals() {
        long ok = (long) successes.count();
        long failed = (long) failures.count();
        return new ModelTotals(label, ok + failed, ok, failed, (long) promptTokens.totalAmount(),
                (long) completionTokens.totalAmount(), successDuration.totalTime(TimeUnit.SECONDS), inFlight.get());
    }

    /**
     * A finish never drives the gauge below zero: producers that send only COMPLETED events exist, and a
     * finish without a matching start must not count as one.
     */
    private void finished() {
        long current;
        do {
            current = inFlight.get();
        } while (current > 0 && !inFlight.compareAndSet(current, current - 1));
    }

    private synchronized Counter registerCost() {
        if (cost == null) {
            cost = Counter.builder(COST)
                    .description("What the completed LLM requests cost in US dollars by the price table, by model; "
                            + "requests of unpriced models are not in it, see llm_unpriced_requests_total")
                    .tag(TAG_MODEL, label)
                    .register(registry);
        }
        return cost;
    }

    private synchronized Counter registerUnpriced() {
        if (unpriced == null) {
            unpriced = Counter.builder(UNPRICED_REQUESTS)
                    .description("Completed LLM requests of a model the price table has no price for")
                    .tag(TAG_MODEL, label)
                    .register(registry);
        }
        return unpriced;
    }

    private synchronized Counter registerCachedTokens() {
        if (cachedTokens == null) {
            cachedTokens = Counter.builder(CACHED_TOKENS)
                    .description("Prompt tokens served from the provider's prompt cache (part of the prompt tokens), by model")
                    .tag(TAG_MODEL, label)
                    .register(registry);
        }
        return cachedTokens;
    }

    private synchronized Counter registerReasoningTokens() {
        if (reasoningTokens == null) {
            reasoningTokens = Counter.builder(REASONING_TOKENS)
                    .description("Completion tokens the model spent reasoning (part of the completion tokens), by model")
                    .tag(TAG_MODEL, label)
                    .register(registry);
        }
        return reasoningTokens;
    }

    private synchronized Timer registerTimeToFirstToken() {
        if (timeToFirstToken == null) {
            timeToFirstToken = Timer.builder(TIME_TO_FIRST_TOKEN)
                    .description("Time from the start of a streamed LLM request to its first token, by model")
                    .tag(TAG_MODEL, label)
                    .serviceLevelObjectives(DURATION_BUCKETS)
                    .register(registry);
        }
        return timeToFirstToken;
    }

    private synchronized Timer registerTimePerOutputToken() {
        if (timePerOutputToken == null) {
            timePerOutputToken = Timer.builder(TIME_PER_OUTPUT_TOKEN)
                    .description("Decoding time per output token of a streamed LLM request: the time after the first "
                            + "token divided by the tokens after the first, by model")
                    .tag(TAG_MODEL, label)
                    .serviceLevelObjectives(PER_TOKEN_BUCKETS)
                    .register(registry);
        }
        return timePerOutputToken;
    }

    private Counter requests(MeterRegistry registry, String outcome) {
        return Counter.builder(REQUESTS)
                .description("LLM requests finished, by model and outcome")
                .tags(TAG_MODEL, label, TAG_OUTCOME, outcome)
                .register(registry);
    }

    private Timer duration(MeterRegistry registry, String outcome) {
        return Timer.builder(REQUEST_DURATION)
                .description("LLM request duration, by model and outcome (failures only when their duration is known)")
                .tags(TAG_MODEL, label, TAG_OUTCOME, outcome)
                .serviceLevelObjectives(DURATION_BUCKETS)
                .register(registry);
    }

    private DistributionSummary tokens(MeterRegistry registry, String type) {
        return DistributionSummary.builder(TOKENS)
                .description("Tokens per completed LLM request, by model and type")
                .baseUnit(UNIT_TOKENS)
                .tags(TAG_MODEL, label, TAG_TYPE, type)
                .serviceLevelObjectives(TOKEN_BUCKETS)
                .register(registry);
    }
}
