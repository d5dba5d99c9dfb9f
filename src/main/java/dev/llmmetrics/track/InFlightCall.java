package dev.llmmetrics.track;

import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * An LLM call whose STARTED event has been published and whose end is still to come: the handle for
 * streaming calls, where the usage arrives with the last chunk.
 *
 * <pre>{@code
 * InFlightCall call = tracker.call(sessionId, "gpt-4o").messages(messages.size()).start();
 * stream.onNext(chunk -> { call.firstToken(); ... })
 *       .onComplete(usage -> call.complete(Usage.of(usage.input(), usage.output(), false)))
 *       .onError(call::fail);
 * }</pre>
 *
 * <p>Exactly one of {@link #complete(Usage)} and the {@code fail} methods takes effect; later calls do
 * nothing and return {@code false}. The duration is measured with a monotonic clock from the call's
 * beginning ({@link CallTracker.Call#start}, or {@link CallTracker.Call#startedAt}) to that first call, and
 * the time to first token from the beginning to the first {@link #firstToken()}; the COMPLETED event carries
 * both, each at most {@link Event#MAX_DURATION_MS}. Thread-safe.
 */
public final class InFlightCall {

    private final EventBus bus;
    private final LongSupplier nanoTime;
    private final String sessionId;
    private final String model;
    private final String correlationId;
    private final @Nullable String provider;
    private final long startNanos;
    private final AtomicBoolean finished = new AtomicBoolean();
    /** Milliseconds from the start to the first token, {@link #NO_FIRST_TOKEN} until it comes. */
    private final AtomicLong firstTokenMs = new AtomicLong(NO_FIRST_TOKEN);
    /** The call's attributes, those given at its start and those added since. */
    private final Map<String, String> attributes = new ConcurrentHashMap<>();

    private static final long NO_FIRST_TOKEN = -1;

    InFlightCall(EventBus bus, LongSupplier nanoTime, String sessionId, String model, String correlationId,
                 long startNanos, @Nullable String provider, Map<String, String> attributes) {
        this.attributes.putAll(attributes);
        this.bus = bus;
        this.nanoTime = nanoTime;
        this.sessionId = sessionId;
        this.model = model;
        this.correlationId = correlationId;
        this.provider = provider;
        this.startNanos = startNanos;
    }

    /** The correlation id shared by this call's events. */
    public String correlationId() {
        return correlationId;
    }

    /**
     * Adds an attribute the call's COMPLETED or FAILED event carries, and its record keeps: one known only
     * once the call ran, such as a cache hit. Refused here, as the event would refuse it, past
     * {@link dev.llmmetrics.event.Event#MAX_ATTRIBUTES} attributes, for a key that is not a valid id, or for a
     * value longer than {@link dev.llmmetrics.event.Event#MAX_ATTRIBUTE_LENGTH}; the call can still be finished.
     * Added once the call has ended, it reaches no event: the end carries the attributes held when it was built.
     *
     * @return this call
     * @throws dev.llmmetrics.event.InvalidEventException naming the attribute and the problem when refused
     */
    public synchronized InFlightCall attribute(String key, String value) {
        Event.requireAttributeFits(attributes, key, value);
        attributes.put(key, value);
        return this;
    }

    /**
     * Notes that the first token (or chunk) of a streamed response arrived; call it on every chunk if that
     * is simpler, only the first call counts. Publishes nothing: the time to first token goes out with the
     * COMPLETED event.
     *
     * @return {@code true} if this was the first call
     */
    public boolean firstToken() {
        return firstTokenMs.get() == NO_FIRST_TOKEN && firstTokenMs.compareAndSet(NO_FIRST_TOKEN, elapsedMs());
    }

    /**
     * Publishes the COMPLETED event with {@code usage}, the measured duration and, if {@link #firstToken()}
     * was called, the time to first token. {@link Usage#NONE} (or a usage without token counts) records a
     * response that reported no usage: its tokens are absent, not zero.
     *
     * @return {@code true} if this call finished the request, {@code false} if it was already finished
     */
    public boolean complete(Usage usage) {
        Objects.requireNonNull(usage, "usage");
        if (finished.get()) {
            return false;
        }
        long durationMs = elapsedMs();
        long firstMs = firstTokenMs.get();
        LlmRequestCompleted.Builder completed = LlmRequestCompleted.builder(sessionId, model)
                .durationMs(durationMs)
                .hasToolCalls(usage.hasToolCalls())
                .cachedTokens(usage.cachedTokens())
                .reasoningTokens(usage.reasoningTokens())
                .cacheWriteTokens(usage.cacheWriteTokens())
                .costUsd(usage.costUsd())
                .responseModel(usage.responseModel())
                .timeToFirstTokenMs(firstMs == NO_FIRST_TOKEN ? null : Math.min(firstMs, durationMs))
                .correlationId(correlationId)
                .provider(provider)
                .attributes(attributes);
        if (usage.hasUsage()) {
            completed.promptTokens(usage.promptTokens())
                    .completionTokens(usage.completionTokens())
                    .totalTokens(usage.totalTokens());
        }
        return finish(completed.build());
    }

    /**
     * Publishes the FAILED event of {@code error}: its class and message, the {@link ErrorType} and HTTP
     * status {@link Failure#of(Throwable)} reads from it, and the measured duration.
     *
     * @return {@code true} if this call finished the request, {@code false} if it was already finished
     */
    public boolean fail(Throwable error) {
        return fail(Failure.of(error));
    }

    /**
     * Publishes the FAILED event with {@code error} as its text, of unknown type, and the measured duration. The
     * text is made to fit the event as {@link Failure#errorText} does (an upstream's error body may hold carriage
     * returns or run past {@link dev.llmmetrics.event.LlmRequestFailed#MAX_ERROR_LENGTH} characters).
     *
     * @return {@code true} if this call finished the request, {@code false} if it was already finished
     */
    public boolean fail(String error) {
        return fail(new Failure(Failure.errorText(Objects.requireNonNull(error, "error")), null, null));
    }

    /**
     * Publishes the FAILED event of {@code failure} with the measured duration.
     *
     * @return {@code true} if this call finished the request, {@code false} if it was already finished
     */
    public boolean fail(Failure failure) {
        Objects.requireNonNull(failure, "failure");
        if (finished.get()) {
            return false;
        }
        return finish(LlmRequestFailed.builder(sessionId, model)
                .error(failure.error())
                .errorType(failure.type())
                .httpStatus(failure.httpStatus())
                .durationMs(elapsedMs())
                .correlationId(correlationId)
                .provider(provider)
                .attributes(attributes)
                .build());
    }

    /**
     * Publishes {@code end} if no other end was published first. The event is built (and so checked) before the
     * call counts as finished: an end the event refuses throws and leaves the call in flight, to be completed or
     * failed again, rather than finished with nothing published and counted in flight for ever.
     */
    private boolean finish(Event end) {
        if (!finished.compareAndSet(false, true)) {
            return false;
        }
        Publishing.publish(bus, end);
        return true;
    }

    /**
     * The time since the start, at most {@link Event#MAX_DURATION_MS}: the events take no longer duration, and a
     * call held open longer (a handle finished a day later) is still recorded, with that bound as its duration.
     */
    private long elapsedMs() {
        return Math.min(Event.MAX_DURATION_MS,
                TimeUnit.NANOSECONDS.toMillis(Math.max(0L, nanoTime.getAsLong() - startNanos)));
    }
}
