package dev.llmmetrics.track;

import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.LlmRequestStarted;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * Publishes the STARTED, COMPLETED and FAILED events around LLM calls.
 *
 * <pre>{@code
 * ChatResponse response = tracker.track(sessionId, "gpt-4o", messages.size(), tools.size(),
 *         () -> client.chat(request),
 *         r -> Usage.of(r.usage().promptTokens(), r.usage().completionTokens(), r.hasToolCalls()));
 * }</pre>
 *
 * <p>Durations come from a monotonic clock ({@link System#nanoTime()} by default), never from the wall
 * clock. Thread-safe.
 */
public final class CallTracker {

    private static final Logger LOG = System.getLogger(CallTracker.class.getName());

    private final EventBus bus;
    private final LongSupplier nanoTime;

    /** A tracker publishing on {@code bus}, timing with {@link System#nanoTime()}. */
    public CallTracker(EventBus bus) {
        this(bus, System::nanoTime);
    }

    /** A tracker publishing on {@code bus}, timing with {@code nanoTime}, a monotonic nanosecond clock. */
    public CallTracker(EventBus bus, LongSupplier nanoTime) {
        this.bus = Objects.requireNonNull(bus, "bus");
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    }

    /**
     * Runs {@code call} between a STARTED event and a COMPLETED or FAILED one.
     *
     * <p>On success the COMPLETED event carries the usage {@code usageOf} reads from the response; if
     * {@code usageOf} itself throws, the call still counts as completed, with no usage, and a warning is
     * logged. On failure the FAILED event carries the exception's class and message and the measured
     * duration, and the exception is rethrown unchanged.
     *
     * @param sessionId     the session making the call
     * @param model         the model called
     * @param messagesCount messages in the request
     * @param toolsCount    tools offered to the model
     * @param call          the LLM call
     * @param usageOf       reads the usage from the response
     * @return the call's response
     * @throws X whatever {@code call} throws
     */
    public <R, X extends Throwable> R track(String sessionId, String model, int messagesCount, int toolsCount,
                                            LlmCall<R, X> call, Function<? super R, Usage> usageOf) throws X {
        Objects.requireNonNull(call, "call");
        Objects.requireNonNull(usageOf, "usageOf");
        InFlightCall inFlight = start(sessionId, model, messagesCount, toolsCount);
        R response;
        try {
            response = call.call();
        } catch (Throwable failure) {
            inFlight.fail(failure);
            throw failure;
        }
        inFlight.complete(usageOf(response, usageOf, sessionId));
        return response;
    }

    /**
     * Publishes the STARTED event with a new correlation id and returns the handle that finishes the call.
     */
    public InFlightCall start(String sessionId, String model, int messagesCount, int toolsCount) {
        return start(sessionId, model, messagesCount, toolsCount, newCorrelationId());
    }

    /** Publishes the STARTED event with the given correlation id and returns the handle that finishes the call. */
    public InFlightCall start(String sessionId, String model, int messagesCount, int toolsCount, String correlationId) {
        LlmRequestStarted started = new LlmRequestStarted(sessionId, model, messagesCount, toolsCount,
                Objects.requireNonNull(correlationId, "correlationId"), null);
        InFlightCall inFlight = new InFlightCall(bus, nanoTime, started.sessionId(), started.model(), correlationId);
        bus.publish(started);
        return inFlight;
    }

    private static <R> Usage usageOf(R response, Function<? super R, Usage> usageOf, String sessionId) {
        try {
            Usage usage = usageOf.apply(response);
            return usage != null ? usage : Usage.NONE;
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Could not read the usage of an LLM response for session " + sessionId
                    + "; recording the call as completed with no usage", e);
            return Usage.NONE;
        }
    }

    /** A random (version 4) UUID from the thread's fast generator; correlation ids need not be unguessable. */
    private static String newCorrelationId() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long msb = (random.nextLong() & ~0xF000L) | 0x4000L;
        long lsb = (random.nextLong() & ~(0xC000_0000_0000_0000L)) | 0x8000_0000_0000_0000L;
        return new UUID(msb, lsb).toString();
    }
}
