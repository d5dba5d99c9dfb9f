package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** --demo drives the real tracker: every endpoint shows live, plausible data within seconds. */
class DemoModeTest {

    /**
     * docs/bundle.md: of the shipped alerts the demo raises LlmUnpricedModel alone (its self-hosted model has no
     * price). Over 1500 calls of each model, its tokens per request and its failure ratio stay clear of
     * LlmHeavyTokenUse's 2000 and LlmHighErrorRate's 10 % by a margin that a five-minute window's noise does not
     * cross. The simulated latencies run fast, so the calls take seconds.
     */
    @Test
    void theDemosModelsStayClearOfTheTokenAndErrorAlertsAndOnlyTheUnpricedOneRaisesItsAlert() {
        try (TestServer fast = TestServer.startWithDemo(0.002)) {
            Awaitility.await().atMost(Duration.ofSeconds(150)).pollInterval(Duration.ofMillis(250)).until(() -> {
                PrometheusText s = fast.scrape();
                return s.find("llm_requests_total").stream()
                        .collect(Collectors.groupingBy(x -> x.labels().get("model"), Collectors.summingDouble(PrometheusText.Sample::value)))
                        .values().stream().filter(n -> n >= 1500).count() == 3;
            });
            assertClearOfTheTokenAndErrorAlerts(fast.scrape());
        }
    }

    private static void assertClearOfTheTokenAndErrorAlerts(PrometheusText s) {
        for (String model : List.of("gpt-4o", "claude-sonnet-4", "llama-3.1-70b")) {
            double tokensPerRequest = s.sum("llm_tokens_sum", "model", model) / s.value("llm_tokens_count", "model", model, "type", "prompt");
            assertTrue(tokensPerRequest < 1800, model + " averages " + tokensPerRequest + " tokens a request, near LlmHeavyTokenUse's 2000");
            double failed = s.value("llm_requests_total", "model", model, "outcome", "failure");
            double ratio = failed / (failed + s.value("llm_requests_total", "model", model, "outcome", "success"));
            assertTrue(ratio < 0.075, model + " fails " + ratio + " of its calls, near LlmHighErrorRate's 10 %");
        }
        assertTrue(s.value("llm_unpriced_requests_total", "model", "llama-3.1-70b") > 0);
        assertTrue(s.has("llm_cost_usd_total", "model", "gpt-4o") && s.has("llm_cost_usd_total", "model", "claude-sonnet-4"));
    }

    @Test
    void demoTrafficFillsEveryEndpointWithPlausibleData() {
        try (TestServer server = TestServer.startWithDemo()) {
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
                PrometheusText s = server.scrape();
                return s.sum("llm_requests_total", "outcome", "failure") > 0
                        && s.sum("llm_session_tool_call_requests_total") > 0
                        && s.find("llm_requests_total", "outcome", "success").stream().filter(x -> x.value() > 0).count() == 3;
            });

            JsonNode sessions = TestServer.json(server.get("/events/metrics/sessions"));
            assertTrue(sessions.get("count").asInt() >= 5, sessions.toString());
            JsonNode metrics = TestServer.json(server.get("/events/metrics"));
            assertEquals(3, metrics.get("llm_by_model").size());
            assertTrue(metrics.get("llm").get("total_tokens").asLong() > 0);

            String busiest = null;
            long most = -1;
            for (JsonNode id : sessions.get("sessions")) {
                JsonNode m = TestServer.json(server.get("/events/metrics/session/" + id.asText()));
                assertEquals(m.get("total_requests").asLong(), m.get("successful_requests").asLong() + m.get("failed_requests").asLong());
                if (m.get("total_requests").asLong() > most) {
                    most = m.get("total_requests").asLong();
                    busiest = id.asText();
                }
            }
            JsonNode m = TestServer.json(server.get("/events/metrics/session/" + busiest));
            JsonNode first = m.get("requests").get(0);
            if (first.get("success").asBoolean()) {
                assertTrue(first.get("prompt_tokens").asInt() > 0 && first.get("duration_ms").asLong() >= 0);
            } else {
                assertTrue(first.get("error").asText().contains("Error"));
            }
        }
    }
}
