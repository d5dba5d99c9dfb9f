package dev.llmmetrics.meter;

import static dev.llmmetrics.meter.MeterNames.*;

import dev.llmmetrics.cost.ModelCatalog.Model;
import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.session.SessionStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The meters of one model, created once and never removed. The cost, unpriced, cached and reasoning token
 * counters, the error counters and the streaming timers are registered on their first use, so that a model
 * never priced never shows a cost of 0, one never rate-limited no rate-limit series, and one never streamed
 * no empty time-to-first-token histogram. The error counters are one per {@link ErrorType} at most: the
 * label takes the fixed vocabulary's wire names only, {@code _OTHER} for a failure of unknown type.
 */
final class ModelMeters {

    final String label;
    private final MeterRegistry registry;
    /** The request counts, cost and distributions of the label. */
    private final RegistryFigures.Model figures;
    /** The registry they are shown through. */
    private final RegistryFigures.Binding binding;
    private final DistributionSummary messages;
    private final DistributionSummary tools;
    /** The store whose count of requests in flight the gauge reads. */
    private final SessionStore store;
    /**
     * The gauge of the store's requests in flight, which the binder takes off the registry when it closes; {@code null}
     * for meters made once it closed.
     */
    final @Nullable Gauge inFlightGauge;
    private final LazyMeter<Counter> cachedTokens;
    private final LazyMeter<Counter> reasoningTokens;
    private final LazyMeter<Timer> timeToFirstToken;
    private final LazyMeter<Timer> timePerOutputToken;
    /** Failures by {@link ErrorType}, indexed by ordinal; a failure of unknown type counts as {@link ErrorType#OTHER}. */
    private final List<LazyMeter<Counter>> errors;
    /** The OpenTelemetry GenAI instruments, or {@code null} when that mode is off. */
    private final GenAiMeters genAi;

    /**
     * @param genAiProvider the {@code gen_ai.provider.name} of the label's events that name no provider
     * @param store         the store that counts the label's requests in flight
     * @param figures       the figures that keep the label's request counts and distributions
     * @param binding       the registry they are shown through, {@code registry}, and the registries beneath it
     * @param genAi         the histograms left to the OpenTelemetry GenAI semantic-convention instruments, to
     *                      register them too; {@code null} when that mode is off
     * @param inFlight      whether to register the in-flight gauge, which reads {@code store}: not once the binder
     *                      closed, when the gauge would outlive the store it reads
     */
    ModelMeters(String label, String genAiProvider, SessionStore store, MeterRegistry registry,
                RegistryFigures figures, RegistryFigures.Binding binding, GenAiMeters.@Nullable Budget genAi,
                boolean inFlight) {
        this.label = label;
        this.store = store;
        this.registry = registry;
        this.genAi = genAi != null ? new GenAiMeters(label, genAiProvider, registry, genAi) : null;
        this.binding = binding;
        this.figures = figures.model(label, binding);
        cachedTokens = new LazyMeter<>(() -> counter(CACHED_TOKENS,
                "Prompt tokens served from the provider's prompt cache (part of the prompt tokens), by model"));
        reasoningTokens = new LazyMeter<>(() -> counter(REASONING_TOKENS,
                "Completion tokens the model spent reasoning (part of the completion tokens), by model"));
        timeToFirstToken = new LazyMeter<>(() -> timer(TIME_TO_FIRST_TOKEN,
                "Time from the start of a streamed LLM request to its first token, by model", DURATION_BUCKETS));
        timePerOutputToken = new LazyMeter<>(() -> timer(TIME_PER_OUTPUT_TOKEN, "Decoding time per output token of "
                + "a streamed LLM request: the time after the first token divided by the tokens after the first, by model",
                PER_TOKEN_BUCKETS));
        errors = Arrays.stream(ErrorType.values()).map(type -> new LazyMeter<>(() -> Counter.builder(REQUEST_ERRORS)
                .description("LLM requests that failed, by model and error type (rate_limit, timeout, server_error, "
                        + "invalid_request, content_filter, auth, cancelled, _OTHER)")
                .tags(TAG_MODEL, label, TAG_ERROR_TYPE, type.wireName())
                .register(registry))).toList();
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
        inFlightGauge = !inFlight ? null : Gauge.builder(REQUESTS_IN_FLIGHT, store, s -> s.inFlight(label))
                .description("LLM requests started and not yet completed or failed, as the session store counts them "
                        + "(shared by the replicas of a shared store)")
                .tag(TAG_MODEL, label)
                .register(registry);
    }

    void started(int messagesCount, int toolsCount) {
        messages.record(messagesCount);
        tools.record(toolsCount);
    }

    /** Records a completed request of {@code model}, costed by its price. */
    void completed(LlmRequestCompleted e, Model model) {
        if (genAi != null) {
            genAi.completed(e);
        }
        long durationNanos = TimeUnit.MILLISECONDS.toNanos(e.durationMs());
        boolean usage = e.hasUsage();
        long promptTokens = usage ? e.promptTokens() : -1;
        long completionTokens = usage ? e.completionTokens() : -1;
        long costPicoUsd = model.costPicoUsd(e);
        double costUsd = costPicoUsd >= 0 ? ModelPrice.usd(costPicoUsd) : -1;
        figures.completed(durationNanos, promptTokens, completionTokens, e.hasToolCalls(), costUsd, binding);
        if (e.cachedTokens() > 0) {
            cachedTokens.get().increment(e.cachedTokens());
        }
        if (e.reasoningTokens() > 0) {
            reasoningTokens.get().increment(e.reasoningTokens());
        }
        if (e.hasTimeToFirstToken()) {
            long firstTokenMs = e.timeToFirstTokenMs();
            timeToFirstToken.get().record(firstTokenMs, TimeUnit.MILLISECONDS);
            long perTokenNanos = e.hasUsage() ? perOutputTokenNanos(e.durationMs(), firstTokenMs, e.completionTokens()) : -1;
            if (perTokenNanos >= 0) {
                timePerOutputToken.get().record(perTokenNanos, TimeUnit.NANOSECONDS);
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
        long durationNanos = e.hasDuration() ? TimeUnit.MILLISECONDS.toNanos(e.durationMs()) : -1;
        figures.failed(durationNanos);
        errors.get((e.errorType() == null ? ErrorType.OTHER : e.errorType()).ordinal()).get().increment();
    }

    ModelTotals totals() {
        ModelFigures f = figures.figures;
        long ok = f.successes();
        long failed = f.failures();
        return new ModelTotals(label, ok + failed, ok, failed, (long) f.total(ModelFigures.PROMPT_TOKENS),
                (long) f.total(ModelFigures.COMPLETION_TOKENS), ModelFigures.seconds(f.total(ModelFigures.SUCCESS_DURATION)),
                store.inFlight(label));
    }

    private Counter counter(String name, String description) {
        return Counter.builder(name).description(description).tag(TAG_MODEL, label).register(registry);
    }

    private Timer timer(String name, String description, Duration[] buckets) {
        return Timer.builder(name).description(description).tag(TAG_MODEL, label).serviceLevelObjectives(buckets)
                .register(registry);
    }

}
