package dev.llmmetrics.bench;

import dev.llmmetrics.event.LlmRequestCompleted;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The peer "as most hand-written code does it": every event goes through {@code Counter.builder(..)
 * .tags(..).register(registry)} and the Timer and DistributionSummary builders, which look the meter up
 * (building its id and tags) on every call. It records the same meters, names, tags and histogram
 * boundaries as the collector's {@code ModelMeters} and {@code SessionModelMeters} for a completed request,
 * but keeps no session store, no in-flight gauge and no bound on metered sessions.
 */
public final class NaiveMicrometerRecorder {

    private static final Duration[] DURATION_BUCKETS = new Duration[14];
    private static final double[] TOKEN_BUCKETS = new double[14];

    static {
        for (int i = 0; i < 14; i++) {
            DURATION_BUCKETS[i] = Duration.ofMillis(10L << i);
            TOKEN_BUCKETS[i] = Math.pow(4, i);
        }
    }

    private final MeterRegistry registry;

    public NaiveMicrometerRecorder(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Records one completed request: per model, then per (session, model). */
    public void completed(LlmRequestCompleted e) {
        String model = e.model();
        String session = e.sessionId();
        Counter.builder("llm.requests")
                .description("LLM requests finished, by model and outcome")
                .tags("model", model, "outcome", "success")
                .register(registry).increment();
        Timer.builder("llm.request.duration")
                .description("LLM request duration, by model and outcome (failures only when their duration is known)")
                .tags("model", model, "outcome", "success")
                .serviceLevelObjectives(DURATION_BUCKETS)
                .register(registry).record(e.durationMs(), TimeUnit.MILLISECONDS);
        DistributionSummary.builder("llm.tokens")
                .description("Tokens per completed LLM request, by model and type")
                .baseUnit("tokens")
                .tags("model", model, "type", "prompt")
                .serviceLevelObjectives(TOKEN_BUCKETS)
                .register(registry).record(e.promptTokens());
        DistributionSummary.builder("llm.tokens")
                .description("Tokens per completed LLM request, by model and type")
                .baseUnit("tokens")
                .tags("model", model, "type", "completion")
                .serviceLevelObjectives(TOKEN_BUCKETS)
                .register(registry).record(e.completionTokens());

        Counter.builder("llm.session.requests")
                .description("LLM requests finished by a session, by model and outcome")
                .tags("session", session, "model", model, "outcome", "success")
                .register(registry).increment();
        Timer.builder("llm.session.request.duration")
                .description("Duration of the successful LLM requests of a session, by model")
                .tags("session", session, "model", model)
                .register(registry).record(e.durationMs(), TimeUnit.MILLISECONDS);
        DistributionSummary.builder("llm.session.tokens")
                .description("Tokens per completed LLM request of a session, by model and type")
                .baseUnit("tokens")
                .tags("session", session, "model", model, "type", "prompt")
                .register(registry).record(e.promptTokens());
        DistributionSummary.builder("llm.session.tokens")
                .description("Tokens per completed LLM request of a session, by model and type")
                .baseUnit("tokens")
                .tags("session", session, "model", model, "type", "completion")
                .register(registry).record(e.completionTokens());
        if (e.hasToolCalls()) {
            Counter.builder("llm.session.tool.call.requests")
                    .description("Completed LLM requests of a session whose response asked for tool calls, by model")
                    .tags("session", session, "model", model)
                    .register(registry).increment();
        }
    }
}
