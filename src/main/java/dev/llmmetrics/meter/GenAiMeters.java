package dev.llmmetrics.meter;

import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * One model's instruments under the OpenTelemetry GenAI semantic conventions (client metrics, the
 * conventions as released up to v1.41, "Development" status), so that dashboards and alerts written for
 * them work on llm-metrics' scrape unchanged:
 * <ul>
 *   <li>{@code gen_ai.client.operation.duration}, histogram in seconds, on Prometheus
 *       {@code gen_ai_client_operation_duration_seconds}; failures carry {@code error.type};</li>
 *   <li>{@code gen_ai.client.token.usage}, histogram of tokens per request with {@code gen_ai.token.type}
 *       {@code input} or {@code output}, on Prometheus {@code gen_ai_client_token_usage}, for responses
 *       that reported their usage only;</li>
 *   <li>for streamed requests, {@code gen_ai.client.operation.time_to_first_chunk} and
 *       {@code gen_ai.client.operation.time_per_output_chunk}, histograms in seconds.</li>
 * </ul>
 * Every instrument carries {@code gen_ai.operation.name} ({@code chat}), {@code gen_ai.request.model} (the
 * model label, so bounded like the other per-model meters) and {@code gen_ai.provider.name}, always: the
 * event's provider, else the one the price table names for the model, else the configured default, else
 * {@value #OTHER}. A completion whose event names the response's model carries
 * {@code gen_ai.response.model}. The (provider, response model) pairs of one model label are bounded: past
 * {@value #MAX_SERIES} - 1 of them, later pairs share the provider {@value #OTHER} (and the response model
 * {@value #OTHER} when they have one). So are the histograms of every model label together, by a
 * {@link Budget} they share: a histogram is registered with its first observation, and one past the budget
 * goes to its instrument's overflow histogram instead, whose request model and provider are {@value #OTHER}
 * (its response model too when it has one; token type and error type are kept), as OpenTelemetry's
 * cardinality limit folds the sets past it into one. Bucket boundaries are the conventions' advisory ones.
 *
 * <p>{@code error.type} is the failure's {@link ErrorType} wire name ({@code rate_limit}, {@code timeout},
 * ..., {@value #OTHER} when not known). A failure of unknown duration is recorded as 0 s, so that the
 * operation count (the metric is Required) has every operation. An event reports the whole response, not
 * each chunk, so {@code time_per_output_chunk} gets one observation per streamed request, its mean gap
 * between output tokens after the first, where the conventions record every gap.
 */
final class GenAiMeters {

    static final String OPERATION_DURATION = "gen_ai.client.operation.duration";
    static final String TOKEN_USAGE = "gen_ai.client.token.usage";
    static final String TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk";
    static final String TIME_PER_OUTPUT_CHUNK = "gen_ai.client.operation.time_per_output_chunk";

    static final String OPERATION_NAME = "gen_ai.operation.name";
    static final String PROVIDER_NAME = "gen_ai.provider.name";
    static final String REQUEST_MODEL = "gen_ai.request.model";
    static final String RESPONSE_MODEL = "gen_ai.response.model";
    static final String TOKEN_TYPE = "gen_ai.token.type";
    static final String ERROR_TYPE = "error.type";

    /** The operation every LLM request event describes. */
    static final String OPERATION_CHAT = "chat";
    private static final String DURATION_HELP = "GenAI operation duration.";
    /** The conventions' fallback value, of {@code error.type} and here of the provider past the bound too. */
    static final String OTHER = "_OTHER";
    /** Most (provider, response model) series per model label. */
    static final int MAX_SERIES = 8;
    /** The attributes of the overflow histograms, past the budget; failures add their error type to them. */
    private static final Tags OVERFLOW = Tags.of(OPERATION_NAME, OPERATION_CHAT, REQUEST_MODEL, OTHER,
            PROVIDER_NAME, OTHER);

    private final MeterRegistry registry;
    private final Budget budget;
    private final Tags common;
    /** The provider of events that name none. */
    private final String defaultProvider;
    /** The series made so far, in order; replaced whole (copy on write) under the instance's lock. */
    private volatile Series[] series = new Series[0];

    /**
     * @param model           the model label
     * @param defaultProvider the {@code gen_ai.provider.name} of events that name none: the price table's for
     *                        the model, else the configured default, else {@value #OTHER}
     * @param budget          the histograms left to every model label's GenAI instruments
     */
    GenAiMeters(String model, String defaultProvider, MeterRegistry registry, Budget budget) {
        this.registry = registry;
        this.budget = Objects.requireNonNull(budget, "budget");
        this.common = Tags.of(OPERATION_NAME, OPERATION_CHAT, REQUEST_MODEL, model);
        this.defaultProvider = Objects.requireNonNull(defaultProvider, "defaultProvider");
    }

    void completed(LlmRequestCompleted e) {
        Series s = series(e.provider(), e.responseModel());
        s.success.get().record(e.durationMs(), TimeUnit.MILLISECONDS);
        if (e.hasUsage()) { // the conventions: token usage is not reported when the response had none
            s.inputTokens.get().record(e.promptTokens());
            s.outputTokens.get().record(e.completionTokens());
        }
        if (e.hasTimeToFirstToken()) {
            long firstMs = e.timeToFirstTokenMs();
            s.timeToFirstChunk.get().record(firstMs, TimeUnit.MILLISECONDS);
            long perChunkNanos = e.hasUsage()
                    ? ModelMeters.perOutputTokenNanos(e.durationMs(), firstMs, e.completionTokens()) : -1;
            if (perChunkNanos >= 0) {
                s.timePerOutputChunk.get().record(perChunkNanos, TimeUnit.NANOSECONDS);
            }
        }
    }

    void failed(LlmRequestFailed e) {
        ErrorType type = e.errorType() == null ? ErrorType.OTHER : e.errorType();
        series(e.provider(), null).failures.get(type.ordinal()).get()
                .record(e.hasDuration() ? e.durationMs() : 0L, TimeUnit.MILLISECONDS);
    }

    /** The series of this provider (or the default) and response model, made on first use within the bound. */
    private Series series(@Nullable String eventProvider, @Nullable String responseModel) {
        String provider = eventProvider != null ? eventProvider : defaultProvider;
        for (Series s : series) {
            if (s.provider.equals(provider) && Objects.equals(s.responseModel, responseModel)) {
                return s;
            }
        }
        synchronized (this) {
            for (Series s : series) {
                if (s.provider.equals(provider) && Objects.equals(s.responseModel, responseModel)) {
                    return s;
                }
            }
            if (series.length >= MAX_SERIES - 1) { // the last place is kept for the overflow series
                provider = OTHER;
                responseModel = responseModel == null ? null : OTHER;
                for (Series s : series) {
                    if (s.provider.equals(provider) && Objects.equals(s.responseModel, responseModel)) {
                        return s;
                    }
                }
            }
            Series made = new Series(provider, responseModel);
            Series[] grown = Arrays.copyOf(series, series.length + 1);
            grown[series.length] = made;
            series = grown;
            return made;
        }
    }

    /**
     * The places left for GenAI histograms, shared by the instruments of every model label: a histogram takes
     * one when it is registered, and past the last its observations go to its instrument's overflow
     * histogram. Thread-safe.
     */
    static final class Budget {
        private final AtomicInteger left;

        /** @param maxHistograms most GenAI histograms besides the overflow ones; positive */
        Budget(int maxHistograms) {
            if (maxHistograms < 1) {
                throw new IllegalArgumentException("maxHistograms must be positive, was " + maxHistograms);
            }
            this.left = new AtomicInteger(maxHistograms);
        }

        /** Takes a place, or says that none is left. */
        boolean take() {
            for (int n = left.get(); n > 0; n = left.get()) {
                if (left.compareAndSet(n, n - 1)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** The instruments of one (provider, response model) pair of the model, each registered on first use. */
    private final class Series {
        final String provider;
        final @Nullable String responseModel;
        final LazyMeter<Timer> success;
        final LazyMeter<DistributionSummary> inputTokens;
        final LazyMeter<DistributionSummary> outputTokens;
        final LazyMeter<Timer> timeToFirstChunk;
        final LazyMeter<Timer> timePerOutputChunk;
        /** Failures by {@link ErrorType} ordinal; failures carry no response model. */
        final List<LazyMeter<Timer>> failures;

        Series(String provider, @Nullable String responseModel) {
            this.provider = provider;
            this.responseModel = responseModel;
            Tags base = common.and(PROVIDER_NAME, provider);
            Tags tags = responseModel == null ? base : base.and(RESPONSE_MODEL, responseModel);
            Tags overflow = responseModel == null ? OVERFLOW : OVERFLOW.and(RESPONSE_MODEL, OTHER);
            this.success = bounded(OPERATION_DURATION, DURATION_HELP, tags, overflow);
            this.inputTokens = tokens(tags, overflow, "input");
            this.outputTokens = tokens(tags, overflow, "output");
            this.timeToFirstChunk = bounded(TIME_TO_FIRST_CHUNK, "Time to receive the first chunk.", tags, overflow);
            this.timePerOutputChunk = bounded(TIME_PER_OUTPUT_CHUNK,
                    "Time per output chunk after the first (the request's mean gap).", tags, overflow);
            this.failures = Arrays.stream(ErrorType.values()).map(type -> bounded(OPERATION_DURATION, DURATION_HELP,
                    base.and(ERROR_TYPE, type.wireName()), OVERFLOW.and(ERROR_TYPE, type.wireName()))).toList();
        }

        private LazyMeter<Timer> bounded(String name, String description, Tags tags, Tags overflow) {
            return new LazyMeter<>(() -> timer(name, description, budget.take() ? tags : overflow));
        }

        private LazyMeter<DistributionSummary> tokens(Tags tags, Tags overflow, String type) {
            return new LazyMeter<>(() -> DistributionSummary.builder(TOKEN_USAGE)
                    .description("Number of input and output tokens used.")
                    .tags((budget.take() ? tags : overflow).and(TOKEN_TYPE, type))
                    .serviceLevelObjectives(MeterNames.TOKEN_BUCKETS)
                    .register(registry));
        }
    }

    private Timer timer(String name, String description, Tags tags) {
        return Timer.builder(name)
                .description(description)
                .tags(tags)
                .serviceLevelObjectives(MeterNames.DURATION_BUCKETS)
                .register(registry);
    }
}
