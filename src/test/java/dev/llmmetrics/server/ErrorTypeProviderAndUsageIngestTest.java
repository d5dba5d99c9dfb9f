package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code POST /events} on the real server with the fields real clients send: {@code error_type} in its fixed
 * vocabulary (free text refused), {@code http_status}, {@code provider}, a provider-reported {@code cost_usd}
 * and a response without token usage; the session JSON gives them back. {@code provider}, {@code response_model}
 * and {@code event_id} are taken at their bounds (64, 256, 256 characters) and refused one past them.
 */
class ErrorTypeProviderAndUsageIngestTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("prices.path", "sample"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String failed(String session, String extra) {
        return "{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"" + session + "\",\"model\":\"gpt-4o\","
                + "\"error\":\"boom\"" + extra + "}";
    }

    private static String completed(String session, String extra) {
        return "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"" + session + "\",\"model\":\"gpt-4o\","
                + "\"duration_ms\":100" + extra + "}";
    }

    private static JsonNode session(String id) {
        HttpResponse<String> r = server.get("/events/metrics/session/" + id);
        assertEquals(200, r.statusCode(), r.body());
        return TestServer.json(r);
    }

    @Test
    void anHttpStatusThatIsNoWholeNumberIsRefusedNamingTheRangeOfAnHttpStatus() {
        for (String value : new String[] {"404.5", "-1", "\"404\"", "true", "1e3", "99999999999"}) {
            String event = failed("bad-status", ",\"http_status\":" + value);
            HttpResponse<String> response = server.post("/events", event);
            assertEquals(400, response.statusCode(), event + " -> " + response.body());
            JsonNode error = TestServer.json(response).get("errors").get(0);
            assertEquals("http_status", error.get("field").asText(), response.body());
            String reason = error.get("reason").asText();
            assertTrue(reason.contains("100 to 599"), event + " -> " + reason);
            assertFalse(reason.contains(String.valueOf(Integer.MAX_VALUE)), event + " -> " + reason);
        }
        assertEquals(404, server.get("/events/metrics/session/bad-status").statusCode(), "nothing recorded");
    }

    @Test
    void freeTextAndOutOfRangeValuesOfTheNewFieldsAreA400NamingTheFieldAndRecordNothing() {
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put(failed("bad", ",\"error_type\":\"RateLimitError\""), "error_type");
        cases.put(failed("bad", ",\"error_type\":\"Rate_Limit\""), "error_type");
        cases.put(failed("bad", ",\"error_type\":7"), "error_type");
        cases.put(failed("bad", ",\"http_status\":99"), "http_status");
        cases.put(failed("bad", ",\"http_status\":600"), "http_status");
        cases.put(failed("bad", ",\"http_status\":\"429\""), "http_status");
        cases.put(failed("bad", ",\"provider\":\"Open AI\""), "provider");
        cases.put(failed("bad", ",\"provider\":\"" + "a".repeat(65) + "\""), "provider");
        cases.put(completed("bad", ",\"provider\":\"\""), "provider");
        cases.put(completed("bad", ",\"provider\":\"" + "a".repeat(65) + "\""), "provider");
        cases.put(completed("bad", ",\"response_model\":\"" + "m".repeat(257) + "\""),
                "response_model");
        cases.put(completed("bad", ",\"response_model\":\" \""), "response_model");
        cases.put(completed("bad", ",\"event_id\":\"" + "e".repeat(257) + "\""), "event_id");
        cases.put(completed("bad", ",\"cost_usd\":\"0.1\""), "cost_usd");
        cases.put(completed("bad", ",\"cost_usd\":-0.1"), "cost_usd");
        cases.put(completed("bad", ",\"cost_usd\":1e400"), "cost_usd");
        cases.put(completed("bad", ",\"cost_usd\":1000000.5"), "cost_usd");
        cases.put(completed("bad", ",\"prompt_tokens\":10"), "completion_tokens");
        cases.put(completed("bad", ",\"completion_tokens\":10"), "prompt_tokens");
        cases.put(completed("bad", ",\"total_tokens\":10"), "prompt_tokens");
        cases.put(completed("bad", ",\"cached_tokens\":10"), "cached_tokens");
        cases.put("{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"bad\",\"model\":\"m\",\"provider\":\"x y\"}",
                "provider");
        cases.put("{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"bad\",\"model\":\"m\",\"error_type\":\"timeout\"}",
                "error_type");
        cases.forEach((event, field) -> {
            HttpResponse<String> response = server.post("/events", event);
            assertEquals(400, response.statusCode(), event + " -> " + response.body());
            JsonNode body = TestServer.json(response);
            assertEquals("invalid_events", body.get("error").asText());
            JsonNode error = body.get("errors").get(0);
            assertEquals(field, error.get("field").asText(), event + " -> " + response.body());
            IngestDecodingTest.assertOwnWords(response.body(), event);
        });
        HttpResponse<String> freeText = server.post("/events", failed("bad", ",\"error_type\":\"RateLimitError\""));
        String detail = TestServer.json(freeText).get("errors").get(0).toString();
        assertTrue(detail.contains("rate_limit, timeout, server_error, invalid_request, content_filter, auth, cancelled,"
                + " _OTHER"), detail);
        assertEquals(404, server.get("/events/metrics/session/bad").statusCode(), "nothing recorded");
        // at the bounds docs/limits.md gives (64 and 256 characters), each is taken
        HttpResponse<String> atBounds = server.post("/events", completed("at-bounds", ",\"provider\":\""
                + "a".repeat(64) + "\",\"response_model\":\"" + "m".repeat(256)
                + "\",\"event_id\":\"" + "e".repeat(256) + "\""));
        assertEquals(202, atBounds.statusCode(), atBounds.body());
        assertEquals("a".repeat(64), session("at-bounds").get("requests").get(0).get("provider").asText());
    }

    @Test
    void aFailuresErrorTypeHttpStatusAndProviderComeBackInTheSessionJson() {
        HttpResponse<String> r = server.post("/events", "[" + String.join(",",
                failed("f", ",\"error_type\":\"rate_limit\",\"http_status\":429,\"provider\":\"openai\""),
                failed("f", ",\"http_status\":503"),
                failed("f", ",\"error_type\":\"content_filter\""),
                failed("f", ",\"error_type\":\"_OTHER\""),
                failed("f", "")) + "]");
        assertEquals(202, r.statusCode(), r.body());
        JsonNode requests = session("f").get("requests");
        assertEquals("rate_limit", requests.get(0).get("error_type").asText());
        assertEquals(429, requests.get(0).get("http_status").asInt());
        assertEquals("openai", requests.get(0).get("provider").asText());
        assertEquals("server_error", requests.get(1).get("error_type").asText(), "the type an HTTP status means");
        assertEquals(503, requests.get(1).get("http_status").asInt());
        assertEquals("content_filter", requests.get(2).get("error_type").asText());
        assertTrue(requests.get(2).get("http_status").isNull());
        assertEquals("_OTHER", requests.get(3).get("error_type").asText());
        assertTrue(requests.get(4).get("error_type").isNull(), "not known");
        assertTrue(requests.get(4).get("prompt_tokens").isNull(), "a failure has no usage");
    }

    @Test
    void aResponseWithoutUsageHasNullTokensAndIsCountedAndAReportedCostIsPreferred() {
        HttpResponse<String> r = server.post("/events", "[" + String.join(",",
                completed("u", ",\"prompt_tokens\":1000,\"completion_tokens\":100,\"provider\":\"openai\""),
                completed("u", ""),
                completed("u", ",\"prompt_tokens\":1000,\"completion_tokens\":100,\"cost_usd\":0.5"
                        + ",\"provider\":\"openrouter\"")) + "]");
        assertEquals(202, r.statusCode(), r.body());
        JsonNode s = session("u");
        assertEquals(3, s.get("successful_requests").asInt());
        assertEquals(1, s.get("requests_without_usage").asInt());
        assertEquals(2000, s.get("total_prompt_tokens").asInt());
        assertEquals(1100.0, s.get("average_tokens_per_request").asDouble(), "over the requests with usage");
        JsonNode requests = s.get("requests");
        assertEquals("price_table", requests.get(0).get("cost_source").asText());
        assertEquals("openai", requests.get(0).get("provider").asText());
        JsonNode without = requests.get(1);
        for (String field : new String[] {"prompt_tokens", "completion_tokens", "total_tokens", "cost_usd",
                "cost_source", "provider"}) {
            assertTrue(without.has(field) && without.get(field).isNull(), field + " in " + without);
        }
        assertEquals(0.5, requests.get(2).get("cost_usd").asDouble());
        assertEquals("provider", requests.get(2).get("cost_source").asText());
        double tableCost = requests.get(0).get("cost_usd").asDouble();
        assertFalse(tableCost == 0.5);
        assertEquals(0.5 + tableCost, s.get("total_cost_usd").asDouble(), 1e-9);
        assertEquals(1, s.get("unpriced_requests").asInt(), "the one without usage has no cost");
    }

    @Test
    void cacheWriteTokensAreCostedAtTheCacheWritePriceOnTheRecordTheSessionAndTheScrape() {
        // The sample table: claude-sonnet-4 at $3 input, $0.30 cached input, $3.75 cache write, $15 output.
        String event = "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"cw\",\"model\":\"claude-sonnet-4\","
                + "\"duration_ms\":100,\"prompt_tokens\":10000,\"cached_tokens\":2000,\"cache_write_tokens\":4000,"
                + "\"completion_tokens\":1000}";
        assertEquals(202, server.post("/events", event).statusCode());
        double expected = (4000 * 3.00 + 2000 * 0.30 + 4000 * 3.75 + 1000 * 15.00) / 1_000_000;
        JsonNode s = session("cw");
        assertEquals(expected, s.get("total_cost_usd").asDouble(), 1e-12);
        assertEquals(expected, s.get("requests").get(0).get("cost_usd").asDouble(), 1e-12);
        assertEquals("price_table", s.get("requests").get(0).get("cost_source").asText());
        assertEquals(expected, server.scrape().value("llm_session_cost_usd_total", "session", "cw"), 1e-12);

        HttpResponse<String> tooMany = server.post("/events", event.replace("\"cache_write_tokens\":4000",
                "\"cache_write_tokens\":8001"));
        assertEquals(400, tooMany.statusCode(), tooMany.body());
        assertEquals("cache_write_tokens", TestServer.json(tooMany).get("errors").get(0).get("field").asText());
    }
}
