package dev.llmmetrics.meter;

import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * One model's instruments under the OpenTelemetry GenAI semantic conventions (client metrics, the
 * conventions as released up to v1.41, "Development" status), so that dashboards and alerts written for
 * them work on llm-metrics' scrape unchanged:
 * <ul>
 *   <li>{@code gen_ai.client.operation.duration}, histogram in seconds, on Prometheus
 *       {@code gen_ai_client_operation_duration_seconds}; failures carry {@code error.type};</li>
 *   <li>{@code gen_ai.client.token.usage}, histogram of tokens per request with {@code gen_ai.token.type}
 *       {@code input} or {@code output}, on Prometheus {@code gen_ai_client_token_usage};</li>
 *   <li>for streamed requests, {@code gen_ai.client.operation.time_to_first_chunk} and
 *       {@code gen_ai.client.operation.time_per_output_chunk}, histograms in seconds.</li>
 * </ul>
 * Every instrument carries {@code gen_ai.operation.name} ({@code chat}) and {@code gen_ai.request.model}
 * (the model label, so bounded like the other per-model meters), and {@code gen_ai.provider.name} when the
 * price table names the model's provider. Bucket boundaries are the conventions' advisory ones.
 *
 * <p>An event reports the whole response, not each chunk, so {@code time_per_output_chunk} gets one
 * observation per streamed request, its mean gap between output tokens after the first, where the
 * conventions record every gap; and {@code error.type} is read from the error text, see {@link #errorType}.
 */
final class GenAiMeters {

    static final String OPERATION_DURATION = "gen_ai.client.operation.duration";
    static final String TOKEN_USAGE = "gen_ai.client.token.usage";
    static final String TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk";
    static final String TIME_PER_OUTPUT_CHUNK = "gen_ai.client.operation.time_per_output_chunk";

    static final String OPERATION_NAME = "gen_ai.operation.name";
    static final String PROVIDER_NAME = "gen_ai.provider.name";
    static final String REQUEST_MODEL = "gen_ai.request.model";
    static final String TOKEN_TYPE = "gen_ai.token.type";
    static final String ERROR_TYPE = "error.type";

    /** The operation every LLM request event describes. */
    static final String OPERATION_CHAT = "chat";
    /** The conventions' fallback {@code error.type}. */
    static final String OTHER_ERROR = "_OTHER";
    /** Distinct {@code error.type} values per model; later ones are {@value #OTHER_ERROR}. */
    static final int MAX_ERROR_TYPES = 20;

    /** A class or error name before the colon of {@code Name: message}, as exceptions print themselves. */
    private static final Pattern ERROR_NAME = Pattern.compile("[A-Za-z_$][A-Za-z0-9_$.\\-]{0,127}");

    private final MeterRegistry registry;
    private final Tags tags;
    private final Timer success;
    private final DistributionSummary inputTokens;
    private final DistributionSummary outputTokens;
    private final ConcurrentHashMap<String, Timer> failures = new ConcurrentHashMap<>();
    private final LazyMeter<Timer> timeToFirstChunk;
    private final LazyMeter<Timer> timePerOutputChunk;

    /**
     * @param model    the model label
     * @param provider the {@code gen_ai.provider.name}, or {@code null} when unknown (the attribute is left out)
     */
    GenAiMeters(String model, String provider, MeterRegistry registry) {
        this.registry = registry;
        Tags common = Tags.of(OPERATION_NAME, OPERATION_CHAT, REQUEST_MODEL, model);
        this.tags = provider == null ? common : common.and(PROVIDER_NAME, provider);
        this.success = timer(OPERATION_DURATION, "GenAI operation duration.", tags);
        this.inputTokens = tokens("input");
        this.outputTokens = tokens("output");
        this.timeToFirstChunk = new LazyMeter<>(() -> timer(TIME_TO_FIRST_CHUNK, "Time to receive the first chunk.", tags));
        this.timePerOutputChunk = new LazyMeter<>(() -> timer(TIME_PER_OUTPUT_CHUNK,
                "Time per output chunk after the first (the request's mean gap).", tags));
    }

    void completed(LlmRequestCompleted e) {
        success.record(e.durationMs(), TimeUnit.MILLISECONDS);
        if (e.hasUsage()) { // the conventions: token usage is not reported when the response had none
            inputTokens.record(e.promptTokens());
            outputTokens.record(e.completionTokens());
        }
        if (e.hasTimeToFirstToken()) {
            long firstMs = e.timeToFirstTokenMs();
            timeToFirstChunk.get().record(firstMs, TimeUnit.MILLISECONDS);
            long perChunkNanos = e.hasUsage()
                    ? ModelMeters.perOutputTokenNanos(e.durationMs(), firstMs, e.completionTokens()) : -1;
            if (perChunkNanos >= 0) {
                timePerOutputChunk.get().record(perChunkNanos, TimeUnit.NANOSECONDS);
            }
        }
    }

    void failed(LlmRequestFailed e) {
        if (!e.hasDuration()) {
            return;
        }
        String type = errorType(e.error());
        Timer timer = failures.get(type);
        if (timer == null) {
            String bounded = failures.size() < MAX_ERROR_TYPES ? type : OTHER_ERROR;
            timer = failures.computeIfAbsent(bounded, t -> timer(OPERATION_DURATION, "GenAI operation duration.",
                    tags.and(ERROR_TYPE, t)));
        }
        timer.record(e.durationMs(), TimeUnit.MILLISECONDS);
    }

    /**
     * The {@code error.type} of an error text: the exception or error class name before the first colon
     * ({@code RateLimitError: 429 …} gives {@code RateLimitError}, {@code java.net.SocketTimeoutException:
     * Read timed out} its class), or the whole text when it is such a name; otherwise {@value #OTHER_ERROR}.
     */
    static String errorType(String error) {
        int colon = error.indexOf(':');
        String name = (colon < 0 ? error : error.substring(0, colon)).strip();
        return ERROR_NAME.matcher(name).matches() ? name : OTHER_ERROR;
    }

    private Timer timer(String name, String description, Tags tags) {
        return Timer.builder(name)
                .description(description)
                .tags(tags)
                .serviceLevelObjectives(MeterNames.DURATION_BUCKETS)
                .register(registry);
    }

    private DistributionSummary tokens(String type) {
        return DistributionSummary.builder(TOKEN_USAGE)
                .description("Number of input and output tokens used.")
                .tags(tags.and(TOKEN_TYPE, type))
                .serviceLevelObjectives(MeterNames.TOKEN_BUCKETS)
                .register(registry);
    }
}
