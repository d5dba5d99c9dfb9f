package dev.llmmetrics.meter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.session.InMemorySessionStore;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.SplittableRandom;
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
        InMemorySessionStore store = new InMemorySessionStore(1000, 10, Duration.ofHours(1), InstantSource.system(),
                PriceTable.sample());
        SessionMetricsCollector collector = new SessionMetricsCollector(store, 1000, 10, InstantSource.system(),
                PriceTable.sample(), false);
        collector.bindTo(registry);
        List<String> ids = List.of("plain", "with \"quotes\"", "back\\slash", "naïve café", "emoji 🚀", "a=b,c{d}", "x\\ny");
        List<String> models = List.of("gpt-4o", "llama-3.1-70b", "claude-sonnet-4");
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < 300; i++) {
            String id = ids.get(random.nextInt(ids.size()));
            String model = models.get(random.nextInt(models.size()));
            if (random.nextInt(6) == 0) {
                collector.onEvent(LlmRequestFailed.builder(id, model).error("boom")
                        .durationMs((long) random.nextInt(5000)).build());
            } else {
                int prompt = random.nextInt(20_000_000);
                int completion = random.nextInt(4000);
                collector.onEvent(LlmRequestCompleted.builder(id, model).durationMs(random.nextInt(86_400_000))
                        .promptTokens(prompt).completionTokens(completion).hasToolCalls(random.nextBoolean())
                        .build());
            }
        }
        collector.onEvent(LlmRequestFailed.builder("only failed", "gpt-4o").error("boom").build());

        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        registry.scrape(expected, openMetrics ? OPENMETRICS : TEXT, SessionSeries.NAMES);
        ByteArrayOutputStream actual = new ByteArrayOutputStream();
        collector.writeSessionSeries(actual, openMetrics);

        List<String> registryLines = lines(expected).stream().filter(l -> !l.equals("# EOF")).sorted().toList();
        List<String> directLines = lines(actual).stream().sorted().toList();
        assertTrue(registryLines.size() > 100, "the scrape holds the sessions' families");
        assertEquals(registryLines, directLines);
        assertFalse(lines(actual).contains("# EOF"), "the registry's families and the # EOF follow");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void withoutMeteredSessionsNothingIsWritten(boolean openMetrics) throws IOException {
        SessionMetricsCollector collector = new SessionMetricsCollector(
                new InMemorySessionStore(10, 10, Duration.ofHours(1), InstantSource.system()), 10, 10, InstantSource.system());
        collector.bindTo(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        collector.writeSessionSeries(out, openMetrics);
        assertEquals(0, out.size());
    }

    private static List<String> lines(ByteArrayOutputStream out) {
        return out.toString(StandardCharsets.UTF_8).lines().toList();
    }
}
