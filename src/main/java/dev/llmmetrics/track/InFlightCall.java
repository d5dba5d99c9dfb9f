package dev.llmmetrics.track;

import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

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
 * <p>Exactly one of {@link #complete(Usage)} and {@link #fail(Throwable)} takes effect; later calls do
 * nothing and return {@code false}. The duration is measured with a monotonic clock from the call's
 * beginning ({@link CallTracker.Call#start}, or {@link CallTracker.Call#startedAt}) to that first call, and
 * the time to first token from the beginning to the first {@link #firstToken()}; the COMPLETED event carries
 * both. Thread-safe.
 */
public final class InFlightCall {

    private final EventBus bus;
    private final LongSupplier nanoTime;
    private final String sessionId;
    private final String model;
    private final String correlationId;
    private final long startNanos;
    private final AtomicBoolean finished = new AtomicBoolean();
    /** Milliseconds from the start to the first token, {@link #NO_FIRST_TOKEN} until it comes. */
    private final AtomicLong firstTokenMs = new AtomicLong(NO_FIRST_TOKEN);

    private static final long NO_FIRST_TOKEN = -1;

    InFlightCall(EventBus bus, LongSupplier nanoTime, String sessionId, String model, String correlationId,
                 long startNanos) {
        this.bus = bus;
        this.nanoTime = nanoTime;
        this.sessionId = sessionId;
        this.model = model;
        this.correlationId = correlationId;
        this.startNanos = startNanos;
    }

    /** The correlation id shared by this call's events. */
    public String correlationId() {
        return correlationId;
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
     * was called, the time to first token.
     *
     * @return {@code true} if this call finished the request, {@code false} if it was already finished
     */
    public boolean complete(Usage usage) {
        Objects.requireNonNull(usage, "usage");
        if (!finished.compareAndSet(false, true)) {
            return false;
        }
        long durationMs = elapsedMs();
        long firstMs = firstTokenMs.get();
        Publishing.publish(bus, LlmRequestCompleted.builder(sessionId, model)
                .durationMs(durationMs)
                .promptTokens(usage.promptTokens())
                .completionTokens(usage.completionTokens())
                .totalTokens(usage.totalTokens())
                .hasToolCalls(usage.hasToolCalls())
                .cachedTokens(usage.cachedTokens())
                .reasoningTokens(usage.reasoningTokens())
                .timeToFirstTokenMs(firstMs == NO_FIRST_TOKEN ? null : Math.min(firstMs, durationMs))
                .correlationId(correlationId)
                .build());
        return true;
    }

    /**
     * Publishes the FAILED event with the error's class and message and the measured duration.
     *
     * @return {@code true} if this call finished the request, {@code false} if it was already finished
     */
    public boolean fail(Throwable error) {
        return fail(describe(error));
    }

    /**
     * Publishes the FAILED event with {@code error} and the measured duration.
     *
     * @return {@code true} if this call finished the request, {@code false} if it was already finished
     */
    public boolean fail(String error) {
        if (!finished.compareAndSet(false, true)) {
            return false;
        }
        Publishing.publish(bus, LlmRequestFailed.builder(sessionId, model)
                .error(error)
                .durationMs(elapsedMs())
                .correlationId(correlationId)
                .build());
        return true;
    }

    private long elapsedMs() {
        return TimeUnit.NANOSECONDS.toMillis(Math.max(0L, nanoTime.getAsLong() - startNanos));
    }

    /**
     * {@code Class: message}, cut to {@link LlmRequestFailed#MAX_ERROR_LENGTH} characters, with the
     * control characters and lone surrogates the event rejects replaced by spaces.
     */
    static String describe(Throwable error) {
        String message = error.getMessage();
        String name = error.getClass().getName();
        String text = message == null ? name : name + ": " + message;
        StringBuilder clean = new StringBuilder(Math.min(text.length(), LlmRequestFailed.MAX_ERROR_LENGTH));
        for (int i = 0; i < text.length(); ) {
            int codePoint = text.codePointAt(i);
            int width = Character.charCount(codePoint);
            if (clean.length() + width > LlmRequestFailed.MAX_ERROR_LENGTH) {
                break;
            }
            boolean rejected = (Character.isISOControl(codePoint) && codePoint != '\n' && codePoint != '\t')
                    || Character.getType(codePoint) == Character.SURROGATE;
            if (rejected) {
                clean.append(' ');
            } else {
                clean.appendCodePoint(codePoint);
            }
            i += width;
        }
        return clean.toString();
    }
}
