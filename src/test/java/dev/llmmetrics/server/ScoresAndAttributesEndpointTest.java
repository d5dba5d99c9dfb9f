package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.session.SessionStore;
import dev.llmmetrics.session.redis.RedisProcess;
import java.net.http.HttpResponse;
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

/**
 * Attributes on the LLM events and LLM_REQUEST_SCORED over real HTTP: the three body forms, the session JSON's
 * shape, the bounds answered with a 400 that applies nothing, retries, and the scrape.
 */
class ScoresAndAttributesEndpointTest {

    private final TestServer server = TestServer.start();

    @AfterEach
    void stop() {
        server.close();
    }

    private static String completed(String session, String correlationId, String attributes) {
        return "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"" + session + "\",\"model\":\"gpt-4o\","
                + "\"duration_ms\":100,\"prompt_tokens\":10,\"completion_tokens\":5,\"correlation_id\":\""
                + correlationId + "\"" + (attributes == null ? "" : ",\"attributes\":" + attributes) + "}";
    }

    private static String scored(String session, String correlationId, String name, String value) {
        return "{\"type\":\"LLM_REQUEST_SCORED\",\"session_id\":\"" + session + "\""
                + (correlationId == null ? "" : ",\"correlation_id\":\"" + correlationId + "\"")
                + ",\"name\":\"" + name + "\",\"value\":" + value + "}";
    }

    private JsonNode session(String id) {
        HttpResponse<String> r = server.get("/events/metrics/session/" + id);
        assertEquals(200, r.statusCode(), r.body());
        return TestServer.json(r);
    }

    @Test
    void scoresAreAcceptedInAllThreeBodyFormsAndShownWithTheirRequestAndInTheSessionsSummary() {
        assertEquals(202, server.post("/events", scored("s", "c1", "helpfulness", "0.5")).statusCode(), "before the call");
        assertEquals(202, server.post("/events", "[" + completed("s", "c1", "{\"feature\":\"search\",\"prompt\":\"v7\"}")
                + "," + scored("s", "c1", "thumbs", "true") + "]").statusCode());
        HttpResponse<String> ndjson = server.post("/events", scored("s", "c1", "helpfulness", "1") + "\n"
                + "{\"type\":\"LLM_REQUEST_SCORED\",\"session_id\":\"s\",\"name\":\"session_rating\",\"value\":4,"
                + "\"comment\":\"smooth\\nconversation\",\"timestamp\":\"2026-01-17T15:30:00Z\",\"event_id\":\"r1\"}\n",
                "Content-Type", "application/x-ndjson");
        assertEquals(202, ndjson.statusCode(), ndjson.body());

        JsonNode s = session("s");
        List<String> fields = new ArrayList<>();
        s.fieldNames().forEachRemaining(fields::add);
        assertEquals(List.of("session_id", "total_requests", "successful_requests", "failed_requests", "total_duration_ms",
                "average_duration_ms", "total_prompt_tokens", "total_completion_tokens", "total_tokens",
                "average_tokens_per_request", "requests_with_tools", "requests"), fields.subList(0, 12),
                "the seed's fields first, in its order");
        assertEquals("scores", fields.getLast(), "the score summary comes after every existing field");
        assertEquals(1, s.get("total_requests").asLong(), "a score is not a request");

        JsonNode request = s.get("requests").get(0);
        List<String> requestFields = new ArrayList<>();
        request.fieldNames().forEachRemaining(requestFields::add);
        assertEquals(List.of("timestamp", "model", "duration_ms", "prompt_tokens", "completion_tokens", "total_tokens",
                "has_tool_calls", "success", "error"), requestFields.subList(0, 9));
        assertEquals(List.of("correlation_id", "attributes", "scores"), requestFields.subList(requestFields.size() - 3,
                requestFields.size()));
        assertEquals("c1", request.get("correlation_id").asText());
        assertEquals("search", request.get("attributes").get("feature").asText());
        assertEquals("v7", request.get("attributes").get("prompt").asText());
        JsonNode scores = request.get("scores");
        assertEquals(3, scores.size(), scores.toString());
        assertEquals("helpfulness", scores.get(0).get("name").asText());
        assertEquals(0.5, scores.get(0).get("value").asDouble());
        assertEquals("thumbs", scores.get(1).get("name").asText());
        assertEquals(1.0, scores.get(1).get("value").asDouble(), "true is 1");
        assertEquals(List.of("name", "value", "comment", "timestamp"), fieldNames(scores.get(0)));

        JsonNode summary = s.get("scores");
        assertEquals(3, summary.size(), summary.toString());
        assertEquals(List.of("name", "count", "mean", "min", "max"), fieldNames(summary.get(0)));
        assertEquals("helpfulness", summary.get(0).get("name").asText());
        assertEquals(2, summary.get(0).get("count").asLong());
        assertEquals(0.75, summary.get(0).get("mean").asDouble());
        assertEquals(0.5, summary.get(0).get("min").asDouble());
        assertEquals(1.0, summary.get(0).get("max").asDouble());
        assertEquals("session_rating", summary.get(2).get("name").asText());

        assertEquals(202, server.post("/events", "{\"type\":\"LLM_REQUEST_SCORED\",\"session_id\":\"s\",\"name\":"
                + "\"session_rating\",\"value\":4,\"event_id\":\"r1\"}").statusCode());
        assertEquals(1, session("s").get("scores").get(2).get("count").asLong(), "a retried event id is applied once");
    }

    @Test
    void aSessionWithoutScoresShowsAnEmptySummaryAndRequestsWithoutAttributesAnEmptyObject() {
        server.post("/events", completed("plain", "c", null));
        JsonNode s = session("plain");
        assertEquals(0, s.get("scores").size());
        JsonNode request = s.get("requests").get(0);
        assertTrue(request.get("attributes").isObject());
        assertEquals(0, request.get("attributes").size());
        assertEquals(0, request.get("scores").size());
    }

    /**
     * A request's attributes are written in the order of their keys, whatever order the event gave them in: so the
     * same state is the same bytes under its entity tag in every process, after a restart in durable mode and on
     * every replica, not an order that depends on the process's hashing.
     */
    @Test
    void aRequestsAttributesAreWrittenInTheOrderOfTheirKeys() {
        List<String> keys = new ArrayList<>();
        StringBuilder attributes = new StringBuilder("{");
        for (int i = 63; i >= 0; i--) {
            String key = "k" + (char) ('a' + i % 26) + i;
            keys.add(key);
            attributes.append(i == 63 ? "" : ",").append('"').append(key).append("\":\"v\"");
        }
        server.post("/events", completed("ordered", "c", attributes.append('}').toString()));
        List<String> written = new ArrayList<>();
        session("ordered").get("requests").get(0).get("attributes").fieldNames().forEachRemaining(written::add);
        assertEquals(keys.stream().sorted().toList(), written);
    }

    @Test
    void attributesAndScoresPastTheirBoundsAreRefusedWithA400ThatAppliesNothing() {
        server.post("/events", completed("s", "c0", null));
        StringBuilder many = new StringBuilder("{");
        for (int i = 0; i <= Event.MAX_ATTRIBUTES; i++) {
            many.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
        }
        many.append('}');
        Map<String, String> refused = Map.ofEntries(
                Map.entry(completed("s", "c1", many.toString()), "attributes"),
                Map.entry(completed("s", "c1", "{\"k\":\"" + "v".repeat(Event.MAX_ATTRIBUTE_LENGTH + 1) + "\"}"),
                        "attributes"),
                Map.entry(completed("s", "c1", "{\"k\":1}"), "attributes.k"),
                Map.entry(completed("s", "c1", "[\"k\"]"), "attributes"),
                Map.entry("{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"s\",\"model\":\"m\",\"attributes\":{\"\":\"v\"}}",
                        "attributes"),
                Map.entry(scored("s", "c1", "not a name", "1"), "name"),
                Map.entry(scored("s", "c1", "_other", "1"), "name"),
                Map.entry(scored("s", "c1", "n".repeat(LlmRequestScored.MAX_NAME_LENGTH + 1), "1"), "name"),
                Map.entry(scored("s", "c1", "grade", "-0.5"), "value"),
                Map.entry(scored("s", "c1", "grade", "1e7"), "value"),
                Map.entry(scored("s", "c1", "grade", "\"0.5\""), "value"),
                Map.entry("{\"type\":\"LLM_REQUEST_SCORED\",\"session_id\":\"s\",\"name\":\"grade\"}", "value"),
                Map.entry("{\"type\":\"LLM_REQUEST_SCORED\",\"session_id\":\"s\",\"value\":1}", "name"),
                Map.entry("{\"type\":\"LLM_REQUEST_SCORED\",\"name\":\"grade\",\"value\":1}", "session_id"),
                Map.entry("{\"type\":\"LLM_REQUEST_SCORED\",\"session_id\":\"s\",\"name\":\"grade\",\"value\":1,"
                        + "\"comment\":\"" + "c".repeat(LlmRequestScored.MAX_COMMENT_LENGTH + 1) + "\"}", "comment"),
                Map.entry("{\"type\":\"LLM_REQUEST_SCORED\",\"session_id\":\"s\",\"name\":\"grade\",\"value\":1,"
                        + "\"model\":\"gpt-4o\"}", "model"));
        refused.forEach((event, field) -> {
            HttpResponse<String> r = server.post("/events", "[" + scored("s", "c0", "grade", "1") + "," + event + "]");
            assertEquals(400, r.statusCode(), event + " -> " + r.body());
            JsonNode error = TestServer.json(r).get("errors").get(0);
            assertEquals(1, error.get("index").asInt(), r.body());
            assertEquals(field, error.get("field").asText(), event + " -> " + r.body());
            assertFalse(r.body().contains("Exception"), r.body());
        });
        JsonNode s = session("s");
        assertEquals(0, s.get("scores").size(), "no score of a refused batch was applied");
        assertEquals(1, s.get("total_requests").asLong());
    }

    @Test
    void theScrapeHasAScoreHistogramPerModelAndNameAndASummaryPerSessionAndName() {
        server.postEvents("[" + completed("s", "c1", "{\"tier\":\"pro\"}") + "," + scored("s", "c1", "helpfulness", "0.8")
                + "," + scored("s", "c1", "helpfulness", "0.4") + "," + scored("s", null, "session_rating", "5") + "]");
        for (int i = 0; i < SessionStore.MAX_SCORE_NAMES + 2; i++) {
            server.postEvents("[" + scored("t", null, "name" + i, "1") + "]");
        }
        PrometheusText scrape = server.scrape();
        assertEquals(2, scrape.value("llm_score_count", "model", "gpt-4o", "name", "helpfulness"));
        assertEquals(1.2, scrape.value("llm_score_sum", "model", "gpt-4o", "name", "helpfulness"), 1e-9);
        assertEquals(2, scrape.value("llm_score_bucket", "model", "gpt-4o", "name", "helpfulness", "le", "1.0"));
        assertEquals(0, scrape.value("llm_score_bucket", "model", "_unknown", "name", "session_rating", "le", "4.0"));
        assertEquals(1, scrape.value("llm_score_bucket", "model", "_unknown", "name", "session_rating", "le", "5.0"));
        assertEquals(1, scrape.value("llm_score_count", "model", "_unknown", "name", "session_rating"),
                "a session's own score has no request, so no model");
        assertEquals(4, scrape.value("llm_score_count", "model", "_unknown", "name", "_other"),
                "names past the bound (two taken by s, fourteen by t) share _other");
        assertEquals(SessionStore.MAX_SCORE_NAMES + 1, scrape.find("llm_score_count").stream()
                .map(sample -> sample.labels().get("name")).distinct().count());
        assertEquals(2, scrape.value("llm_session_score_count", "name", "helpfulness", "session", "s"));
        assertEquals(1.2, scrape.value("llm_session_score_sum", "name", "helpfulness", "session", "s"), 1e-9);
        assertFalse(scrape.samples().stream().anyMatch(sample -> sample.labels().containsKey("tier")
                || sample.labels().containsValue("pro")), "attributes are never labels");
    }

    @ParameterizedTest(name = "store.backend={0}")
    @ValueSource(strings = {"memory", "redis"})
    void thePerSessionScoreSeriesFoldNamesPastTheBoundAndLeaveWithAClearedOrIdleEvictedSession(String backend,
            @TempDir Path dir) {
        RedisProcess redis = backend.equals("redis") ? RedisProcess.start("no") : null;
        try (redis; TestServer own = TestServer.start(TestServer.onStore(backend, dir, redis,
                Map.of("store.idle.timeout", "PT2S")))) {
            StringBuilder batch = new StringBuilder("[").append(completed("many", "c1", null))
                    .append(',').append(completed("cleared", "c1", null))
                    .append(',').append(scored("cleared", "c1", "quality", "0.5"));
            for (int i = 0; i < SessionStore.MAX_SCORE_NAMES + 2; i++) {
                batch.append(',').append(scored("many", null, "name" + i, String.valueOf(i)));
            }
            assertEquals(202, own.post("/events", batch.append(']').toString()).statusCode());
            PrometheusText scrape = own.scrape();
            assertEquals(SessionStore.MAX_SCORE_NAMES + 1, scrape.find("llm_session_score_count", "session", "many").size());
            assertEquals(2, scrape.value("llm_session_score_count", "session", "many", "name", "_other"),
                    "the names past the bound share _other");
            assertEquals(SessionStore.MAX_SCORE_NAMES + SessionStore.MAX_SCORE_NAMES + 1,
                    scrape.value("llm_session_score_sum", "session", "many", "name", "_other"), 1e-9);
            assertEquals(1, scrape.value("llm_session_score_count", "session", "cleared", "name", "quality"));
            assertEquals(0.5, scrape.value("llm_session_score_sum", "session", "cleared", "name", "quality"), 1e-9);

            assertEquals(200, own.delete("/events/metrics/session/cleared").statusCode());
            assertFalse(own.scrape().has("llm_session_score_count", "session", "cleared"), "gone with its session");
            assertTrue(own.scrape().has("llm_session_score_count", "session", "many"));
            Awaitility.await("the idle session evicted").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
                    .until(() -> own.get("/events/metrics/session/many").statusCode() == 404);
            assertFalse(own.scrape().has("llm_session_score_count", "session", "many"), "gone with its session");
        }
    }

    @Test
    void aModelNamedLikeTheUnknownScoreLabelIsCountedUnderOtherSoThatUnknownMeansOnlyAnUnknownModel() {
        server.postEvents("[" + completed("s", "c1", null).replace("gpt-4o", "_unknown") + ","
                + scored("s", "c1", "helpfulness", "0.8") + "," + scored("s", null, "helpfulness", "0.2") + "]");
        PrometheusText scrape = server.scrape();
        assertEquals(1, scrape.value("llm_requests_total", "model", "_other", "outcome", "success"));
        assertFalse(scrape.has("llm_requests_total", "model", "_unknown"), "no per-model meter takes the reserved label");
        assertEquals(1, scrape.value("llm_session_requests_total", "model", "_other", "outcome", "success", "session", "s"));
        assertEquals(1, scrape.value("llm_score_count", "model", "_other", "name", "helpfulness"), "the score of its call");
        assertEquals(1, scrape.value("llm_score_count", "model", "_unknown", "name", "helpfulness"),
                "only the session's own score, whose model is not known");
        assertEquals(0.2, scrape.value("llm_score_sum", "model", "_unknown", "name", "helpfulness"), 1e-9);
        assertEquals(0, scrape.value("llm_session_model_overflows_total"), "a reserved name is no overflow");
        JsonNode s = session("s");
        assertEquals("_unknown", s.get("requests").get(0).get("model").asText(), "its records keep its name");
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
