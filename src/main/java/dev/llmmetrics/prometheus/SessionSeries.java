package dev.llmmetrics.prometheus;

import static dev.llmmetrics.meter.MeterNames.OUTCOME_FAILURE;
import static dev.llmmetrics.meter.MeterNames.OUTCOME_SUCCESS;
import static dev.llmmetrics.meter.MeterNames.TAG_MODEL;
import static dev.llmmetrics.meter.MeterNames.TAG_NAME;
import static dev.llmmetrics.meter.MeterNames.TAG_OUTCOME;
import static dev.llmmetrics.meter.MeterNames.TAG_SESSION;
import static dev.llmmetrics.meter.MeterNames.TAG_TYPE;
import static dev.llmmetrics.meter.MeterNames.TYPE_COMPLETION;
import static dev.llmmetrics.meter.MeterNames.TYPE_PROMPT;

import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.session.PairFigures;
import dev.llmmetrics.session.ScoreSummary;
import dev.llmmetrics.session.SessionFigures;
import dev.llmmetrics.session.SessionScores;
import dev.llmmetrics.session.SessionsOnScrape;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.model.registry.MetricType;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.Exemplars;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricFamilyDescriptor;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Quantiles;
import io.prometheus.metrics.model.snapshots.SummarySnapshot.SummaryDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * The per-session series ({@code llm_session_*}, labelled by model and session) for a Prometheus registry,
 * read at scrape time from this process's {@link SessionFigures}: the most recently active sessions, whole, each
 * with a series per model it used and a score summary per score name it received (at most
 * {@code SessionStore.MAX_SCORE_NAMES} and {@code _other}). At most {@code maxSessions} sessions are on a scrape,
 * and their (session, model) and (session, score name) pairs together at most {@code maxPairs}, so that a
 * scrape has at most 13 per-session samples a pair (a model's two request counters, duration summary and
 * maximum, token summaries and maxima, tool calls and cost; a score name's 2) whatever the sessions send. A session that drops out of that set and comes back
 * resumes from its true totals, which Prometheus reads as a continued counter.
 *
 * <p>One rendering per exposition format: the Prometheus and OpenMetrics text formats through
 * {@link #writeText}, which writes bytes straight from the figures (the client's snapshot writers take
 * several times longer per line, see docs/benchmarks.md); any other format (protobuf) through
 * {@link #collect()}'s snapshots. Both take names, help texts and labels from this class. Prometheus-only:
 * other Micrometer registries get the per-model meters, not these.
 */
public final class SessionSeries implements MultiCollector, AutoCloseable {

    static final String REQUESTS = "llm_session_requests";
    static final String DURATION = "llm_session_request_duration_seconds";
    static final String TOKENS = "llm_session_tokens";
    static final String TOOL_CALL_REQUESTS = "llm_session_tool_call_requests";
    static final String COST = "llm_session_cost_usd";
    static final String MAX = "_max";
    static final String SCORE = "llm_session_score";
    static final String METERED = "llm_sessions_metered";
    private static final String METERED_HELP = "Sessions with per-session series on this scrape";
    private static final String REQUESTS_HELP = "LLM requests finished by a session, by model and outcome";
    private static final String DURATION_HELP = "Duration of the successful LLM requests of a session, by model";
    private static final String TOKENS_HELP = "Tokens per completed LLM request of a session, by model and type";
    private static final String TOOL_CALLS_HELP =
            "Completed LLM requests of a session whose response asked for tool calls, by model";
    private static final String COST_HELP = "What the completed LLM requests of a session cost in US dollars, as the "
            + "provider reported it or else by the price table, by model; absent until a request of the model has a cost";
    private static final String SCORE_HELP = "Scores a session received, by score name: _sum / _count is the "
            + "session's mean score";
    /**
     * The families this writes, each with its type, help and label names: what a registry scrape's name filter sees,
     * and what the Prometheus registry checks a second registration of the same families against.
     */
    private static final List<MetricFamilyDescriptor> DESCRIPTORS = List.of(
            family(MetricType.GAUGE, METERED, METERED_HELP),
            family(MetricType.COUNTER, REQUESTS, REQUESTS_HELP, TAG_MODEL, TAG_OUTCOME, TAG_SESSION),
            family(MetricType.SUMMARY, DURATION, DURATION_HELP, TAG_MODEL, TAG_SESSION),
            family(MetricType.GAUGE, DURATION + MAX, DURATION_HELP, TAG_MODEL, TAG_SESSION),
            family(MetricType.SUMMARY, TOKENS, TOKENS_HELP, TAG_MODEL, TAG_SESSION, TAG_TYPE),
            family(MetricType.GAUGE, TOKENS + MAX, TOKENS_HELP, TAG_MODEL, TAG_SESSION, TAG_TYPE),
            family(MetricType.COUNTER, TOOL_CALL_REQUESTS, TOOL_CALLS_HELP, TAG_MODEL, TAG_SESSION),
            family(MetricType.COUNTER, COST, COST_HELP, TAG_MODEL, TAG_SESSION),
            family(MetricType.SUMMARY, SCORE, SCORE_HELP, TAG_NAME, TAG_SESSION));
    static final Set<String> NAMES = DESCRIPTORS.stream().map(MetricFamilyDescriptor::getPrometheusName)
            .collect(java.util.stream.Collectors.toUnmodifiableSet());
    /** The families of the (session, model) pairs, all but {@link #METERED} and {@link #SCORE}. */
    private static final List<String> PAIR_NAMES =
            List.of(REQUESTS, DURATION, DURATION + MAX, TOKENS, TOKENS + MAX, TOOL_CALL_REQUESTS, COST);
    private static final double MILLIS_PER_SECOND = 1e3;


    private final SessionFigures figures;
    /** The instance whose figures these are, which closes them with itself; {@code null} when made from figures. */
    private final @Nullable LlmMetrics source;
    private final int maxSessions;
    private final int maxPairs;
    /** The registry these series are on, and their overflow counter; {@code null} before and after. */
    private @Nullable PrometheusMeterRegistry registry;
    private @Nullable Meter overflows;

    /**
     * @param figures     this process's per-session figures
     * @param maxSessions most sessions with series on a scrape; not negative
     * @param maxPairs    most (session, model) and (session, score name) pairs, together, with series on a
     *                    scrape; not negative
     */
    public SessionSeries(SessionFigures figures, int maxSessions, int maxPairs) {
        this(figures, null, maxSessions, maxPairs);
    }

    private SessionSeries(SessionFigures figures, @Nullable LlmMetrics source, int maxSessions, int maxPairs) {
        if (maxSessions < 0 || maxPairs < 0) {
            throw new IllegalArgumentException("maxSessions and maxPairs must not be negative");
        }
        this.figures = Objects.requireNonNull(figures, "figures");
        this.source = source;
        this.maxSessions = maxSessions;
        this.maxPairs = maxPairs;
    }

    /**
     * The series of {@code metrics}' session figures, within the bounds of its configuration. Once registered they
     * leave the registry when {@code metrics} is {@linkplain LlmMetrics#close() closed}, so that the series of the
     * next {@code LlmMetrics} on it can be registered; the series of one closed are refused.
     */
    public static SessionSeries of(LlmMetrics metrics) {
        return new SessionSeries(metrics.sessionFigures(), metrics, metrics.config().maxMeteredSessions(),
                metrics.config().maxMeteredPairs());
    }

    /**
     * Registers the series on {@code registry}'s scrape, and among its meters the
     * {@code llm.session.model.overflows} counter (events that went to a session's {@code _other} pair for want
     * of room, {@link SessionFigures#modelOverflows}). One registry holds the per-session series of one
     * {@link LlmMetrics} at a time: two would write the same samples, which no scrape can hold.
     *
     * @throws IllegalStateException when these series are registered already, the {@link LlmMetrics} they were
     *                               {@linkplain #of made of} is closed, or {@code registry} holds the per-session
     *                               series of other figures that were not {@linkplain #close() closed}
     */
    public synchronized SessionSeries register(PrometheusMeterRegistry registry) {
        if (this.registry != null) {
            throw new IllegalStateException("these per-session series are registered already");
        }
        if (source != null) {
            source.addReader(this); // refused once it is closed
        }
        try {
            registry.getPrometheusRegistry().register(this);
        } catch (IllegalArgumentException e) {
            if (source != null) {
                source.removeReader(this);
            }
            throw new IllegalStateException("the registry holds per-session series already; one registry takes the "
                    + "series of one LlmMetrics at a time (close the other's first)", e);
        }
        overflows = FunctionCounter.builder("llm.session.model.overflows", figures, SessionFigures::modelOverflows)
                .description("Events counted under a session's _other model for want of a label of their own: past "
                        + "the session's model labels or past the server's")
                .register(registry);
        this.registry = registry;
        return this;
    }

    /**
     * Takes the series and their overflow counter off the registry they were registered on, so that the series of
     * another {@link LlmMetrics} may take their place; does nothing when they are not registered. Closing the
     * {@code LlmMetrics} they were {@linkplain #of made of} closes them too.
     */
    @Override
    public synchronized void close() {
        PrometheusMeterRegistry registered = registry;
        if (registered == null) {
            return;
        }
        if (source != null) {
            source.removeReader(this);
        }
        registered.getPrometheusRegistry().unregister(this);
        registered.remove(Objects.requireNonNull(overflows));
        registry = null;
        overflows = null;
    }

    /** Whether {@code prometheusName} is one of these families, as a registry scrape's name filter sees it. */
    public static boolean isSessionSeries(String prometheusName) {
        return NAMES.contains(prometheusName);
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
        SessionsOnScrape shown = figures.mostRecent(maxSessions, maxPairs);
        List<PairFigures> pairs = shown.pairs();
        List<SummaryDataPointSnapshot> scores = new ArrayList<>();
        for (SessionScores session : shown.scores()) {
            for (ScoreSummary score : session.scores()) {
                scores.add(summary(Labels.of(TAG_NAME, score.name(), TAG_SESSION, session.sessionId()), score.count(),
                        score.sum()));
            }
        }
        for (PairFigures f : pairs) {
            Labels labels = Labels.of(TAG_MODEL, f.model(), TAG_SESSION, f.sessionId());
            requests.add(counter(labels.add(TAG_OUTCOME, OUTCOME_SUCCESS), f.successes()));
            if (f.failures() > 0) {
                requests.add(counter(labels.add(TAG_OUTCOME, OUTCOME_FAILURE), f.failures()));
            }
            durations.add(summary(labels, f.successes(), f.durationMs() / MILLIS_PER_SECOND));
            maxDurations.add(gauge(labels, f.maxDurationMs() / MILLIS_PER_SECOND));
            Labels prompt = labels.add(TAG_TYPE, TYPE_PROMPT);
            Labels completion = labels.add(TAG_TYPE, TYPE_COMPLETION);
            tokens.add(summary(prompt, f.requestsWithUsage(), f.promptTokens()));
            tokens.add(summary(completion, f.requestsWithUsage(), f.completionTokens()));
            maxTokens.add(gauge(prompt, f.maxPromptTokens()));
            maxTokens.add(gauge(completion, f.maxCompletionTokens()));
            if (f.toolCallRequests() > 0) {
                toolCalls.add(counter(labels, f.toolCallRequests()));
            }
            if (f.priced()) {
                costs.add(counter(labels, ModelPrice.usd(f.costPicoUsd())));
            }
        }
        List<MetricSnapshot> families = new ArrayList<>(8);
        families.add(new GaugeSnapshot(metadata(METERED, METERED_HELP), List.of(gauge(Labels.EMPTY, shown.sessions()))));
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
        if (!scores.isEmpty()) {
            families.add(new SummarySnapshot(metadata(SCORE, SCORE_HELP), scores));
        }
        return new MetricSnapshots(families);
    }

    @Override
    public List<MetricFamilyDescriptor> getMetricFamilyDescriptors() {
        return DESCRIPTORS;
    }

    @Override
    public MetricSnapshots collect(Predicate<String> includedNames) {
        // A scrape that filters every per-session family out costs nothing here.
        return NAMES.stream().anyMatch(includedNames) ? MultiCollector.super.collect(includedNames) : new MetricSnapshots();
    }

    /**
     * Writes the per-session families in the Prometheus text format 0.0.4, or in OpenMetrics 1.0 without
     * its closing {@code # EOF} (the registry's other families and the {@code # EOF} follow): the families,
     * samples and values of {@link #collect()}, in another sample order, written straight from the figures.
     * A server scraping the registry itself writes these first, then the registry's other families:
     * <pre>{@code
     * series.writeText(out, openMetrics);
     * writer.write(out, registry.getPrometheusRegistry().scrape(name -> !SessionSeries.isSessionSeries(name)));
     * }</pre>
     */
    public void writeText(OutputStream out, boolean openMetrics) throws IOException {
        writeText(out, openMetrics, name -> true);
    }

    /**
     * Writes the per-session families that {@code includedNames} accepts, as {@link #writeText(OutputStream, boolean)}
     * writes them all. A family is tested by the name {@link #collect()} gives it ({@code llm_session_requests},
     * {@code llm_session_tokens_max}), as a registry scrape's name filter tests it, so that one filter selects the
     * same families from these and from the registry's others, such as the filter of a scrape's {@code name[]}:
     * <pre>{@code
     * series.writeText(out, openMetrics, included);
     * writer.write(out, registry.getPrometheusRegistry().scrape(name -> !SessionSeries.isSessionSeries(name) && included.test(name)));
     * }</pre>
     * When it accepts none of them this writes nothing and reads no figures.
     */
    public void writeText(OutputStream out, boolean openMetrics, Predicate<String> includedNames) throws IOException {
        if (NAMES.stream().noneMatch(includedNames)) {
            return;
        }
        SessionsOnScrape shown = figures.mostRecent(maxSessions, maxPairs);
        List<PairFigures> pairs = shown.pairs();
        TextOut text = new TextOut(out, openMetrics);
        if (includedNames.test(METERED)) {
            text.header(METERED, "gauge", METERED_HELP);
            text.writeAscii(METERED);
            text.write(' ');
            text.number(shown.sessions());
        }
        if (!pairs.isEmpty() && PAIR_NAMES.stream().anyMatch(includedNames)) {
            writePairs(text, pairs, includedNames);
        }
        if (includedNames.test(SCORE)) {
            writeScores(text, shown.scores());
        }
        text.flush();
    }

    /** Writes the score family, with its header before its first sample; nothing when no session has a score. */
    private static void writeScores(TextOut text, List<SessionScores> sessions) throws IOException {
        boolean header = false;
        for (SessionScores session : sessions) {
            byte[] sessionLabel = text.labelBytes(TAG_SESSION, session.sessionId());
            for (ScoreSummary score : session.scores()) {
                if (!header) {
                    text.header(SCORE, "summary", SCORE_HELP);
                    header = true;
                }
                byte[] name = text.labelBytes(TAG_NAME, score.name());
                text.sample(SCORE, "_count", name, sessionLabel).count(score.count());
                text.sample(SCORE, "_sum", name, sessionLabel).number(score.sum());
            }
        }
    }

    /** Writes the families of the (session, model) pairs that {@code includedNames} accepts, {@code pairs} not empty. */
    private static void writePairs(TextOut text, List<PairFigures> pairs, Predicate<String> includedNames) throws IOException {
        int n = pairs.size();
        byte[][] models = new byte[n][];
        byte[][] sessionIds = new byte[n][];
        for (int i = 0; i < n; i++) {
            models[i] = text.labelBytes(TAG_MODEL, pairs.get(i).model());
            sessionIds[i] = text.labelBytes(TAG_SESSION, pairs.get(i).sessionId());
        }

        if (includedNames.test(REQUESTS)) {
            text.header(REQUESTS, "counter", REQUESTS_HELP);
            for (int i = 0; i < n; i++) {
                PairFigures f = pairs.get(i);
                text.sample(REQUESTS, "_total", models[i], OUTCOME_BYTES_SUCCESS, sessionIds[i], null).number(f.successes());
                if (f.failures() > 0) {
                    text.sample(REQUESTS, "_total", models[i], OUTCOME_BYTES_FAILURE, sessionIds[i], null).number(f.failures());
                }
            }
        }
        if (includedNames.test(DURATION)) {
            text.header(DURATION, "summary", DURATION_HELP);
            for (int i = 0; i < n; i++) {
                PairFigures f = pairs.get(i);
                text.sample(DURATION, "_count", models[i], null, sessionIds[i], null).count(f.successes());
                text.sample(DURATION, "_sum", models[i], null, sessionIds[i], null).number(f.durationMs() / MILLIS_PER_SECOND);
            }
        }
        if (includedNames.test(DURATION + MAX)) {
            text.header(DURATION + MAX, "gauge", DURATION_HELP);
            for (int i = 0; i < n; i++) {
                text.sample(DURATION + MAX, "", models[i], null, sessionIds[i], null)
                        .number(pairs.get(i).maxDurationMs() / MILLIS_PER_SECOND);
            }
        }
        if (includedNames.test(TOKENS)) {
            text.header(TOKENS, "summary", TOKENS_HELP);
            for (int i = 0; i < n; i++) {
                PairFigures f = pairs.get(i);
                text.sample(TOKENS, "_count", models[i], null, sessionIds[i], TYPE_BYTES_COMPLETION).count(f.requestsWithUsage());
                text.sample(TOKENS, "_sum", models[i], null, sessionIds[i], TYPE_BYTES_COMPLETION).number(f.completionTokens());
                text.sample(TOKENS, "_count", models[i], null, sessionIds[i], TYPE_BYTES_PROMPT).count(f.requestsWithUsage());
                text.sample(TOKENS, "_sum", models[i], null, sessionIds[i], TYPE_BYTES_PROMPT).number(f.promptTokens());
            }
        }
        if (includedNames.test(TOKENS + MAX)) {
            text.header(TOKENS + MAX, "gauge", TOKENS_HELP);
            for (int i = 0; i < n; i++) {
                PairFigures f = pairs.get(i);
                text.sample(TOKENS + MAX, "", models[i], null, sessionIds[i], TYPE_BYTES_COMPLETION).number(f.maxCompletionTokens());
                text.sample(TOKENS + MAX, "", models[i], null, sessionIds[i], TYPE_BYTES_PROMPT).number(f.maxPromptTokens());
            }
        }
        if (includedNames.test(TOOL_CALL_REQUESTS)) {
            boolean header = false;
            for (int i = 0; i < n; i++) {
                long toolCalls = pairs.get(i).toolCallRequests();
                if (toolCalls > 0) {
                    if (!header) {
                        text.header(TOOL_CALL_REQUESTS, "counter", TOOL_CALLS_HELP);
                        header = true;
                    }
                    text.sample(TOOL_CALL_REQUESTS, "_total", models[i], null, sessionIds[i], null).number(toolCalls);
                }
            }
        }
        if (includedNames.test(COST)) {
            boolean header = false;
            for (int i = 0; i < n; i++) {
                PairFigures f = pairs.get(i);
                if (f.priced()) {
                    if (!header) {
                        text.header(COST, "counter", COST_HELP);
                        header = true;
                    }
                    text.sample(COST, "_total", models[i], null, sessionIds[i], null).number(ModelPrice.usd(f.costPicoUsd()));
                }
            }
        }
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

        /** Starts a sample line of a score up to its value: its labels are name, then session. */
        TextOut sample(String family, String suffix, byte[] name, byte[] session) throws IOException {
            writeAscii(family);
            writeAscii(suffix);
            write('{');
            write(name);
            write(',');
            write(session);
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

    private static MetricFamilyDescriptor family(MetricType type, String name, String help, String... labelNames) {
        return MetricFamilyDescriptor.of(type, metadata(name, help), List.of(labelNames));
    }
}
