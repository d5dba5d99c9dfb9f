package dev.llmmetrics.meter;

import static dev.llmmetrics.meter.MeterNames.OUTCOME_FAILURE;
import static dev.llmmetrics.meter.MeterNames.OUTCOME_SUCCESS;
import static dev.llmmetrics.meter.MeterNames.TAG_MODEL;
import static dev.llmmetrics.meter.MeterNames.TAG_OUTCOME;
import static dev.llmmetrics.meter.MeterNames.TAG_SESSION;
import static dev.llmmetrics.meter.MeterNames.TAG_TYPE;
import static dev.llmmetrics.meter.MeterNames.TYPE_COMPLETION;
import static dev.llmmetrics.meter.MeterNames.TYPE_PROMPT;

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
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
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

    /** The families this writes, as a registry scrape's name filter sees them. */
    static final java.util.Set<String> NAMES = java.util.Set.of(REQUESTS, DURATION, DURATION + MAX, TOKENS,
            TOKENS + MAX, TOOL_CALL_REQUESTS, COST);

    @Override
    public MetricSnapshots collect(java.util.function.Predicate<String> includedNames) {
        // A scrape that filters every per-session family out costs nothing here.
        return NAMES.stream().anyMatch(includedNames) ? MultiCollector.super.collect(includedNames) : new MetricSnapshots();
    }

    /**
     * Writes the per-session families straight from the pairs' figures in the Prometheus text format 0.0.4,
     * or in OpenMetrics 1.0 without its closing {@code # EOF} (the registry's families and the {@code # EOF}
     * follow): the same families, samples and values as {@link #collect()} through the client's writers, in
     * another sample order, without building a snapshot object per sample, sorting them by labels and
     * validating them again. That is most of a scrape's cost when per-session series are most of its lines.
     */
    void writeText(OutputStream out, boolean openMetrics) throws IOException {
        List<SessionModelMeters> pairs = new ArrayList<>();
        List<SessionModelMeters.Figures> figures = new ArrayList<>();
        for (SessionMeters session : sessions.get()) {
            for (SessionModelMeters pair : session.models()) {
                pairs.add(pair);
                figures.add(pair.figures());
            }
        }
        if (pairs.isEmpty()) {
            return;
        }
        TextOut text = new TextOut(out, openMetrics);
        byte[][] models = new byte[pairs.size()][];
        byte[][] sessionIds = new byte[pairs.size()][];
        for (int i = 0; i < pairs.size(); i++) {
            models[i] = text.labelBytes(TAG_MODEL, pairs.get(i).model);
            sessionIds[i] = text.labelBytes(TAG_SESSION, pairs.get(i).session);
        }
        int n = pairs.size();

        text.header(REQUESTS, "counter", REQUESTS_HELP);
        for (int i = 0; i < n; i++) {
            SessionModelMeters.Figures f = figures.get(i);
            text.sample(REQUESTS, "_total", models[i], OUTCOME_BYTES_SUCCESS, sessionIds[i], null).number(f.successes());
            if (f.failures() > 0) {
                text.sample(REQUESTS, "_total", models[i], OUTCOME_BYTES_FAILURE, sessionIds[i], null).number(f.failures());
            }
        }
        text.header(DURATION, "summary", DURATION_HELP);
        for (int i = 0; i < n; i++) {
            SessionModelMeters.Figures f = figures.get(i);
            text.sample(DURATION, "_count", models[i], null, sessionIds[i], null).count(f.successes());
            text.sample(DURATION, "_sum", models[i], null, sessionIds[i], null).number(f.durationNanos() / NANOS_PER_SECOND);
        }
        text.header(DURATION + MAX, "gauge", DURATION_HELP);
        for (int i = 0; i < n; i++) {
            text.sample(DURATION + MAX, "", models[i], null, sessionIds[i], null)
                    .number(figures.get(i).maxDurationNanos() / NANOS_PER_SECOND);
        }
        text.header(TOKENS, "summary", TOKENS_HELP);
        for (int i = 0; i < n; i++) {
            SessionModelMeters.Figures f = figures.get(i);
            text.sample(TOKENS, "_count", models[i], null, sessionIds[i], TYPE_BYTES_COMPLETION).count(f.successes());
            text.sample(TOKENS, "_sum", models[i], null, sessionIds[i], TYPE_BYTES_COMPLETION).number(f.completionTokens());
            text.sample(TOKENS, "_count", models[i], null, sessionIds[i], TYPE_BYTES_PROMPT).count(f.successes());
            text.sample(TOKENS, "_sum", models[i], null, sessionIds[i], TYPE_BYTES_PROMPT).number(f.promptTokens());
        }
        text.header(TOKENS + MAX, "gauge", TOKENS_HELP);
        for (int i = 0; i < n; i++) {
            SessionModelMeters.Figures f = figures.get(i);
            text.sample(TOKENS + MAX, "", models[i], null, sessionIds[i], TYPE_BYTES_COMPLETION).number(f.maxCompletionTokens());
            text.sample(TOKENS + MAX, "", models[i], null, sessionIds[i], TYPE_BYTES_PROMPT).number(f.maxPromptTokens());
        }
        boolean header = false;
        for (int i = 0; i < n; i++) {
            long toolCalls = figures.get(i).toolCallRequests();
            if (toolCalls > 0) {
                if (!header) {
                    text.header(TOOL_CALL_REQUESTS, "counter", TOOL_CALLS_HELP);
                    header = true;
                }
                text.sample(TOOL_CALL_REQUESTS, "_total", models[i], null, sessionIds[i], null).number(toolCalls);
            }
        }
        header = false;
        for (int i = 0; i < n; i++) {
            long cost = figures.get(i).costPicoUsd();
            if (cost >= 0) {
                if (!header) {
                    text.header(COST, "counter", COST_HELP);
                    header = true;
                }
                text.sample(COST, "_total", models[i], null, sessionIds[i], null).number(ModelPrice.usd(cost));
            }
        }
        text.flush();
    }

    private static final byte[] OUTCOME_BYTES_SUCCESS = ascii(TAG_OUTCOME + "=\"" + OUTCOME_SUCCESS + "\"");
    private static final byte[] OUTCOME_BYTES_FAILURE = ascii(TAG_OUTCOME + "=\"" + OUTCOME_FAILURE + "\"");
    private static final byte[] TYPE_BYTES_PROMPT = ascii(TAG_TYPE + "=\"" + TYPE_PROMPT + "\"");
    private static final byte[] TYPE_BYTES_COMPLETION = ascii(TAG_TYPE + "=\"" + TYPE_COMPLETION + "\"");

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Writes exposition lines into a byte buffer: label values escaped as both text formats want
     * ({@code \\}, {@code \"}, {@code \n}), numbers formatted as the client's writers format them.
     */
    private static final class TextOut {
        private final OutputStream out;
        private final boolean openMetrics;
        private final byte[] buffer = new byte[16 * 1024];
        private int size;

        TextOut(OutputStream out, boolean openMetrics) {
            this.out = out;
            this.openMetrics = openMetrics;
        }

        /** {@code name="value"} in UTF-8, the value escaped. */
        byte[] labelBytes(String name, String value) {
            StringBuilder escaped = new StringBuilder(name.length() + value.length() + 3).append(name).append("=\"");
            escape(escaped, value, true);
            return escaped.append('"').toString().getBytes(StandardCharsets.UTF_8);
        }

        void header(String family, String type, String help) throws IOException {
            StringBuilder line = new StringBuilder(help.length() + 2 * family.length() + 32);
            String name = !openMetrics && type.equals("counter") ? family + "_total" : family;
            if (openMetrics) {
                line.append("# TYPE ").append(name).append(' ').append(type).append('\n');
                escape(line.append("# HELP ").append(name).append(' '), help, true);
                line.append('\n');
            } else {
                escape(line.append("# HELP ").append(name).append(' '), help, false);
                line.append('\n').append("# TYPE ").append(name).append(' ').append(type).append('\n');
            }
            write(line.toString().getBytes(StandardCharsets.UTF_8));
        }

        /** Starts a sample line up to its value: labels in name order, model, outcome, session, type. */
        TextOut sample(String family, String suffix, byte[] model, byte[] outcome, byte[] session, byte[] type)
                throws IOException {
            writeAscii(family);
            writeAscii(suffix);
            write('{');
            write(model);
            if (outcome != null) {
                write(',');
                write(outcome);
            }
            write(',');
            write(session);
            if (type != null) {
                write(',');
                write(type);
            }
            write('}');
            write(' ');
            return this;
        }

        /** A double value as the client writes one ({@link Double#toString}), and the line's end. */
        void number(double value) throws IOException {
            if (value == (long) value && Math.abs(value) < 1e7) {
                writeAscii(Long.toString((long) value));
                writeAscii(".0\n");
            } else {
                writeAscii(Double.toString(value));
                write('\n');
            }
        }

        /** A count, a whole number, and the line's end. */
        void count(long value) throws IOException {
            writeAscii(Long.toString(value));
            write('\n');
        }

        void flush() throws IOException {
            out.write(buffer, 0, size);
            size = 0;
        }

        private static void escape(StringBuilder to, String value, boolean quotes) {
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                switch (c) {
                    case '\\' -> to.append("\\\\");
                    case '\n' -> to.append("\\n");
                    case '"' -> to.append(quotes ? "\\\"" : "\"");
                    default -> to.append(c);
                }
            }
        }

        private void writeAscii(String text) throws IOException {
            int length = text.length();
            if (size + length > buffer.length) {
                flush();
            }
            if (length > buffer.length) {
                out.write(text.getBytes(StandardCharsets.US_ASCII));
                return;
            }
            for (int i = 0; i < length; i++) {
                buffer[size++] = (byte) text.charAt(i);
            }
        }

        private void write(byte[] bytes) throws IOException {
            if (size + bytes.length > buffer.length) {
                flush();
            }
            if (bytes.length > buffer.length) {
                out.write(bytes);
                return;
            }
            System.arraycopy(bytes, 0, buffer, size, bytes.length);
            size += bytes.length;
        }

        private void write(char c) throws IOException {
            if (size == buffer.length) {
                flush();
            }
            buffer[size++] = (byte) c;
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
