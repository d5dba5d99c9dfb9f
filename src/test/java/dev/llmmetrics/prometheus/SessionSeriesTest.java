package dev.llmmetrics.prometheus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.session.InMemorySessionStore;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.MetricNameFilter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The per-session families written straight from the figures are what the client's writers make of the snapshots. */
class SessionSeriesTest {

    private static final String TEXT = "text/plain; version=0.0.4; charset=utf-8";
    private static final String OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void theDirectWriterGivesTheLinesOfTheRegistrysScrapeOfTheSameFamilies(boolean openMetrics) throws IOException {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        InMemorySessionStore store = store(new ModelCatalog(PriceTable.sample(), 10));
        SessionSeries series = new SessionSeries(store, 1000, Integer.MAX_VALUE).register(registry);
        List<String> ids = List.of("plain", "with \"quotes\"", "back\\slash", "naïve café", "emoji 🚀", "a=b,c{d}", "x\\ny");
        List<String> models = List.of("gpt-4o", "llama-3.1-70b", "claude-sonnet-4");
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < 300; i++) {
            String id = ids.get(random.nextInt(ids.size()));
            String model = models.get(random.nextInt(models.size()));
            if (random.nextInt(7) == 0) {
                store.record(LlmRequestCompleted.builder(id, model).durationMs(random.nextInt(60_000)).hasToolCalls(false).build());
            } else if (random.nextInt(6) == 0) {
                store.record(LlmRequestFailed.builder(id, model).error("boom").durationMs((long) random.nextInt(5000)).build());
            } else {
                int prompt = random.nextInt(20_000_000);
                int completion = random.nextInt(4000);
                store.record(LlmRequestCompleted.builder(id, model).durationMs(random.nextInt(86_400_000)).promptTokens(prompt).completionTokens(completion).totalTokens(prompt + completion).hasToolCalls(random.nextBoolean()).build());
            }
        }
        store.record(LlmRequestFailed.builder("only failed", "gpt-4o").error("boom").build());

        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        registry.scrape(expected, openMetrics ? OPENMETRICS : TEXT, SessionSeries.NAMES);
        ByteArrayOutputStream actual = new ByteArrayOutputStream();
        series.writeText(actual, openMetrics);

        List<String> registryLines = lines(expected).stream().filter(l -> !l.equals("# EOF")).sorted().toList();
        List<String> directLines = lines(actual).stream().sorted().toList();
        assertTrue(registryLines.size() > 100, "the scrape holds the sessions' families");
        assertEquals(registryLines, directLines);
        assertFalse(lines(actual).contains("# EOF"), "the registry's families and the # EOF follow");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aNameFilterSelectsTheSameFamiliesFromTheDirectWriterAsFromTheRegistrysScrape(boolean openMetrics) throws IOException {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        InMemorySessionStore store = store(new ModelCatalog(PriceTable.sample(), 10));
        SessionSeries series = new SessionSeries(store, 1000, Integer.MAX_VALUE).register(registry);
        store.record(LlmRequestCompleted.builder("s-1", "gpt-4o").durationMs(1200).promptTokens(10).completionTokens(5)
                .totalTokens(15).hasToolCalls(true).build());
        store.record(LlmRequestFailed.builder("s-1", "gpt-4o").error("boom").build());
        store.record(LlmRequestScored.builder("s-1", "thumbs", 1.0).build());
        ExpositionFormatWriter writer = openMetrics ? ExpositionFormats.init().getOpenMetricsTextFormatWriter()
                : ExpositionFormats.init().getPrometheusTextFormatWriter();
        List<String> names = new ArrayList<>(SessionSeries.NAMES);
        names.addAll(List.of("llm_session_requests_total", "llm_session_tokens_sum", "llm_session_request_duration_seconds_max",
                "llm_session_score_count", "llm_session", "llm_requests_total"));
        for (String name : names) {
            Predicate<String> included = MetricNameFilter.builder().nameMustBeEqualTo(name).build();
            ByteArrayOutputStream expected = new ByteArrayOutputStream();
            writer.write(expected, registry.getPrometheusRegistry().scrape(n -> SessionSeries.isSessionSeries(n) && included.test(n)));
            ByteArrayOutputStream actual = new ByteArrayOutputStream();
            series.writeText(actual, openMetrics, included);

            List<String> registryLines = lines(expected).stream().filter(l -> !l.equals("# EOF")).sorted().toList();
            assertEquals(registryLines, lines(actual).stream().sorted().toList(), name);
            assertEquals(SessionSeries.NAMES.stream().anyMatch(included), !registryLines.isEmpty(), name);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void theTokenSummariesCountOnlyTheRequestsThatReportedTheirUsage(boolean openMetrics) throws IOException {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        InMemorySessionStore store = store(new ModelCatalog(PriceTable.EMPTY, 10));
        SessionSeries series = new SessionSeries(store, 10, Integer.MAX_VALUE).register(registry);
        store.record(LlmRequestCompleted.builder("s", "m").durationMs(10).promptTokens(100).completionTokens(50)
                .totalTokens(150).hasToolCalls(false).build());
        store.record(LlmRequestCompleted.builder("s", "m").durationMs(10).hasToolCalls(false).build());

        ByteArrayOutputStream direct = new ByteArrayOutputStream();
        series.writeText(direct, openMetrics);
        ByteArrayOutputStream snapshots = new ByteArrayOutputStream();
        registry.scrape(snapshots, openMetrics ? OPENMETRICS : TEXT, SessionSeries.NAMES);
        for (List<String> lines : List.of(lines(direct), lines(snapshots))) {
            for (String type : List.of("prompt", "completion")) {
                String count = lines.stream()
                        .filter(l -> l.startsWith("llm_session_tokens_count{") && l.contains("type=\"" + type + "\""))
                        .findFirst().orElseThrow(() -> new AssertionError(lines.toString()));
                assertEquals(1.0, Double.parseDouble(count.substring(count.lastIndexOf(' ') + 1)), count);
            }
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("llm_session_requests_total{") && l.contains("success")
                    && l.endsWith(" 2.0")), lines.toString());
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void withoutSessionsNoPerSessionSeriesAreWrittenAndTheMeteredGaugeIsZero(boolean openMetrics) throws IOException {
        SessionSeries series = new SessionSeries(store(new ModelCatalog(PriceTable.EMPTY, 10)), 10, Integer.MAX_VALUE)
                .register(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        series.writeText(out, openMetrics);
        assertTrue(lines(out).stream().noneMatch(l -> l.startsWith("llm_session_")), lines(out).toString());
        assertTrue(lines(out).contains("llm_sessions_metered 0.0"), lines(out).toString());
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void onlyTheMostRecentlyActiveSessionsHaveSeries(boolean openMetrics) throws IOException {
        InMemorySessionStore store = store(new ModelCatalog(PriceTable.EMPTY, 10));
        for (int i = 0; i < 50; i++) {
            store.record(LlmRequestCompleted.builder("s" + i, "m").durationMs(1).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(false).build());
        }
        SessionSeries series = new SessionSeries(store, 7, Integer.MAX_VALUE)
                .register(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        series.writeText(out, openMetrics);
        long sessions = lines(out).stream().filter(l -> l.startsWith("llm_session_requests_total{")).count();
        assertEquals(7, sessions);
    }

    @Test
    void aSecondSourceOfSeriesIsRefusedWhenRegisteredSoTheScrapeKeepsWorkingAndItTakesTheFirstsPlaceOnceClosed() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        InMemorySessionStore first = store(new ModelCatalog(PriceTable.EMPTY, 10));
        InMemorySessionStore second = store(new ModelCatalog(PriceTable.EMPTY, 10));
        first.record(LlmRequestCompleted.builder("of-first", "gpt-4o").durationMs(5).build());
        second.record(LlmRequestCompleted.builder("of-second", "gpt-4o").durationMs(5).build());
        SessionSeries firstSeries = new SessionSeries(first, 10, 100).register(registry);
        SessionSeries secondSeries = new SessionSeries(second, 10, 100);

        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> secondSeries.register(registry));
        assertTrue(refused.getMessage().contains("holds per-session series already"), refused.getMessage());
        assertThrows(IllegalStateException.class, () -> firstSeries.register(registry), "registered once");
        String scrape = registry.scrape();
        assertTrue(scrape.contains("session=\"of-first\"") && !scrape.contains("of-second"), scrape);

        firstSeries.close();
        firstSeries.close(); // again: nothing happens
        secondSeries.register(registry);
        scrape = registry.scrape();
        assertTrue(scrape.contains("session=\"of-second\"") && !scrape.contains("of-first"), scrape);
        assertEquals(1, scrape.lines().filter(l -> l.startsWith("llm_session_model_overflows_total")).count(), scrape);
    }

    @Test
    void closingTheLlmMetricsTakesItsSeriesOffTheRegistrySoTheNextOnesSeriesTakeTheirPlace() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        LlmMetrics first = LlmMetrics.builder(registry).build();
        SessionSeries.of(first).register(registry); // the handle thrown away, as the docs' example does
        first.bus().publish(LlmRequestCompleted.builder("of-first", "gpt-4o").durationMs(5).build());
        assertTrue(registry.scrape().contains("session=\"of-first\""), registry.scrape());

        first.close();
        String scrape = registry.scrape();
        assertTrue(scrape.lines().noneMatch(l -> l.startsWith("llm_session")), scrape);
        assertTrue(scrape.contains("llm_requests_total{"), "the per-model counters stay: " + scrape);

        LlmMetrics second = LlmMetrics.builder(registry).build();
        SessionSeries.of(second).register(registry);
        second.bus().publish(LlmRequestCompleted.builder("of-second", "gpt-4o").durationMs(5).build());
        scrape = registry.scrape();
        assertTrue(scrape.contains("session=\"of-second\"") && !scrape.contains("of-first"), scrape);
        assertEquals(1, scrape.lines().filter(l -> l.startsWith("llm_session_model_overflows_total")).count(), scrape);
        second.close();
        assertTrue(registry.scrape().lines().noneMatch(l -> l.startsWith("llm_session")), registry.scrape());
    }

    @Test
    void theSeriesOfAClosedLlmMetricsAreRefusedSoNoScrapeShowsItsSessions() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        LlmMetrics metrics = LlmMetrics.builder(registry).build();
        SessionSeries series = SessionSeries.of(metrics);
        metrics.bus().publish(LlmRequestCompleted.builder("closed", "gpt-4o").durationMs(5).build());
        metrics.close();

        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> series.register(registry));
        assertTrue(refused.getMessage().contains("closed"), refused.getMessage());
        IllegalStateException refusedLater = assertThrows(IllegalStateException.class,
                () -> SessionSeries.of(metrics).register(registry));
        assertTrue(refusedLater.getMessage().contains("closed"), refusedLater.getMessage());
        assertTrue(registry.scrape().lines().noneMatch(l -> l.startsWith("llm_session")), registry.scrape());
    }

    @Test
    void seriesClosedAndRegisteredAgainStillLeaveWithTheirLlmMetrics() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        LlmMetrics metrics = LlmMetrics.builder(registry).build();
        SessionSeries series = SessionSeries.of(metrics).register(registry);
        series.close();
        series.register(registry);
        metrics.bus().publish(LlmRequestCompleted.builder("again", "gpt-4o").durationMs(5).build());
        assertTrue(registry.scrape().contains("session=\"again\""), registry.scrape());

        metrics.close();
        assertTrue(registry.scrape().lines().noneMatch(l -> l.startsWith("llm_session")), registry.scrape());
        series.close(); // by its user too: nothing more happens
    }

    private static InMemorySessionStore store(ModelCatalog catalog) {
        return InMemorySessionStore.builder().maxSessions(1000).maxRecordsPerSession(10).idleTimeout(Duration.ofHours(1))
                .clock(InstantSource.system()).catalog(catalog).build();
    }

    private static List<String> lines(ByteArrayOutputStream out) {
        return out.toString(StandardCharsets.UTF_8).lines().toList();
    }
}
