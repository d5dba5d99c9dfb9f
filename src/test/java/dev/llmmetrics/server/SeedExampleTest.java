package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.prometheus.SessionSeries;
import dev.llmmetrics.session.RequestRecord;
import dev.llmmetrics.session.SessionMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Replays the design document's example session (15 requests, 14 successful, 45 000 ms, 12 500 prompt
 * and 8 300 completion tokens, 8 with tool calls) and checks every aggregate it shows.
 */
class SeedExampleTest {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final LlmMetrics metrics = LlmMetrics.builder(registry).build();
    private final SessionSeries sessionSeries =
            SessionSeries.of(metrics).register(registry);

    @AfterEach
    void close() {
        metrics.close();
    }

    /** The seed's session "abc-123" as 15 events whose sums are the seed's totals; the first is the seed's record. */
    static List<dev.llmmetrics.event.Event> seedSession() {
        List<dev.llmmetrics.event.Event> events = new ArrayList<>();
        Instant t = Instant.parse("2026-01-17T15:30:00Z");
        events.add(LlmRequestCompleted.builder("abc-123", "gpt-4").durationMs(3200).promptTokens(850)
                .completionTokens(420).hasToolCalls(true).correlationId("c-0").timestamp(t).build());
        // 13 more successes: durations sum to 41 800, prompt to 11 650, completion to 7 880, 7 with tool calls.
        for (int i = 1; i <= 13; i++) {
            long duration = i <= 12 ? 3200 : 3400;
            int prompt = i <= 12 ? 900 : 850;
            int completion = i <= 12 ? 600 : 680;
            events.add(LlmRequestCompleted.builder("abc-123", "gpt-4").durationMs(duration).promptTokens(prompt)
                    .completionTokens(completion).hasToolCalls(i <= 7).correlationId("c-" + i)
                    .timestamp(t.plusSeconds(10L * i)).build());
        }
        events.add(LlmRequestFailed.builder("abc-123", "gpt-4").error("APITimeoutError: Request timed out")
                .correlationId("c-14").timestamp(t.plusSeconds(140)).build());
        return events;
    }

    @Test
    void theSeedExampleSessionReproducesEveryAggregate() {
        for (dev.llmmetrics.event.Event e : seedSession()) {
            if (e.correlationId() != null) {
                metrics.bus().publish(LlmRequestStarted.builder(e.sessionId(), "gpt-4").messagesCount(4)
                        .toolsCount(2).correlationId(e.correlationId()).timestamp(e.timestamp()).build());
            }
            metrics.bus().publish(e);
        }

        SessionMetrics m = metrics.store().session("abc-123").orElseThrow();
        assertEquals(15, m.totalRequests());
        assertEquals(14, m.successfulRequests());
        assertEquals(1, m.failedRequests());
        assertEquals(45_000, m.totalDurationMs());
        assertEquals(3214.29, m.averageDurationMs());
        assertEquals(12_500, m.totalPromptTokens());
        assertEquals(8_300, m.totalCompletionTokens());
        assertEquals(20_800, m.totalTokens());
        assertEquals(1485.71, m.averageTokensPerRequest());
        assertEquals(8, m.requestsWithTools());
        assertEquals(15, m.requests().size());

        RequestRecord first = m.requests().get(0);
        assertEquals(RequestRecord.builder(Instant.parse("2026-01-17T15:30:00Z"), "gpt-4").durationMs(3200).promptTokens(850)
                .completionTokens(420).totalTokens(1270).hasToolCalls(true).correlationId("c-0").build(), first);
        RequestRecord last = m.requests().get(14);
        assertEquals("APITimeoutError: Request timed out", last.error());
        assertTrue(!last.success());
        assertNull(metrics.store().session("other").orElse(null));

        PrometheusText scrape = PrometheusText.parse(registry.scrape());
        String[] session = {"session", "abc-123", "model", "gpt-4"};
        assertEquals(14, scrape.value("llm_session_requests_total", "session", "abc-123", "outcome", "success"));
        assertEquals(1, scrape.value("llm_session_requests_total", "session", "abc-123", "outcome", "failure"));
        assertEquals(45.0, scrape.value("llm_session_request_duration_seconds_sum", session), 1e-9);
        assertEquals(14, scrape.value("llm_session_request_duration_seconds_count", session));
        assertEquals(12_500, scrape.value("llm_session_tokens_sum", "session", "abc-123", "type", "prompt"));
        assertEquals(8_300, scrape.value("llm_session_tokens_sum", "session", "abc-123", "type", "completion"));
        assertEquals(8, scrape.value("llm_session_tool_call_requests_total", session));
        assertEquals(14, scrape.value("llm_requests_total", "model", "gpt-4", "outcome", "success"));
        assertEquals(0, scrape.value("llm_requests_in_flight", "model", "gpt-4"));
        assertEquals(1, scrape.value("llm_sessions_active"));
    }
}
