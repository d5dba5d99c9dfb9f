package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** --demo drives the real tracker: every endpoint shows live, plausible data within seconds. */
class DemoModeTest {

    private final TestServer server = TestServer.startWithDemo();

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void demoTrafficFillsEveryEndpointWithPlausibleData() {
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
