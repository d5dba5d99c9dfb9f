package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** POST /events: single objects, arrays, NDJSON, all-or-nothing validation and limits, over real HTTP. */
class IngestEndpointTest {

    private static final String COMPLETED = "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s\",\"model\":\"m\","
            + "\"duration_ms\":100,\"prompt_tokens\":10,\"completion_tokens\":5}";

    private final TestServer server = TestServer.start(Map.of("ingest.max.body.bytes", "4096", "ingest.max.batch", "5"));

    @AfterEach
    void stop() {
        server.close();
    }

    private long totalRequests(String session) {
        HttpResponse<String> r = server.get("/events/metrics/session/" + session);
        return r.statusCode() == 404 ? 0 : TestServer.json(r).get("total_requests").asLong();
    }

    private void assertProblem(HttpResponse<String> response, int status, String error) {
        assertEquals(status, response.statusCode(), response.body());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), response.body());
        assertEquals(error, TestServer.json(response).get("error").asText(), response.body());
    }

    @Test
    void aSingleEventObjectIsAcceptedWithItsCount() {
        HttpResponse<String> response = server.post("/events", COMPLETED);
        assertEquals(202, response.statusCode());
        assertEquals(1, TestServer.json(response).get("accepted").asInt());
        JsonNode session = TestServer.json(server.get("/events/metrics/session/s"));
        assertEquals(15, session.get("total_tokens").asLong(), "total_tokens defaults to prompt + completion");
        assertEquals(false, session.get("requests").get(0).get("has_tool_calls").asBoolean());
    }

    @Test
    void aFieldBoundedByAnotherNamesBothAsOnTheWireNeverAsJavaFields() {
        String base = "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"bounded\",\"model\":\"m\",\"duration_ms\":100,"
                + "\"prompt_tokens\":5,\"completion_tokens\":7,";
        String batch = "[" + base + "\"cached_tokens\":6}," + base + "\"reasoning_tokens\":8}," + base
                + "\"time_to_first_token_ms\":101}," + base + "\"cached_tokens\":3,\"cache_write_tokens\":3}]";
        HttpResponse<String> response = server.post("/events", batch);
        assertProblem(response, 400, "invalid_events");
        java.util.List<String> reasons = new java.util.ArrayList<>();
        TestServer.json(response).get("errors").forEach(e -> reasons.add(e.get("reason").asText()));
        assertEquals(java.util.List.of("cached_tokens must be at most prompt_tokens (5), was 6",
                "reasoning_tokens must be at most completion_tokens (7), was 8",
                "time_to_first_token_ms must be at most duration_ms (100), was 101",
                "cache_write_tokens must be at most prompt_tokens - cached_tokens (2), was 3"), reasons);
        assertEquals(0, totalRequests("bounded"));
    }

    @Test
    void tokenCountsWhoseSumPassesTheBoundAreRefusedUnlessTheTotalIsGivenAndAGivenTotalIsKeptAsReported() {
        String base = "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"sums\",\"model\":\"m\",\"duration_ms\":1,";
        HttpResponse<String> refused = server.post("/events", base + "\"prompt_tokens\":2147483647,\"completion_tokens\":1}");
        assertProblem(refused, 400, "invalid_events");
        JsonNode problem = TestServer.json(refused).get("errors").get(0);
        assertEquals("total_tokens", problem.get("field").asText());
        assertEquals("total_tokens (prompt_tokens + completion_tokens) must be at most 2147483647, was 2147483648",
                problem.get("reason").asText());
        assertEquals(0, totalRequests("sums"));

        // A provider may count more than prompt and completion in its total (thinking tokens, for one): kept as given.
        assertEquals(202, server.post("/events", base + "\"prompt_tokens\":2147483647,\"completion_tokens\":1,"
                + "\"total_tokens\":2147483647}").statusCode());
        assertEquals(202, server.post("/events", base + "\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":5}")
                .statusCode());
        JsonNode session = TestServer.json(server.get("/events/metrics/session/sums"));
        assertEquals(2147483652L, session.get("total_tokens").asLong());
        assertEquals(5, session.get("requests").get(1).get("total_tokens").asInt());
    }

    @Test
    void aMalformedNdjsonLineNamesItsColumnFromTheStartOfTheLineEvenAfterACarriageReturnInIt() {
        for (Map.Entry<String, String> body : Map.of(
                COMPLETED + "\n{\"a\"\r:1}x\n", "line 2 is not valid JSON: a word that is not true, false or null at column 9",
                COMPLETED + "\r\n{\"a\":\r\rtrux}\n", "line 2 is not valid JSON: a word that is not true, false or null at column 8",
                "{\"a\":1} x", "line 1 is not valid JSON: a word that is not true, false or null at column 9").entrySet()) {
            HttpResponse<String> response = server.post("/events", body.getKey(), "Content-Type", "application/x-ndjson");
            assertProblem(response, 400, "malformed_json");
            assertEquals(body.getValue(), TestServer.json(response).get("detail").asText(), body.getKey());
        }
        assertEquals(0, totalRequests("s"));
    }

    @Test
    void anArrayAndNdjsonAreAcceptedInOrder() {
        assertEquals(202, server.post("/events", "[" + COMPLETED + "," + COMPLETED + "]").statusCode());
        for (String type : new String[] {"application/x-ndjson", "application/ndjson", "application/jsonl; charset=utf-8"}) {
            HttpResponse<String> ndjson = server.post("/events", COMPLETED + "\n\n" + COMPLETED + "\r\n" + COMPLETED + "\n",
                    "Content-Type", type);
            assertEquals(202, ndjson.statusCode(), type + ": " + ndjson.body());
            assertEquals(3, TestServer.json(ndjson).get("accepted").asInt());
        }
        assertEquals(11, totalRequests("s"));
    }

    @Test
    void ndjsonIsReadForItsThreeMediaTypesAloneInAnyCaseWithParameters() {
        for (String type : new String[] {"APPLICATION/X-NDJSON;charset=utf-8", " Application/NDJSON ; x=y", "application/JSONL"}) {
            HttpResponse<String> ndjson = server.post("/events", COMPLETED + "\n" + COMPLETED + "\n", "Content-Type", type);
            assertEquals(202, ndjson.statusCode(), type + ": " + ndjson.body());
        }
        // Types that only begin like one of them are read as JSON, as any other type is (endpoints.md names three).
        for (String type : new String[] {"application/jsonlines", "application/x-ndjson-seq", "application/ndjsonx"}) {
            HttpResponse<String> json = server.post("/events", COMPLETED + "\n" + COMPLETED + "\n", "Content-Type", type);
            assertEquals(400, json.statusCode(), type + ": " + json.body());
            assertEquals("malformed_json", TestServer.json(json).get("error").asText(), type);
        }
        assertEquals(6, totalRequests("s"));
    }

    @Test
    void aBodyDeclaredInACharsetThatWritesAsciiOtherwiseThanUtf8IsA415NamingItAndOthersAreReadAsUtf8() {
        for (String charset : new String[] {"utf-16", "UTF-16LE", "\"utf-32\""}) {
            HttpResponse<String> response = server.send(java.net.http.HttpRequest.newBuilder(server.uri("/events"))
                    .header("Content-Type", "application/json; charset=" + charset)
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(COMPLETED.getBytes(
                            java.nio.charset.Charset.forName(charset.replace("\"", ""))))));
            assertProblem(response, 415, "unsupported_charset");
            assertTrue(TestServer.json(response).get("detail").asText().contains(charset.replace("\"", "")), response.body());
        }
        assertEquals(0, totalRequests("s"), "nothing was applied");
        // A charset that writes ASCII as ASCII, or one the server does not know, leaves the body read as UTF-8.
        for (String charset : new String[] {"utf-8", "US-ASCII", "iso-8859-1", "x-unknown", "\"\"", ""}) {
            HttpResponse<String> response = server.post("/events", COMPLETED, "Content-Type", "application/json; charset=" + charset);
            assertEquals(202, response.statusCode(), charset + ": " + response.body());
        }
        assertEquals(6, totalRequests("s"));
    }

    @Test
    void oneInvalidEventRejectsTheWholeBatchListingEveryProblemByIndexAndField() {
        server.post("/events", COMPLETED);
        String batch = "[" + COMPLETED + ","
                + "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s\",\"model\":\"m\",\"duration_ms\":-1,\"prompt_tokens\":1,\"completion_tokens\":1},"
                + "{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"\",\"model\":\"m\"},"
                + "{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"s\",\"model\":\"m\",\"error\":\"x\",\"surprise\":1}]";
        HttpResponse<String> response = server.post("/events", batch);
        assertProblem(response, 400, "invalid_events");
        JsonNode errors = TestServer.json(response).get("errors");
        assertEquals(3, errors.size());
        assertEquals(1, errors.get(0).get("index").asInt());
        assertEquals("duration_ms", errors.get(0).get("field").asText());
        assertEquals(2, errors.get(1).get("index").asInt());
        assertEquals("session_id", errors.get(1).get("field").asText());
        assertEquals("session_id must not be blank", errors.get(1).get("reason").asText());
        assertEquals(3, errors.get(2).get("index").asInt());
        assertEquals("surprise", errors.get(2).get("field").asText());
        assertEquals(1, totalRequests("s"), "nothing of the rejected batch was applied");
    }

    @Test
    void wrongTypesFractionsAndOutOfRangeNumbersAreRejectedNamingTheField() {
        Map<String, String> cases = Map.of(
                "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s\",\"model\":\"m\",\"duration_ms\":\"100\",\"prompt_tokens\":1,\"completion_tokens\":1}", "duration_ms",
                "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s\",\"model\":\"m\",\"duration_ms\":1.5,\"prompt_tokens\":1,\"completion_tokens\":1}", "duration_ms",
                "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s\",\"model\":\"m\",\"duration_ms\":1,\"prompt_tokens\":99999999999,\"completion_tokens\":1}", "prompt_tokens",
                "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s\",\"model\":\"m\",\"duration_ms\":1,\"prompt_tokens\":1}", "completion_tokens",
                "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":7,\"model\":\"m\",\"duration_ms\":1,\"prompt_tokens\":1,\"completion_tokens\":1}", "session_id",
                "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s\",\"model\":\"m\",\"duration_ms\":1,\"prompt_tokens\":1,\"completion_tokens\":1,\"has_tool_calls\":\"yes\"}", "has_tool_calls",
                "{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"s\",\"model\":\"m\",\"timestamp\":\"2026-01-17T15:30:00\"}", "timestamp",
                "{\"type\":\"llm_request_started\",\"session_id\":\"s\",\"model\":\"m\"}", "type",
                "{\"session_id\":\"s\",\"model\":\"m\"}", "type");
        cases.forEach((event, field) -> {
            HttpResponse<String> response = server.post("/events", event);
            assertProblem(response, 400, "invalid_events");
            assertEquals(field, TestServer.json(response).get("errors").get(0).get("field").asText(), event);
        });
        assertEquals(0, totalRequests("s"));
    }

    @Test
    void aLeapSecondInUtcIsReadAsTheSecondBeforeItAndASecond60ElsewhereIsRefused() {
        String completed = "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"leap\",\"model\":\"m\",\"duration_ms\":1,"
                + "\"timestamp\":";
        HttpResponse<String> accepted = server.post("/events", "[" + completed + "\"2016-12-31T23:59:60Z\"},"
                + completed + "\"2016-12-31T23:59:60.5Z\"}]");
        assertEquals(202, accepted.statusCode(), accepted.body());
        java.util.Set<String> timestamps = new java.util.HashSet<>();
        server.awaitSession("leap", 2).get("requests").forEach(r -> timestamps.add(r.get("timestamp").asText()));
        assertEquals(java.util.Set.of("2016-12-31T23:59:59Z", "2016-12-31T23:59:59.500Z"), timestamps);

        HttpResponse<String> refused = server.post("/events", completed + "\"2026-01-17T15:30:60Z\"}");
        assertProblem(refused, 400, "invalid_events");
        assertEquals("timestamp", TestServer.json(refused).get("errors").get(0).get("field").asText());
        assertEquals(2, totalRequests("leap"), "the refused event was not applied");
    }

    @Test
    void aSecond60AtAnOffsetOtherThanUtcAndAnHour24AreRefusedNotReadAsAnotherSecond() {
        String completed = "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"not-leap\",\"model\":\"m\","
                + "\"duration_ms\":1,\"timestamp\":";
        // 23:59:60 at +01:00 is 22:59:60 UTC, no leap second; RFC 3339 has no hour 24; no offset is past ±18:00.
        for (String timestamp : List.of("2016-12-31T23:59:60+01:00", "2016-12-31T23:59:60-05:30", "2016-12-31T24:00:00Z",
                "2026-01-17T15:30:00+25:00", "2016-12-31T23:59:60+25:00")) {
            HttpResponse<String> refused = server.post("/events", completed + "\"" + timestamp + "\"}");
            assertProblem(refused, 400, "invalid_events");
            assertEquals("timestamp", TestServer.json(refused).get("errors").get(0).get("field").asText(), timestamp);
        }
        // The leap second itself, at the zero offset written as such, is read as 23:59:59.
        HttpResponse<String> accepted = server.post("/events", completed + "\"2016-12-31T23:59:60+00:00\"}");
        assertEquals(202, accepted.statusCode(), accepted.body());
        assertEquals("2016-12-31T23:59:59Z",
                server.awaitSession("not-leap", 1).get("requests").get(0).get("timestamp").asText());
    }

    @Test
    void eventsSentOneAfterAnotherWithoutAnArrayOrLineFeedsAreRefusedSayingHowToSendSeveral() {
        // As curl -d @events.ndjson sends a file: its line feeds dropped, with or without the NDJSON media type.
        HttpResponse<String> json = server.post("/events", COMPLETED + COMPLETED);
        assertProblem(json, 400, "malformed_json");
        assertTrue(TestServer.json(json).get("detail").asText().endsWith("several events go in a JSON array, or one a line"
                + " with Content-Type application/x-ndjson"), json.body());
        HttpResponse<String> ndjson = server.post("/events", COMPLETED + COMPLETED, "Content-Type", "application/x-ndjson");
        assertProblem(ndjson, 400, "malformed_json");
        assertTrue(TestServer.json(ndjson).get("detail").asText().contains("--data-binary"), ndjson.body());
        assertEquals(0, totalRequests("s"));
    }

    @Test
    void aSessionsCostStaysAtItsDocumentedBoundWhereThePerModelCounterGoesOn() {
        String costly = "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"costly\",\"model\":\"m\",\"duration_ms\":1,"
                + "\"cost_usd\":1000000}";
        String five = "[" + String.join(",", java.util.Collections.nCopies(5, costly)) + "]";
        server.postEvents(five);
        server.postEvents(five);
        // limits.md: exact up to 2^63 - 1 picodollars, where it stays, never wrapping negative.
        assertEquals(9_223_372.036854775807, server.awaitSession("costly", 10).get("total_cost_usd").asDouble());
        String scrape = server.get("/metrics").body();
        assertTrue(scrape.contains("llm_session_cost_usd_total{model=\"m\",session=\"costly\"} 9223372.036854776"), scrape);
        assertTrue(scrape.contains("llm_cost_usd_total{model=\"m\"} 1.0E7"), scrape);
    }

    @Test
    void malformedBodiesAreA400() {
        assertProblem(server.post("/events", "{\"type\":"), 400, "malformed_json");
        assertProblem(server.post("/events", ""), 400, "empty_batch");
        assertProblem(server.post("/events", "[]"), 400, "empty_batch");
        assertProblem(server.post("/events", "[1]"), 400, "invalid_events");
        assertProblem(server.post("/events", COMPLETED + " trailing"), 400, "malformed_json");
        assertProblem(server.post("/events", "{\"type\":\"A\",\"type\":\"B\"}"), 400, "malformed_json");
        HttpResponse<String> brokenLine = server.post("/events", COMPLETED + "\n{broken\n" + COMPLETED,
                "Content-Type", "application/x-ndjson");
        assertProblem(brokenLine, 400, "malformed_json");
        assertTrue(TestServer.json(brokenLine).get("detail").asText().startsWith("line 2 "));
        assertEquals(0, totalRequests("s"));
    }

    @Test
    void bodiesAndBatchesOverTheLimitsAreA413() {
        String big = "[" + (COMPLETED + ",").repeat(40) + COMPLETED + "]";
        assertTrue(big.length() > 4096);
        assertProblem(server.post("/events", big), 413, "body_too_large");
        String six = "[" + (COMPLETED + ",").repeat(5) + COMPLETED + "]";
        assertProblem(server.post("/events", six), 413, "batch_too_large");
        assertEquals(0, totalRequests("s"));
    }

    /** endpoints.md: /events/metrics counts prompt + completion as its total_tokens; a session keeps the reported total. */
    @Test
    void theEventMetricsTotalTokensArePromptPlusCompletionWhereTheSessionKeepsTheReportedTotal() {
        server.post("/events", "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"t\",\"model\":\"m\",\"duration_ms\":5,"
                + "\"prompt_tokens\":10,\"completion_tokens\":20,\"total_tokens\":500}");
        assertEquals(500, TestServer.json(server.get("/events/metrics/session/t")).get("total_tokens").asLong());
        JsonNode metrics = TestServer.json(server.get("/events/metrics"));
        assertEquals(30, metrics.get("llm").get("total_tokens").asLong());
        assertEquals(30, metrics.get("llm_by_model").get("m").get("total_tokens").asLong());
    }

    @Test
    void genericEventsAreCountedOnTheBusByTypeAndCategory() {
        server.post("/events", "[{\"type\":\"TOOL_CALL_STARTED\",\"session_id\":\"s\",\"attributes\":{\"tool\":\"search\"}},"
                + "{\"type\":\"AGENT_STEP_COMPLETED\"},{\"type\":\"HITL_APPROVED\",\"session_id\":\"s\"},{\"type\":\"CUSTOM_THING\"},"
                + COMPLETED + "]");
        JsonNode metrics = TestServer.json(server.get("/events/metrics"));
        assertEquals(5, metrics.get("total_events").asLong());
        assertEquals(1, metrics.get("events_by_type").get("TOOL_CALL_STARTED").asLong());
        assertEquals(1, metrics.get("events_by_category").get("tool").asLong());
        assertEquals(1, metrics.get("events_by_category").get("agent").asLong());
        assertEquals(1, metrics.get("events_by_category").get("hitl").asLong());
        assertEquals(1, metrics.get("events_by_category").get("other").asLong());
        assertEquals(1, metrics.get("events_by_category").get("llm").asLong());
        assertEquals(1, metrics.get("llm").get("total_requests").asLong());
        assertEquals(100.0, metrics.get("llm_by_model").get("m").get("average_duration_ms").asDouble());

        JsonNode stats = TestServer.json(server.get("/events/stats"));
        assertEquals(5, stats.get("total_published").asLong());
        assertEquals(1, stats.get("listeners_by_type").get("LLM_REQUEST_COMPLETED").asInt());
        assertEquals(0, stats.get("listener_failures").asLong());
        assertTrue(stats.get("uptime_seconds").asDouble() >= 0);
        assertTrue(stats.get("started_at").asText().endsWith("Z"));

        assertProblem(server.post("/events", "{\"type\":\"TOOL_CALL\",\"attributes\":{\"n\":1}}"), 400, "invalid_events");
    }
}
