package dev.llmmetrics.meter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.LlmMetricsConfig;
import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.prometheus.SessionSeries;
import dev.llmmetrics.server.PrometheusText;
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
        new SessionSeries(metrics.sessionFigures(), maxMetered, Integer.MAX_VALUE).register(registry);
        return metrics;
    }

    private PrometheusText scrape() {
        return PrometheusText.parse(registry.scrape());
    }

    /**
     * The per-model tool-call counter is there, at 0, from a model's first request, so that its rate over the
     * successes is the model's tool-call share from the start, whatever the sessions the requests come in.
     */
    @Test
    void toolCallRequestsAreCountedPerModelFromTheModelsFirstRequest() {
        LlmMetrics c = metrics(10, 10, 10);
        c.bus().publish(LlmRequestCompleted.builder("s1", "plain").durationMs(10).build());
        c.bus().publish(LlmRequestCompleted.builder("s2", "agent").durationMs(10).hasToolCalls(true).build());
        c.bus().publish(LlmRequestCompleted.builder("s3", "agent").durationMs(10).build());
        c.bus().publish(LlmRequestFailed.builder("s4", "agent").error("boom").build());

        PrometheusText s = scrape();
        assertEquals(0, s.value("llm_tool_call_requests_total", "model", "plain"));
        assertEquals(1, s.value("llm_tool_call_requests_total", "model", "agent"));
        assertEquals(2, s.value("llm_requests_total", "model", "agent", "outcome", "success"));
    }

    /**
     * An event the store recorded as its instance was closing reaches the meters once they are closed: they count
     * it, a model's first included, so that the store and the meters agree, and add no gauge reading the closed store.
     */
    @Test
    void anEventDeliveredAfterCloseIsCountedEvenForANewModelWithoutAnInFlightGauge() {
        SimpleMeterRegistry simple = new SimpleMeterRegistry();
        InMemorySessionStore store = InMemorySessionStore.builder().maxSessions(10).maxRecordsPerSession(10)
                .idleTimeout(Duration.ofHours(1)).build();
        LlmMeterBinder binder = LlmMeterBinder.builder().catalog(new ModelCatalog(PriceTable.EMPTY, 10)).store(store).build();
        binder.bindTo(simple);
        binder.onEvent(LlmRequestCompleted.builder("s", "known").durationMs(10).build());
        binder.close();

        binder.onEvent(LlmRequestCompleted.builder("s", "known").durationMs(10).build());
        binder.onEvent(LlmRequestCompleted.builder("s", "new-at-close").durationMs(10).build());

        assertEquals(2.0, simple.get(MeterNames.REQUESTS).tags(MeterNames.TAG_MODEL, "known", MeterNames.TAG_OUTCOME,
                MeterNames.OUTCOME_SUCCESS).functionCounter().count());
        assertEquals(1.0, simple.get(MeterNames.REQUESTS).tags(MeterNames.TAG_MODEL, "new-at-close", MeterNames.TAG_OUTCOME,
                MeterNames.OUTCOME_SUCCESS).functionCounter().count());
        assertEquals(null, simple.find(MeterNames.REQUESTS_IN_FLIGHT).gauge(), "no in-flight gauge outlives the close");
    }

    @Test
    void everyMeterOfTheReadmeListAppearsOnTheScrapeWithItsLabels() {
        LlmMetrics c = metrics(10, 10, 10);
        c.bus().publish(LlmRequestStarted.builder("s1", "gpt-4").messagesCount(5).toolsCount(2).build());
        c.bus().publish(LlmRequestCompleted.builder("s1", "gpt-4").durationMs(1500).promptTokens(100).completionTokens(50).totalTokens(150).hasToolCalls(true).build());
        c.bus().publish(LlmRequestFailed.builder("s1", "gpt-4").error("boom").durationMs(300L).build());

        PrometheusText s = scrape();
        assertEquals(1, s.value("llm_session_requests_total", "session", "s1", "model", "gpt-4", "outcome", "success"));
        assertEquals(1, s.value("llm_session_requests_total", "session", "s1", "model", "gpt-4", "outcome", "failure"));
        assertEquals(1.5, s.value("llm_session_request_duration_seconds_sum", "session", "s1"), 1e-9);
        assertEquals(1.5, s.value("llm_session_request_duration_seconds_max", "session", "s1"), 1e-9);
        assertEquals(100, s.value("llm_session_tokens_sum", "session", "s1", "type", "prompt"));
        assertEquals(50, s.value("llm_session_tokens_sum", "session", "s1", "type", "completion"));
        assertEquals(1, s.value("llm_session_tool_call_requests_total", "session", "s1", "model", "gpt-4"));
        assertEquals(1, s.value("llm_tool_call_requests_total", "model", "gpt-4"));
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
        c.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(1).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(false).build());
        c.bus().publish(LlmRequestFailed.builder("s", "m").error("e").build());
        assertEquals(0, scrape().value("llm_requests_in_flight", "model", "m"));
        c.bus().publish(LlmRequestStarted.builder("s", "m").messagesCount(1).toolsCount(0).build());
        c.bus().publish(LlmRequestStarted.builder("s", "m").messagesCount(1).toolsCount(0).build());
        assertEquals(2, scrape().value("llm_requests_in_flight", "model", "m"));
        c.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(1).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(false).build());
        assertEquals(1, scrape().value("llm_requests_in_flight", "model", "m"));
    }

    @Test
    void perSessionMetersExistForAtMostTheBoundOfMostRecentlyActiveSessions() {
        LlmMetrics c = metrics(1_000, 3, 10);
        SessionStore store = c.store();
        for (String id : List.of("a", "b", "c", "a", "d")) {
            c.bus().publish(LlmRequestCompleted.builder(id, "m").durationMs(1).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(false).build());
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
        c.bus().publish(LlmRequestCompleted.builder("a", "m").durationMs(1).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(false).build());
        nowMs.addAndGet(1_000);
        c.bus().publish(LlmRequestCompleted.builder("b", "m").durationMs(1).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(false).build());
        nowMs.addAndGet(1_000);
        c.bus().publish(LlmRequestCompleted.builder("c", "m").durationMs(1).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(false).build());
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
        c.bus().publish(LlmRequestCompleted.builder("gone", "m").durationMs(1).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(true).build());
        c.bus().publish(LlmRequestCompleted.builder("kept", "m").durationMs(1).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(true).build());

        assertTrue(c.store().clear("gone"));
        assertFalse(c.store().clear("gone"));

        PrometheusText s = scrape();
        assertFalse(s.has("llm_session_requests_total", "session", "gone"));
        assertFalse(s.has("llm_session_tokens_sum", "session", "gone"));
        assertTrue(s.has("llm_session_requests_total", "session", "kept"));
        assertTrue(store.session("gone").isEmpty());

        c.bus().publish(LlmRequestCompleted.builder("gone", "m").durationMs(1).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(false).build());
        assertEquals(1, scrape().value("llm_session_requests_total", "session", "gone", "outcome", "success"));
    }

    @Test
    void modelsPastTheBoundShareTheOtherLabel() {
        LlmMetrics c = metrics(10, 10, 2);
        for (String model : List.of("m1", "m2", "m3", "m4")) {
            c.bus().publish(LlmRequestCompleted.builder("s", model).durationMs(1).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(false).build());
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
    void aModelNamedLikeTheOtherLabelSharesItsMetersAndIsCountedOnce() {
        LlmMetrics c = metrics(10, 10, 1);
        for (String model : List.of("_other", "m1", "m2", "m3")) {
            c.bus().publish(LlmRequestCompleted.builder("s", model).durationMs(1).promptTokens(1).completionTokens(1).totalTokens(2).hasToolCalls(false).build());
        }
        c.bus().publish(LlmRequestStarted.builder("s", "m4").messagesCount(1).toolsCount(0).build());
        c.bus().publish(LlmRequestStarted.builder("s", "_other").messagesCount(1).toolsCount(0).build());
        PrometheusText s = scrape();
        assertEquals(3, s.value("llm_requests_total", "model", "_other", "outcome", "success"), "_other, m2 and m3");
        assertEquals(2, s.value("llm_requests_in_flight", "model", "_other"), "both calls in flight under one gauge");
        List<ModelTotals> totals = c.meters().modelTotals();
        assertEquals(4, totals.stream().mapToLong(ModelTotals::requests).sum(), totals.toString());
        assertEquals(List.of("_other", "m1"), totals.stream().map(ModelTotals::model).toList());
    }

    @Test
    void modelsNamedLikeTheReservedLabelsTakeNoneOfTheLabelsOtherModelsGet() {
        LlmMetrics c = metrics(10, 10, 2);
        for (String model : List.of("_unknown", "_other", "a", "b")) {
            c.bus().publish(LlmRequestCompleted.builder("s", model).durationMs(1).promptTokens(1).completionTokens(1).build());
        }
        PrometheusText s = scrape();
        assertEquals(1, s.value("llm_requests_total", "model", "a", "outcome", "success"));
        assertEquals(1, s.value("llm_requests_total", "model", "b", "outcome", "success"));
        assertEquals(2, s.value("llm_requests_total", "model", "_other", "outcome", "success"), "_unknown and _other");
        assertEquals(0, s.value("llm_session_model_overflows_total"), "no model lacked room for a label");
    }

    @Test
    void modelTotalsAreReadFromTheMeters() {
        LlmMetrics c = metrics(10, 10, 10);
        c.bus().publish(LlmRequestStarted.builder("s", "m").messagesCount(1).toolsCount(0).build());
        c.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(2500).promptTokens(10).completionTokens(20).totalTokens(30).hasToolCalls(false).build());
        c.bus().publish(LlmRequestFailed.builder("s", "m").error("e").build());
        c.bus().publish(LlmRequestStarted.builder("s", "m").messagesCount(1).toolsCount(0).build());
        assertEquals(List.of(new ModelTotals("m", 2, 1, 1, 10, 20, 2.5, 1)), c.meters().modelTotals());
    }

    @Test
    void eventsBeforeBindingAreRejectedAndBindingTwiceIsAnError() {
        InMemorySessionStore store = InMemorySessionStore.builder().maxSessions(10).maxRecordsPerSession(10)
                .idleTimeout(Duration.ofHours(1)).build();
        LlmMeterBinder binder = LlmMeterBinder.builder().catalog(new ModelCatalog(PriceTable.EMPTY, 10)).store(store).build();
        assertThrows(IllegalStateException.class, () -> binder.onEvent(LlmRequestStarted.builder("s", "m").messagesCount(1).toolsCount(0).build()));
        binder.bindTo(registry);
        assertThrows(IllegalStateException.class, () -> binder.bindTo(registry));
    }

    @Test
    void perSessionMaximaAreOverThePairsLifetimeAndSessionSeriesKeepMicrometersShape() {
        LlmMetrics c = metrics(10, 10, 10);
        c.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(4000).promptTokens(900).completionTokens(10).totalTokens(910).hasToolCalls(false).build());
        nowMs.addAndGet(Duration.ofMinutes(10).toMillis());
        c.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(1000).promptTokens(100).completionTokens(30).totalTokens(130).hasToolCalls(false).build());
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
        metrics.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(1500).promptTokens(100).completionTokens(50).totalTokens(150).hasToolCalls(true).build());
        metrics.bus().publish(LlmRequestFailed.builder("s", "m").error("boom").build());

        assertEquals(1, simple.get("llm.requests").tag("model", "m").tag("outcome", "success").functionCounter().count());
        assertEquals(1, simple.get("llm.requests").tag("model", "m").tag("outcome", "failure").functionCounter().count());
        assertEquals(1.5, simple.get("llm.request.duration").tag("outcome", "success").functionTimer().totalTime(TimeUnit.SECONDS), 1e-9);
        assertTrue(simple.find("llm.session.requests").meters().isEmpty(), "per-session series are Prometheus-only");
        assertEquals(2, metrics.store().session("s").orElseThrow().totalRequests());
    }
}
