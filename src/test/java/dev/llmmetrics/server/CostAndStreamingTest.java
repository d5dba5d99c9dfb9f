package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Cost, cached and reasoning tokens, time to first token and the OpenTelemetry GenAI instruments, through
 * the real server: events posted over HTTP, read back from the session JSON and the Prometheus scrape.
 * The server runs with the sample price table and the GenAI semantic-convention mode on.
 */
class CostAndStreamingTest {

    /** The GenAI advisory boundaries of gen_ai.client.operation.duration, in seconds. */
    private static final List<Double> DURATION_BOUNDARIES = List.of(0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28,
            2.56, 5.12, 10.24, 20.48, 40.96, 81.92, Double.POSITIVE_INFINITY);
    /** The GenAI advisory boundaries of gen_ai.client.token.usage. */
    private static final List<Double> TOKEN_BOUNDARIES = List.of(1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0,
            65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0, 67108864.0, Double.POSITIVE_INFINITY);

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("prices.path", "sample", "meters.otel.genai", "true"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String completed(String session, String model, String extra) {
        return "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"" + session + "\",\"model\":\"" + model + "\"," + extra + "}";
    }

    @Test
    void theSeedSessionCostsExactlyWhatTheSeedsFormulaGivesInJsonAndOnTheScrape() {
        server.postEvents(SessionEndpointsTest.seedSessionJson());

        JsonNode m = TestServer.json(server.get("/events/metrics/session/abc-123"));
        // (12 500 / 1000) × 0.03 + (8 300 / 1000) × 0.06, the seed's calculate_cost on its example session.
        assertEquals(0.873, m.get("total_cost_usd").asDouble());
        assertEquals(0, m.get("unpriced_requests").asLong());
        assertEquals(8300.0 / 12500, m.get("token_efficiency").asDouble());
        JsonNode first = m.get("requests").get(0);
        assertEquals(0.0507, first.get("cost_usd").asDouble(), "850 × 0.03 / 1000 + 420 × 0.06 / 1000");
        JsonNode failure = m.get("requests").get(14);
        assertTrue(failure.get("cost_usd").isNull(), "a failed request has no cost");

        PrometheusText scrape = server.scrape();
        assertEquals(0.873, scrape.value("llm_session_cost_usd_total", "session", "abc-123", "model", "gpt-4"), 1e-12);
        assertTrue(scrape.value("llm_cost_usd_total", "model", "gpt-4") >= 0.873 - 1e-12);
    }

    @Test
    void aModelWithoutAPriceIsNeverCostedAtZeroAndIsCountedAsUnpriced() {
        double before = server.scrape().sum("llm_unpriced_requests_total", "model", "llama-3.1-70b");
        server.postEvents("[" + completed("self-hosted", "llama-3.1-70b",
                "\"duration_ms\":800,\"prompt_tokens\":600,\"completion_tokens\":200") + "]");

        JsonNode m = TestServer.json(server.get("/events/metrics/session/self-hosted"));
        assertTrue(m.get("total_cost_usd").isNull());
        assertEquals(1, m.get("unpriced_requests").asLong());
        assertTrue(m.get("requests").get(0).get("cost_usd").isNull());

        PrometheusText scrape = server.scrape();
        assertEquals(before + 1, scrape.value("llm_unpriced_requests_total", "model", "llama-3.1-70b"));
        assertFalse(scrape.has("llm_cost_usd_total", "model", "llama-3.1-70b"));
        assertFalse(scrape.has("llm_session_cost_usd_total", "session", "self-hosted"));
    }

    /**
     * A cost the provider reported counts for a model the price table does not know, per model and per session; the
     * session series' HELP said "by the price table, by model; absent for models without a price".
     */
    @Test
    void aCostTheProviderReportedForAModelWithoutAPriceIsOnTheSessionSeriesAndItsHelpSaysSo() {
        server.postEvents("[" + completed("gateway-costed", "model-priced-by-its-gateway",
                "\"duration_ms\":800,\"prompt_tokens\":600,\"completion_tokens\":200,\"cost_usd\":1.25") + "]");

        PrometheusText scrape = server.scrape();
        assertEquals(1.25, scrape.value("llm_session_cost_usd_total", "session", "gateway-costed",
                "model", "model-priced-by-its-gateway"), 1e-12);
        assertEquals(1.25, scrape.value("llm_cost_usd_total", "model", "model-priced-by-its-gateway"), 1e-12);
        String text = server.get("/metrics").body();
        String sessionHelp = helpOf(text, "llm_session_cost_usd_total");
        assertFalse(sessionHelp.contains("absent for models without a price"), sessionHelp);
        assertTrue(sessionHelp.contains("as the provider reported it or else by the price table"), sessionHelp);
        assertTrue(helpOf(text, "llm_cost_usd_total").contains("as the provider reported it or else by the price table"));
    }

    private static String helpOf(String scrape, String name) {
        String prefix = "# HELP " + name + " ";
        return scrape.lines().filter(l -> l.startsWith(prefix)).findFirst()
                .orElseThrow(() -> new AssertionError("no HELP for " + name)).substring(prefix.length());
    }

    @Test
    void cachedTokensAreCostedAtTheCachedPriceAndCachedAndReasoningTokensShowPerRequest() {
        server.postEvents("[" + completed("cached", "gpt-4o", "\"duration_ms\":900,\"prompt_tokens\":2000,"
                + "\"cached_tokens\":1500,\"completion_tokens\":500,\"reasoning_tokens\":200") + "]");

        JsonNode m = TestServer.json(server.get("/events/metrics/session/cached"));
        // gpt-4o in the sample: 2.50 input, 1.25 cached input, 10.00 output per million tokens.
        double expected = 500 * 2.5e-6 + 1500 * 1.25e-6 + 500 * 10e-6;
        assertEquals(expected, m.get("total_cost_usd").asDouble(), 1e-15);
        assertEquals(0.008125, m.get("total_cost_usd").asDouble());
        assertEquals(1500, m.get("total_cached_tokens").asLong());
        assertEquals(200, m.get("total_reasoning_tokens").asLong());
        JsonNode request = m.get("requests").get(0);
        assertEquals(1500, request.get("cached_tokens").asInt());
        assertEquals(200, request.get("reasoning_tokens").asInt());
        assertEquals(0.008125, request.get("cost_usd").asDouble());

        PrometheusText scrape = server.scrape();
        assertTrue(scrape.value("llm_cached_tokens_total", "model", "gpt-4o") >= 1500);
        assertTrue(scrape.value("llm_reasoning_tokens_total", "model", "gpt-4o") >= 200);
    }

    @Test
    void aStreamedRequestRecordsTimeToFirstTokenAndTimePerOutputToken() {
        server.postEvents("[" + completed("streamed", "claude-sonnet-4", "\"duration_ms\":2400,"
                + "\"time_to_first_token_ms\":400,\"prompt_tokens\":1000,\"completion_tokens\":201") + "]");

        JsonNode request = TestServer.json(server.get("/events/metrics/session/streamed")).get("requests").get(0);
        assertEquals(400, request.get("time_to_first_token_ms").asLong());

        PrometheusText scrape = server.scrape();
        String[] model = {"model", "claude-sonnet-4"};
        assertEquals(1, scrape.value("llm_time_to_first_token_seconds_count", model));
        assertEquals(0.4, scrape.value("llm_time_to_first_token_seconds_sum", model), 1e-9);
        assertEquals(0, scrape.value("llm_time_to_first_token_seconds_bucket", "model", "claude-sonnet-4", "le", "0.32"));
        assertEquals(1, scrape.value("llm_time_to_first_token_seconds_bucket", "model", "claude-sonnet-4", "le", "0.64"));
        // (2400 - 400) ms over the 200 tokens after the first: 10 ms per token.
        assertEquals(0.01, scrape.value("llm_time_per_output_token_seconds_sum", model), 1e-9);
        assertEquals(0, scrape.value("llm_time_per_output_token_seconds_bucket", "model", "claude-sonnet-4", "le", "0.008"));
        assertEquals(1, scrape.value("llm_time_per_output_token_seconds_bucket", "model", "claude-sonnet-4", "le", "0.016"));

        String[] genAi = {"gen_ai_request_model", "claude-sonnet-4", "gen_ai_provider_name", "anthropic",
                "gen_ai_operation_name", "chat"};
        assertEquals(0.4, scrape.value("gen_ai_client_operation_time_to_first_chunk_seconds_sum", genAi), 1e-9);
        assertEquals(0.01, scrape.value("gen_ai_client_operation_time_per_output_chunk_seconds_sum", genAi), 1e-9);
    }

    @Test
    void figuresOutsideTheCountsTheyArePartOfAreRejectedAndChangeNothing() {
        server.postEvents("[" + completed("strict", "gpt-4o", "\"duration_ms\":100,\"prompt_tokens\":10,\"completion_tokens\":5") + "]");
        String before = server.get("/events/metrics/session/strict").body();
        for (String extra : List.of("\"cached_tokens\":11", "\"reasoning_tokens\":6", "\"time_to_first_token_ms\":101",
                "\"cached_tokens\":-1", "\"time_to_first_token_ms\":1.5", "\"reasoning_tokens\":\"3\"")) {
            HttpResponse<String> response = server.post("/events", "[" + completed("strict", "gpt-4o",
                    "\"duration_ms\":100,\"prompt_tokens\":10,\"completion_tokens\":5," + extra) + "]");
            assertEquals(400, response.statusCode(), extra);
            JsonNode error = TestServer.json(response);
            String field = extra.substring(1, extra.indexOf('"', 1));
            assertTrue(error.toString().contains(field), () -> "the error names " + field + ": " + error);
        }
        assertEquals(before, server.get("/events/metrics/session/strict").body());
    }

    @Test
    void theGenAiInstrumentsCarryTheConventionsNamesAttributesAndAdvisoryBuckets() {
        server.postEvents("[" + completed("conventions", "gpt-4", "\"duration_ms\":1500,\"prompt_tokens\":300,"
                + "\"completion_tokens\":70") + ",{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"conventions\","
                + "\"model\":\"gpt-4\",\"error\":\"RateLimitError: 429 Too Many Requests\",\"http_status\":429,"
                + "\"duration_ms\":120}]");

        PrometheusText scrape = server.scrape();
        String[] success = {"gen_ai_operation_name", "chat", "gen_ai_provider_name", "openai", "gen_ai_request_model", "gpt-4"};
        List<PrometheusText.Sample> durationBuckets = scrape.find("gen_ai_client_operation_duration_seconds_bucket", success)
                .stream().filter(s -> !s.labels().containsKey("error_type")).toList();
        assertEquals(DURATION_BOUNDARIES, boundaries(durationBuckets));
        assertTrue(scrape.value("gen_ai_client_operation_duration_seconds_count", concat(success, "error_type", "rate_limit")) >= 1);
        for (String type : List.of("input", "output")) {
            List<PrometheusText.Sample> tokenBuckets = scrape.find("gen_ai_client_token_usage_bucket",
                    concat(success, "gen_ai_token_type", type));
            assertEquals(TOKEN_BOUNDARIES, boundaries(tokenBuckets), type);
        }
        assertTrue(scrape.value("gen_ai_client_token_usage_sum", concat(success, "gen_ai_token_type", "input")) >= 300);

        // gen_ai.provider.name is Required: a model the price table does not know gets the event's provider, and
        // without one the conventions' _OTHER (this server configures no default).
        server.postEvents("[" + completed("conventions", "in-house-model", "\"duration_ms\":10,\"prompt_tokens\":1,\"completion_tokens\":1") + ","
                + completed("conventions", "in-house-model", "\"duration_ms\":10,\"prompt_tokens\":1,\"completion_tokens\":1,"
                + "\"provider\":\"mistral_ai\",\"response_model\":\"in-house-model-0613\"") + "]");
        List<PrometheusText.Sample> unknown = server.scrape().find("gen_ai_client_operation_duration_seconds_count",
                "gen_ai_request_model", "in-house-model");
        assertEquals(List.of("_OTHER", "mistral_ai"), unknown.stream().map(u -> u.labels().get("gen_ai_provider_name"))
                .sorted().toList());
        assertEquals("in-house-model-0613", unknown.stream().filter(u -> u.labels().get("gen_ai_provider_name")
                .equals("mistral_ai")).findFirst().orElseThrow().labels().get("gen_ai_response_model"));
    }

    private static List<Double> boundaries(List<PrometheusText.Sample> buckets) {
        return buckets.stream().map(s -> Double.parseDouble(s.labels().get("le").replace("+Inf", "Infinity")))
                .sorted().toList();
    }

    private static String[] concat(String[] labels, String... more) {
        return IntStream.range(0, labels.length + more.length)
                .mapToObj(i -> i < labels.length ? labels[i] : more[i - labels.length]).toArray(String[]::new);
    }
}
