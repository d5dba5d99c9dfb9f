package dev.llmmetrics.track;

import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.LlmRequestStarted;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Publishes the STARTED, COMPLETED and FAILED events around LLM calls.
 *
 * <pre>{@code
 * ChatResponse response = tracker.call(sessionId, "gpt-4o").messages(messages.size()).tools(tools.size())
 *         .track(() -> client.chat(request),
 *                r -> Usage.of(r.usage().promptTokens(), r.usage().completionTokens(), r.hasToolCalls()));
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
     * A call that {@code sessionId} is about to make to {@code model}, to {@linkplain Call#track track} or
     * {@linkplain Call#start start}: no messages, no tools and a new correlation id unless set.
     */
    public Call call(String sessionId, String model) {
        return new Call(sessionId, model);
    }

    /** A reading of the monotonic clock this tracker times calls with, in nanoseconds, for {@link Call#startedAt}. */
    public long nanoTime() {
        return nanoTime.getAsLong();
    }

    /**
     * An LLM call about to be made: who makes it, to which model, with how many messages and tools. The
     * STARTED event validates it when {@link #track} or {@link #start()} publishes it. Not thread-safe;
     * describe each call afresh.
     */
    public final class Call {
        private final String sessionId;
        private final String model;
        private int messages;
        private int tools;
        private @Nullable String correlationId;
        private @Nullable Long startedAtNanos;
        private @Nullable String provider;
        private Map<String, String> attributes = Map.of();

        private Call(String sessionId, String model) {
            this.sessionId = sessionId;
            this.model = model;
        }

        /** Messages in the request; 0 unless set. */
        public Call messages(int messages) {
            this.messages = messages;
            return this;
        }

        /** Tools offered to the model; 0 unless set. */
        public Call tools(int tools) {
            this.tools = tools;
            return this;
        }

        /** The correlation id the call's events share; a new random one unless set. */
        public Call correlationId(String correlationId) {
            this.correlationId = Objects.requireNonNull(correlationId, "correlationId");
            return this;
        }

        /**
         * When the call began, as a {@linkplain CallTracker#nanoTime() reading of the tracker's clock}, for a
         * caller that can describe the call only once it is under way (a proxy that learns the model from the
         * response); the duration and the time to first token count from it. Unless set, the call begins
         * when {@link #start()} has published the STARTED event.
         */
        public Call startedAt(long nanoTime) {
            this.startedAtNanos = nanoTime;
            return this;
        }

        /**
         * Who serves the model, as the GenAI conventions name providers ({@code openai}, {@code anthropic},
         * {@code aws.bedrock}); every event of the call carries it. None unless set.
         */
        public Call provider(@Nullable String provider) {
            this.provider = provider;
            return this;
        }

        /**
         * Free-form string attributes of the call (a feature, a prompt version …), carried by all its events
         * and kept with its record; at most {@link dev.llmmetrics.event.Event#MAX_ATTRIBUTES}. None unless set.
         * Copied as they are: the STARTED event checks them and names what it refuses.
         */
        public Call attributes(Map<String, String> attributes) {
            this.attributes = new HashMap<>(Objects.requireNonNull(attributes, "attributes"));
            return this;
        }

        /**
         * Runs {@code call} between a STARTED event and a COMPLETED or FAILED one.
         *
         * <p>On success the COMPLETED event carries the usage {@code usageOf} reads from the response; if
         * {@code usageOf} throws or returns {@code null}, the call still counts as completed, with no usage,
         * and a warning is logged when it threw. On failure the FAILED event carries the exception's class and
         * message, the error type and HTTP status {@link Failure#of(Throwable)} reads from it, and the measured
         * duration, and the exception is rethrown unchanged.
         *
         * @param call    the LLM call
         * @param usageOf reads the usage from the response
         * @return the call's response
         * @throws X whatever {@code call} throws
         * @throws dev.llmmetrics.event.InvalidEventException if the STARTED event refuses the session id,
         *         model, provider, counts or attributes; {@code call} is not made then
         */
        public <R extends @Nullable Object, X extends Throwable> R track(
                LlmCall<R, X> call, Function<? super R, ? extends @Nullable Usage> usageOf) throws X {
            Objects.requireNonNull(call, "call");
            Objects.requireNonNull(usageOf, "usageOf");
            InFlightCall inFlight = start();
            R response;
            try {
                response = call.call();
            } catch (Throwable failure) {
                try {
                    inFlight.fail(failure);
                } catch (RuntimeException unreadable) {
                    // The call's exception could not be read (a getCause() or getMessage() that throws): it
                    // still reaches the caller unchanged, this fault with it, never in its place.
                    inFlight.fail(new Failure(failure.getClass().getName(), null, null));
                    if (unreadable != failure) {
                        failure.addSuppressed(unreadable);
                    }
                }
                throw failure;
            }
            inFlight.complete(usageOf(response, usageOf, sessionId));
            return response;
        }

        /**
         * Publishes the STARTED event and returns the handle that finishes the call: for streaming calls,
         * whose usage arrives at the end.
         *
         * @throws dev.llmmetrics.event.InvalidEventException if the STARTED event refuses the session id,
         *         model, provider, counts or attributes
         */
        public InFlightCall start() {
            String id = correlationId != null ? correlationId : newCorrelationId();
            LlmRequestStarted started = LlmRequestStarted.builder(sessionId, model)
                    .messagesCount(messages).toolsCount(tools).correlationId(id).provider(provider)
                    .attributes(attributes).build();
            Publishing.publish(bus, started);
            // The clock starts once STARTED's listeners have run: their work is not the call's time.
            long startNanos = startedAtNanos != null ? startedAtNanos : nanoTime.getAsLong();
            return new InFlightCall(bus, nanoTime, started.sessionId(), started.model(), id, startNanos,
                    started.provider(), started.attributes());
        }
    }

    private static <R extends @Nullable Object> Usage usageOf(R response,
                                                              Function<? super R, ? extends @Nullable Usage> usageOf,
                                                              String sessionId) {
        try {
            @Nullable Usage usage = usageOf.apply(response);
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
