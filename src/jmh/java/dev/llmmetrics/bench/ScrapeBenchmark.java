package dev.llmmetrics.bench;

import dev.llmmetrics.CoarseClock;
import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.LlmMetricsConfig;
import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.prometheus.SessionSeries;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.expositionformats.OpenMetricsTextFormatWriter;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of one {@code /metrics} scrape, into a counting null stream: {@link #serverScrape} as the server's
 * {@code ScrapeService} makes it (the per-session families written by {@link SessionSeries#writeText}
 * straight from the store's figures, then the registry's other families through the client's writer), and
 * {@link #scrape} through {@code PrometheusMeterRegistry.scrape(OutputStream, accept)}, the snapshot path an
 * application scraping its own registry takes.
 *
 * <p>The registry and the library are wired as {@code server.Main} wires them (the same JVM and process
 * binders, {@code CoarseClock} for both), with the store holding {@value #SESSIONS} sessions (five models
 * round-robin, {@code modelsPerSession} of them per session, {@value #RECORDS_PER_SESSION} requests each, one
 * in ten failed) and {@code new SessionSeries(figures, meteredSessions, Integer.MAX_VALUE)}: the
 * {@code meteredSessions} most recently active sessions have per-session series, with no pair budget.
 *
 * <p>Setup prints, once per parameter set, the bytes and the sample lines (lines not starting with
 * {@code #}) of one scrape: divide the score by the sample lines for the time per exposed sample line.
 * {@code format=text} is text format 0.0.4 (what {@code curl} gets), {@code openmetrics} what Prometheus
 * asks for by default.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@State(Scope.Benchmark)
public class ScrapeBenchmark {

    static final int SESSIONS = 10_000;
    static final int RECORDS_PER_SESSION = 10;
    static final String TEXT = "text/plain; version=0.0.4; charset=utf-8";
    static final String OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    @Param({"100", "1000", "2000"})
    public int meteredSessions;

    @Param({"text", "openmetrics"})
    public String format;

    /**
     * Models each session uses, 1 to 5: session {@code i}'s {@code r}-th request goes to model
     * {@code (i + r % modelsPerSession) % 5}, so each session has that many (session, model) pairs.
     */
    @Param({"1"})
    public int modelsPerSession;

    /**
     * {@code gzip}: {@link #serverScrape} compressed as the server compresses it for a client that asks
     * ({@code Accept-Encoding: gzip}, as Prometheus does): the fastest level, through a 64 KiB buffer.
     */
    @Param({"none"})
    public String compression;

    PrometheusMeterRegistry registry;
    JvmGcMetrics gcMetrics;
    LlmMetrics metrics;
    SessionSeries sessionSeries;
    String accept;
    final ExpositionFormats formats = ExpositionFormats.init();

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        Fixtures.requestLog("WARNING");
        accept = format.equals("openmetrics") ? OPENMETRICS : TEXT;
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT, new io.prometheus.metrics.model.registry.PrometheusRegistry(), dev.llmmetrics.CoarseClock.system());
        registry.config().meterFilter(MeterFilter.deny(id -> id.getName().equals("system.cpu.count")
                || id.getName().equals("process.cpu.time")));
        new ClassLoaderMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        gcMetrics = new JvmGcMetrics();
        gcMetrics.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);

        metrics = LlmMetrics.builder(registry)
                .config(LlmMetricsConfig.builder().maxMeteredSessions(meteredSessions).build())
                .clock(dev.llmmetrics.CoarseClock.system())
                .build();
        sessionSeries = new SessionSeries(metrics.sessionFigures(), meteredSessions, Integer.MAX_VALUE).register(registry);
        RecordingBenchmark.check(compression.equals("none") || compression.equals("gzip"), "compression must be none or gzip");
        RecordingBenchmark.check(modelsPerSession >= 1 && modelsPerSession <= Fixtures.MODELS.length,
                "modelsPerSession must be 1 to " + Fixtures.MODELS.length);
        EventBus bus = metrics.bus();
        String[] ids = Fixtures.sessionIds(SESSIONS, 42);
        Random random = new Random(7);
        for (int r = 0; r < RECORDS_PER_SESSION; r++) {
            for (int i = 0; i < SESSIONS; i++) {
                String model = Fixtures.modelOf(i + r % modelsPerSession);
                bus.publish(Fixtures.started(ids[i], model, random));
                if (r % 10 == 9) {
                    bus.publish(LlmRequestFailed.builder(ids[i], model).error("TimeoutException: read timed out")
                            .timestamp(Fixtures.T0).durationMs((long) random.nextInt(30_000)).build());
                } else {
                    bus.publish(Fixtures.completed(ids[i], model, random));
                }
            }
        }
        RecordingBenchmark.check(metrics.store().sessionCount() == SESSIONS, "store should hold " + SESSIONS);

        ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 20);
        registry.scrape(out, accept);
        String text = out.toString(StandardCharsets.UTF_8);
        long samples = text.lines().filter(l -> !l.isEmpty() && !l.startsWith("#")).count();
        long sessionSamples = text.lines().filter(l -> l.startsWith("llm_session_")).count();
        System.out.printf("%nscrape meteredSessions=%d modelsPerSession=%d format=%s: %d bytes, %d sample lines"
                        + " (%d of them llm_session_*), %d lines in all%n", meteredSessions, modelsPerSession, format,
                out.size(), samples, sessionSamples, text.lines().count());
        if (compression.equals("gzip")) {
            System.out.printf("serverScrape, gzip: %d bytes%n", serverScrape());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        metrics.close();
        gcMetrics.close();
        registry.close();
    }

    /** One full scrape through the registry's snapshots (what an application scraping the registry does); returns the bytes. */
    @Benchmark
    public long scrape() throws IOException {
        CountingOutputStream out = new CountingOutputStream();
        registry.scrape(out, accept);
        return out.count;
    }

    /**
     * One full scrape as {@code GET /metrics} makes it (server.ScrapeService): the per-session families
     * written straight from the session figures, then the registry's other families; returns the bytes.
     */
    @Benchmark
    public long serverScrape() throws IOException {
        CountingOutputStream counted = new CountingOutputStream();
        try (OutputStream out = compression.equals("gzip") ? new BufferedOutputStream(new FastestGzip(counted), 64 * 1024) : counted) {
            ExpositionFormatWriter writer = formats.findWriter(accept);
            sessionSeries.writeText(out, writer instanceof OpenMetricsTextFormatWriter);
            writer.write(out, registry.getPrometheusRegistry().scrape(name -> !SessionSeries.isSessionSeries(name)));
        }
        return counted.count;
    }

    /** Gzip at its fastest level, as the server's scrape writes it. */
    static final class FastestGzip extends GZIPOutputStream {
        FastestGzip(OutputStream out) throws IOException {
            super(out, 64 * 1024);
            def.setLevel(Deflater.BEST_SPEED);
        }
    }

    /** Discards what it is given and counts the bytes. */
    static final class CountingOutputStream extends OutputStream {
        long count;

        @Override
        public void write(int b) {
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            count += len;
        }
    }
}
