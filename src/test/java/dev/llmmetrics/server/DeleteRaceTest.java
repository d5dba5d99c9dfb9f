package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmmetrics.session.redis.RedisProcess;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * For each of many sessions, a POST of a batch and a DELETE of the session race on the real server, so that
 * deletes land inside batches: afterwards the scrape and the session JSON agree on every session, on every store
 * (the memory and SQLite stores serve both from the one session table; the Redis store serves the scrape from the
 * figures of what this process recorded, which a DELETE must leave without the figures of a batch it overtook).
 */
class DeleteRaceTest {

    /** Sessions raced on the memory store; the durable and shared stores, slower a batch, race a third as many. */
    private static final int SESSIONS = 300;
    private static final int BATCH = 200;

    @ParameterizedTest(name = "store.backend={0}")
    @ValueSource(strings = {"memory", "sqlite", "redis"})
    void afterPostsAndDeletesRaceTheScrapeEqualsTheStoreForEverySession(String backend, @TempDir Path dir)
            throws Exception {
        RedisProcess redis = backend.equals("redis") ? RedisProcess.start("no") : null;
        int sessions = backend.equals("memory") ? SESSIONS : SESSIONS / 3;
        try (redis; TestServer server = TestServer.start(TestServer.onStore(backend, dir, redis, Map.of()))) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> work = new ArrayList<>();
                for (int s = 0; s < sessions; s++) {
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
            for (int s = 0; s < sessions; s++) {
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
            System.out.println(backend + ": sessions that outlived their DELETE: " + survived + " of " + sessions);
        }
    }

    /**
     * Posters send one session's requests one batch at a time while a client reads the session and deletes it on
     * {@code If-Match} with the tag it read: every request acknowledged is in a state it deleted, whose
     * {@code total_requests} it read, or in the session left at the end. A delete that took a state it had not
     * read (events applied between its read and the delete) would lose them from the count.
     */
    @ParameterizedTest(name = "store.backend={0}")
    @ValueSource(strings = {"memory", "sqlite", "redis"})
    void aDeleteOnIfMatchRacingPostsOfItsSessionClearsOnlyStatesItsClientRead(String backend, @TempDir Path dir)
            throws Exception {
        RedisProcess redis = backend.equals("redis") ? RedisProcess.start("no") : null;
        try (redis; TestServer server = TestServer.start(TestServer.onStore(backend, dir, redis, Map.of()))) {
            String path = "/events/metrics/session/watched";
            int posters = 3;
            int postsEach = 150;
            AtomicLong acknowledged = new AtomicLong();
            CountDownLatch posting = new CountDownLatch(posters);
            ExecutorService pool = Executors.newFixedThreadPool(posters);
            List<Future<?>> work = new ArrayList<>();
            for (int p = 0; p < posters; p++) {
                work.add(pool.submit(() -> {
                    try {
                        for (int i = 0; i < postsEach; i++) {
                            HttpResponse<String> response = server.post("/events", "[" + completed("watched", i) + "]");
                            assertEquals(202, response.statusCode(), response.body());
                            acknowledged.incrementAndGet();
                            Thread.sleep(i % 4); // now and then a moment without a post, for a read to stay current
                        }
                    } finally {
                        posting.countDown();
                    }
                    return null;
                }));
            }
            long deletedRequests = 0;
            int deletes = 0;
            int refused = 0;
            try {
                while (posting.getCount() > 0) {
                    HttpResponse<String> read = server.get(path);
                    if (read.statusCode() != 200) {
                        continue;
                    }
                    String etag = read.headers().firstValue("ETag").orElse(null);
                    if (etag == null) {
                        continue; // read as it was deleted and made again: a state without a tag to send
                    }
                    HttpResponse<String> delete = server.delete(path, "If-Match", etag);
                    if (delete.statusCode() == 200) {
                        deletedRequests += TestServer.json(read).get("total_requests").asLong();
                        deletes++;
                    } else {
                        assertEquals(412, delete.statusCode(), delete.body());
                        refused++;
                    }
                }
                for (Future<?> f : work) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            String outcome = deletes + " deletes took " + deletedRequests + " requests, " + refused + " refused";
            System.out.println(backend + ": " + outcome);
            long left = 0;
            HttpResponse<String> last = server.get(path);
            if (last.statusCode() == 200) { // the posts are over: the state read is the state deleted
                left = TestServer.json(last).get("total_requests").asLong();
                HttpResponse<String> delete = server.delete(path, "If-Match", last.headers().firstValue("ETag").orElseThrow());
                assertEquals(200, delete.statusCode(), delete.body());
                assertEquals(404, server.get(path).statusCode());
            }
            assertEquals(posters * postsEach, acknowledged.get());
            assertEquals(acknowledged.get(), deletedRequests + left, outcome + ", " + left + " left");
        }
    }

    /**
     * Posts change one session without pause while a client deletes it on {@code If-Match: *}, or on an
     * {@code If-None-Match} naming no state of it: every state it can be in meets those conditions, so each delete
     * clears it (200) or finds it gone (404), never a 412, however many batches land between the store's read of
     * the state and its clear.
     */
    @ParameterizedTest(name = "store.backend={0}")
    @ValueSource(strings = {"memory", "sqlite", "redis"})
    void aDeleteWhoseConditionsEveryStateMeetsIsNotRefusedWhenPostsChangeTheSessionUnderIt(String backend,
            @TempDir Path dir) throws Exception {
        RedisProcess redis = backend.equals("redis") ? RedisProcess.start("no") : null;
        try (redis; TestServer server = TestServer.start(TestServer.onStore(backend, dir, redis, Map.of()))) {
            String path = "/events/metrics/session/busy";
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService pool = Executors.newFixedThreadPool(2);
            List<Future<?>> work = new ArrayList<>();
            for (int p = 0; p < 2; p++) {
                work.add(pool.submit(() -> {
                    for (int i = 0; !stop.get(); i++) {
                        HttpResponse<String> response = server.post("/events", "[" + completed("busy", i) + "]");
                        assertEquals(202, response.statusCode(), response.body());
                    }
                    return null;
                }));
            }
            int cleared = 0;
            List<String> refused = new ArrayList<>();
            try {
                for (int d = 0; d < 300; d++) {
                    String[] conditions = d % 2 == 0 ? new String[] {"If-Match", "*"}
                            : new String[] {"If-None-Match", "\"no-state-of-it\""};
                    HttpResponse<String> delete = server.delete(path, conditions);
                    if (delete.statusCode() == 200) {
                        cleared++;
                    } else if (delete.statusCode() != 404) {
                        refused.add(conditions[0] + ": " + delete.statusCode() + " " + delete.body());
                    }
                }
            } finally {
                stop.set(true);
                for (Future<?> f : work) {
                    f.get();
                }
                pool.shutdownNow();
            }
            assertEquals(List.of(), refused, cleared + " cleared");
            assertTrue(cleared > 0, "the deletes met the session");
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
