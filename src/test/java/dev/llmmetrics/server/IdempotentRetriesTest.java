package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A producer that times out and retries, carrying event_id, never double-counts. */
class IdempotentRetriesTest {

    private final TestServer server = TestServer.start(Map.of("ingest.dedupe.window", "PT1M"));

    @AfterEach
    void stop() {
        server.close();
    }

    private static String completed(String eventId) {
        return "{\"type\":\"LLM_REQUEST_COMPLETED\",\"event_id\":\"" + eventId + "\",\"session_id\":\"s\",\"model\":\"m\","
                + "\"duration_ms\":10,\"prompt_tokens\":3,\"completion_tokens\":2}";
    }

    @Test
    void aRepeatedEventIdIsAcknowledgedButNotAppliedAgain() {
        JsonNode first = TestServer.json(server.post("/events", "[" + completed("e-1") + "," + completed("e-2") + "]"));
        assertEquals(2, first.get("accepted").asInt());
        assertEquals(0, first.get("duplicates").asInt());

        HttpResponse<String> retry = server.post("/events", "[" + completed("e-1") + "," + completed("e-2") + ","
                + completed("e-3") + "," + completed("e-3") + "]");
        assertEquals(202, retry.statusCode());
        assertEquals(1, TestServer.json(retry).get("accepted").asInt());
        assertEquals(3, TestServer.json(retry).get("duplicates").asInt());

        assertEquals(3, TestServer.json(server.get("/events/metrics/session/s")).get("total_requests").asLong());
        assertEquals(3, server.scrape().value("llm_requests_total", "model", "m", "outcome", "success"));
    }

    @Test
    void concurrentDuplicateSubmissionsApplyEachEventExactlyOnce() throws Exception {
        int events = 200;
        int copies = 8;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(copies);
        List<Future<JsonNode>> answers = new ArrayList<>();
        try {
            for (int c = 0; c < copies; c++) {
                answers.add(pool.submit(() -> {
                    StringBuilder body = new StringBuilder();
                    for (int i = 0; i < events; i++) {
                        body.append(completed("retry-" + i)).append('\n');
                    }
                    go.await();
                    HttpResponse<String> r = server.post("/events", body.toString(), "Content-Type", "application/x-ndjson");
                    assertEquals(202, r.statusCode(), r.body());
                    return TestServer.json(r);
                }));
            }
            go.countDown();
            long applied = 0;
            long duplicates = 0;
            for (Future<JsonNode> answer : answers) {
                applied += answer.get().get("accepted").asLong();
                duplicates += answer.get().get("duplicates").asLong();
            }
            assertEquals(events, applied);
            assertEquals((long) events * (copies - 1), duplicates);
        } finally {
            pool.shutdownNow();
        }
        assertEquals(events, TestServer.json(server.get("/events/metrics/session/s")).get("total_requests").asLong());
        assertEquals(events, server.scrape().value("llm_session_requests_total", "session", "s", "outcome", "success"));
    }

    @Test
    void aMalformedEventIdIsRejectedNamingTheField() {
        HttpResponse<String> r = server.post("/events", completed("bad\\nid"));
        assertEquals(400, r.statusCode());
        assertEquals("event_id", TestServer.json(r).get("errors").get(0).get("field").asText());
    }
}
