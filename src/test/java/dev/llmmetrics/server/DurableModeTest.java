package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Durable mode: the server is killed with SIGKILL in the middle of a load, restarted on the same
 * journal, and every acknowledged event is there exactly once; a torn last record is skipped.
 */
class DurableModeTest {

    private static final int BATCH = 50;

    @TempDir
    Path journal;

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private ChildServer start() throws Exception {
        return ChildServer.main("STORE_JOURNAL_PATH", journal.toString(), "STORE_JOURNAL_SEGMENT_BYTES", "65536",
                "STORE_JOURNAL_COMPACT_INTERVAL", "PT1S");
    }

    /** One batch of one session: all of its events, or none, are applied. */
    private static String batch(String session) {
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < BATCH; i++) {
            body.append("{\"type\":\"LLM_REQUEST_COMPLETED\",\"event_id\":\"").append(session).append('-').append(i)
                    .append("\",\"session_id\":\"").append(session)
                    .append("\",\"model\":\"m\",\"duration_ms\":3,\"prompt_tokens\":2,\"completion_tokens\":1}\n");
        }
        return body.toString();
    }

    private HttpResponse<String> post(ChildServer server, String body) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create(server.base() + "/events"))
                .header("Content-Type", "application/x-ndjson").timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(ChildServer server, String path) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create(server.base() + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void everyAcknowledgedEventSurvivesSigkillExactlyOnce() throws Exception {
        Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        Set<String> attempted = ConcurrentHashMap.newKeySet();
        try (ChildServer server = start()) {
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger serial = new AtomicInteger();
            List<Thread> producers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                producers.add(Thread.ofPlatform().start(() -> {
                    while (running.get()) {
                        String session = "batch-" + serial.incrementAndGet();
                        attempted.add(session);
                        try {
                            if (post(server, batch(session)).statusCode() == 202) {
                                acknowledged.add(session);
                            }
                        } catch (IOException | InterruptedException e) {
                            return;
                        }
                    }
                }));
            }
            // Under load: past the first 20 acknowledged batches however slow the machine, and still posting.
            Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                    .until(() -> acknowledged.size() > 20);
            Thread.sleep(500);
            server.process.destroyForcibly();
            assertTrue(server.process.waitFor(10, TimeUnit.SECONDS));
            running.set(false);
            for (Thread producer : producers) {
                producer.join(15_000);
            }
        }
        assertTrue(acknowledged.size() > 20, "load before the kill: " + acknowledged.size() + " batches");

        // What a crash in the middle of a write leaves: half a frame at the end of the newest segment.
        Path newest;
        try (Stream<Path> files = Files.list(journal)) {
            newest = files.filter(p -> p.getFileName().toString().startsWith("segment-"))
                    .max(Comparator.naturalOrder()).orElseThrow();
        }
        Files.write(newest, new byte[] {0, 0, 1, 0, 7, 7, 7, 7, '{', '"'}, StandardOpenOption.APPEND);

        try (ChildServer restarted = start()) {
            assertTrue(restarted.output.stream().noneMatch(l -> l.contains("SEVERE")), restarted.log());
            assertTrue(restarted.output.stream().anyMatch(l -> l.contains("WARNING") && l.contains("the rest of the segment is skipped")),
                    "the torn record is reported: " + restarted.log());
            System.out.printf("durable: %d batches of %d acknowledged before SIGKILL, %d attempted%n",
                    acknowledged.size(), BATCH, attempted.size());
            long present = 0;
            for (String session : attempted) {
                HttpResponse<String> r = get(restarted, "/events/metrics/session/" + session);
                long requests = r.statusCode() == 404 ? 0 : TestServer.JSON.readTree(r.body()).get("total_requests").asLong();
                if (acknowledged.contains(session)) {
                    assertEquals(BATCH, requests, session + " was acknowledged");
                } else {
                    assertTrue(requests == 0 || requests == BATCH, session + " is all or nothing, found " + requests);
                }
                present += requests;
            }
            PrometheusText scrape = PrometheusText.parse(get(restarted, "/metrics").body());
            assertEquals(present, (long) scrape.value("llm_requests_total", "model", "m", "outcome", "success"));

            String retried = acknowledged.iterator().next();
            JsonNode answer = TestServer.JSON.readTree(post(restarted, batch(retried)).body());
            assertEquals(0, answer.get("accepted").asInt(), "a retry after the restart is recognised");
            assertEquals(BATCH, answer.get("duplicates").asInt());

            assertEquals(200, client.send(HttpRequest.newBuilder(URI.create(restarted.base() + "/events/metrics/session/" + retried))
                    .DELETE().build(), HttpResponse.BodyHandlers.ofString()).statusCode());
            restarted.process.destroy();
            assertTrue(restarted.process.waitFor(20, TimeUnit.SECONDS));
        }
        try (ChildServer third = start()) {
            assertTrue(third.output.stream().anyMatch(l -> l.contains("Replayed")), third.log());
            String retried = acknowledged.iterator().next();
            assertEquals(404, get(third, "/events/metrics/session/" + retried).statusCode(), "a cleared session stays cleared");
        }
    }
}
