package dev.llmmetrics.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

class EventBusTest {

    private final EventBus bus = new EventBus();

    @Test
    void aNullEventOrBatchIsRefusedByNameAndNothingIsPublished() {
        List<Event> seen = new ArrayList<>();
        bus.subscribeToAll(seen::add);
        Event valid = LlmRequestStarted.builder("s", "m").build();
        List<Event> withNull = new ArrayList<>(List.of(valid));
        withNull.add(null);

        assertEquals("event", assertThrows(NullPointerException.class, () -> bus.publish(null)).getMessage());
        assertEquals("events", assertThrows(NullPointerException.class, () -> bus.publishAll(null)).getMessage());
        assertEquals("events[1]",
                assertThrows(NullPointerException.class, () -> bus.publishAll(withNull)).getMessage());
        assertTrue(seen.isEmpty(), "nothing of a refused batch is published: " + seen);
    }

    @Test
    void listenersReceiveOnlyTheTypesTheySubscribedTo() {
        List<Event> completed = new ArrayList<>();
        List<Event> all = new ArrayList<>();
        bus.subscribe(EventTypes.LLM_REQUEST_COMPLETED, completed::add);
        bus.subscribeToAll(all::add);

        Event started = LlmRequestStarted.builder("s", "m").messagesCount(1).build();
        Event done = LlmRequestCompleted.builder("s", "m").durationMs(5).promptTokens(1).completionTokens(1).build();
        Event tool = new GenericEvent("TOOL_CALL_STARTED", "s");
        bus.publish(started);
        bus.publish(done);
        bus.publish(tool);

        assertEquals(List.of(done), completed);
        assertEquals(List.of(started, done, tool), all);
    }

    @Test
    void dispatchHappensOnThePublishersThreadBeforePublishReturns() {
        AtomicReference<Thread> seenOn = new AtomicReference<>();
        bus.subscribe(EventTypes.LLM_REQUEST_STARTED, e -> seenOn.set(Thread.currentThread()));
        bus.publish(LlmRequestStarted.builder("s", "m").messagesCount(1).build());
        assertEquals(Thread.currentThread(), seenOn.get());
    }

    @Test
    void aThrowingListenerIsCountedAndIsolatedFromThePublisherAndTheOtherListeners() {
        List<Event> received = new ArrayList<>();
        bus.subscribe(EventTypes.LLM_REQUEST_FAILED, e -> {
            throw new IllegalStateException("listener bug");
        });
        bus.subscribe(EventTypes.LLM_REQUEST_FAILED, received::add);
        bus.subscribeToAll(e -> {
            throw new AssertionError("also a bug");
        });

        bus.publish(LlmRequestFailed.builder("s", "m").error("e1").build());
        bus.publish(LlmRequestFailed.builder("s", "m").error("e2").build());

        assertEquals(2, received.size());
        EventBusStats stats = bus.stats();
        assertEquals(4, stats.listenerFailuresTotal());
        assertEquals(4L, stats.listenerFailuresByType().get(EventTypes.LLM_REQUEST_FAILED));
        assertEquals(2L, stats.publishedByType().get(EventTypes.LLM_REQUEST_FAILED));
    }

    @Test
    void aThrowingListenerWhoseToStringThrowsIsIsolatedAsWell() {
        List<Event> received = new ArrayList<>();
        bus.subscribeToAll(new EventListener() {
            @Override
            public void onEvent(Event event) {
                throw new IllegalStateException("listener bug");
            }

            @Override
            public String toString() {
                throw new NullPointerException("toString bug");
            }
        });
        bus.subscribeToAll(received::add);

        assertTrue(bus.publish(LlmRequestFailed.builder("s", "m").error("e1").build()));

        assertEquals(1, received.size(), "the listener after it got the event");
        assertEquals(1, bus.stats().listenerFailuresTotal());
    }

    @Test
    void closingASubscriptionStopsDeliveryAndUpdatesListenerCounts() {
        List<Event> received = new ArrayList<>();
        Subscription subscription = bus.subscribe("AGENT_STARTED", received::add);
        assertEquals(1, bus.stats().listenersByType().get("AGENT_STARTED"));

        bus.publish(new GenericEvent("AGENT_STARTED", "s"));
        subscription.close();
        subscription.close();
        bus.publish(new GenericEvent("AGENT_STARTED", "s"));

        assertEquals(1, received.size());
        assertEquals(0, bus.stats().listenersByType().get("AGENT_STARTED"));
        assertEquals(2L, bus.stats().publishedByType().get("AGENT_STARTED"));
    }

    @Test
    void statsCountEveryTypeAndReportUptime() {
        Instant start = Instant.parse("2026-01-17T15:30:00Z");
        Instant[] now = {start};
        EventBus timed = new EventBus(10, () -> now[0]);
        timed.publish(new GenericEvent("HITL_REQUESTED", "s"));
        timed.publish(LlmRequestStarted.builder("s", "m").messagesCount(1).build());
        timed.publish(LlmRequestStarted.builder("s", "m").messagesCount(1).build());
        now[0] = start.plusSeconds(90);

        EventBusStats stats = timed.stats();
        assertEquals(3, stats.publishedTotal());
        assertEquals(2L, stats.publishedByType().get(EventTypes.LLM_REQUEST_STARTED));
        assertEquals(0L, stats.publishedByType().get(EventTypes.LLM_REQUEST_COMPLETED));
        assertEquals(1L, stats.publishedByType().get("HITL_REQUESTED"));
        assertEquals(start, stats.startedAt());
        assertEquals(Duration.ofSeconds(90), stats.uptime());
    }

    @Test
    void distinctTypeNamesAreBounded() {
        EventBus small = new EventBus(5, InstantSource.system()); // four LLM types and one slot
        small.publish(new GenericEvent("AGENT_STARTED", "s"));
        assertTrue(small.accepts("AGENT_STARTED"));
        assertFalse(small.accepts("AGENT_STOPPED"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> small.publish(new GenericEvent("AGENT_STOPPED", "s")));
        assertTrue(e.getMessage().contains("too many distinct event types"));
        small.publish(LlmRequestStarted.builder("s", "m").messagesCount(1).build());
    }

    @Test
    void aTypeWithoutListenersIdleLongerThanTheTimeoutGivesItsSlotToANewType() {
        AtomicLong millis = new AtomicLong(Instant.parse("2026-01-17T15:00:00Z").toEpochMilli());
        InstantSource clock = () -> Instant.ofEpochMilli(millis.get());
        EventBus bus = new EventBus(6, clock);                 // four LLM types and two slots
        bus.publish(new GenericEvent("ONCE_A", "s"));
        bus.subscribe("LISTENED", event -> { });
        assertFalse(bus.accepts("NEW"), "both slots are taken");

        millis.addAndGet(EventBus.DEFAULT_TYPE_IDLE_TIMEOUT.toMillis() + 1_000);
        assertTrue(bus.accepts("NEW"), "the idle type without listeners gave its slot back");
        bus.publish(new GenericEvent("NEW", "s"));
        assertFalse(bus.stats().publishedByType().containsKey("ONCE_A"));
        assertTrue(bus.stats().listenersByType().containsKey("LISTENED"), "a type with a listener keeps its slot");

        millis.addAndGet(1_000);
        bus.publish(new GenericEvent("NEW", "s"));             // busy: it keeps its slot
        millis.addAndGet(EventBus.DEFAULT_TYPE_IDLE_TIMEOUT.toMillis() / 2);
        assertFalse(bus.accepts("OTHER"), "neither the busy type nor the listened one gives its slot back");
        assertThrows(IllegalStateException.class, () -> bus.publish(new GenericEvent("OTHER", "s")));
        for (String llm : List.of(EventTypes.LLM_REQUEST_STARTED, EventTypes.LLM_REQUEST_COMPLETED,
                EventTypes.LLM_REQUEST_FAILED)) {
            assertTrue(bus.stats().publishedByType().containsKey(llm), "the LLM types never expire");
        }
    }

    @Test
    void concurrentPublishersAndSubscribersLoseNoEvent() throws Exception {
        int threads = 4;
        int perThread = 50_000;
        LongAdder seen = new LongAdder();
        bus.subscribe(EventTypes.LLM_REQUEST_COMPLETED, e -> seen.increment());
        List<Event> late = new CopyOnWriteArrayList<>();
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    go.await();
                    LlmRequestCompleted event = LlmRequestCompleted.builder("s", "m").durationMs(1).promptTokens(1).completionTokens(1).build();
                    for (int i = 0; i < perThread; i++) {
                        bus.publish(event);
                    }
                    return null;
                }));
            }
            futures.add(pool.submit(() -> {
                go.await();
                for (int i = 0; i < 200; i++) {
                    bus.subscribe(EventTypes.LLM_REQUEST_COMPLETED, late::add).close();
                }
                return null;
            }));
            go.countDown();
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals((long) threads * perThread, seen.sum());
        assertEquals((long) threads * perThread, bus.stats().publishedByType().get(EventTypes.LLM_REQUEST_COMPLETED));
        assertEquals(1, bus.stats().listenersByType().get(EventTypes.LLM_REQUEST_COMPLETED));
    }

    @Test
    void aRecorderFailingWithAnyRuntimeExceptionReachesThePublisherAsARecordingFailureAndNoListener() {
        Recorder broken = events -> {
            throw new IllegalStateException("connection pool shut down");
        };
        EventBus bus = new EventBus(10, InstantSource.system(), broken);
        LongAdder seen = new LongAdder();
        bus.subscribeToAll(event -> seen.increment());

        RecordingFailedException one = assertThrows(RecordingFailedException.class,
                () -> bus.publish(new GenericEvent("AGENT_STARTED", "s")));
        assertTrue(one.getCause() instanceof IllegalStateException, String.valueOf(one.getCause()));
        assertThrows(RecordingFailedException.class, () -> bus.publishAll(List.of(new GenericEvent("AGENT_STARTED", "s"))));
        assertEquals(0, seen.sum());
        assertEquals(0L, bus.stats().publishedByType().get("AGENT_STARTED"));
    }
}
