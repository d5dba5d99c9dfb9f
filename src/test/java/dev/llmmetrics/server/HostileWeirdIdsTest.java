package dev.llmmetrics.server;

import static dev.llmmetrics.server.HostileSupport.jsonString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmmetrics.session.SessionStore;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Valid but weird session ids, model names, correlation ids, error texts and attributes (quotes,
 * backslashes, braces, {@code =}, emoji, {@code # HELP} text, slashes, percent signs, 256 characters) are
 * accepted, round-trip exactly through the JSON API (the session fetched back by its percent-encoded id),
 * label the scrape's series exactly as sent (read back by both parsers), and can be deleted by their id;
 * the scrape stays valid for {@code promtool} and both parsers.
 */
class HostileWeirdIdsTest {

    private static final int MAX_MODELS = 30;

    private static TestServer server;

    @BeforeContainer
    static void start() {
        server = TestServer.start(Map.of("meters.max.models", String.valueOf(MAX_MODELS)));
    }

    @AfterContainer
    static void stop() {
        HostileSupport.finish(server, HostileWeirdIdsTest.class);
    }

    @AfterProperty
    void scrapeStaysValid() {
        HostileSupport.assertUnchangedAndScrapeValid(null, server);
    }

    record Weird(String session, String model, String correlation, String error, String attributeKey, String attributeValue,
                 boolean ndjson, boolean delete) {
    }

    @Provide
    Arbitrary<Weird> weird() {
        Arbitrary<String> id = HostileArbitraries.weirdValidIds();
        Arbitrary<String> text = Arbitraries.oneOf(id, Arbitraries.of("line 1\nline 2", "tab\there", "\n", "",
                "x".repeat(4096), "Error: \"quoted\" {braces} = \\ \uD83D\uDE00", "\uD83D\uDE00".repeat(2048)));
        Arbitrary<String> attributeValue = Arbitraries.oneOf(id, Arbitraries.of("", "a\nb\tc", "v".repeat(1024)));
        return Combinators.combine(Combinators.combine(id, id, id, text).as(List::of), id, attributeValue,
                Arbitraries.of(true, false), Arbitraries.integers().between(0, 2)).as((ids, key, value, ndjson, delete) ->
                new Weird(ids.get(0), ids.get(1), ids.get(2), ids.get(3), key, value, ndjson, delete == 0));
    }

    @Property(tries = 100)
    void weirdButValidIdsAreAcceptedAndRoundTripExactly(@ForAll("weird") Weird w) {
        HostileSupport.count("weird-valid-ids");
        String session = jsonString(w.session());
        String model = jsonString(w.model());
        String correlation = jsonString(w.correlation());
        List<String> events = List.of(
                "{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":" + session + ",\"model\":" + model
                        + ",\"messages_count\":2,\"tools_count\":1,\"correlation_id\":" + correlation + "}",
                "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":" + session + ",\"model\":" + model
                        + ",\"duration_ms\":1500,\"prompt_tokens\":100,\"completion_tokens\":20,\"has_tool_calls\":true,"
                        + "\"correlation_id\":" + correlation + ",\"timestamp\":\"2026-01-17T15:30:00Z\"}",
                "{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":" + session + ",\"model\":" + model + ",\"error\":"
                        + jsonString(w.error()) + ",\"correlation_id\":" + correlation + ",\"timestamp\":\"2026-01-17T15:30:01Z\"}",
                "{\"type\":\"TOOL_CALL_STARTED\",\"session_id\":" + session + ",\"correlation_id\":" + correlation
                        + ",\"attributes\":{" + jsonString(w.attributeKey()) + ":" + jsonString(w.attributeValue()) + "}}");
        HttpResponse<String> posted = w.ndjson()
                ? server.post("/events", String.join("\n", events), "Content-Type", "application/x-ndjson")
                : server.post("/events", "[" + String.join(",", events) + "]");
        String context = HostileSupport.abbreviate(w.toString());
        assertEquals(202, posted.statusCode(), context + " -> " + posted.body());
        assertEquals(4, TestServer.json(posted).get("accepted").asInt(), context);

        // The JSON API gives every string back exactly, the session found by its percent-encoded id.
        String path = "/events/metrics/session/" + HostileSupport.encode(w.session());
        HttpResponse<String> fetched = server.get(path);
        assertEquals(200, fetched.statusCode(), context + " -> " + fetched.body());
        JsonNode json = TestServer.json(fetched);
        assertEquals(w.session(), json.get("session_id").asText(), context);
        assertTrue(json.get("total_requests").asLong() >= 2, context);
        JsonNode requests = json.get("requests");
        JsonNode failed = requests.get(requests.size() - 1);
        assertEquals(w.model(), failed.get("model").asText(), context);
        // The error text comes back exactly up to the length the store keeps; past it, a prefix cut between
        // characters and marked.
        String keptError = failed.get("error").asText();
        if (w.error().length() <= SessionStore.MAX_ERROR_CHARS) {
            assertEquals(w.error(), keptError, context);
        } else {
            String prefix = keptError.substring(0, keptError.length() - 1);
            assertTrue(keptError.endsWith("…") && w.error().startsWith(prefix), context);
            assertTrue(keptError.length() <= SessionStore.MAX_ERROR_CHARS && prefix.length() >= SessionStore.MAX_ERROR_CHARS - 2,
                    context);
            assertTrue(!Character.isHighSurrogate(prefix.charAt(prefix.length() - 1)), context);
        }
        assertEquals(w.model(), requests.get(requests.size() - 2).get("model").asText(), context);
        // The list gives the id back exactly (its order, most recent first, is another test's: sessions posted
        // within one tick of the coarse clock tie).
        List<String> listed = new java.util.ArrayList<>();
        TestServer.json(server.get("/events/metrics/sessions?limit=10000")).get("sessions").forEach(id -> listed.add(id.asText()));
        assertTrue(listed.contains(w.session()), context);

        // The scrape labels the session's series with the id and model exactly, as both parsers read them.
        JsonNode byModel = TestServer.json(server.get("/events/metrics")).get("llm_by_model");
        String modelLabel = byModel.has(w.model()) ? w.model() : "_other";
        assertTrue(byModel.has(modelLabel), context);
        byte[] scrape = HostileSupport.getBytes(server, "/metrics");
        List<HostileExposition.Sample> mine = HostileExposition.parse(scrape);
        PrometheusText theirs = PrometheusText.parse(new String(scrape, java.nio.charset.StandardCharsets.UTF_8));
        for (String outcome : List.of("success", "failure")) {
            List<HostileExposition.Sample> found = mine.stream().filter(s -> s.name().equals("llm_session_requests_total")
                    && w.session().equals(s.labels().get("session")) && modelLabel.equals(s.labels().get("model"))
                    && outcome.equals(s.labels().get("outcome"))).toList();
            assertEquals(1, found.size(), context + " " + outcome);
            assertTrue(found.get(0).value() >= 1, context);
            assertEquals(found.get(0).value(), theirs.value("llm_session_requests_total", "session", w.session(),
                    "model", modelLabel, "outcome", outcome), context);
        }

        if (w.delete()) {
            HttpResponse<String> deleted = server.delete(path);
            assertEquals(200, deleted.statusCode(), context + " -> " + deleted.body());
            assertEquals(w.session(), TestServer.json(deleted).get("session_id").asText(), context);
            assertEquals(404, server.get(path).statusCode(), context);
            String after = server.get("/metrics").body();
            assertTrue(PrometheusText.parse(after).find("llm_session_requests_total", "session", w.session()).isEmpty(), context);
        }
    }
}
