package dev.llmmetrics.track;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.EventTypes;
import dev.llmmetrics.event.InvalidEventException;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
    void theCallsAttributesGoWithEachOfItsEventsAndThoseAddedInFlightWithTheLastOne() {
        InFlightCall call = tracker.call("s", "gpt-4").attributes(Map.of("feature", "search")).start();
        call.attribute("cache_hit", "true");
        assertTrue(call.complete(Usage.of(1, 1, false)));
        InFlightCall failing = tracker.call("s", "gpt-4").attributes(Map.of("feature", "chat")).start();
        failing.attribute("retry", "2");
        assertTrue(failing.fail("boom"));

        assertEquals(Map.of("feature", "search"), ((LlmRequestStarted) events.get(0)).attributes());
        assertEquals(Map.of("feature", "search", "cache_hit", "true"), ((LlmRequestCompleted) events.get(1)).attributes());
        assertEquals(Map.of("feature", "chat", "retry", "2"), ((LlmRequestFailed) events.get(3)).attributes());
        InvalidEventException refused = assertThrows(InvalidEventException.class,
                () -> tracker.call("s", "gpt-4").attributes(Map.of("k", "v".repeat(Event.MAX_ATTRIBUTE_LENGTH + 1))).start());
        assertEquals("attributes", refused.field());
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
        assertFalse(completed.hasUsage());
        assertNull(completed.totalTokens());
    }

    @Test
    void aUsageExtractorThatFindsNoUsageRecordsTheCallWithNone() {
        tracker.call("s", "m").track(() -> "ok", r -> null);
        LlmRequestCompleted completed = assertInstanceOf(LlmRequestCompleted.class, events.get(1));
        assertFalse(completed.hasUsage(), "no usage, not zero tokens");
        assertNull(completed.promptTokens());
        tracker.call("s", "m").track(() -> "ok", r -> Usage.NONE.withToolCalls(true).withCostUsd(0.002));
        LlmRequestCompleted toolCall = assertInstanceOf(LlmRequestCompleted.class, events.get(3));
        assertFalse(toolCall.hasUsage());
        assertTrue(toolCall.hasToolCalls());
        assertEquals(0.002, toolCall.costUsd());
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
    void anAttributeWithoutValueIsRefusedByTheStartedEventByNameAndTheCallIsNotMade() {
        Map<String, String> attributes = new java.util.HashMap<>();
        attributes.put("feature", null);
        AtomicBoolean made = new AtomicBoolean();
        InvalidEventException refused = assertThrows(InvalidEventException.class,
                () -> tracker.call("s", "m").attributes(attributes).track(() -> made.getAndSet(true), r -> Usage.NONE));
        assertEquals("attributes", refused.field());
        assertTrue(refused.getMessage().contains("attributes.feature"), refused.getMessage());
        assertFalse(made.get());
        assertTrue(events.isEmpty());
    }

    @Test
    void anAttributeTheEndEventWouldRefuseIsRefusedWhenAddedSoTheCallStillFinishes() {
        InFlightCall call = tracker.call("s", "m").start();
        InvalidEventException tooLong = assertThrows(InvalidEventException.class,
                () -> call.attribute("cache", "x".repeat(Event.MAX_ATTRIBUTE_LENGTH + 1)));
        assertTrue(tooLong.getMessage().startsWith("attributes.cache must be at most"), tooLong.getMessage());
        assertThrows(InvalidEventException.class, () -> call.attribute("bad\nkey", "v"));
        for (int i = 0; i < Event.MAX_ATTRIBUTES; i++) {
            call.attribute("k" + i, "v");
        }
        call.attribute("k0", "replaced"); // an attribute already held leaves room as it was
        InvalidEventException tooMany = assertThrows(InvalidEventException.class, () -> call.attribute("one-more", "v"));
        assertEquals("attributes", tooMany.field());

        assertTrue(call.complete(Usage.NONE), "the call finishes with what it holds");
        LlmRequestCompleted completed = assertInstanceOf(LlmRequestCompleted.class, events.get(1));
        assertEquals(Event.MAX_ATTRIBUTES, completed.attributes().size());
        assertEquals("replaced", completed.attributes().get("k0"));
    }

    @Test
    void aCallHeldOpenPastTheLongestDurationIsStillRecordedWithThatBound() {
        InFlightCall completed = tracker.call("s", "m").start();
        InFlightCall failed = tracker.call("s", "m").start();
        advanceMs(2 * Event.MAX_DURATION_MS);

        assertTrue(completed.complete(Usage.NONE));
        assertTrue(failed.fail(new IOException("reset")));
        assertEquals(Event.MAX_DURATION_MS, assertInstanceOf(LlmRequestCompleted.class, events.get(2)).durationMs());
        assertEquals(Event.MAX_DURATION_MS, assertInstanceOf(LlmRequestFailed.class, events.get(3)).durationMs());
    }

    @Test
    void aResponseModelTheEventsRefuseIsRefusedByTheUsageSoTrackStillReturnsTheResponseAndRecordsTheCall() {
        InvalidEventException refused = assertThrows(InvalidEventException.class,
                () -> Usage.of(1, 2, false).withResponseModel("gpt-4o\n"));
        assertEquals("responseModel", refused.field());

        String answer = tracker.call("s", "m").track(() -> "the answer",
                reply -> Usage.of(1, 2, false).withResponseModel("x".repeat(Event.MAX_ID_LENGTH + 1)));
        assertEquals("the answer", answer, "the application gets its response");
        LlmRequestCompleted completed = assertInstanceOf(LlmRequestCompleted.class, events.get(1));
        assertFalse(completed.hasUsage(), "a usage mapper that throws records the call without usage, as documented");
    }

    @Test
    void aNullErrorIsRefusedByNameAndLeavesTheCallInFlightToBeFailedWithARealOne() {
        InFlightCall call = tracker.call("s", "gpt-4").start();

        assertEquals("error", assertThrows(NullPointerException.class, () -> call.fail((Throwable) null)).getMessage());
        assertEquals("error", assertThrows(NullPointerException.class, () -> Failure.of(null)).getMessage());
        assertEquals(1, events.size(), "only STARTED: " + events);
        assertTrue(call.fail(new IOException("reset")));
        assertEquals("java.io.IOException: reset", assertInstanceOf(LlmRequestFailed.class, events.get(1)).error());
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

    /**
     * An upstream's error body (carriage returns, longer than the event takes) given to {@code fail(String)} is
     * cleaned as {@link Failure#errorText} cleans it: it used to make the FAILED event throw into the caller after
     * the handle had counted as finished, so that nothing was published and the call stayed in flight.
     */
    @Test
    void theStreamingHandleFailsWithAnUpstreamsErrorTextTheEventWouldRefuseAsIs() {
        InFlightCall call = tracker.call("s", "m").start();
        advanceMs(25);
        assertTrue(call.fail("HTTP 500\r\n" + "x".repeat(5_000)));
        assertEquals(2, events.size());
        LlmRequestFailed failed = assertInstanceOf(LlmRequestFailed.class, events.get(1));
        assertEquals(LlmRequestFailed.MAX_ERROR_LENGTH, failed.error().length());
        assertTrue(failed.error().startsWith("HTTP 500 \nxxx"), failed.error());
        assertEquals(25, failed.durationMs());
        assertFalse(call.fail("again"));
    }

    /** An end the event refuses throws and leaves the call in flight, to be finished by a valid end. */
    @Test
    void anEndTheEventRefusesLeavesTheCallInFlightToBeFinishedAgain() {
        InFlightCall call = tracker.call("s", "m").start();
        assertThrows(InvalidEventException.class, () -> call.fail(new Failure("bad gateway", null, 700)));
        assertThrows(InvalidEventException.class, () -> call.fail(new Failure("bad\u0000byte", null, null)));
        assertEquals(1, events.size(), "nothing was published");
        assertTrue(call.fail(new Failure("bad gateway", ErrorType.SERVER_ERROR, 502)));
        assertEquals(502, assertInstanceOf(LlmRequestFailed.class, events.get(1)).httpStatus());
        assertFalse(call.complete(Usage.of(1, 1, false)));
        assertEquals(2, events.size());
    }

    /**
     * A tracked call's exception whose message or cause cannot be read is still rethrown unchanged (the fault
     * suppressed in it) and the call recorded as failed by its class: before, the fault replaced it.
     */
    @Test
    void anExceptionWhoseMessageOrCauseCannotBeReadIsRethrownUnchangedAndRecorded() {
        RuntimeException noMessage = new RuntimeException() {
            @Override
            public String getMessage() {
                throw new IllegalStateException("no message");
            }
        };
        RuntimeException noCause = new RuntimeException("has a message") {
            @Override
            public synchronized Throwable getCause() {
                throw new IllegalStateException("no cause");
            }
        };
        for (RuntimeException hostile : List.of(noMessage, noCause)) {
            events.clear();
            assertSame(hostile, assertThrows(RuntimeException.class,
                    () -> tracker.call("s", "m").track(() -> { throw hostile; }, r -> Usage.NONE)));
            LlmRequestFailed failed = assertInstanceOf(LlmRequestFailed.class, events.get(1));
            assertTrue(failed.error().startsWith(hostile.getClass().getName()), failed.error());
        }
        assertEquals("no cause", noCause.getSuppressed()[0].getMessage());
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
        String text = Failure.describe(new RuntimeException("bad\u0000byte " + "x".repeat(10_000)));
        assertEquals(dev.llmmetrics.event.LlmRequestFailed.MAX_ERROR_LENGTH, text.length());
        assertTrue(text.startsWith("java.lang.RuntimeException: bad byte x"));
        assertEquals("java.lang.RuntimeException: a b", Failure.describe(new RuntimeException("a\uD800b")));
    }

    /** The call's time starts once STARTED is published: a slow STARTED listener is not the call's time. */
    @Test
    void aSlowStartedListenerDoesNotCountInTheCallsDuration() {
        bus.subscribe(EventTypes.LLM_REQUEST_STARTED, e -> advanceMs(120));
        tracker.call("s", "m").track(() -> {
            advanceMs(36);
            return "answer";
        }, r -> Usage.of(1, 1, false));
        assertEquals(36, assertInstanceOf(LlmRequestCompleted.class, events.get(1)).durationMs());

        InFlightCall streamed = tracker.call("s", "m").start();
        advanceMs(10);
        streamed.firstToken();
        advanceMs(5);
        streamed.complete(Usage.of(1, 2, false));
        LlmRequestCompleted completed = assertInstanceOf(LlmRequestCompleted.class, events.get(3));
        assertEquals(15, completed.durationMs());
        assertEquals(10L, completed.timeToFirstTokenMs());
    }

    /** The same on the system clock: a listener that sleeps 300 ms before an immediate call adds nothing. */
    @Test
    void aSlowStartedListenerDoesNotCountOnTheSystemClockEither() {
        EventBus realBus = new EventBus();
        List<Event> seen = new ArrayList<>();
        realBus.subscribeToAll(seen::add);
        realBus.subscribe(EventTypes.LLM_REQUEST_STARTED, e -> {
            try {
                Thread.sleep(300);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
        });
        new CallTracker(realBus).call("s", "m").track(() -> "answer", r -> Usage.of(1, 1, false));
        long durationMs = assertInstanceOf(LlmRequestCompleted.class, seen.get(1)).durationMs();
        assertTrue(durationMs < 300, "the listener's 300 ms are not the call's: " + durationMs + " ms");
    }

    @Test
    void aFailuresTypeAndHttpStatusComeFromItsExceptionClassesAndStatus() {
        record Case(Throwable error, ErrorType type, Integer status) {
        }
        List<Case> cases = List.of(
                new Case(new java.net.SocketTimeoutException("Read timed out"), ErrorType.TIMEOUT, null),
                new Case(new java.net.http.HttpTimeoutException("request timed out"), ErrorType.TIMEOUT, null),
                new Case(new java.util.concurrent.TimeoutException(), ErrorType.TIMEOUT, null),
                new Case(new RuntimeException(new java.util.concurrent.CancellationException()), ErrorType.CANCELLED, null),
                new Case(new RateLimitException("slow down"), ErrorType.RATE_LIMIT, null),
                new Case(new StatusException(429, "Too Many Requests"), ErrorType.RATE_LIMIT, 429),
                new Case(new StatusException(503, "Service Unavailable"), ErrorType.SERVER_ERROR, 503),
                new Case(new StatusException(401, "no key"), ErrorType.AUTH, 401),
                new Case(new StatusException(400, "bad"), ErrorType.INVALID_REQUEST, 400),
                new Case(new RuntimeException("wrapped", new StatusException(504, "gateway")), ErrorType.TIMEOUT, 504),
                new Case(new ContentFilteredException(400), ErrorType.CONTENT_FILTER, 400),
                new Case(new IOException("connection reset"), ErrorType.OTHER, null));
        for (Case c : cases) {
            events.clear();
            assertThrows(Throwable.class, () -> tracker.call("s", "m").provider("openai").track(() -> {
                throw c.error();
            }, r -> Usage.NONE));
            LlmRequestFailed failed = assertInstanceOf(LlmRequestFailed.class, events.get(1));
            assertEquals(c.type(), failed.errorType(), c.error().toString());
            assertEquals(c.status(), failed.httpStatus(), c.error().toString());
            assertEquals("openai", failed.provider());
            assertEquals("openai", ((LlmRequestStarted) events.get(0)).provider());
        }
        InFlightCall call = tracker.call("s", "m").start();
        call.fail(new Failure("flagged by the moderation endpoint", ErrorType.CONTENT_FILTER, null));
        assertEquals(ErrorType.CONTENT_FILTER, ((LlmRequestFailed) events.getLast()).errorType());
        tracker.call("s", "m").start().fail("unknown");
        assertNull(((LlmRequestFailed) events.getLast()).errorType(), "a text alone says no type");
    }

    /** An SDK's rate-limit exception, known by its class name only. */
    static final class RateLimitException extends RuntimeException {
        RateLimitException(String message) {
            super(message);
        }
    }

    /** An SDK's HTTP error, which reports its status as LangChain4j's HttpException and OpenAI's SDK do. */
    public static class StatusException extends RuntimeException {
        private final int status;

        StatusException(int status, String message) {
            super(message);
            this.status = status;
        }

        public int statusCode() {
            return status;
        }
    }

    /** A content filter's refusal, whose class name says more than its status. */
    public static final class ContentFilteredException extends StatusException {
        ContentFilteredException(int status) {
            super(status, "content filtered");
        }
    }
}
