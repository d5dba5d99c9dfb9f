package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmmetrics.session.redis.RedisProcess;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The seed's session endpoints over real HTTP. */
class SessionEndpointsTest {

    private final TestServer server = TestServer.start();

    @AfterEach
    void stop() {
        server.close();
    }

    /** The seed's example session as the snake_case JSON a Python producer posts. */
    static String seedSessionJson() {
        StringBuilder json = new StringBuilder("[");
        json.append("""
                {"type":"LLM_REQUEST_STARTED","session_id":"abc-123","model":"gpt-4","messages_count":4,"tools_count":2,
                 "correlation_id":"c-0","timestamp":"2026-01-17T15:29:56.800Z"},
                {"type":"LLM_REQUEST_COMPLETED","session_id":"abc-123","model":"gpt-4","duration_ms":3200,
                 "prompt_tokens":850,"completion_tokens":420,"total_tokens":1270,"has_tool_calls":true,
                 "correlation_id":"c-0","timestamp":"2026-01-17T15:30:00Z"}""");
        for (int i = 1; i <= 13; i++) {
            long duration = i <= 12 ? 3200 : 3400;
            int prompt = i <= 12 ? 900 : 850;
            int completion = i <= 12 ? 600 : 680;
            json.append(",{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"abc-123\",\"model\":\"gpt-4\",")
                    .append("\"duration_ms\":").append(duration).append(",\"prompt_tokens\":").append(prompt)
                    .append(",\"completion_tokens\":").append(completion).append(",\"total_tokens\":")
                    .append(prompt + completion).append(",\"has_tool_calls\":").append(i <= 7)
                    .append(",\"timestamp\":\"2026-01-17T15:3").append(i / 6).append(':').append(i % 6).append("0Z\"}");
        }
        json.append(",{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"abc-123\",\"model\":\"gpt-4\",")
                .append("\"error\":\"APITimeoutError: Request timed out\",\"timestamp\":\"2026-01-17T15:33:00Z\"}]");
        return json.toString();
    }

    @Test
    void theSeedExamplePostedOverHttpReadsBackFieldForFieldInTheSeedsOrder() throws Exception {
        server.postEvents(seedSessionJson());

        HttpResponse<String> response = server.get("/events/metrics/session/abc-123");
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        JsonNode m = TestServer.json(response);
        List<String> fields = new ArrayList<>();
        m.fieldNames().forEachRemaining(fields::add);
        assertEquals(List.of("session_id", "total_requests", "successful_requests", "failed_requests", "total_duration_ms",
                "average_duration_ms", "total_prompt_tokens", "total_completion_tokens", "total_tokens",
                "average_tokens_per_request", "requests_with_tools", "requests",
                // added since the seed, after its fields
                "total_cost_usd", "unpriced_requests", "token_efficiency", "total_cached_tokens", "total_reasoning_tokens",
                "requests_without_usage", "scores"),
                fields);
        assertEquals("abc-123", m.get("session_id").asText());
        assertEquals(15, m.get("total_requests").asLong());
        assertEquals(14, m.get("successful_requests").asLong());
        assertEquals(1, m.get("failed_requests").asLong());
        assertEquals(45000, m.get("total_duration_ms").asLong());
        assertEquals(3214.29, m.get("average_duration_ms").asDouble());
        assertEquals(12500, m.get("total_prompt_tokens").asLong());
        assertEquals(8300, m.get("total_completion_tokens").asLong());
        assertEquals(20800, m.get("total_tokens").asLong());
        assertEquals(1485.71, m.get("average_tokens_per_request").asDouble());
        assertEquals(8, m.get("requests_with_tools").asLong());

        JsonNode first = m.get("requests").get(0);
        List<String> recordFields = new ArrayList<>();
        first.fieldNames().forEachRemaining(recordFields::add);
        assertEquals(List.of("timestamp", "model", "duration_ms", "prompt_tokens", "completion_tokens", "total_tokens",
                "has_tool_calls", "success", "error",
                "cached_tokens", "reasoning_tokens", "time_to_first_token_ms", "cost_usd",
                "cost_source", "provider", "error_type", "http_status", "correlation_id", "attributes", "scores"),
                recordFields);
        assertEquals(TestServer.JSON.readTree("""
                {"timestamp":"2026-01-17T15:30:00Z","model":"gpt-4","duration_ms":3200,"prompt_tokens":850,
                 "completion_tokens":420,"total_tokens":1270,"has_tool_calls":true,"success":true,"error":null,
                 "cached_tokens":0,"reasoning_tokens":0,"time_to_first_token_ms":null,"cost_usd":null,
                 "cost_source":null,"provider":null,"error_type":null,"http_status":null,"correlation_id":"c-0",
                 "attributes":{},"scores":[]}"""), first);
        // This server has no price table: nothing is costed at 0, every completed request is unpriced.
        assertTrue(m.get("total_cost_usd").isNull());
        assertEquals(14, m.get("unpriced_requests").asLong());
        assertEquals(8300.0 / 12500, m.get("token_efficiency").asDouble());
        assertEquals(15, m.get("requests").size());
        JsonNode last = m.get("requests").get(14);
        assertEquals("2026-01-17T15:33:00Z", last.get("timestamp").asText());
        assertFalse(last.get("success").asBoolean());
        assertEquals("APITimeoutError: Request timed out", last.get("error").asText());
        for (JsonNode r : m.get("requests")) {
            assertTrue(r.get("timestamp").asText().endsWith("Z"));
        }
    }

    @Test
    void theScrapeAgreesWithTheSessionJson() {
        server.postEvents(seedSessionJson());
        JsonNode m = TestServer.json(server.get("/events/metrics/session/abc-123"));
        PrometheusText scrape = server.scrape();
        String[] s = {"session", "abc-123"};
        assertEquals(m.get("successful_requests").asDouble(), scrape.value("llm_session_requests_total", "session", "abc-123", "outcome", "success"));
        assertEquals(m.get("failed_requests").asDouble(), scrape.value("llm_session_requests_total", "session", "abc-123", "outcome", "failure"));
        assertEquals(m.get("total_duration_ms").asDouble() / 1000.0, scrape.value("llm_session_request_duration_seconds_sum", s), 1e-9);
        assertEquals(m.get("total_prompt_tokens").asDouble(), scrape.value("llm_session_tokens_sum", "session", "abc-123", "type", "prompt"));
        assertEquals(m.get("total_completion_tokens").asDouble(), scrape.value("llm_session_tokens_sum", "session", "abc-123", "type", "completion"));
        assertEquals(m.get("requests_with_tools").asDouble(), scrape.value("llm_session_tool_call_requests_total", s));
    }

    @Test
    void anUnknownSessionIsA404WithAJsonError() {
        HttpResponse<String> response = server.get("/events/metrics/session/nobody");
        assertEquals(404, response.statusCode());
        assertEquals("session_not_found", TestServer.json(response).get("error").asText());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
    }

    @Test
    void theSessionListIsMostRecentlyActiveFirstWithLimitAndOffset() throws Exception {
        for (String id : List.of("s-1", "s-2", "s-3")) {
            server.postEvents("[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"" + id
                    + "\",\"model\":\"m\",\"duration_ms\":5,\"prompt_tokens\":1,\"completion_tokens\":1}]");
            Thread.sleep(5);
        }
        JsonNode all = TestServer.json(server.get("/events/metrics/sessions"));
        assertEquals(List.of("s-3", "s-2", "s-1"), texts(all.get("sessions")));
        assertEquals(3, all.get("count").asInt());

        JsonNode page = TestServer.json(server.get("/events/metrics/sessions?limit=1&offset=1"));
        assertEquals(List.of("s-2"), texts(page.get("sessions")));
        assertEquals(1, page.get("count").asInt());
        assertEquals(3, page.get("total").asInt());

        for (String bad : List.of("limit=-1", "limit=abc", "offset=-5", "limit=99999999999", "limit=1.5")) {
            HttpResponse<String> response = server.get("/events/metrics/sessions?" + bad);
            assertEquals(400, response.statusCode(), bad);
            assertEquals("invalid_parameter", TestServer.json(response).get("error").asText(), bad);
        }
    }

    @Test
    void aQueryWithABrokenPercentEscapeIsAnInvalidParameterOnEveryRoute() {
        for (String target : List.of("/events/metrics/sessions?limit=%zz", "/events/metrics/summaries?id_contains=%zz",
                "/events/metrics/summaries?id_contains=a%", "/events/metrics/models?window=%C0%AF", "/events/metrics/sessions?%zz=1")) {
            HostileSupport.RawResponse answer = HostileSupport.raw(server.running().port(),
                    ("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n").getBytes(StandardCharsets.US_ASCII), false);
            assertEquals(400, answer.status(), target + ": " + answer);
            assertTrue(answer.bodyText().startsWith("{\"error\":\"invalid_parameter\","),
                    target + ": " + answer.bodyText());
        }
    }

    @Test
    void aCharacterATargetMustPercentEncodeIsA400ThatNamesIt() {
        // Helidon refuses these before routing; the answer said "not validly percent-encoded" of a query holding no
        // escape at all (?name[]=x, as curl -g and Python's requests send it), and "malformed" of a path.
        for (String[] c : new String[][] {
                {"/metrics?name[]=llm_requests_total", "invalid_parameter", "the query holds \"[\" at index 4, which must be sent percent-encoded (%5B)"},
                {"/events/metrics/sessions?limit=1&x|y=2", "invalid_parameter", "the query holds \"|\" at index 9, which must be sent percent-encoded (%7C)"},
                {"/events/metrics/session/a{b}", "invalid_session_id", "session_id holds \"{\" at index 1, which must be sent percent-encoded (%7B)"},
                {"/health/a^b", "bad_request", "the request target's path holds \"^\" at index 9, which must be sent percent-encoded (%5E)"},
                {"/events/metrics/sessions?limit=%zz", "invalid_parameter", "the query is not validly percent-encoded UTF-8"}}) {
            HostileSupport.RawResponse answer = HostileSupport.raw(server.running().port(),
                    ("GET " + c[0] + " HTTP/1.1\r\nHost: localhost\r\n\r\n").getBytes(StandardCharsets.US_ASCII), false);
            assertEquals(400, answer.status(), c[0] + ": " + answer);
            JsonNode error = HostileSupport.assertJsonError(answer.status(), answer.contentType(), answer.bodyText(), c[0]);
            assertEquals(c[1], error.get("error").asText(), c[0] + ": " + answer.bodyText());
            assertEquals(c[2], error.get("detail").asText(), c[0] + ": " + answer.bodyText());
        }
        // Helidon lets a path with bytes past ASCII through (as U+FFFD): a request it refuses for a header is not
        // blamed on them.
        for (String path : List.of("/health/caf\u00e9", "/events/metrics/session/caf\u00e9")) {
            HostileSupport.RawResponse answer = HostileSupport.raw(server.running().port(),
                    ("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\u0000b\r\n\r\n").getBytes(StandardCharsets.UTF_8), false);
            assertEquals(400, answer.status(), path + ": " + answer);
            assertEquals("{\"error\":\"bad_request\",\"detail\":\"the request is malformed\"}\n", answer.bodyText(), path);
        }
    }

    @Test
    void aSessionIdSentWithRawBytesPastAsciiIsA400NotAnotherSessionsName() {
        // Helidon reads each byte past ASCII in the target as U+FFFD: "café" sent raw named the session "caf" and two
        // U+FFFD, which a GET read and a DELETE cleared (the proxy records an x-session-id of "café" under that name).
        String other = "caf\uFFFD\uFFFD";
        server.postEvents("[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"" + other + "\",\"model\":\"m\","
                + "\"duration_ms\":5,\"prompt_tokens\":1,\"completion_tokens\":1}]");
        for (String method : List.of("GET", "DELETE")) {
            byte[] request = (method + " /events/metrics/session/caf\u00e9 HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8);
            HostileSupport.RawResponse answer = HostileSupport.raw(server.running().port(), request, false);
            assertEquals(400, answer.status(), method + ": " + answer);
            JsonNode error = HostileSupport.assertJsonError(answer.status(), answer.contentType(), answer.bodyText(), method);
            assertEquals("invalid_session_id", error.get("error").asText(), answer.bodyText());
            assertEquals("session_id holds a character past ASCII at index 3, which must be sent percent-encoded (its UTF-8 "
                    + "bytes, each as %XX)", error.get("detail").asText());
        }
        assertEquals(200, server.get("/events/metrics/session/" + HostileSupport.encode(other)).statusCode());
        assertEquals(404, server.get("/events/metrics/session/caf%C3%A9").statusCode());
    }

    @Test
    void deleteClearsTheSessionFromTheStoreAndTheScrape() {
        server.postEvents(seedSessionJson());
        server.postEvents("[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"kept\",\"model\":\"other\",\"duration_ms\":5,"
                + "\"prompt_tokens\":1,\"completion_tokens\":1}]");

        HttpResponse<String> deleted = server.delete("/events/metrics/session/abc-123");
        assertEquals(200, deleted.statusCode());
        assertTrue(TestServer.json(deleted).get("cleared").asBoolean());

        assertEquals(404, server.get("/events/metrics/session/abc-123").statusCode());
        assertEquals(List.of("kept"), texts(TestServer.json(server.get("/events/metrics/sessions")).get("sessions")));
        PrometheusText scrape = server.scrape();
        assertFalse(scrape.has("llm_session_requests_total", "session", "abc-123"));
        assertFalse(scrape.has("llm_session_tokens_sum", "session", "abc-123"));
        assertTrue(scrape.has("llm_session_requests_total", "session", "kept"));
        assertEquals(15, scrape.sum("llm_requests_total", "model", "gpt-4"), "per-model totals are not rewritten");

        assertEquals(404, server.delete("/events/metrics/session/abc-123").statusCode());
    }

    @ParameterizedTest(name = "store.backend={0}")
    @ValueSource(strings = {"memory", "sqlite", "redis"})
    void aStartWhoseEndNeverComesLeavesTheInFlightCountsWithinTheIdleTimeoutThoughItsSessionStaysActive(String backend,
            @TempDir Path dir) {
        RedisProcess redis = backend.equals("redis") ? RedisProcess.start("no") : null;
        try (redis; TestServer own = TestServer.start(TestServer.onStore(backend, dir, redis,
                Map.of("store.idle.timeout", "PT2S")))) {
            String start = "{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"busy\",\"model\":\"flight\"}";
            String end = "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"busy\",\"model\":\"flight\","
                    + "\"duration_ms\":1,\"prompt_tokens\":1,\"completion_tokens\":1}";
            own.postEvents("[" + start + "]"); // its end never comes
            assertEquals(1, inFlight(own));
            long started = System.nanoTime();
            // the session stays active, a call ended every 100 ms, so it is never idle for the 2 s
            Awaitility.await("the start whose end never came no longer in flight").atMost(Duration.ofSeconds(15))
                    .pollInterval(Duration.ofMillis(100)).until(() -> {
                        own.postEvents("[" + start + "," + end + "]");
                        return inFlight(own) == 0;
                    });
            assertTrue(System.nanoTime() - started >= Duration.ofMillis(1500).toNanos(),
                    "it counted for three quarters of the timeout at least");
            assertEquals(200, own.get("/events/metrics/session/busy").statusCode(), "the session stayed");
            assertEquals(0, own.scrape().value("llm_requests_in_flight", "model", "flight"));
            assertEquals(0, TestServer.json(own.get("/events/metrics/models")).get("models").get(0).get("in_flight")
                    .asLong());
        }
    }

    @ParameterizedTest(name = "store.backend={0}")
    @ValueSource(strings = {"memory", "sqlite", "redis"})
    void aDeleteWithIfMatchClearsOnlyTheStateItsTagNamesAndElseIs412WithTheSessionKept(String backend,
            @TempDir Path dir) {
        RedisProcess redis = backend.equals("redis") ? RedisProcess.start("no") : null;
        try (redis; TestServer own = TestServer.start(TestServer.onStore(backend, dir, redis, Map.of()))) {
            String path = "/events/metrics/session/guarded";
            String completed = "[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"guarded\",\"model\":\"gpt-4\","
                    + "\"duration_ms\":10,\"prompt_tokens\":1,\"completion_tokens\":1}]";
            own.postEvents(completed);
            String read = own.get(path).headers().firstValue("ETag").orElseThrow();
            own.postEvents(completed); // the session changes after the client read it

            HttpResponse<String> stale = own.delete(path, "If-Match", read);
            assertEquals(412, stale.statusCode(), stale.body());
            assertEquals("precondition_failed", TestServer.json(stale).get("error").asText());
            String current = own.get(path).headers().firstValue("ETag").orElseThrow();
            assertEquals(current, stale.headers().firstValue("ETag").orElseThrow(), "the 412 names the state as it is");
            assertEquals(412, own.delete(path, "If-Match", "W/" + current).statusCode(), "a weak tag never matches");
            assertEquals(412, own.delete(path, "If-None-Match", current).statusCode());
            assertEquals(412, own.delete(path, "If-None-Match", "*").statusCode());
            assertEquals(2, TestServer.json(own.get(path)).get("total_requests").asInt(), "nothing was cleared");
            assertEquals(2, own.scrape().value("llm_session_requests_total", "session", "guarded"));

            HttpResponse<String> cleared = own.delete(path, "If-Match", "\"other\", " + current);
            assertEquals(200, cleared.statusCode(), cleared.body());
            assertEquals(404, own.get(path).statusCode());
            assertEquals(404, own.delete(path, "If-Match", "*").statusCode(), "no state to compare: the 404 without it");

            own.postEvents(completed);
            assertEquals(412, own.delete(path, "If-Match", read).statusCode(), "the id's next life has tags of its own");
            assertEquals(200, own.delete(path, "If-Match", "*").statusCode());
            assertEquals(404, own.get(path).statusCode());
        }
    }

    private static long inFlight(TestServer server) {
        return TestServer.json(server.get("/events/metrics")).get("llm").get("in_flight").asLong();
    }

    @Test
    void aDeletedSessionsRequestsInFlightLeaveTheScrapeWithIt() {
        String start = "{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"%s\",\"model\":\"flight\"}";
        server.postEvents("[" + start.formatted("crashed") + "," + start.formatted("crashed") + ","
                + start.formatted("running") + "]");
        assertEquals(3, server.scrape().value("llm_requests_in_flight", "model", "flight"));

        assertEquals(200, server.delete("/events/metrics/session/crashed").statusCode());
        assertEquals(1, server.scrape().value("llm_requests_in_flight", "model", "flight"),
                "the deleted session's two starts, whose ends never came, left with it");
        server.postEvents("[{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"crashed\",\"model\":\"flight\","
                + "\"error\":\"late\"}]");
        assertEquals(1, server.scrape().value("llm_requests_in_flight", "model", "flight"),
                "a late end of the deleted session takes nothing off the running one");
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Test
    void anUnchangedSessionKeepsItsEntityTagAndAConditionalReadGets304WithoutABody() {
        server.postEvents("[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"tagged\",\"model\":\"gpt-4\","
                + "\"duration_ms\":100,\"prompt_tokens\":10,\"completion_tokens\":5}]");
        HttpResponse<String> first = server.get("/events/metrics/session/tagged");
        String etag = first.headers().firstValue("ETag").orElseThrow();
        assertEquals("no-store", first.headers().firstValue("Cache-Control").orElseThrow());
        HttpResponse<String> again = server.get("/events/metrics/session/tagged");
        assertEquals(etag, again.headers().firstValue("ETag").orElseThrow());
        assertEquals(first.body(), again.body());

        HttpResponse<String> notModified = server.get("/events/metrics/session/tagged", "If-None-Match", etag);
        assertEquals(304, notModified.statusCode());
        assertEquals("", notModified.body());
        assertEquals(304, server.get("/events/metrics/session/tagged", "If-None-Match", "\"other\", W/" + etag).statusCode());

        // A request changes the tag and the body at once.
        server.postEvents("[{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"tagged\",\"model\":\"gpt-4\",\"error\":\"boom\"}]");
        HttpResponse<String> changed = server.get("/events/metrics/session/tagged", "If-None-Match", etag);
        assertEquals(200, changed.statusCode());
        assertFalse(etag.equals(changed.headers().firstValue("ETag").orElseThrow()));
        assertEquals(2, TestServer.json(changed).get("total_requests").asInt());

        // Cleared and started again with as many requests: a new tag, the new session's JSON.
        assertEquals(200, server.delete("/events/metrics/session/tagged").statusCode());
        server.postEvents("[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"tagged\",\"model\":\"gpt-4o\","
                + "\"duration_ms\":7,\"prompt_tokens\":1,\"completion_tokens\":1},"
                + "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"tagged\",\"model\":\"gpt-4o\","
                + "\"duration_ms\":7,\"prompt_tokens\":1,\"completion_tokens\":1}]");
        HttpResponse<String> reborn = server.get("/events/metrics/session/tagged", "If-None-Match",
                changed.headers().firstValue("ETag").orElseThrow());
        assertEquals(200, reborn.statusCode());
        assertEquals(14, TestServer.json(reborn).get("total_duration_ms").asLong());
        assertEquals(404, server.get("/events/metrics/session/never-seen", "If-None-Match", "*").statusCode());
    }
}
