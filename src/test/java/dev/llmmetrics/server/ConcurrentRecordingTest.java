package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.prometheus.SessionSeries;
import dev.llmmetrics.session.SessionMetrics;
import dev.llmmetrics.track.Usage;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Several threads, many sessions and models, through the public API: totals agree exactly in store and registry. */
class ConcurrentRecordingTest {

    @Test
    void concurrentTrackedCallsGiveExactTotalsInTheStoreAndTheRegistry() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        int threads = 4;
        int callsPerThread = 25_000;
        int sessions = 200;
        String[] models = {"gpt-4o", "claude-sonnet", "llama-3"};
        try (LlmMetrics metrics = LlmMetrics.builder(registry).build()) {
            SessionSeries.of(metrics).register(registry);
            CountDownLatch go = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int thread = t;
                    futures.add(pool.submit(() -> {
                        go.await();
                        for (int i = 0; i < callsPerThread; i++) {
                            int n = i * threads + thread;
                            String session = "session-" + (n % sessions);
                            String model = models[n % models.length];
                            try {
                                metrics.tracker().call(session, model).messages(3).tools(1).track(() -> {
                                    if (n % 7 == 0) {
                                        throw new IllegalStateException("simulated");
                                    }
                                    return n;
                                }, r -> Usage.of(10, 5, r % 2 == 0));
                            } catch (IllegalStateException expected) {
                                // counted as a failure
                            }
                        }
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> f : futures) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }

            long calls = (long) threads * callsPerThread;
            long failures = (calls + 6) / 7;
            long successes = calls - failures;
            long total = 0;
            long failed = 0;
            long prompt = 0;
            long withTools = 0;
            for (String id : metrics.store().sessionIds(0, sessions)) {
                SessionMetrics m = metrics.store().session(id).orElseThrow();
                total += m.totalRequests();
                failed += m.failedRequests();
                prompt += m.totalPromptTokens();
                withTools += m.requestsWithTools();
            }
            assertEquals(sessions, metrics.store().sessionCount());
            assertEquals(calls, total);
            assertEquals(failures, failed);
            assertEquals(10 * successes, prompt);

            PrometheusText scrape = PrometheusText.parse(registry.scrape());
            assertEquals(successes, scrape.sum("llm_requests_total", "outcome", "success"));
            assertEquals(failures, scrape.sum("llm_requests_total", "outcome", "failure"));
            assertEquals(successes, scrape.sum("llm_session_requests_total", "outcome", "success"));
            assertEquals(failures, scrape.sum("llm_session_requests_total", "outcome", "failure"));
            assertEquals(prompt, scrape.sum("llm_session_tokens_sum", "type", "prompt"));
            assertEquals(5 * successes, scrape.sum("llm_tokens_sum", "type", "completion"));
            assertEquals(withTools, scrape.sum("llm_session_tool_call_requests_total"));
            assertEquals(0, scrape.sum("llm_requests_in_flight"));
            assertEquals(calls, scrape.sum("llm_request_messages_count"));
        }
    }
}
