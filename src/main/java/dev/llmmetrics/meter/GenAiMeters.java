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
 * {@value #OTHER} when they have one). Bucket boundaries are the conventions' advisory ones.
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
    /** The conventions' fallback value, of {@code error.type} and here of the provider past the bound too. */
    static final String OTHER = "_OTHER";
    /** Most (provider, response model) series per model label. */
    static final int MAX_SERIES = 8;

    private final MeterRegistry registry;
    private final Tags common;
    /** The provider of events that name none. */
    private final String defaultProvider;
    /** The series made so far, in order; replaced whole (copy on write) under the instance's lock. */
    private volatile Series[] series = new Series[0];

    /**
     * @param model           the model label
     * @param defaultProvider the {@code gen_ai.provider.name} of events that name none: the price table's for
     *                        the model, else the configured default, else {@value #OTHER}
     */
    GenAiMeters(String model, String defaultProvider, MeterRegistry registry) {
        this.registry = registry;
        this.common = Tags.of(OPERATION_NAME, OPERATION_CHAT, REQUEST_MODEL, model);
        this.defaultProvider = Objects.requireNonNull(defaultProvider, "defaultProvider");
    }

    void completed(LlmRequestCompleted e) {
        Series s = series(e.provider(), e.responseModel());
        s.success.record(e.durationMs(), TimeUnit.MILLISECONDS);
        if (e.hasUsage()) { // the conventions: token usage is not reported when the response had none
            s.inputTokens.record(e.promptTokens());
            s.outputTokens.record(e.completionTokens());
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

    /** The instruments of one (provider, response model) pair of the model. */
    private final class Series {
        final String provider;
        final @Nullable String responseModel;
        final Tags tags;
        final Timer success;
        final DistributionSummary inputTokens;
        final DistributionSummary outputTokens;
        final LazyMeter<Timer> timeToFirstChunk;
        final LazyMeter<Timer> timePerOutputChunk;
        /** Failures by {@link ErrorType} ordinal; failures carry no response model. */
        final List<LazyMeter<Timer>> failures;

        Series(String provider, @Nullable String responseModel) {
            this.provider = provider;
            this.responseModel = responseModel;
            Tags base = common.and(PROVIDER_NAME, provider);
            this.tags = responseModel == null ? base : base.and(RESPONSE_MODEL, responseModel);
            this.success = timer(OPERATION_DURATION, "GenAI operation duration.", tags);
            this.inputTokens = tokens("input");
            this.outputTokens = tokens("output");
            this.timeToFirstChunk = new LazyMeter<>(() -> timer(TIME_TO_FIRST_CHUNK, "Time to receive the first chunk.",
                    tags));
            this.timePerOutputChunk = new LazyMeter<>(() -> timer(TIME_PER_OUTPUT_CHUNK,
                    "Time per output chunk after the first (the request's mean gap).", tags));
            this.failures = Arrays.stream(ErrorType.values()).map(type -> new LazyMeter<>(() -> timer(OPERATION_DURATION,
                    "GenAI operation duration.", base.and(ERROR_TYPE, type.wireName())))).toList();
        }

        private DistributionSummary tokens(String type) {
            return DistributionSummary.builder(TOKEN_USAGE)
                    .description("Number of input and output tokens used.")
                    .tags(tags.and(TOKEN_TYPE, type))
                    .serviceLevelObjectives(MeterNames.TOKEN_BUCKETS)
                    .register(registry);
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
