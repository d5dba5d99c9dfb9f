package dev.llmmetrics.meter;

import static dev.llmmetrics.meter.MeterNames.OUTCOME_FAILURE;
import static dev.llmmetrics.meter.MeterNames.OUTCOME_SUCCESS;
import static dev.llmmetrics.meter.MeterNames.SESSION_COST;
import static dev.llmmetrics.meter.MeterNames.SESSION_REQUESTS;
import static dev.llmmetrics.meter.MeterNames.SESSION_REQUEST_DURATION;
import static dev.llmmetrics.meter.MeterNames.SESSION_TOKENS;
import static dev.llmmetrics.meter.MeterNames.SESSION_TOOL_CALL_REQUESTS;
import static dev.llmmetrics.meter.MeterNames.TAG_MODEL;
import static dev.llmmetrics.meter.MeterNames.TAG_OUTCOME;
import static dev.llmmetrics.meter.MeterNames.TAG_SESSION;
import static dev.llmmetrics.meter.MeterNames.TAG_TYPE;
import static dev.llmmetrics.meter.MeterNames.TYPE_COMPLETION;
import static dev.llmmetrics.meter.MeterNames.TYPE_PROMPT;

import dev.llmmetrics.cost.ModelPrice;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * What one (session, model) pair recorded: plain counts, sums and maxima under this instance's monitor,
 * which only events of that pair take, never a global lock. Recording costs a few field updates, and a new
 * pair registers nothing: on a Prometheus registry {@link SessionSeries} writes these figures at scrape
 * time, in the same series Micrometer's counters, timers and summaries would give
 * ({@code llm_session_requests_total}, {@code llm_session_request_duration_seconds_count/_sum/_max},
 * {@code llm_session_tokens_count/_sum/_max}, …). On any other registry {@link #bindFunctionMeters}
 * registers Micrometer function meters reading them.
 *
 * <p>The maxima are over the pair's lifetime (since its meters were created), not Micrometer's decaying
 * two-minute window.
 */
final class SessionModelMeters {

    final String session;
    final String model;
    private long successes;
    private long failures;
    private long toolCallRequests;
    private long durationNanos;
    private long maxDurationNanos;
    private long promptTokens;
    private long maxPromptTokens;
    private long completionTokens;
    private long maxCompletionTokens;
    /** Cost of the priced successes in picodollars; meaningful once {@link #priced}. */
    private long costPicoUsd;
    private boolean priced;
    /** This pair's label sets on the scrape, made by the first scrape that needs them ({@link SessionSeries}). */
    volatile SessionSeries.PairLabels labels;

    SessionModelMeters(String session, String model) {
        this.session = session;
        this.model = model;
    }

    /**
     * Records a completed request.
     *
     * @param costPicoUsd what it cost, or a negative value when its model has no price
     */
    synchronized void completed(long durationMs, int prompt, int completion, boolean hasToolCalls, long costPicoUsd) {
        long nanos = TimeUnit.MILLISECONDS.toNanos(durationMs);
        successes++;
        durationNanos += nanos;
        maxDurationNanos = Math.max(maxDurationNanos, nanos);
        promptTokens += prompt;
        maxPromptTokens = Math.max(maxPromptTokens, prompt);
        completionTokens += completion;
        maxCompletionTokens = Math.max(maxCompletionTokens, completion);
        if (hasToolCalls) {
            toolCallRequests++;
        }
        if (costPicoUsd >= 0) {
            priced = true;
            this.costPicoUsd = this.costPicoUsd > Long.MAX_VALUE - costPicoUsd ? Long.MAX_VALUE
                    : this.costPicoUsd + costPicoUsd;
        }
    }

    synchronized void failed() {
        failures++;
    }

    /** A consistent copy of the figures. */
    synchronized Figures figures() {
        return new Figures(successes, failures, toolCallRequests, durationNanos, maxDurationNanos, promptTokens,
                maxPromptTokens, completionTokens, maxCompletionTokens, priced ? costPicoUsd : -1);
    }

    /**
     * Registers function meters reading these figures on a registry other than Prometheus, and returns them
     * for removal with the session: requests by outcome, a function timer of the successful requests'
     * durations, token totals by type, tool-call requests and cost.
     */
    List<Meter> bindFunctionMeters(MeterRegistry registry) {
        return List.of(
                counter(registry, SESSION_REQUESTS, "LLM requests finished by a session, by model and outcome",
                        f -> f.successes, TAG_OUTCOME, OUTCOME_SUCCESS),
                counter(registry, SESSION_REQUESTS, "LLM requests finished by a session, by model and outcome",
                        f -> f.failures, TAG_OUTCOME, OUTCOME_FAILURE),
                FunctionTimer.builder(SESSION_REQUEST_DURATION, this, m -> m.figures().successes,
                                m -> m.figures().durationNanos, TimeUnit.NANOSECONDS)
                        .description("Duration of the successful LLM requests of a session, by model")
                        .tags(TAG_SESSION, session, TAG_MODEL, model)
                        .register(registry),
                counter(registry, SESSION_TOKENS, "Tokens of the completed LLM requests of a session, by model and type",
                        f -> f.promptTokens, TAG_TYPE, TYPE_PROMPT),
                counter(registry, SESSION_TOKENS, "Tokens of the completed LLM requests of a session, by model and type",
                        f -> f.completionTokens, TAG_TYPE, TYPE_COMPLETION),
                counter(registry, SESSION_TOOL_CALL_REQUESTS,
                        "Completed LLM requests of a session whose response asked for tool calls, by model",
                        f -> f.toolCallRequests),
                counter(registry, SESSION_COST, "What the completed LLM requests of a session cost in US dollars, by model",
                        f -> f.costPicoUsd < 0 ? 0 : ModelPrice.usd(f.costPicoUsd)));
    }

    private FunctionCounter counter(MeterRegistry registry, String name, String description,
                                    ToDoubleFunction<Figures> value, String... tags) {
        return FunctionCounter.builder(name, this, m -> value.applyAsDouble(m.figures()))
                .description(description)
                .tags(TAG_SESSION, session, TAG_MODEL, model)
                .tags(tags)
                .register(registry);
    }

    /**
     * The figures of one pair at one moment.
     *
     * @param costPicoUsd the cost of the priced successes, or -1 when none was priced
     */
    record Figures(long successes, long failures, long toolCallRequests, long durationNanos, long maxDurationNanos,
                   long promptTokens, long maxPromptTokens, long completionTokens, long maxCompletionTokens,
                   long costPicoUsd) {
    }
}
