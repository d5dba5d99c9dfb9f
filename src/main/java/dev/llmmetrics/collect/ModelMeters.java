package dev.llmmetrics.collect;

import static dev.llmmetrics.collect.MeterNames.*;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** The meters of one model, created once and never removed. */
final class ModelMeters {

    final String label;
    private final Counter successes;
    private final Counter failures;
    private final Timer successDuration;
    private final Timer failureDuration;
    private final DistributionSummary promptTokens;
    private final DistributionSummary completionTokens;
    private final DistributionSummary messages;
    private final DistributionSummary tools;
    private final AtomicLong inFlight = new AtomicLong();

    ModelMeters(String label, MeterRegistry registry) {
        this.label = label;
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

    void completed(long durationMs, int prompt, int completion) {
        finished();
        successes.increment();
        successDuration.record(durationMs, TimeUnit.MILLISECONDS);
        promptTokens.record(prompt);
        completionTokens.record(completion);
    }

    void failed(Long durationMs) {
        finished();
        failures.increment();
        if (durationMs != null) {
            failureDuration.record(durationMs, TimeUnit.MILLISECONDS);
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
