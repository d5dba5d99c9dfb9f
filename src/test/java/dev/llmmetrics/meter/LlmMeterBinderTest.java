package dev.llmmetrics.meter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.server.PrometheusText;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.LlmMetricsConfig;
import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.prometheus.SessionSeries;
import dev.llmmetrics.session.InMemorySessionStore;
import dev.llmmetrics.session.SessionStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The meters and the per-session series as {@link LlmMetrics} wires them: events published on its bus. */
class LlmMeterBinderTest {

    private final AtomicLong nowMs = new AtomicLong(Instant.parse("2026-01-17T15:00:00Z").toEpochMilli());
    private final InstantSource clock = () -> Instant.ofEpochMilli(nowMs.get());
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    private LlmMetrics metrics(int maxSessions, int maxMetered, int maxModels) {
        LlmMetrics metrics = LlmMetrics.builder(registry).clock(clock).config(LlmMetricsConfig.builder()
                .maxSessions(maxSessions).maxRecordsPerSession(100).maxMeteredSessions(maxMetered).maxModels(maxModels)
                .build()).build();
        new SessionSeries(metrics.sessionFigures(), maxMetered).register(registry);
        return metrics;
    }

    private PrometheusText scrape() {
        return PrometheusText.parse(registry.scrape());
    }

    @Test
    void everyMeterOfTheReadmeListAppearsOnTheScrapeWithItsLabels() {
        LlmMetrics c = metrics(10, 10, 10);
        c.bus().publish(new LlmRequestStarted("s1", "gpt-4", 5, 2));
        c.bus().publish(new LlmRequestCompleted("s1", "gpt-4", 1500, 100, 50, 150, true));
        c.bus().publish(new LlmRequestFailed("s1", "gpt-4", "boom", null, null, 300L));

        PrometheusText s = scrape();
        assertEquals(1, s.value("llm_session_requests_total", "session", "s1", "model", "gpt-4", "outcome", "success"));
        assertEquals(1, s.value("llm_session_requests_total", "session", "s1", "model", "gpt-4", "outcome", "failure"));
        assertEquals(1.5, s.value("llm_session_request_duration_seconds_sum", "session", "s1"), 1e-9);
        assertEquals(1.5, s.value("llm_session_request_duration_seconds_max", "session", "s1"), 1e-9);
        assertEquals(100, s.value("llm_session_tokens_sum", "session", "s1", "type", "prompt"));
        assertEquals(50, s.value("llm_session_tokens_sum", "session", "s1", "type", "completion"));
        assertEquals(1, s.value("llm_session_tool_call_requests_total", "session", "s1", "model", "gpt-4"));
        assertTrue(s.find("llm_session_requests_total").stream().noneMatch(x -> x.labels().containsKey("le")));
        assertFalse(s.has("llm_session_request_duration_seconds_bucket"));

        assertEquals(1, s.value("llm_requests_total", "model", "gpt-4", "outcome", "success"));
        assertEquals(1, s.value("llm_requests_total", "model", "gpt-4", "outcome", "failure"));
        assertEquals(1, s.value("llm_request_duration_seconds_bucket", "model", "gpt-4", "outcome", "success", "le", "2.56"));
        assertEquals(0, s.value("llm_request_duration_seconds_bucket", "model", "gpt-4", "outcome", "success", "le", "1.28"));
        assertEquals(1, s.value("llm_request_duration_seconds_bucket", "model", "gpt-4", "outcome", "failure", "le", "0.32"));
        assertEquals(15, s.find("llm_request_duration_seconds_bucket", "model", "gpt-4", "outcome", "success").size());
        assertTrue(s.has("llm_request_duration_seconds_bucket", "le", "81.92"));
        assertEquals(1, s.value("llm_tokens_bucket", "model", "gpt-4", "type", "prompt", "le", "256.0"));
        assertTrue(s.has("llm_tokens_bucket", "le", "6.7108864E7"));
        assertEquals(150, s.sum("llm_tokens_sum", "model", "gpt-4"));
        assertEquals(0, s.value("llm_requests_in_flight", "model", "gpt-4"));
        assertEquals(5, s.value("llm_request_messages_sum", "model", "gpt-4"));
        assertEquals(2, s.value("llm_request_tools_sum", "model", "gpt-4"));
        assertEquals(1, s.value("llm_sessions_active"));
        assertEquals(1, s.value("llm_sessions_metered"));
        assertEquals(0, s.value("llm_sessions_evicted_total", "reason", "capacity"));
        assertEquals(0, s.value("llm_sessions_evicted_total", "reason", "idle"));
    }

    @Test
    void inFlightCountsStartedMinusFinishedAndNeverGoesNegative() {
        LlmMetrics c = metrics(10, 10, 10);
        c.bus().publish(new LlmRequestCompleted("s", "m", 1, 1, 1, 2, false));
        c.bus().publish(new LlmRequestFailed("s", "m", "e"));
        assertEquals(0, scrape().value("llm_requests_in_flight", "model", "m"));
        c.bus().publish(new LlmRequestStarted("s", "m", 1, 0));
        c.bus().publish(new LlmRequestStarted("s", "m", 1, 0));
        assertEquals(2, scrape().value("llm_requests_in_flight", "model", "m"));
        c.bus().publish(new LlmRequestCompleted("s", "m", 1, 1, 1, 2, false));
        assertEquals(1, scrape().value("llm_requests_in_flight", "model", "m"));
    }

    @Test
    void perSessionMetersExistForAtMostTheBoundOfMostRecentlyActiveSessions() {
        LlmMetrics c = metrics(1_000, 3, 10);
        SessionStore store = c.store();
        for (String id : List.of("a", "b", "c", "a", "d")) {
            c.bus().publish(new LlmRequestCompleted(id, "m", 1, 1, 1, 2, false));
            nowMs.addAndGet(1);
        }

        PrometheusText s = scrape();
        assertEquals(3, s.value("llm_sessions_metered"));
        assertFalse(s.has("llm_session_requests_total", "session", "b"));
        assertEquals(2, s.value("llm_session_requests_total", "session", "a", "outcome", "success"));
        assertTrue(s.has("llm_session_tokens_sum", "session", "d"));
        assertEquals(4, s.value("llm_sessions_active"), "the store keeps every session");
        assertEquals(1, store.session("b").orElseThrow().totalRequests());
    }

    @Test
    void storeEvictionRemovesTheSessionsSeriesAndCountsTheReason() {
        LlmMetrics c = metrics(2, 10, 10);
        SessionStore store = c.store();
        c.bus().publish(new LlmRequestCompleted("a", "m", 1, 1, 1, 2, false));
        nowMs.addAndGet(1_000);
        c.bus().publish(new LlmRequestCompleted("b", "m", 1, 1, 1, 2, false));
        nowMs.addAndGet(1_000);
        c.bus().publish(new LlmRequestCompleted("c", "m", 1, 1, 1, 2, false));
        PrometheusText s = scrape();
        assertFalse(s.has("llm_session_requests_total", "session", "a"));
        assertEquals(1, s.value("llm_sessions_evicted_total", "reason", "capacity"));

        nowMs.addAndGet(Duration.ofHours(2).toMillis());
        assertEquals(2, store.evictIdle());
        s = scrape();
        assertEquals(2, s.value("llm_sessions_evicted_total", "reason", "idle"));
        assertFalse(s.has("llm_session_requests_total"));
        assertEquals(0, s.value("llm_sessions_active"));
        assertEquals(0, s.value("llm_sessions_metered"));
        assertEquals(3, s.value("llm_requests_total", "model", "m", "outcome", "success"), "per-model meters stay");
    }

    @Test
    void clearingASessionRemovesItFromTheStoreAndTheScrape() {
        LlmMetrics c = metrics(10, 10, 10);
        SessionStore store = c.store();
        c.bus().publish(new LlmRequestCompleted("gone", "m", 1, 1, 1, 2, true));
        c.bus().publish(new LlmRequestCompleted("kept", "m", 1, 1, 1, 2, true));

        assertTrue(c.store().clear("gone"));
        assertFalse(c.store().clear("gone"));

        PrometheusText s = scrape();
        assertFalse(s.has("llm_session_requests_total", "session", "gone"));
        assertFalse(s.has("llm_session_tokens_sum", "session", "gone"));
        assertTrue(s.has("llm_session_requests_total", "session", "kept"));
        assertTrue(store.session("gone").isEmpty());

        c.bus().publish(new LlmRequestCompleted("gone", "m", 1, 1, 1, 2, false));
        assertEquals(1, scrape().value("llm_session_requests_total", "session", "gone", "outcome", "success"));
    }

    @Test
    void modelsPastTheBoundShareTheOtherLabel() {
        LlmMetrics c = metrics(10, 10, 2);
        for (String model : List.of("m1", "m2", "m3", "m4")) {
            c.bus().publish(new LlmRequestCompleted("s", model, 1, 1, 1, 2, false));
        }
        PrometheusText s = scrape();
        assertEquals(1, s.value("llm_requests_total", "model", "m1", "outcome", "success"));
        assertEquals(1, s.value("llm_requests_total", "model", "m2", "outcome", "success"));
        assertEquals(2, s.value("llm_requests_total", "model", "_other", "outcome", "success"));
        assertFalse(s.has("llm_requests_total", "model", "m3"));
        assertEquals(2, s.value("llm_session_requests_total", "session", "s", "model", "_other", "outcome", "success"));
        assertEquals(List.of("_other", "m1", "m2"), c.meters().modelTotals().stream().map(ModelTotals::model).toList());
    }

    @Test
    void modelTotalsAreReadFromTheMeters() {
        LlmMetrics c = metrics(10, 10, 10);
        c.bus().publish(new LlmRequestStarted("s", "m", 1, 0));
        c.bus().publish(new LlmRequestCompleted("s", "m", 2500, 10, 20, 30, false));
        c.bus().publish(new LlmRequestFailed("s", "m", "e"));
        c.bus().publish(new LlmRequestStarted("s", "m", 1, 0));
        assertEquals(List.of(new ModelTotals("m", 2, 1, 1, 10, 20, 2.5, 1)), c.meters().modelTotals());
    }

    @Test
    void eventsBeforeBindingAreRejectedAndBindingTwiceIsAnError() {
        InMemorySessionStore store = InMemorySessionStore.builder().maxSessions(10).maxRecordsPerSession(10)
                .idleTimeout(Duration.ofHours(1)).build();
        LlmMeterBinder binder = LlmMeterBinder.builder().catalog(new ModelCatalog(PriceTable.EMPTY, 10)).store(store).build();
        assertThrows(IllegalStateException.class, () -> binder.onEvent(new LlmRequestStarted("s", "m", 1, 0)));
        binder.bindTo(registry);
        assertThrows(IllegalStateException.class, () -> binder.bindTo(registry));
    }

    @Test
    void perSessionMaximaAreOverThePairsLifetimeAndSessionSeriesKeepMicrometersShape() {
        LlmMetrics c = metrics(10, 10, 10);
        c.bus().publish(new LlmRequestCompleted("s", "m", 4000, 900, 10, 910, false));
        nowMs.addAndGet(Duration.ofMinutes(10).toMillis());
        c.bus().publish(new LlmRequestCompleted("s", "m", 1000, 100, 30, 130, false));
        String text = registry.scrape();
        PrometheusText s = PrometheusText.parse(text);
        assertEquals(4.0, s.value("llm_session_request_duration_seconds_max", "session", "s"));
        assertEquals(900, s.value("llm_session_tokens_max", "session", "s", "type", "prompt"));
        assertEquals(30, s.value("llm_session_tokens_max", "session", "s", "type", "completion"));
        assertEquals(2, s.value("llm_session_tokens_count", "session", "s", "type", "prompt"));
        assertTrue(text.contains("# TYPE llm_session_request_duration_seconds summary"), text);
        assertTrue(text.contains("# TYPE llm_session_requests_total counter"), text);
        assertTrue(text.contains("# TYPE llm_session_tokens_max gauge"), text);
    }

    @Test
    void onAnotherRegistryThePerModelMetersAreThereAndThePerSessionSeriesAreNot() {
        SimpleMeterRegistry simple = new SimpleMeterRegistry();
        LlmMetrics metrics = LlmMetrics.builder(simple).clock(clock).build();
        metrics.bus().publish(new LlmRequestCompleted("s", "m", 1500, 100, 50, 150, true));
        metrics.bus().publish(new LlmRequestFailed("s", "m", "boom"));

        assertEquals(1, simple.get("llm.requests").tag("model", "m").tag("outcome", "success").counter().count());
        assertEquals(1, simple.get("llm.requests").tag("model", "m").tag("outcome", "failure").counter().count());
        assertEquals(1.5, simple.get("llm.request.duration").tag("outcome", "success").timer().totalTime(TimeUnit.SECONDS), 1e-9);
        assertTrue(simple.find("llm.session.requests").meters().isEmpty(), "per-session series are Prometheus-only");
        assertEquals(2, metrics.store().session("s").orElseThrow().totalRequests());
    }
}
