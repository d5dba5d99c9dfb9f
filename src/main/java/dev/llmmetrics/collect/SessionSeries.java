package dev.llmmetrics.collect;

import static dev.llmmetrics.collect.MeterNames.OUTCOME_FAILURE;
import static dev.llmmetrics.collect.MeterNames.OUTCOME_SUCCESS;
import static dev.llmmetrics.collect.MeterNames.TAG_MODEL;
import static dev.llmmetrics.collect.MeterNames.TAG_OUTCOME;
import static dev.llmmetrics.collect.MeterNames.TAG_SESSION;
import static dev.llmmetrics.collect.MeterNames.TAG_TYPE;
import static dev.llmmetrics.collect.MeterNames.TYPE_COMPLETION;
import static dev.llmmetrics.collect.MeterNames.TYPE_PROMPT;

import dev.llmmetrics.cost.ModelPrice;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.Exemplars;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Quantiles;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;
import io.prometheus.metrics.model.snapshots.SummarySnapshot.SummaryDataPointSnapshot;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;

/**
 * Writes the per-session series on a Prometheus registry at scrape time, from the figures each
 * {@link SessionModelMeters} keeps: the names, types, help texts and labels Micrometer's counters, timers
 * and summaries would give, without a Micrometer meter (and its registration, its decaying maximum and its
 * per-scrape snapshot objects) per series. Series follow the pairs: a pair's success, duration and token
 * series exist from its first event (at 0 when that was a failure), the failure, tool-call and cost series
 * appear with the first failure, tool call or priced request, as before, and a session's series go when
 * its meters are removed.
 */
final class SessionSeries implements MultiCollector {

    static final String REQUESTS = "llm_session_requests";
    static final String DURATION = "llm_session_request_duration_seconds";
    static final String TOKENS = "llm_session_tokens";
    static final String TOOL_CALL_REQUESTS = "llm_session_tool_call_requests";
    static final String COST = "llm_session_cost_usd";
    static final String MAX = "_max";

    private static final String REQUESTS_HELP = "LLM requests finished by a session, by model and outcome";
    private static final String DURATION_HELP = "Duration of the successful LLM requests of a session, by model";
    private static final String TOKENS_HELP = "Tokens per completed LLM request of a session, by model and type";
    private static final String TOOL_CALLS_HELP =
            "Completed LLM requests of a session whose response asked for tool calls, by model";
    private static final String COST_HELP = "What the completed LLM requests of a session cost in US dollars by the "
            + "price table, by model; absent for models without a price";
    private static final double NANOS_PER_SECOND = 1e9;

    private final Supplier<Collection<SessionMeters>> sessions;

    /** @param sessions the metered sessions, read at every scrape */
    SessionSeries(Supplier<Collection<SessionMeters>> sessions) {
        this.sessions = sessions;
    }

    @Override
    public MetricSnapshots collect() {
        List<CounterDataPointSnapshot> requests = new ArrayList<>();
        List<SummaryDataPointSnapshot> durations = new ArrayList<>();
        List<GaugeDataPointSnapshot> maxDurations = new ArrayList<>();
        List<SummaryDataPointSnapshot> tokens = new ArrayList<>();
        List<GaugeDataPointSnapshot> maxTokens = new ArrayList<>();
        List<CounterDataPointSnapshot> toolCalls = new ArrayList<>();
        List<CounterDataPointSnapshot> costs = new ArrayList<>();
        for (SessionMeters session : sessions.get()) {
            for (SessionModelMeters pair : session.models()) {
                SessionModelMeters.Figures f = pair.figures();
                PairLabels l = pair.labels != null ? pair.labels : (pair.labels = new PairLabels(pair.session, pair.model));
                Labels labels = l.pair();
                requests.add(counter(l.success(), f.successes()));
                if (f.failures() > 0) {
                    requests.add(counter(l.failure(), f.failures()));
                }
                durations.add(summary(labels, f.successes(), f.durationNanos() / NANOS_PER_SECOND));
                maxDurations.add(gauge(labels, f.maxDurationNanos() / NANOS_PER_SECOND));
                Labels prompt = l.prompt();
                Labels completion = l.completion();
                tokens.add(summary(prompt, f.successes(), f.promptTokens()));
                tokens.add(summary(completion, f.successes(), f.completionTokens()));
                maxTokens.add(gauge(prompt, f.maxPromptTokens()));
                maxTokens.add(gauge(completion, f.maxCompletionTokens()));
                if (f.toolCallRequests() > 0) {
                    toolCalls.add(counter(labels, f.toolCallRequests()));
                }
                if (f.costPicoUsd() >= 0) {
                    costs.add(counter(labels, ModelPrice.usd(f.costPicoUsd())));
                }
            }
        }
        List<MetricSnapshot> families = new ArrayList<>(7);
        if (!requests.isEmpty()) {
            families.add(new CounterSnapshot(metadata(REQUESTS, REQUESTS_HELP), requests));
        }
        if (!durations.isEmpty()) {
            families.add(new SummarySnapshot(metadata(DURATION, DURATION_HELP), durations));
            families.add(new GaugeSnapshot(metadata(DURATION + MAX, DURATION_HELP), maxDurations));
            families.add(new SummarySnapshot(metadata(TOKENS, TOKENS_HELP), tokens));
            families.add(new GaugeSnapshot(metadata(TOKENS + MAX, TOKENS_HELP), maxTokens));
        }
        if (!toolCalls.isEmpty()) {
            families.add(new CounterSnapshot(metadata(TOOL_CALL_REQUESTS, TOOL_CALLS_HELP), toolCalls));
        }
        if (!costs.isEmpty()) {
            families.add(new CounterSnapshot(metadata(COST, COST_HELP), costs));
        }
        return new MetricSnapshots(families);
    }

    /**
     * The label sets of one pair's series, made once: label sets are immutable, and remaking them at every
     * scrape would be most of the scrape's garbage.
     */
    record PairLabels(Labels pair, Labels success, Labels failure, Labels prompt, Labels completion) {
        PairLabels(String session, String model) {
            this(Labels.of(TAG_MODEL, model, TAG_SESSION, session));
        }

        private PairLabels(Labels pair) {
            this(pair, pair.add(TAG_OUTCOME, OUTCOME_SUCCESS), pair.add(TAG_OUTCOME, OUTCOME_FAILURE),
                    pair.add(TAG_TYPE, TYPE_PROMPT), pair.add(TAG_TYPE, TYPE_COMPLETION));
        }
    }

    private static MetricMetadata metadata(String name, String help) {
        return new MetricMetadata(name, help);
    }

    private static CounterDataPointSnapshot counter(Labels labels, double value) {
        return new CounterDataPointSnapshot(value, labels, null, 0L);
    }

    private static GaugeDataPointSnapshot gauge(Labels labels, double value) {
        return new GaugeDataPointSnapshot(value, labels, null);
    }

    private static SummaryDataPointSnapshot summary(Labels labels, long count, double sum) {
        return new SummaryDataPointSnapshot(count, sum, Quantiles.EMPTY, labels,
                Exemplars.EMPTY, 0L);
    }
}
