package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** GET /events/metrics/models over real HTTP: the model tiles' figures, the window parameter, the auth. */
class ModelRatesEndpointTest {

    private TestServer server;

    @AfterEach
    void stop() {
        server.close();
    }

    private static String completed(String model, long ms) {
        return "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s\",\"model\":\"" + model + "\",\"duration_ms\":" + ms
                + ",\"prompt_tokens\":10,\"completion_tokens\":5}";
    }

    @Test
    void eachModelsRequestsErrorsLatencyAndTokensSinceTheServerStartedAreInTheWindow() {
        server = TestServer.start();
        server.postEvents("[" + completed("gpt-4o", 300) + "," + completed("gpt-4o", 300) + "," + completed("gpt-4o", 300)
                + ",{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"s\",\"model\":\"gpt-4o\",\"error\":\"boom\",\"duration_ms\":300}"
                + "," + completed("llama", 50) + "]");

        HttpResponse<String> response = server.get("/events/metrics/models?window=1m");
        assertEquals(200, response.statusCode(), response.body());
        JsonNode body = TestServer.json(response);
        assertEquals(60, body.get("window_seconds").asLong());
        assertTrue(body.get("covered_seconds").asDouble() > 0, body.toString());
        assertEquals(2, body.get("models").size());

        JsonNode gpt = body.get("models").get(0);
        List<String> fields = new ArrayList<>();
        gpt.fieldNames().forEachRemaining(fields::add);
        assertEquals(List.of("model", "requests", "failed_requests", "requests_per_second", "error_ratio", "p50_latency_ms",
                "p95_latency_ms", "tokens", "tokens_per_second", "in_flight"), fields);
        assertEquals("gpt-4o", gpt.get("model").asText());
        assertEquals(4, gpt.get("requests").asLong());
        assertEquals(1, gpt.get("failed_requests").asLong());
        assertEquals(0.25, gpt.get("error_ratio").asDouble());
        // All four took 300 ms, in the (160, 320] ms bucket: interpolated inside it.
        double p50 = gpt.get("p50_latency_ms").asDouble();
        assertTrue(p50 > 160 && p50 <= 320, body.toString());
        assertEquals(45, gpt.get("tokens").asLong());
        assertTrue(gpt.get("requests_per_second").asDouble() > 0);
        assertEquals("llama", body.get("models").get(1).get("model").asText());
        assertEquals(0.0, body.get("models").get(1).get("error_ratio").asDouble());

        assertEquals(300, TestServer.json(server.get("/events/metrics/models")).get("window_seconds").asLong());
    }

    @Test
    void aWindowOutsideTenSecondsToFiveMinutesOrNotAWholeDurationIsA400() {
        server = TestServer.start();
        for (String bad : List.of("0s", "5s", "9s", "6m", "301s", "1h", "abc", "1.5m", "-1m", "1m%20", "99999999m",
                "1m&window=2m")) {
            HttpResponse<String> response = server.get("/events/metrics/models?window=" + bad);
            assertEquals(400, response.statusCode(), bad);
            JsonNode error = TestServer.json(response);
            assertEquals("invalid_parameter", error.get("error").asText(), bad);
            assertTrue(error.get("detail").asText().startsWith("window must"), error.toString());
        }
        for (String good : List.of("10s", "90s", "1m", "5m", "300s", "")) {
            assertEquals(200, server.get("/events/metrics/models?window=" + good).statusCode(), good);
        }
    }

    @Test
    void theModelRatesNeedTheAuthHeaderLikeEveryEventsRoute() {
        server = TestServer.start(Map.of("llm.metrics.auth.token", "t0ken"));
        assertEquals(401, server.get("/events/metrics/models").statusCode());
        assertEquals(200, server.get("/events/metrics/models", "x-internal-auth", "t0ken").statusCode());
    }
}
