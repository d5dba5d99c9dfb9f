package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** GET /metrics: content negotiation and descriptions on every meter, over real HTTP. */
class ScrapeEndpointTest {

    private final TestServer server = TestServer.start();

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void theDefaultFormatIsPrometheusText004WithHelpOnEveryMetric() {
        server.postEvents(SessionEndpointsTest.seedSessionJson());
        HttpResponse<String> response = server.get("/metrics");
        assertEquals(200, response.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", response.headers().firstValue("Content-Type").orElseThrow());
        String body = response.body();
        for (String family : new String[] {"llm_session_requests_total", "llm_session_request_duration_seconds",
                "llm_session_tokens", "llm_session_tool_call_requests_total", "llm_requests_total",
                "llm_request_duration_seconds", "llm_tokens", "llm_requests_in_flight", "llm_request_messages",
                "llm_request_tools", "llm_sessions_active", "llm_sessions_metered", "llm_sessions_evicted_total"}) {
            String base = family.endsWith("_total") ? family.substring(0, family.length() - "_total".length()) : family;
            assertTrue(body.contains("# HELP " + family + " ") || body.contains("# HELP " + base + " "), "no HELP for " + family);
        }
        PrometheusText scrape = PrometheusText.parse(body);
        assertEquals(14, scrape.value("llm_requests_total", "model", "gpt-4", "outcome", "success"));
    }

    @Test
    void openMetricsIsServedWhenTheAcceptHeaderAsksForIt() {
        HttpResponse<String> response = server.get("/metrics", "Accept",
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElseThrow().startsWith("application/openmetrics-text"));
        assertTrue(response.body().endsWith("# EOF\n"));
    }
}
