package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Rates and latency quantiles over a window, from the real collector's meters in a real Prometheus registry. */
class ModelRatesTest {

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final LlmMetrics metrics = LlmMetrics.builder(registry).build();
    private final ModelRates rates = new ModelRates(registry, nanos::get, metrics.store()::inFlightByLabel);

    @AfterEach
    void close() {
        rates.close();
        metrics.close();
    }

    private void advance(Duration d) {
        nanos.addAndGet(d.toNanos());
    }

    private void completed(String model, long ms, int prompt, int completion) {
        metrics.bus().publish(LlmRequestCompleted.builder("s", model).durationMs(ms).promptTokens(prompt)
                .completionTokens(completion).build());
    }

    private void failed(String model, long ms) {
        metrics.bus().publish(LlmRequestFailed.builder("s", model).error("RateLimitError: 429").durationMs(ms).build());
    }

    private static ModelRates.Rate model(ModelRates.Window w, String model) {
        return w.models().stream().filter(r -> r.model().equals(model)).findFirst().orElseThrow();
    }

    @Test
    void quantilesInterpolateInsideTheBucketAsHistogramQuantileDoes() {
        double[] bounds = {0.1, 0.2, 0.4};
        long[] cumulative = {10, 30, 40};
        assertEquals(0.05, ModelRates.quantile(0.1, bounds, cumulative, 50), 1e-12);   // rank 5 in (0, 0.1]
        assertEquals(0.175, ModelRates.quantile(0.5, bounds, cumulative, 50), 1e-12);  // rank 25 in (0.1, 0.2]
        assertEquals(0.3, ModelRates.quantile(0.7, bounds, cumulative, 50), 1e-12);    // rank 35 in (0.2, 0.4]
        assertEquals(0.4, ModelRates.quantile(0.95, bounds, cumulative, 50), 1e-12);   // above the last bound
        assertNull(ModelRates.quantile(0.5, bounds, new long[3], 0));
        // A bucket read a moment before its neighbour is made monotonic, as Prometheus does.
        assertEquals(0.15, ModelRates.quantile(0.5, bounds, new long[] {10, 30, 29}, 40), 1e-12); // rank 20 in (0.1, 0.2]
        assertThrows(IllegalArgumentException.class, () -> ModelRates.quantile(1.5, bounds, cumulative, 50));
    }

    @Test
    void ratesCountOnlyWhatHappenedSinceTheOldestSampleOfTheWindow() {
        completed("gpt-4o", 5000, 1000, 1000); // before the first sample: outside every window
        rates.sample();
        advance(Duration.ofSeconds(10));
        for (int i = 0; i < 10; i++) {
            completed("gpt-4o", 300, 100, 50);
        }
        failed("gpt-4o", 100);
        failed("gpt-4o", 100);

        ModelRates.Window w = rates.rates(Duration.ofMinutes(1));
        assertEquals(60, w.windowSeconds());
        assertEquals(10.0, w.coveredSeconds());
        ModelRates.Rate r = model(w, "gpt-4o");
        assertEquals(12, r.requests());
        assertEquals(2, r.failedRequests());
        assertEquals(1.2, r.requestsPerSecond());
        assertEquals(0.1667, r.errorRatio());
        // 2 observations in (0.08, 0.16] s and 10 in (0.16, 0.32] s: the GenAI buckets.
        assertEquals(224.0, r.p50LatencyMs());  // rank 6: 0.16 + 0.16 * 4/10
        assertEquals(310.4, r.p95LatencyMs());  // rank 11.4: 0.16 + 0.16 * 9.4/10
        assertEquals(1500, r.tokens());
        assertEquals(150.0, r.tokensPerSecond());
    }

    @Test
    void theWindowStartsAtItsOldestSampleAndModelsWithoutTrafficReadZero() {
        rates.sample();                              // t = 0
        completed("a", 100, 1, 1);
        advance(Duration.ofSeconds(5));
        rates.sample();                              // t = 5 s
        advance(Duration.ofSeconds(5));
        rates.sample();                              // t = 10 s
        completed("a", 100, 1, 1);
        completed("b", 100, 1, 1);
        advance(Duration.ofSeconds(10));             // now = 20 s

        ModelRates.Window tenSeconds = rates.rates(Duration.ofSeconds(10));
        assertEquals(10.0, tenSeconds.coveredSeconds());
        assertEquals(1, model(tenSeconds, "a").requests());
        assertEquals(1, model(tenSeconds, "b").requests());   // a model new in the window counts from zero

        ModelRates.Window minute = rates.rates(Duration.ofMinutes(1));
        assertEquals(20.0, minute.coveredSeconds());
        assertEquals(2, model(minute, "a").requests());
        assertEquals(0.1, model(minute, "a").requestsPerSecond());

        for (int i = 0; i < 24; i++) {               // two quiet minutes, sampled: zero rates, no latency
            rates.sample();
            advance(ModelRates.PERIOD);
        }
        ModelRates.Rate quiet = model(rates.rates(Duration.ofMinutes(1)), "a");
        assertEquals(0, quiet.requests());
        assertEquals(0.0, quiet.requestsPerSecond());
        assertNull(quiet.errorRatio());
        assertNull(quiet.p50LatencyMs());
    }

    @Test
    void beforeAnySampleEveryRateIsUnknownButInFlightIsCurrent() {
        metrics.bus().publish(LlmRequestStarted.builder("s", "gpt-4o").messagesCount(3).build());
        ModelRates.Window w = rates.rates(Duration.ofMinutes(5));
        assertEquals(0.0, w.coveredSeconds());
        ModelRates.Rate r = model(w, "gpt-4o");
        assertNull(r.requests());
        assertNull(r.requestsPerSecond());
        assertNull(r.p95LatencyMs());
        assertEquals(1, r.inFlight());
    }

    @Test
    void theRingKeepsFiveMinutesAndNoMore() {
        for (int i = 0; i <= 200; i++) {             // 1000 s of samples every 5 s
            rates.sample();
            completed("a", 100, 1, 1);
            advance(ModelRates.PERIOD);
        }
        ModelRates.Window w = rates.rates(ModelRates.MAX_WINDOW);
        assertEquals(300.0, w.coveredSeconds());
        assertEquals(60, model(w, "a").requests());
        assertEquals(List.of("a"), w.models().stream().map(ModelRates.Rate::model).toList());
    }
}
