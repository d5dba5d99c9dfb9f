package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.track.Usage;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * Java API publishers and HTTP producers at once, with readers hammering the scrape and the JSON:
 * every total is exact in both and equal between them, every answer read meanwhile is internally
 * consistent, nothing throws, nothing is logged at ERROR.
 */
class LoadConsistencyTest {

    private static final int SESSIONS = 40;
    private static final int MODELS = 10;
    private static final int API_THREADS = 2;
    private static final int CALLS_PER_API_THREAD = 50_000;
    private static final int HTTP_THREADS = 4;
    private static final int BATCHES_PER_HTTP_THREAD = 250;
    private static final int BATCH = 100;

    @Test
    void concurrentJavaAndHttpProducersGiveExactEqualTotalsWhileReadsStayConsistent() throws Exception {
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        Handler errorCatcher = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel().intValue() >= Level.SEVERE.intValue()) {
                    errors.add(record.getLoggerName() + ": " + record.getMessage() + " " + record.getThrown());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger.getLogger("").addHandler(errorCatcher);
        try (TestServer server = TestServer.start(Map.of("ingest.max.batch", String.valueOf(BATCH)))) {
            LlmMetrics metrics = server.running().metrics();
            ExecutorService pool = Executors.newFixedThreadPool(API_THREADS + HTTP_THREADS + 3);
            CountDownLatch go = new CountDownLatch(1);
            AtomicBoolean writing = new AtomicBoolean(true);
            AtomicLong reads = new AtomicLong();
            List<Future<?>> writers = new ArrayList<>();
            for (int t = 0; t < API_THREADS; t++) {
                int thread = t;
                writers.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < CALLS_PER_API_THREAD; i++) {
                        int n = i * API_THREADS + thread;
                        try {
                            metrics.tracker().call("s" + (n % SESSIONS), "m" + (n % MODELS)).messages(2).tools(1).track(() -> {
                                if (n % 10 == 0) {
                                    throw new IllegalStateException("simulated");
                                }
                                return n;
                            }, r -> Usage.of(3, 2, r % 2 == 0));
                        } catch (IllegalStateException expected) {
                            // a FAILED event
                        }
                    }
                    return null;
                }));
            }
            for (int t = 0; t < HTTP_THREADS; t++) {
                int thread = t;
                writers.add(pool.submit(() -> {
                    go.await();
                    for (int b = 0; b < BATCHES_PER_HTTP_THREAD; b++) {
                        StringBuilder body = new StringBuilder();
                        for (int e = 0; e < BATCH; e++) {
                            int n = (b * BATCH + e) * HTTP_THREADS + thread;
                            body.append("{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s").append(n % SESSIONS)
                                    .append("\",\"model\":\"m").append(n % MODELS)
                                    .append("\",\"duration_ms\":7,\"prompt_tokens\":5,\"completion_tokens\":4,\"has_tool_calls\":")
                                    .append(n % 4 == 0).append("}\n");
                        }
                        HttpResponse<String> r = server.post("/events", body.toString(), "Content-Type", "application/x-ndjson");
                        if (r.statusCode() != 202) {
                            throw new AssertionError(r.statusCode() + " " + r.body());
                        }
                    }
                    return null;
                }));
            }
            List<Future<?>> readers = new ArrayList<>();
            readers.add(pool.submit(() -> {
                go.await();
                while (writing.get()) {
                    PrometheusText.parse(server.get("/metrics").body());
                    reads.incrementAndGet();
                }
                return null;
            }));
            for (int r = 0; r < 2; r++) {
                readers.add(pool.submit(() -> {
                    go.await();
                    int i = 0;
                    while (writing.get()) {
                        JsonNode list = TestServer.json(server.get("/events/metrics/sessions"));
                        assertEquals(list.get("sessions").size(), list.get("count").asInt());
                        HttpResponse<String> one = server.get("/events/metrics/session/s" + (i++ % SESSIONS));
                        if (one.statusCode() == 200) {
                            JsonNode m = TestServer.json(one);
                            assertEquals(m.get("total_requests").asLong(),
                                    m.get("successful_requests").asLong() + m.get("failed_requests").asLong());
                            assertEquals(m.get("total_tokens").asLong(),
                                    m.get("total_prompt_tokens").asLong() + m.get("total_completion_tokens").asLong());
                            assertTrue(m.get("requests_with_tools").asLong() <= m.get("successful_requests").asLong());
                        }
                        reads.incrementAndGet();
                    }
                    return null;
                }));
            }
            long start = System.nanoTime();
            go.countDown();
            for (Future<?> f : writers) {
                f.get();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            writing.set(false);
            for (Future<?> f : readers) {
                f.get();
            }
            pool.shutdown();

            long apiCalls = (long) API_THREADS * CALLS_PER_API_THREAD;
            long apiFailures = apiCalls / 10;
            long httpEvents = (long) HTTP_THREADS * BATCHES_PER_HTTP_THREAD * BATCH;
            long successes = apiCalls - apiFailures + httpEvents;
            long events = 2 * apiCalls + httpEvents;
            System.out.printf("load: %d events (%d via the Java API, %d over HTTP) in %.1f s = %.0f events/s, %d reads%n",
                    events, 2 * apiCalls, httpEvents, seconds, events / seconds, reads.get());

            long jsonTotal = 0;
            long jsonFailed = 0;
            long jsonPrompt = 0;
            long jsonTools = 0;
            long jsonDurationMs = 0;
            for (JsonNode id : TestServer.json(server.get("/events/metrics/sessions")).get("sessions")) {
                JsonNode m = TestServer.json(server.get("/events/metrics/session/" + id.asText()));
                jsonTotal += m.get("total_requests").asLong();
                jsonFailed += m.get("failed_requests").asLong();
                jsonPrompt += m.get("total_prompt_tokens").asLong();
                jsonTools += m.get("requests_with_tools").asLong();
                jsonDurationMs += m.get("total_duration_ms").asLong();
            }
            assertEquals(apiCalls + httpEvents, jsonTotal);
            assertEquals(apiFailures, jsonFailed);
            assertEquals(3L * (apiCalls - apiFailures) + 5L * httpEvents, jsonPrompt);

            PrometheusText scrape = server.scrape();
            assertEquals(successes, scrape.sum("llm_requests_total", "outcome", "success"));
            assertEquals(apiFailures, scrape.sum("llm_requests_total", "outcome", "failure"));
            assertEquals(jsonTotal, scrape.sum("llm_session_requests_total"));
            assertEquals(jsonFailed, scrape.sum("llm_session_requests_total", "outcome", "failure"));
            assertEquals(jsonPrompt, scrape.sum("llm_session_tokens_sum", "type", "prompt"));
            assertEquals(jsonTools, scrape.sum("llm_session_tool_call_requests_total"));
            assertEquals(jsonDurationMs / 1000.0, scrape.sum("llm_session_request_duration_seconds_sum"), 1e-6);
            assertEquals(0, scrape.sum("llm_requests_in_flight"));
            assertEquals(events, TestServer.json(server.get("/events/stats")).get("total_published").asLong());
        } finally {
            Logger.getLogger("").removeHandler(errorCatcher);
        }
        assertTrue(errors.isEmpty(), "logged at ERROR: " + errors);
    }
}
