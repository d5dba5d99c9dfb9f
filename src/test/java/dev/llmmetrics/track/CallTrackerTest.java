package dev.llmmetrics.track;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.InvalidEventException;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CallTrackerTest {

    private final EventBus bus = new EventBus();
    private final List<Event> events = new ArrayList<>();
    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final CallTracker tracker = new CallTracker(bus, nanos::get);

    CallTrackerTest() {
        bus.subscribeToAll(events::add);
    }

    private void advanceMs(long ms) {
        nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(ms));
    }

    @Test
    void aSuccessfulCallPublishesStartedThenCompletedWithUsageAndMonotonicDuration() {
        String response = tracker.call("s", "gpt-4").messages(4).tools(2).track(() -> {
            assertEquals(1, events.size(), "STARTED is published before the call runs");
            advanceMs(3200);
            return "answer";
        }, r -> Usage.of(850, 420, true));

        assertEquals("answer", response);
        assertEquals(2, events.size());
        LlmRequestStarted started = assertInstanceOf(LlmRequestStarted.class, events.get(0));
        LlmRequestCompleted completed = assertInstanceOf(LlmRequestCompleted.class, events.get(1));
        assertEquals(4, started.messagesCount());
        assertEquals(2, started.toolsCount());
        assertEquals(3200, completed.durationMs());
        assertEquals(850, completed.promptTokens());
        assertEquals(420, completed.completionTokens());
        assertEquals(1270, completed.totalTokens());
        assertTrue(completed.hasToolCalls());
        assertNotNull(started.correlationId());
        assertEquals(started.correlationId(), completed.correlationId());
    }

    @Test
    void aFailingCallPublishesFailedWithClassMessageAndDurationAndRethrowsTheSameException() {
        IOException failure = new IOException("connection reset");
        IOException thrown = assertThrows(IOException.class, () -> tracker.call("s", "gpt-4").messages(1).track(() -> {
            advanceMs(750);
            throw failure;
        }, r -> Usage.NONE));

        assertSame(failure, thrown);
        LlmRequestFailed failed = assertInstanceOf(LlmRequestFailed.class, events.get(1));
        assertEquals("java.io.IOException: connection reset", failed.error());
        assertEquals(750L, failed.durationMs());
        assertEquals(events.get(0).correlationId(), failed.correlationId());
    }

    @Test
    void runtimeExceptionsAndErrorsAreRethrownUnchangedToo() {
        IllegalStateException bug = new IllegalStateException();
        assertSame(bug, assertThrows(IllegalStateException.class,
                () -> tracker.call("s", "m").messages(1).track(() -> { throw bug; }, r -> Usage.NONE)));
        assertEquals("java.lang.IllegalStateException", ((LlmRequestFailed) events.get(1)).error());
    }

    @Test
    void aUsageExtractorThatThrowsStillRecordsTheCallAsCompleted() {
        String response = tracker.call("s", "m").messages(1).track(() -> "ok", r -> {
            throw new NullPointerException("no usage block");
        });
        assertEquals("ok", response);
        LlmRequestCompleted completed = assertInstanceOf(LlmRequestCompleted.class, events.get(1));
        assertEquals(0, completed.totalTokens());
    }

    @Test
    void aUsageExtractorThatFindsNoUsageRecordsTheCallWithNone() {
        tracker.call("s", "m").track(() -> "ok", r -> null);
        assertEquals(0, assertInstanceOf(LlmRequestCompleted.class, events.get(1)).totalTokens());
    }

    @Test
    void aCallTheStartedEventRefusesIsNeitherMadeNorRecorded() {
        AtomicBoolean made = new AtomicBoolean();
        InvalidEventException refused = assertThrows(InvalidEventException.class,
                () -> tracker.call(" ", "m").track(() -> made.getAndSet(true), r -> Usage.NONE));
        assertEquals("sessionId", refused.field());
        assertFalse(made.get());
        assertTrue(events.isEmpty());
    }

    @Test
    void theStreamingHandleFinishesExactlyOnce() {
        InFlightCall call = tracker.call("s", "m").messages(3).tools(1).correlationId("corr-1").start();
        advanceMs(40);
        assertTrue(call.complete(Usage.of(10, 90, false)));
        assertFalse(call.complete(Usage.of(1, 1, false)));
        assertFalse(call.fail(new RuntimeException("late")));

        assertEquals(2, events.size());
        LlmRequestCompleted completed = assertInstanceOf(LlmRequestCompleted.class, events.get(1));
        assertEquals("corr-1", completed.correlationId());
        assertEquals(40, completed.durationMs());
        assertEquals(100, completed.totalTokens());
    }

    @Test
    void theStreamingHandleCarriesTheTimeToTheFirstTokenOnlyTheFirstCallCounting() {
        InFlightCall call = tracker.call("s", "gpt-4o").messages(2).start();
        advanceMs(350);
        assertTrue(call.firstToken());
        advanceMs(100);
        assertFalse(call.firstToken(), "later chunks do not move the first token");
        advanceMs(1550);
        call.complete(Usage.of(1200, 400, false).withCachedTokens(1000).withReasoningTokens(150));

        LlmRequestCompleted completed = assertInstanceOf(LlmRequestCompleted.class, events.get(1));
        assertEquals(2000, completed.durationMs());
        assertEquals(350L, completed.timeToFirstTokenMs());
        assertEquals(1000, completed.cachedTokens());
        assertEquals(150, completed.reasoningTokens());
    }

    @Test
    void aCallWithoutFirstTokenIsNotStreamedAndHasNoTimeToFirstToken() {
        tracker.call("s", "gpt-4o").messages(1).track(() -> {
            advanceMs(500);
            return "answer";
        }, r -> Usage.of(10, 20, false));
        LlmRequestCompleted completed = assertInstanceOf(LlmRequestCompleted.class, events.get(1));
        assertFalse(completed.hasTimeToFirstToken());
        assertEquals(0, completed.cachedTokens());
    }

    @Test
    void usageRejectsCachedTokensBeyondThePromptAndReasoningTokensBeyondTheCompletion() {
        assertThrows(IllegalArgumentException.class, () -> Usage.of(10, 20, false).withCachedTokens(11));
        assertThrows(IllegalArgumentException.class, () -> Usage.of(10, 20, false).withReasoningTokens(21));
        assertThrows(IllegalArgumentException.class, () -> Usage.of(10, 20, false).withCachedTokens(-1));
    }

    @Test
    void generatedCorrelationIdsAreDistinctVersion4Uuids() {
        String a = tracker.call("s", "m").messages(1).start().correlationId();
        String b = tracker.call("s", "m").messages(1).start().correlationId();
        assertFalse(a.equals(b));
        assertEquals(4, java.util.UUID.fromString(a).version());
        assertEquals(2, java.util.UUID.fromString(a).variant());
    }

    @Test
    void errorTextIsCleanedAndCutToTheEventLimit() {
        String text = InFlightCall.describe(new RuntimeException("bad\u0000byte " + "x".repeat(10_000)));
        assertEquals(dev.llmmetrics.event.LlmRequestFailed.MAX_ERROR_LENGTH, text.length());
        assertTrue(text.startsWith("java.lang.RuntimeException: bad byte x"));
        assertEquals("java.lang.RuntimeException: a b", InFlightCall.describe(new RuntimeException("a\uD800b")));
    }
}
