package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.EventTypes;
import dev.llmmetrics.event.IsolatedListener;
import dev.llmmetrics.event.LlmRequestCompleted;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.LongAdder;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** A listener that throws, blocks or is slow loses no event for the others and does not stall HTTP beyond its bound. */
class ListenerFaultsTest {

    @Test
    void aBlockedIsolatedListenerCostsThePublisherNothingAndTheOthersLoseNoEvent() {
        EventBus bus = new EventBus();
        CountDownLatch never = new CountDownLatch(1);
        LongAdder others = new LongAdder();
        try (IsolatedListener blocked = IsolatedListener.of("blocked", e -> {
            try {
                never.await();
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }, 100, Duration.ZERO)) {
            bus.subscribe(EventTypes.LLM_REQUEST_COMPLETED, blocked);
            bus.subscribe(EventTypes.LLM_REQUEST_COMPLETED, e -> others.increment());
            bus.subscribe(EventTypes.LLM_REQUEST_COMPLETED, e -> {
                throw new IllegalStateException("a throwing listener too");
            });
            long start = System.nanoTime();
            for (int i = 0; i < 10_000; i++) {
                bus.publish(LlmRequestCompleted.builder("s", "m").durationMs(1).promptTokens(1).completionTokens(1)
                        .build());
            }
            long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            assertEquals(10_000, others.sum());
            long dropped = blocked.dropped();
            assertTrue(dropped == 10_000 - 100 || dropped == 10_000 - 101,
                    "100 queued, at most one taken by the blocked worker; the rest dropped: " + dropped);
            assertTrue(elapsedMs < 5_000, "publishing was not held up: " + elapsedMs + " ms");
        }
    }

    @Test
    void aSlowIsolatedListenerCatchesUpWithoutLossWhenItsQueueSuffices() {
        EventBus bus = new EventBus();
        LongAdder seen = new LongAdder();
        try (IsolatedListener slow = IsolatedListener.of("slow", e -> {
            try {
                Thread.sleep(1);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            seen.increment();
        }, 1_000, Duration.ofMillis(50))) {
            bus.subscribeToAll(slow);
            for (int i = 0; i < 500; i++) {
                bus.publish(LlmRequestCompleted.builder("s", "m").durationMs(1).promptTokens(1).completionTokens(1)
                        .build());
            }
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> seen.sum() == 500);
            assertEquals(0, slow.dropped());
        }
    }

    @Test
    void httpIngestionAndReadsStayFastWhileAnIsolatedListenerIsBlocked() {
        try (TestServer server = TestServer.start()) {
            CountDownLatch never = new CountDownLatch(1);
            IsolatedListener blocked = IsolatedListener.of("blocked", e -> {
                try {
                    never.await();
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            }, 10, Duration.ofMillis(5));
            server.running().metrics().bus().subscribeToAll(blocked);
            String batch = "[" + ("{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s\",\"model\":\"m\",\"duration_ms\":1,"
                    + "\"prompt_tokens\":1,\"completion_tokens\":1},").repeat(99)
                    + "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s\",\"model\":\"m\",\"duration_ms\":1,"
                    + "\"prompt_tokens\":1,\"completion_tokens\":1}]";
            long worstMs = 0;
            for (int i = 0; i < 20; i++) {
                long start = System.nanoTime();
                HttpResponse<String> r = server.post("/events", batch);
                worstMs = Math.max(worstMs, (System.nanoTime() - start) / 1_000_000);
                assertEquals(202, r.statusCode());
                assertEquals(200, server.get("/events/metrics/session/s").statusCode());
            }
            // Bound: 5 ms per event the blocked listener drops, 100 events a batch = 500 ms, plus the request.
            assertTrue(worstMs < 2_000, "worst POST took " + worstMs + " ms");
            assertEquals(2_000, TestServer.json(server.get("/events/metrics/session/s")).get("total_requests").asLong());
            blocked.close();
        }
    }
}
