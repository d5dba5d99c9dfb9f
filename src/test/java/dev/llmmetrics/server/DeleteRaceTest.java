package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * POSTs and DELETEs of the same sessions racing on the real server, the deletes running for as long as the
 * posts do: afterwards the scrape and the session JSON agree on every session, because both read the one
 * session table.
 */
class DeleteRaceTest {

    private static final int SESSIONS = 30;
    private static final int POSTERS = 3;
    private static final int BATCHES_PER_POSTER = 150;
    private static final int BATCH = 20;

    @Test
    void afterPostsAndDeletesRaceTheScrapeEqualsTheStoreForEverySession() throws Exception {
        try (TestServer server = TestServer.start()) {
            ExecutorService pool = Executors.newFixedThreadPool(POSTERS + 1);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> work = new ArrayList<>();
            try {
                for (int p = 0; p < POSTERS; p++) {
                    int poster = p;
                    work.add(pool.submit(() -> {
                        start.await();
                        for (int b = 0; b < BATCHES_PER_POSTER; b++) {
                            StringBuilder batch = new StringBuilder("[");
                            for (int i = 0; i < BATCH; i++) {
                                String session = "race-" + ((poster * 7 + b + i) % SESSIONS);
                                batch.append(i == 0 ? "" : ",").append(i % 5 == 4 ? failed(session) : completed(session, i));
                            }
                            HttpResponse<String> response = server.post("/events", batch.append(']').toString());
                            assertEquals(202, response.statusCode(), response.body());
                        }
                        return null;
                    }));
                }
                List<Future<?>> posters = List.copyOf(work);
                work.add(pool.submit(() -> {
                    start.await();
                    for (int d = 0; posters.stream().anyMatch(f -> !f.isDone()); d++) {
                        HttpResponse<String> response = server.delete("/events/metrics/session/race-" + (d % SESSIONS));
                        assertTrue(response.statusCode() == 200 || response.statusCode() == 404, response.body());
                    }
                    return null;
                }));
                start.countDown();
                for (Future<?> f : work) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }

            PrometheusText scrape = PrometheusText.parse(server.get("/metrics").body());
            int compared = 0;
            for (int s = 0; s < SESSIONS; s++) {
                String id = "race-" + s;
                HttpResponse<String> response = server.get("/events/metrics/session/" + id);
                double scrapedSuccesses = scrape.sum("llm_session_requests_total", "session", id, "outcome", "success");
                double scrapedFailures = scrape.sum("llm_session_requests_total", "session", id, "outcome", "failure");
                double scrapedPrompt = scrape.sum("llm_session_tokens_sum", "session", id, "type", "prompt");
                if (response.statusCode() == 404) {
                    assertEquals(0, scrapedSuccesses + scrapedFailures, id + " is gone from the store, not the scrape");
                    continue;
                }
                JsonNode session = TestServer.json(response);
                assertEquals(session.get("successful_requests").asLong(), (long) scrapedSuccesses, id);
                assertEquals(session.get("failed_requests").asLong(), (long) scrapedFailures, id);
                assertEquals(session.get("total_prompt_tokens").asLong(), (long) scrapedPrompt, id);
                compared++;
            }
            assertTrue(compared > 0, "some sessions outlived the deletes");
        }
    }

    private static String completed(String session, int i) {
        return "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"" + session + "\",\"model\":\"m" + (i % 3)
                + "\",\"duration_ms\":" + (10 + i) + ",\"prompt_tokens\":" + (100 + i) + ",\"completion_tokens\":5,"
                + "\"total_tokens\":" + (105 + i) + ",\"has_tool_calls\":false}";
    }

    private static String failed(String session) {
        return "{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"" + session + "\",\"model\":\"m1\",\"error\":\"boom\"}";
    }
}
