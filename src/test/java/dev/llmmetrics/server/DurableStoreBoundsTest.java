package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Durable mode's bound in bytes on the real server: what it counts, and what it leaves to its own bounds. */
class DurableStoreBoundsTest {

    @TempDir
    Path dir;

    @Test
    void eventIdsFillingMoreThanTheBoundInBytesEvictNoSessionWhileTheSessionsOwnDataStillDoes() {
        try (TestServer server = TestServer.start(Map.of("store.backend", "sqlite",
                "store.sqlite.path", dir.resolve("sessions.db").toString(), "store.max.bytes", String.valueOf(1 << 20)))) {
            // 30 000 events with 36-character ids over 5 sessions: the ids' rows take about 1.5 MiB, the
            // sessions (their 1 000 newest records each) far less than the bound.
            for (int b = 0; b < 60; b++) {
                StringBuilder batch = new StringBuilder("[");
                for (int i = 0; i < 500; i++) {
                    batch.append(i == 0 ? "" : ",").append("{\"type\":\"LLM_REQUEST_COMPLETED\",\"event_id\":\"")
                            .append(UUID.nameUUIDFromBytes(new byte[] {(byte) b, (byte) (i >> 8), (byte) i}))
                            .append("\",\"session_id\":\"s").append(i % 5)
                            .append("\",\"model\":\"m\",\"duration_ms\":3,\"prompt_tokens\":2,\"completion_tokens\":1}");
                }
                server.postEvents(batch.append(']').toString());
            }
            JsonNode sessions = TestServer.json(server.get("/events/metrics/sessions"));
            assertEquals(5, sessions.get("total").asInt(), "every session is held: " + sessions);
            for (int s = 0; s < 5; s++) {
                assertEquals(6_000, TestServer.json(server.get("/events/metrics/session/s" + s))
                        .get("total_requests").asLong());
            }
            assertEquals(0, server.scrape().value("llm_sessions_evicted_total", "reason", "memory"));

            // The sessions' own data past the bound: the least recently active go, the newest stays whole.
            String error = "\u4e00".repeat(1_000);
            for (int s = 0; s < 20; s++) {
                StringBuilder batch = new StringBuilder("[");
                for (int i = 0; i < 50; i++) {
                    batch.append(i == 0 ? "" : ",").append("{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"big-")
                            .append(s).append("\",\"model\":\"m\",\"error\":\"").append(error).append(i).append("\"}");
                }
                server.postEvents(batch.append(']').toString());
            }
            assertTrue(server.scrape().value("llm_sessions_evicted_total", "reason", "memory") > 0, "evicted for bytes");
            assertEquals(404, server.get("/events/metrics/session/s0").statusCode(), "the least recently active went");
            assertEquals(50, TestServer.json(server.get("/events/metrics/session/big-19")).get("total_requests").asLong());
        }
    }
}
