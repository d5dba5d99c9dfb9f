package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The scrape of the real server with GenAI mode on and a configured default provider: the per-model failure
 * series by error type, and the GenAI instruments' provider, response model, failures without a duration and
 * responses without usage.
 */
class ErrorSeriesAndGenAiScrapeTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("meters.otel.genai", "true", "meters.otel.provider", "azure.ai.openai",
                "prices.path", "sample"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String failed(String model, String extra) {
        return "{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"errors\",\"model\":\"" + model + "\","
                + "\"error\":\"boom\"" + extra + "}";
    }

    private static String completed(String model, String extra) {
        return "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"errors\",\"model\":\"" + model + "\","
                + "\"duration_ms\":100" + extra + "}";
    }

    @Test
    void failuresAreCountedPerModelByTheirErrorTypeWithinTheFixedVocabulary() {
        List<String> events = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            events.add(failed("err-model", ",\"http_status\":429"));
        }
        events.add(failed("err-model", ",\"error_type\":\"timeout\",\"duration_ms\":30000"));
        events.add(failed("err-model", ",\"http_status\":503,\"duration_ms\":20"));
        events.add(failed("err-model", ""));
        events.add(failed("other-err-model", ",\"error_type\":\"content_filter\""));
        server.postEvents("[" + String.join(",", events) + "]");

        PrometheusText scrape = server.scrape();
        assertEquals(3, scrape.value("llm_request_errors_total", "model", "err-model", "error_type", "rate_limit"));
        assertEquals(1, scrape.value("llm_request_errors_total", "model", "err-model", "error_type", "timeout"));
        assertEquals(1, scrape.value("llm_request_errors_total", "model", "err-model", "error_type", "server_error"));
        assertEquals(1, scrape.value("llm_request_errors_total", "model", "err-model", "error_type", "_OTHER"),
                "a failure of unknown type");
        assertEquals(1, scrape.value("llm_request_errors_total", "model", "other-err-model", "error_type",
                "content_filter"));
        assertFalse(scrape.has("llm_request_errors_total", "model", "err-model", "error_type", "auth"),
                "a type never seen has no series");
        assertEquals(scrape.value("llm_requests_total", "model", "err-model", "outcome", "failure"),
                scrape.sum("llm_request_errors_total", "model", "err-model"), "every failure in exactly one type");
        for (PrometheusText.Sample sample : scrape.find("llm_request_errors_total")) {
            assertTrue(List.of("rate_limit", "timeout", "server_error", "invalid_request", "content_filter", "auth",
                    "cancelled", "_OTHER").contains(sample.labels().get("error_type")), sample.toString());
        }
    }

    @Test
    void genAiFailuresWithoutADurationAreInTheOperationCountWithTheirErrorTypeAndTheDefaultProvider() {
        server.postEvents("[" + failed("genai-model", ",\"http_status\":429") + ","
                + failed("genai-model", ",\"error_type\":\"auth\",\"duration_ms\":250") + "]");
        PrometheusText scrape = server.scrape();
        String[] base = {"gen_ai_operation_name", "chat", "gen_ai_request_model", "genai-model",
                "gen_ai_provider_name", "azure.ai.openai"};
        assertEquals(1, scrape.value("gen_ai_client_operation_duration_seconds_count",
                concat(base, "error_type", "rate_limit")), "recorded though its duration is unknown");
        assertEquals(0, scrape.value("gen_ai_client_operation_duration_seconds_sum",
                concat(base, "error_type", "rate_limit")), "as 0 s");
        assertEquals(0.25, scrape.value("gen_ai_client_operation_duration_seconds_sum",
                concat(base, "error_type", "auth")), 1e-9);
    }

    @Test
    void theGenAiProviderIsTheEventsThenThePriceTablesThenTheConfiguredDefault() {
        server.postEvents("[" + completed("gpt-4o", ",\"prompt_tokens\":10,\"completion_tokens\":5") + ","
                + completed("gpt-4o", ",\"prompt_tokens\":10,\"completion_tokens\":5,\"provider\":\"openai\","
                + "\"response_model\":\"gpt-4o-2024-08-06\"") + ","
                + completed("unpriced-genai-model", ",\"prompt_tokens\":10,\"completion_tokens\":5") + ","
                + completed("unpriced-genai-model", "") + "]");
        PrometheusText scrape = server.scrape();
        List<String> gpt4o = scrape.find("gen_ai_client_operation_duration_seconds_count", "gen_ai_request_model", "gpt-4o")
                .stream().map(s -> s.labels().get("gen_ai_provider_name") + "/" + s.labels().get("gen_ai_response_model"))
                .sorted().toList();
        assertEquals(List.of("openai/gpt-4o-2024-08-06", "openai/null"), gpt4o,
                "the event's provider, else the price table's (openai for gpt-4o)");
        assertEquals(2, scrape.value("gen_ai_client_operation_duration_seconds_count",
                "gen_ai_request_model", "unpriced-genai-model", "gen_ai_provider_name", "azure.ai.openai"),
                "the configured default for a model the price table does not know");
        assertEquals(1, scrape.value("gen_ai_client_token_usage_count", "gen_ai_request_model", "unpriced-genai-model",
                "gen_ai_token_type", "input"), "a response without usage reports no token usage");
        assertEquals(1, scrape.value("llm_tokens_count", "model", "unpriced-genai-model", "type", "prompt"));
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = new String[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
