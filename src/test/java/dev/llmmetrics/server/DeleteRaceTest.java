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
 * For each of many sessions, a POST of a batch and a DELETE of the session race on the real server, so that
 * deletes land inside batches: afterwards the scrape and the session JSON agree on every session, because
 * both read the one session table.
 */
class DeleteRaceTest {

    private static final int SESSIONS = 300;
    private static final int BATCH = 200;

    @Test
    void afterPostsAndDeletesRaceTheScrapeEqualsTheStoreForEverySession() throws Exception {
        try (TestServer server = TestServer.start()) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> work = new ArrayList<>();
                for (int s = 0; s < SESSIONS; s++) {
                    String session = "race-" + s;
                    StringBuilder batch = new StringBuilder("[");
                    for (int i = 0; i < BATCH; i++) {
                        batch.append(i == 0 ? "" : ",").append(i % 5 == 4 ? failed(session) : completed(session, i));
                    }
                    String body = batch.append(']').toString();
                    CountDownLatch start = new CountDownLatch(2);
                    work.add(pool.submit(() -> {
                        start.countDown();
                        start.await();
                        HttpResponse<String> response = server.post("/events", body);
                        assertEquals(202, response.statusCode(), response.body());
                        return null;
                    }));
                    work.add(pool.submit(() -> {
                        start.countDown();
                        start.await();
                        HttpResponse<String> response = server.delete("/events/metrics/session/" + session);
                        assertTrue(response.statusCode() == 200 || response.statusCode() == 404, response.body());
                        return null;
                    }));
                }
                for (Future<?> f : work) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }

            PrometheusText scrape = PrometheusText.parse(server.get("/metrics").body());
            int survived = 0;
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
                assertEquals(BATCH, session.get("total_requests").asLong(),
                        id + ": a DELETE takes all of a batch's events for the session or none");
                survived++;
            }
            System.out.println("sessions that outlived their DELETE: " + survived + " of " + SESSIONS);
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
