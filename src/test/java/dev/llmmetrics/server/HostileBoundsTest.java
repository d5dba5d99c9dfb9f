package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmmetrics.session.redis.RedisProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The store's and the scrape's bounds pushed past on the real server: memory in bytes under long error
 * texts and under one session's largest attributes (in durable mode, the database's pages), per-session series under many sessions times many models, and the events the two model caps put
 * under a session's {@code _other}, in each store.
 */
class HostileBoundsTest {

    private static final long STORE_BYTES = 32L << 20;
    private static final String COMPLETED_EVENT = "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s\",\"model\":\"m\","
            + "\"duration_ms\":1,\"prompt_tokens\":1,\"completion_tokens\":1}";
    /** What the server holds besides the store after a full collection, generously: classes, Helidon, meters. */
    private static final long SERVER_BASELINE_BYTES = 48L << 20;

    @Test
    void longErrorTextsNeverTakeTheStorePastItsBoundInBytes() throws Exception {
        try (ChildServer server = ChildServer.mainWithJvmArgs(List.of("-Xmx256m"),
                "STORE_MAX_BYTES", String.valueOf(STORE_BYTES))) {
            HttpClient client = HttpClient.newHttpClient();
            String error = "\u4e00".repeat(1_100);                // past the kept length, two bytes a character
            int sessions = 60;
            int perSession = 700;
            for (int s = 0; s < sessions; s++) {
                for (int from = 0; from < perSession; from += 250) {
                    StringBuilder batch = new StringBuilder("[");
                    for (int i = from; i < Math.min(perSession, from + 250); i++) {
                        batch.append(i == from ? "" : ",").append("{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"cjk-")
                                .append(s).append("\",\"model\":\"m\",\"error\":\"").append(error).append(i).append("\"}");
                    }
                    HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(server.base() + "/events"))
                            .POST(HttpRequest.BodyPublishers.ofString(batch.append(']').toString())).build(),
                            HttpResponse.BodyHandlers.ofString());
                    assertEquals(202, response.statusCode(), response.body());
                }
            }
            long heapAfterGc = server.heapAfterFullGc();
            System.out.printf("heap after GC: %,d B (store bound %,d B)%n", heapAfterGc, STORE_BYTES);
            PrometheusText scrape = PrometheusText.parse(get(client, server.base() + "/metrics").body());
            assertTrue(scrape.value("llm_sessions_evicted_total", "reason", "memory") > 0, "evicted for memory");
            assertTrue(heapAfterGc < STORE_BYTES + SERVER_BASELINE_BYTES,
                    "heap after GC " + (heapAfterGc >> 20) + " MiB, bound " + (STORE_BYTES >> 20) + " MiB + "
                            + (SERVER_BASELINE_BYTES >> 20) + " MiB");

            JsonNode last = TestServer.JSON.readTree(get(client, server.base() + "/events/metrics/session/cjk-" + (sessions - 1)).body());
            assertEquals(perSession, last.get("total_requests").asLong(), "the most recent session is whole");
            String kept = last.get("requests").get(0).get("error").asText();
            assertEquals(1_024, kept.length(), "error texts are kept cut to 1 024 characters");
            assertTrue(kept.endsWith("…"));
            assertEquals(200, get(client, server.base() + "/health").statusCode());
        }
    }

    @Test
    void oneSessionWithTheLargestAttributesStaysWithinTheBoundInBytes() throws Exception {
        long bound = 8L << 20;
        try (ChildServer server = ChildServer.mainWithJvmArgs(List.of("-Xmx256m"),
                "STORE_MAX_BYTES", String.valueOf(bound))) {
            HttpClient client = HttpClient.newHttpClient();
            int requests = postOneSessionWithTheLargestAttributes(client, server.base());
            long heapAfterGc = server.heapAfterFullGc();
            System.out.printf("heap after GC: %,d B (store bound %,d B)%n", heapAfterGc, bound);
            assertTrue(heapAfterGc < bound + SERVER_BASELINE_BYTES,
                    "heap after GC " + (heapAfterGc >> 20) + " MiB, bound " + (bound >> 20) + " MiB + "
                            + (SERVER_BASELINE_BYTES >> 20) + " MiB");
            assertTheNewestRecordsOfTheLargeSessionAreKept(client, server.base(), requests);
        }
    }

    @Test
    void oneSessionWithTheLargestAttributesKeepsTheDatabaseWithinTheBoundInBytesInDurableMode(@TempDir Path dir)
            throws Exception {
        long bound = 8L << 20;
        Path file = dir.resolve("sessions.db");
        try (ChildServer server = ChildServer.main("STORE_BACKEND", "sqlite", "STORE_SQLITE_PATH", file.toString(),
                "STORE_MAX_BYTES", String.valueOf(bound))) {
            HttpClient client = HttpClient.newHttpClient();
            int requests = postOneSessionWithTheLargestAttributes(client, server.base());
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT (page_count - freelist_count) * page_size, (SELECT sum(pgsize)"
                         + " FROM dbstat WHERE name = 'applied_event' AND aggregate = TRUE) FROM pragma_page_count,"
                         + " pragma_freelist_count, pragma_page_size")) {
                r.next();
                long used = r.getLong(1);
                System.out.printf("pages in use: %,d B, file %,d B (store bound %,d B)%n", used, Files.size(file), bound);
                assertTrue(used - r.getLong(2) <= bound, "the pages in use but the remembered ids' (which the bound"
                        + " leaves out) within the bound: " + used + " B");
            }
            // Freed pages are written again, and handed back to the file system once a quarter of the file is free.
            assertTrue(Files.size(file) < 2 * bound, "the file: " + Files.size(file) + " B");
            assertEquals(0, PrometheusText.parse(get(client, server.base() + "/metrics").body())
                    .value("llm_sessions_evicted_total", "reason", "memory"), "the session gave room back itself");
            assertTheNewestRecordsOfTheLargeSessionAreKept(client, server.base(), requests);
        }
    }

    /**
     * Sends session {@code large} 1 000 completed requests, each with 64 attributes of 1 024 characters (the
     * attributes' bounds), in batches of 10: about 70 MB of attributes. Returns how many requests it sent.
     */
    private static int postOneSessionWithTheLargestAttributes(HttpClient client, String base) throws Exception {
        StringBuilder attributes = new StringBuilder("{");
        for (int a = 0; a < 64; a++) {
            attributes.append(a == 0 ? "" : ",").append("\"key").append(a).append("\":\"").append("v".repeat(1_024)).append('"');
        }
        attributes.append('}');
        int requests = 1_000;
        for (int from = 0; from < requests; from += 10) {
            StringBuilder batch = new StringBuilder("[");
            for (int i = from; i < from + 10; i++) {
                batch.append(i == from ? "" : ",").append("{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"large\",")
                        .append("\"model\":\"m\",\"duration_ms\":1,\"correlation_id\":\"c").append(i)
                        .append("\",\"attributes\":").append(attributes).append('}');
            }
            HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(base + "/events"))
                    .POST(HttpRequest.BodyPublishers.ofString(batch.append(']').toString())).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(202, response.statusCode(), response.body());
        }
        return requests;
    }

    /** Session {@code large} counts every request and shows its newest records, whole and in order. */
    private static void assertTheNewestRecordsOfTheLargeSessionAreKept(HttpClient client, String base, int requests)
            throws Exception {
        JsonNode large = TestServer.JSON.readTree(get(client, base + "/events/metrics/session/large").body());
        assertEquals(requests, large.get("total_requests").asLong(), "the totals count every request");
        JsonNode kept = large.get("requests");
        assertTrue(kept.size() > 1 && kept.size() < requests / 5, "the newest records that fit: " + kept.size());
        for (int k = 0; k < kept.size(); k++) {
            assertEquals("c" + (requests - kept.size() + k), kept.get(k).get("correlation_id").asText(),
                    "the newest, oldest first");
        }
        assertEquals(64, kept.get(kept.size() - 1).get("attributes").size(), "kept records are whole");
    }

    @Test
    void manySessionsTimesManyModelsKeepTheScrapeWithinItsPairBound() {
        int maxPairs = 200;
        int sessionModels = 4;
        try (TestServer server = TestServer.start(Map.of("meters.max.pairs", String.valueOf(maxPairs),
                "meters.max.session.models", String.valueOf(sessionModels), "meters.max.sessions", "1000"))) {
            int sessions = 300;
            int models = 30;
            for (int s = 0; s < sessions; s++) {
                StringBuilder batch = new StringBuilder("[");
                for (int m = 0; m < models; m++) {
                    batch.append(m == 0 ? "" : ",").append("{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"many-")
                            .append(s).append("\",\"model\":\"model-").append(m)
                            .append("\",\"duration_ms\":10,\"prompt_tokens\":1,\"completion_tokens\":1}");
                }
                assertEquals(202, server.post("/events", batch.append(']').toString()).statusCode());
            }
            String text = server.get("/metrics").body();
            PrometheusText scrape = PrometheusText.parse(text);
            Set<String> pairs = new HashSet<>();
            Set<String> shownSessions = new HashSet<>();
            for (PrometheusText.Sample sample : scrape.find("llm_session_requests_total")) {
                pairs.add(sample.labels().get("session") + "|" + sample.labels().get("model"));
                shownSessions.add(sample.labels().get("session"));
            }
            assertTrue(pairs.size() <= maxPairs, pairs.size() + " pairs on the scrape");
            assertEquals(maxPairs / (sessionModels + 1) * (sessionModels + 1), pairs.size(), "whole sessions fill the budget");
            assertTrue(pairs.stream().anyMatch(p -> p.endsWith("|_other")), "a session's extra models share _other");
            assertEquals(shownSessions.size(), scrape.value("llm_sessions_metered"));
            assertEquals((double) sessions * (models - sessionModels), scrape.value("llm_session_model_overflows_total"));
            long sessionLines = text.lines().filter(l -> l.startsWith("llm_session_")).count();
            assertTrue(sessionLines <= 11L * maxPairs, sessionLines + " per-session lines");

            JsonNode session = TestServer.json(server.get("/events/metrics/session/many-0"));
            assertEquals(models, session.get("total_requests").asLong(), "the session JSON keeps every model's request");
        }
    }

    @ParameterizedTest(name = "store.backend={0}")
    @ValueSource(strings = {"memory", "sqlite", "redis"})
    void scoreNamesTakeRoomInThePairBudgetSoThePerSessionSamplesStayBounded(String backend, @TempDir Path dir)
            throws InterruptedException {
        int maxPairs = 200;
        int names = 16;
        RedisProcess redis = backend.equals("redis") ? RedisProcess.start("no") : null;
        try (redis; TestServer server = TestServer.start(TestServer.onStore(backend, dir, redis,
                Map.of("meters.max.pairs", String.valueOf(maxPairs), "meters.max.sessions", "1000")))) {
            int sessions = 100;
            for (int s = 0; s < sessions; s++) {
                StringBuilder batch = new StringBuilder("[").append(completed("scored-" + s, "m").replace("}",
                        ",\"correlation_id\":\"c\"}")).append(',').append(failed("scored-" + s, "m"));
                for (int k = 0; k < names; k++) {
                    batch.append(",{\"type\":\"LLM_REQUEST_SCORED\",\"session_id\":\"scored-").append(s)
                            .append("\",\"correlation_id\":\"c\",\"name\":\"score_").append(k).append("\",\"value\":1}");
                }
                assertEquals(202, server.post("/events", batch.append(']').toString()).statusCode());
                Thread.sleep(2); // one session a millisecond at least: which are the most recent is then plain
            }
            String text = server.get("/metrics").body();
            PrometheusText scrape = PrometheusText.parse(text);
            Set<String> pairs = new HashSet<>();
            Set<String> scoreSeries = new HashSet<>();
            Set<String> shownSessions = new HashSet<>();
            for (PrometheusText.Sample sample : scrape.find("llm_session_requests_total")) {
                pairs.add(sample.labels().get("session") + "|" + sample.labels().get("model"));
                shownSessions.add(sample.labels().get("session"));
            }
            for (PrometheusText.Sample sample : scrape.find("llm_session_score_count")) {
                scoreSeries.add(sample.labels().get("session") + "|" + sample.labels().get("name"));
                shownSessions.add(sample.labels().get("session"));
            }
            int fitting = maxPairs / (1 + names);
            assertTrue(pairs.size() + scoreSeries.size() <= maxPairs,
                    pairs.size() + " (session, model) and " + scoreSeries.size() + " (session, score name) pairs");
            Set<String> newest = new HashSet<>();
            for (int s = sessions - fitting; s < sessions; s++) {
                newest.add("scored-" + s);
            }
            assertEquals(newest, shownSessions, "the most recent sessions that fit, whole");
            assertEquals(fitting * names, scoreSeries.size(), "every score name of a session shown");
            assertEquals(fitting, pairs.size(), "its model too");
            assertEquals(fitting, scrape.value("llm_sessions_metered"));
            long sessionSamples = scrape.samples().stream().filter(sample -> sample.labels().containsKey("session")).count();
            assertTrue(sessionSamples <= 13L * maxPairs, sessionSamples + " per-session samples");
            JsonNode oldest = TestServer.json(server.get("/events/metrics/session/scored-0"));
            assertEquals(names, oldest.get("scores").size(), "the session JSON keeps the scores of a session off the scrape");
        }
    }

    /**
     * Scores of more models than {@code meters.max.models}, of more names than the 16 with a label of their own, of
     * the session as a whole (model {@code _unknown}) and of a model named {@code _unknown}: the per-model score
     * series fill the bound docs/meters.md states, and no more. Its figure was (models + 1) × 17 × 9 = 459 here,
     * while the scrape held 680: {@code _unknown} is a label beside the models' and {@code _other}, and each
     * histogram has a {@code _max} beside its 7 buckets, count and sum.
     */
    @Test
    void scoreSeriesFillTheBoundTheMetersDocStatesAndNoMore() throws IOException {
        int maxModels = 2;
        try (TestServer server = TestServer.start(Map.of("meters.max.models", String.valueOf(maxModels)))) {
            for (String model : List.of("m0", "m1", "m2", "m3", "_unknown")) {
                StringBuilder batch = new StringBuilder("[").append(completed("scores-" + model, model)
                        .replace("}", ",\"correlation_id\":\"c\"}"));
                for (int k = 0; k < 20; k++) {
                    batch.append(",{\"type\":\"LLM_REQUEST_SCORED\",\"session_id\":\"scores-").append(model)
                            .append("\",\"correlation_id\":\"c\",\"name\":\"score_").append(k).append("\",\"value\":3}");
                    batch.append(",{\"type\":\"LLM_REQUEST_SCORED\",\"session_id\":\"scores-").append(model)
                            .append("\",\"name\":\"score_").append(k).append("\",\"value\":3}");
                }
                HttpResponse<String> response = server.post("/events", batch.append(']').toString());
                assertEquals(202, response.statusCode(), response.body());
            }
            PrometheusText scrape = PrometheusText.parse(server.get("/metrics").body());
            Set<String> models = new HashSet<>();
            Set<String> names = new HashSet<>();
            long samples = 0;
            for (PrometheusText.Sample sample : scrape.samples()) {
                if (sample.name().startsWith("llm_score_")) {
                    samples++;
                    models.add(sample.labels().get("model"));
                    names.add(sample.labels().get("name"));
                }
            }
            assertEquals(Set.of("m0", "m1", "_other", "_unknown"), models);
            assertEquals(17, names.size(), "16 names of their own and _other");

            Matcher bound = Pattern.compile("the score series are at most \\(models \\+ (\\d+)\\) × (\\d+) × (\\d+)")
                    .matcher(Files.readString(Path.of("docs/meters.md")));
            assertTrue(bound.find(), "docs/meters.md states the bound on the score series");
            long documented = (maxModels + Long.parseLong(bound.group(1))) * Long.parseLong(bound.group(2))
                    * Long.parseLong(bound.group(3));
            assertEquals(documented, samples, "the score series, pushed past every bound, against the bound docs/meters.md states");
        }
    }

    @Test
    void genAiHistogramsStayWithinTheirBoundAcrossModelLabelsAndProviders() {
        int maxSeries = 60;
        int models = 21;   // past meters.max.models: _other too
        int providers = 10; // past the 7 pairs of a label of its own
        try (TestServer server = TestServer.start(Map.of("meters.otel.genai", "true", "meters.max.models", "20",
                "meters.otel.max.series", String.valueOf(maxSeries)))) {
            int events = 0;
            for (int m = 0; m < models; m++) {
                StringBuilder batch = new StringBuilder("[");
                for (int p = 0; p < providers; p++) {
                    String common = "\"session_id\":\"genai-" + m + "\",\"model\":\"model-" + m + "\",\"provider\":\"provider-" + p + "\"";
                    batch.append(p == 0 ? "" : ",").append("{\"type\":\"LLM_REQUEST_COMPLETED\",").append(common)
                            .append(",\"response_model\":\"response-").append(p).append("\",\"duration_ms\":900,")
                            .append("\"time_to_first_token_ms\":100,\"prompt_tokens\":10,\"completion_tokens\":20},")
                            .append("{\"type\":\"LLM_REQUEST_COMPLETED\",").append(common)
                            .append(",\"duration_ms\":900,\"prompt_tokens\":10,\"completion_tokens\":20},")
                            .append("{\"type\":\"LLM_REQUEST_FAILED\",").append(common)
                            .append(",\"error\":\"e\",\"error_type\":\"").append(p % 2 == 0 ? "rate_limit" : "timeout").append("\"}");
                    events += 3;
                }
                assertEquals(202, server.post("/events", batch.append(']').toString()).statusCode());
            }
            PrometheusText scrape = server.scrape();
            Set<String> histograms = new HashSet<>();
            long samples = 0;
            for (PrometheusText.Sample sample : scrape.samples()) {
                if (sample.name().startsWith("gen_ai_")) {
                    samples++;
                    if (sample.name().endsWith("_count")) {
                        histograms.add(sample.name() + sample.labels());
                    }
                }
            }
            int overflowHistograms = 18;
            assertTrue(histograms.size() <= maxSeries + overflowHistograms, histograms.size() + " GenAI histograms");
            assertTrue(samples <= 18L * (maxSeries + overflowHistograms), samples + " GenAI samples");
            assertEquals(events, scrape.sum("gen_ai_client_operation_duration_seconds_count"),
                    "every operation is counted, past the bound under _OTHER");
            assertTrue(scrape.value("gen_ai_client_operation_duration_seconds_count", "gen_ai_request_model", "_OTHER",
                    "gen_ai_provider_name", "_OTHER", "error_type", "timeout") > 0, "failures past the bound keep their type");
            assertEquals(2.0 * events / 3, scrape.sum("gen_ai_client_token_usage_count", "gen_ai_token_type", "input"));
        }
    }

    @ParameterizedTest(name = "store.backend={0}")
    @ValueSource(strings = {"memory", "sqlite", "redis"})
    void whicheverModelCapPutsASessionsEventsUnderOtherTheyAreCountedAsOverflows(String backend, @TempDir Path dir) {
        RedisProcess redis = backend.equals("redis") ? RedisProcess.start("no") : null;
        try (redis; TestServer server = TestServer.start(TestServer.onStore(backend, dir, redis,
                Map.of("meters.max.models", "3", "meters.max.session.models", "2")))) {
            // m1, m2 and m3 take the server's three labels, in the order they come; session a has room for two.
            server.postEvents("[" + String.join(",", completed("a", "m1"), completed("a", "m2"),
                    completed("a", "m3"),                              // past the session's labels
                    completed("a", "m4"), failed("a", "m5"),           // past the server's
                    completed("a", "_other"), completed("a", "_unknown"), // reserved names: no label of their own ever
                    completed("b", "m4"), completed("b", "m1")) + "]"); // past the server's, with room in b
            PrometheusText scrape = server.scrape();
            assertEquals(4, scrape.value("llm_session_requests_total", "session", "a", "model", "_other", "outcome", "success"));
            assertEquals(1, scrape.value("llm_session_requests_total", "session", "a", "model", "_other", "outcome", "failure"));
            assertEquals(1, scrape.value("llm_session_requests_total", "session", "b", "model", "_other", "outcome", "success"));
            assertEquals(4, scrape.value("llm_requests_total", "model", "_other", "outcome", "success"), "m4 twice, _other, _unknown");
            assertEquals(4, scrape.value("llm_session_model_overflows_total"),
                    "a's m3 (its own cap), m4 and m5 (the server's), b's m4 (the server's); not the reserved names");
        }
    }

    private static String completed(String session, String model) {
        return "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"" + session + "\",\"model\":\"" + model
                + "\",\"duration_ms\":1,\"prompt_tokens\":1,\"completion_tokens\":1}";
    }

    private static String failed(String session, String model) {
        return "{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"" + session + "\",\"model\":\"" + model
                + "\",\"error\":\"e\"}";
    }

    @Test
    void aProducerInventingTypesCannotKeepTheirSlotsForGood() throws InterruptedException {
        // Four LLM types and two slots; an idle type without listeners gives its slot back after a second.
        try (TestServer server = TestServer.start(Map.of("bus.max.types", "6", "bus.type.idle.timeout", "PT1S"))) {
            assertEquals(202, server.post("/events", "[{\"type\":\"GRAB_ONE\"},{\"type\":\"GRAB_TWO\"}]").statusCode());
            HttpResponse<String> refused = server.post("/events", "{\"type\":\"LATECOMER\"}");
            assertEquals(400, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("too many distinct event types"), refused.body());
            Thread.sleep(2_500);
            HttpResponse<String> accepted = server.post("/events", "{\"type\":\"LATECOMER\"}");
            assertEquals(202, accepted.statusCode(), accepted.body());
            assertEquals(202, server.post("/events", COMPLETED_EVENT).statusCode(), "the LLM types keep their slots");
        }
    }

    private static HttpResponse<String> get(HttpClient client, String url) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
