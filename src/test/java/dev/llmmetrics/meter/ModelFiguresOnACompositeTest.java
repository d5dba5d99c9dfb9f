package dev.llmmetrics.meter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.event.LlmRequestCompleted;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

/**
 * The per-model figures on a composite registry show as Micrometer's own meters registered on the composite would:
 * found on the composite, with its common tags, and on a registry added to it later.
 */
class ModelFiguresOnACompositeTest {

    @Test
    void theRequestCounterIsFoundOnTheCompositeItWasBoundTo() {
        CompositeMeterRegistry composite = new CompositeMeterRegistry().add(new SimpleMeterRegistry());
        try (LlmMetrics metrics = LlmMetrics.builder(composite).build()) {
            metrics.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(15).build());
            Meter requests = composite.find(MeterNames.REQUESTS).tags("model", "m", "outcome", "success").meter();
            assertNotNull(requests, "llm.requests on the composite");
            assertEquals(1, requests.measure().iterator().next().getValue());
        }
    }

    @Test
    void theCompositesCommonTagsAreOnTheRequestCountersAndHistogramsAsOnItsOtherMeters() {
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        CompositeMeterRegistry composite = new CompositeMeterRegistry().add(prometheus);
        composite.config().commonTags("app", "x");
        try (LlmMetrics metrics = LlmMetrics.builder(composite).build()) {
            metrics.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(15).promptTokens(3).completionTokens(7)
                    .build());
            String scrape = prometheus.scrape();
            assertTrue(scrape.contains("llm_request_messages_count{app=\"x\",model=\"m\"}"), scrape);
            assertTrue(scrape.contains("llm_requests_total{app=\"x\",model=\"m\",outcome=\"success\"} 1.0"), scrape);
            assertTrue(scrape.contains("llm_tokens_count{app=\"x\",model=\"m\",type=\"prompt\"} 1"), scrape);
        }
    }

    @Test
    void aRegistryAddedToTheCompositeAfterTheBindingShowsTheFiguresToo() {
        CompositeMeterRegistry composite = new CompositeMeterRegistry().add(new SimpleMeterRegistry());
        try (LlmMetrics metrics = LlmMetrics.builder(composite).build()) {
            SimpleMeterRegistry later = new SimpleMeterRegistry();
            composite.add(later);
            metrics.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(15).build());
            assertNotNull(later.find(MeterNames.REQUESTS).tags("model", "m", "outcome", "success").meter(),
                    "llm.requests on the registry added later; its other meters: " + later.getMeters().size());
        }
    }

    @Test
    void aPrometheusRegistryAddedToACompositeWithoutOneIsStillScrapedOnceTheNextLlmMetricsIsBuiltOnTheComposite() {
        CompositeMeterRegistry composite = new CompositeMeterRegistry();
        try (LlmMetrics first = LlmMetrics.builder(composite).build()) {
            first.bus().publish(LlmRequestCompleted.builder("a", "m").durationMs(15).build());
        }
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        composite.add(prometheus);
        try (LlmMetrics second = LlmMetrics.builder(composite).build()) {
            second.bus().publish(LlmRequestCompleted.builder("b", "m").durationMs(15).build());
            String scrape = prometheus.scrape();
            assertTrue(scrape.contains("llm_requests_total{model=\"m\",outcome=\"success\"} 2.0"), scrape);
            assertTrue(scrape.contains("llm_request_duration_seconds_count{model=\"m\",outcome=\"success\"} 2"), scrape);
        }
    }

    @Test
    void aPrometheusRegistryShowingTheDistributionsIsStillScrapedOnceAddedToACompositeWhoseAreFunctionTimers() {
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (LlmMetrics first = LlmMetrics.builder(prometheus).build()) {
            first.bus().publish(LlmRequestCompleted.builder("a", "m").durationMs(15).build());
        }
        CompositeMeterRegistry composite = new CompositeMeterRegistry().add(new SimpleMeterRegistry());
        try (LlmMetrics second = LlmMetrics.builder(composite).build()) {
            second.bus().publish(LlmRequestCompleted.builder("b", "m").durationMs(15).build());
            composite.add(prometheus);
            String scrape = prometheus.scrape();
            assertTrue(scrape.contains("llm_requests_total{model=\"m\",outcome=\"success\"}"), scrape);
            assertTrue(scrape.contains("llm_request_duration_seconds_count{model=\"m\",outcome=\"success\"}"), scrape);
        }
    }
}
