package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Durable mode's model labels on the real server: a model keeps its label across a restart. */
class DurableStoreLabelsTest {

    @TempDir
    Path dir;

    private static String completed(String session, String model) {
        return "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"" + session + "\",\"model\":\"" + model
                + "\",\"duration_ms\":3,\"prompt_tokens\":2,\"completion_tokens\":1}";
    }

    /**
     * Three labels, taken by a, b and c before the restart; after it, x, y and z come first. a's and c's sessions
     * go on under their own labels, so that {@code sum by (model)} over the session series counts each of them
     * under one label, as it did before the restart, and x, y and z share {@code _other}.
     */
    @Test
    void aModelsSessionSeriesStayUnderItsLabelAfterARestartInWhichNewModelsComeFirst() {
        Map<String, String> settings = Map.of("store.backend", "sqlite", "store.sqlite.path",
                dir.resolve("sessions.db").toString(), "meters.max.models", "3");
        try (TestServer server = TestServer.start(settings)) {
            server.postEvents("[" + completed("s1", "a") + "," + completed("s1", "b") + "," + completed("s2", "c") + "]");
        }
        try (TestServer server = TestServer.start(settings)) {
            server.postEvents("[" + completed("s3", "x") + "," + completed("s3", "y") + "," + completed("s3", "z") + "]");
            server.postEvents("[" + completed("s1", "a") + "," + completed("s2", "c") + "]");
            PrometheusText scrape = server.scrape();
            assertEquals(2, scrape.value("llm_session_requests_total", "session", "s1", "model", "a", "outcome", "success"));
            assertEquals(2, scrape.value("llm_session_requests_total", "session", "s2", "model", "c", "outcome", "success"));
            assertFalse(scrape.has("llm_session_requests_total", "session", "s1", "model", "_other"));
            assertFalse(scrape.has("llm_session_requests_total", "session", "s2", "model", "_other"));
            assertEquals(3, scrape.value("llm_session_requests_total", "session", "s3", "model", "_other", "outcome", "success"));
            assertEquals(1, scrape.value("llm_requests_total", "model", "a", "outcome", "success"),
                    "the per-model counter starts again from 0, under a's label");
            assertEquals(3, scrape.value("llm_requests_total", "model", "_other", "outcome", "success"));
            assertEquals(3, scrape.value("llm_session_model_overflows_total"), "x, y and z, no stored model");
        }
    }
}
