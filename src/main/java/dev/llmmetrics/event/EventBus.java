package dev.llmmetrics.event;

import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * In-process publish/subscribe of {@link Event}s by type name.
 *
 * <p>A bus may have a {@link Recorder}, the record of truth (the session store): an event is recorded first,
 * and reaches the listeners only once recorded, so that every listener sees exactly what the record holds; a
 * repeated event id is recorded once and delivered once, and a recording failure reaches the publisher, with
 * nothing delivered, as a {@link RecordingFailedException} whatever the recorder threw. Dispatch happens on the publisher's thread, in subscription order: there is no queue
 * that could overflow, and when {@link #publish(Event)} returns every listener has seen the event. A listener that
 * throws is isolated: the exception is logged (at most once a second per listener), counted in
 * {@link #stats()}, and neither the publisher nor the other listeners notice it.
 *
 * <p>The bus is thread-safe. Publishing takes no lock and allocates nothing once a type has been seen;
 * subscribing and unsubscribing copy the listener array of one type and may happen at any time.
 * The number of distinct type names is bounded ({@link #DEFAULT_MAX_TYPES} by default), so that a
 * producer inventing type names cannot grow the bus without limit; a type's slot is given back once it has
 * no listener and no event for the type idle timeout ({@link #DEFAULT_TYPE_IDLE_TIMEOUT} unless set; within twice
 * that), when a new type needs it.
 */
public final class EventBus {

    /** The default bound on distinct event type names. */
    public static final int DEFAULT_MAX_TYPES = 1_000;

    /** How long a type without listeners may see no event before its slot can go to a new type, unless set. */
    public static final Duration DEFAULT_TYPE_IDLE_TIMEOUT = Duration.ofHours(1);

    private static final long SWEEP_INTERVAL_MS = 1_000;
    private static final Logger LOG = System.getLogger(EventBus.class.getName());
    private static final long FAILURE_LOG_INTERVAL_NANOS = Duration.ofSeconds(1).toNanos();
    private static final Registration[] NONE = new Registration[0];

    private final ConcurrentHashMap<String, Channel> channels = new ConcurrentHashMap<>();
    /** Held while a new type name gets its channel, so that the bound on type names is never exceeded. */
    private final Object newTypes = new Object();
    /** Events of the types whose slots were given back, so that the total since start never goes down. */
    private final LongAdder freedTypesPublished = new LongAdder();
    /** When {@link #freeIdleSlots()} last looked, so that a flood of new types pays for one look a second. */
    private long lastSweepMs = Long.MIN_VALUE / 2;
    private final Channel allTypes = new Channel("*", 0);
    private final int maxTypes;
    private final InstantSource clock;
    private final Instant startedAt;
    private final @Nullable Recorder recorder;
    private final long typeIdleTimeoutMs;
    /** The LLM types' channels, which are never given back: publishing one of them looks up nothing. */
    private final Channel started;
    private final Channel completed;
    private final Channel failed;
    private final Channel scored;

    /** A bus with the default bound on type names. */
    public EventBus() {
        this(DEFAULT_MAX_TYPES, InstantSource.system());
    }

    /**
     * A bus accepting at most {@code maxTypes} distinct type names.
     *
     * @param maxTypes the bound on distinct type names; positive
     * @param clock    the clock used for the start time and uptime
     */
    public EventBus(int maxTypes, InstantSource clock) {
        this(maxTypes, clock, null);
    }

    /**
     * A bus accepting at most {@code maxTypes} distinct type names, whose events are recorded by
     * {@code recorder} before they reach the listeners.
     *
     * @param maxTypes the bound on distinct type names; positive
     * @param clock    the clock used for the start time and uptime
     * @param recorder the record of truth, or {@code null} for none
     */
    public EventBus(int maxTypes, InstantSource clock, @Nullable Recorder recorder) {
        this(maxTypes, DEFAULT_TYPE_IDLE_TIMEOUT, clock, recorder);
    }

    /**
     * A bus as {@link #EventBus(int, InstantSource, Recorder)}, whose idle types give their slots back after
     * {@code typeIdleTimeout}.
     */
    public EventBus(int maxTypes, Duration typeIdleTimeout, InstantSource clock, @Nullable Recorder recorder) {
        if (typeIdleTimeout.isNegative() || typeIdleTimeout.isZero()) {
            throw new IllegalArgumentException("typeIdleTimeout must be positive, was " + typeIdleTimeout);
        }
        this.typeIdleTimeoutMs = typeIdleTimeout.toMillis();
        if (maxTypes < 1) {
            throw new IllegalArgumentException("maxTypes must be positive, was " + maxTypes);
        }
        this.maxTypes = maxTypes;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.startedAt = clock.instant();
        this.recorder = recorder;
        started = permanent(EventTypes.LLM_REQUEST_STARTED);
        completed = permanent(EventTypes.LLM_REQUEST_COMPLETED);
        failed = permanent(EventTypes.LLM_REQUEST_FAILED);
        scored = permanent(EventTypes.LLM_REQUEST_SCORED);
    }

    private Channel permanent(String type) {
        Channel channel = new Channel(type, startedAt.toEpochMilli());
        channels.put(type, channel);
        return channel;
    }

    /**
     * Subscribes {@code listener} to events of one type.
     *
     * @return the subscription; close it to unsubscribe
     * @throws IllegalArgumentException if {@code type} is not a valid type name
     * @throws IllegalStateException    if the bound on distinct type names is reached
     */
    public Subscription subscribe(String type, EventListener listener) {
        if (!EventTypes.isValidTypeName(type)) {
            throw new IllegalArgumentException("not a valid event type name: " + type);
        }
        synchronized (newTypes) {
            return channel(type).add(listener); // a channel getting its first listener is never freed meanwhile
        }
    }

    /** Subscribes {@code listener} to events of every type. */
    public Subscription subscribeToAll(EventListener listener) {
        return allTypes.add(listener);
    }

    /**
     * Records {@code event}, then delivers it to the listeners of its type and to the listeners of every type;
     * a repeat of a recorded event id is neither recorded nor delivered again.
     *
     * @return whether the event was recorded and delivered, {@code false} for a repeat
     * @throws IllegalStateException    if the event's type is new and the bound on distinct type names is reached
     * @throws RecordingFailedException if the recorder could not record it or threw any other exception (its
     *                                  cause); then it was not delivered
     */
    public boolean publish(Event event) {
        Channel channel = channelOf(Objects.requireNonNull(event, "event"));
        if (recorder != null && !recorded(recorder, event)) {
            return false;
        }
        deliver(channel, event);
        return true;
    }

    /**
     * Records {@code events} all or none, then delivers each recorded one as {@link #publish(Event)} does.
     * Reserve their types first ({@link #reserve(Collection)}) to be sure none is refused for want of room.
     *
     * @return the events recorded and delivered, in order: all but the repeats of recorded event ids
     * @throws IllegalStateException    if a type is new and the bound on distinct type names is reached
     * @throws RecordingFailedException if the recorder could not record them or threw any other exception (its
     *                                  cause); then none was delivered
     */
    public List<Event> publishAll(List<? extends Event> events) {
        int index = 0;
        for (Event event : Objects.requireNonNull(events, "events")) {
            if (event == null) {
                throw new NullPointerException("events[" + index + "]");
            }
            index++;
        }
        Map<String, Channel> channelsOfBatch = new HashMap<>();
        for (Event event : events) {
            channelsOfBatch.computeIfAbsent(event.type(), type -> channelOf(event));
        }
        List<Event> recorded;
        try {
            recorded = recorder != null ? recorder.record(events) : List.copyOf(events);
        } catch (RecordingFailedException failed) {
            throw failed;
        } catch (RuntimeException failed) {
            throw recordingFailed(failed);
        }
        for (Event event : recorded) {
            deliver(channelsOfBatch.get(event.type()), event);
        }
        return recorded;
    }

    /** {@code recorder.record(event)}, any other exception of the recorder being a {@link RecordingFailedException}. */
    private static boolean recorded(Recorder recorder, Event event) {
        try {
            return recorder.record(event);
        } catch (RecordingFailedException failed) {
            throw failed;
        } catch (RuntimeException failed) {
            throw recordingFailed(failed);
        }
    }

    /**
     * A recorder's exception other than {@link RecordingFailedException}, as the publisher gets it: a recording
     * failure, so that it cannot be taken for the bus's own {@link IllegalStateException} (too many types).
     */
    private static RecordingFailedException recordingFailed(RuntimeException failure) {
        return new RecordingFailedException("the event could not be recorded", failure);
    }

    private void deliver(Channel channel, Event event) {
        channel.published.increment();
        deliver(channel.listeners, event, channel);
        deliver(allTypes.listeners, event, channel);
    }

    /** Whether an event of {@code type} can be published without exceeding the bound on type names. */
    public boolean accepts(String type) {
        if (channels.containsKey(type) || channels.size() < maxTypes) {
            return true;
        }
        synchronized (newTypes) {
            return channels.size() < maxTypes || freeIdleSlots() > 0;
        }
    }

    /**
     * Makes sure every type name of {@code types} has its channel, all or none: returns {@code true} when
     * they all exist afterwards, {@code false} (creating none) when the new ones would exceed the bound on
     * distinct type names. A publisher that must publish a batch entirely or not at all calls it first:
     * publishing events of these types then cannot fail for want of room.
     *
     * @throws IllegalArgumentException if a name is not a valid type name
     */
    public boolean reserve(Collection<String> types) {
        Set<String> missing = new LinkedHashSet<>();
        for (String type : types) {
            if (!EventTypes.isValidTypeName(type)) {
                throw new IllegalArgumentException("not a valid event type name: " + type);
            }
            if (!channels.containsKey(type)) {
                missing.add(type);
            }
        }
        if (missing.isEmpty()) {
            return true;
        }
        synchronized (newTypes) {
            missing.removeIf(channels::containsKey);
            if (channels.size() + missing.size() > maxTypes) {
                freeIdleSlots();
                if (channels.size() + missing.size() > maxTypes) {
                    return false;
                }
            }
            long now = clock.millis();
            for (String type : missing) {
                channels.computeIfAbsent(type, t -> new Channel(t, now));
            }
            return true;
        }
    }

    /** A snapshot of the bus's counters. */
    public EventBusStats stats() {
        Map<String, Long> published = new TreeMap<>();
        Map<String, Integer> listeners = new TreeMap<>();
        Map<String, Long> failures = new TreeMap<>();
        long publishedTotal = freedTypesPublished.sum();
        long failuresTotal = 0;
        for (Channel c : channels.values()) {
            long p = c.published.sum();
            long f = c.failures.sum();
            published.put(c.type, p);
            listeners.put(c.type, c.listeners.length);
            if (f > 0) {
                failures.put(c.type, f);
            }
            publishedTotal += p;
            failuresTotal += f;
        }
        Instant now = clock.instant();
        return new EventBusStats(publishedTotal, published, listeners, allTypes.listeners.length,
                failuresTotal, failures, startedAt, Duration.between(startedAt, now));
    }

    /** The channel of {@code event}'s type, made if the type is new. */
    private Channel channelOf(Event event) {
        if (event instanceof LlmRequestCompleted) {
            return completed;
        }
        if (event instanceof LlmRequestStarted) {
            return started;
        }
        if (event instanceof LlmRequestFailed) {
            return failed;
        }
        if (event instanceof LlmRequestScored) {
            return scored;
        }
        return channel(event.type());
    }

    private Channel channel(String type) {
        Channel channel = channels.get(type);
        if (channel != null) {
            return channel;
        }
        synchronized (newTypes) {
            channel = channels.get(type);
            if (channel != null) {
                return channel;
            }
            if (channels.size() >= maxTypes && freeIdleSlots() == 0) {
                throw new IllegalStateException("too many distinct event types (limit " + maxTypes + "); not accepting " + type);
            }
            channel = new Channel(type, clock.millis());
            channels.put(type, channel);
            return channel;
        }
    }

    /**
     * Gives back the slots of the types that have no listener and saw no event for the idle timeout; the LLM
     * types always keep theirs. Called with {@link #newTypes} held, only when a new type finds the bound
     * reached. A channel's events are read from its counter, so publishing pays nothing for this.
     *
     * @return how many slots were freed
     */
    private int freeIdleSlots() {
        long now = clock.millis();
        if (now - lastSweepMs < SWEEP_INTERVAL_MS) {
            return 0;
        }
        lastSweepMs = now;
        int freed = 0;
        for (Channel c : channels.values()) {
            if (c.listeners.length > 0 || EventTypes.isLlmRequestType(c.type)) {
                continue;
            }
            long published = c.published.sum();
            if (published != c.publishedWhenSeen) {
                c.publishedWhenSeen = published;
                c.seenChangingAtMs = now;
            } else if (now - c.seenChangingAtMs >= typeIdleTimeoutMs && channels.remove(c.type, c)) {
                freedTypesPublished.add(published);
                freed++;
            }
        }
        return freed;
    }

    private static void deliver(Registration[] registrations, Event event, Channel channel) {
        for (Registration r : registrations) {
            try {
                r.listener.onEvent(event);
            } catch (VirtualMachineError fatal) {
                throw fatal;
            } catch (Throwable failure) {
                channel.failures.increment();
                r.failed(event, failure);
            }
        }
    }

    /** The listeners and counters of one type name. */
    private static final class Channel {
        final String type;
        final LongAdder published = new LongAdder();
        final LongAdder failures = new LongAdder();
        volatile Registration[] listeners = NONE;
        /** The event count when {@link #freeIdleSlots()} last saw it change, and when; guarded by {@code newTypes}. */
        long publishedWhenSeen;
        long seenChangingAtMs;

        Channel(String type, long nowMs) {
            this.type = type;
            this.seenChangingAtMs = nowMs;
        }

        Registration add(EventListener listener) {
            Registration registration = new Registration(this, Objects.requireNonNull(listener, "listener"));
            synchronized (this) {
                Registration[] current = listeners;
                Registration[] next = Arrays.copyOf(current, current.length + 1);
                next[current.length] = registration;
                listeners = next;
            }
            return registration;
        }

        synchronized void remove(Registration registration) {
            Registration[] current = listeners;
            for (int i = 0; i < current.length; i++) {
                if (current[i] == registration) {
                    Registration[] next = new Registration[current.length - 1];
                    System.arraycopy(current, 0, next, 0, i);
                    System.arraycopy(current, i + 1, next, i, current.length - i - 1);
                    listeners = next;
                    return;
                }
            }
        }
    }

    /** One listener on one channel. */
    private static final class Registration implements Subscription {
        final Channel channel;
        final EventListener listener;
        final AtomicBoolean closed = new AtomicBoolean();
        final AtomicLong lastLoggedNanos = new AtomicLong(System.nanoTime() - FAILURE_LOG_INTERVAL_NANOS);
        final LongAdder unlogged = new LongAdder();

        Registration(Channel channel, EventListener listener) {
            this.channel = channel;
            this.listener = listener;
        }

        /**
         * Logs the listener's failure, at most once a second. The listener is named by its {@code toString()}, else
         * by its class, and a log line that cannot be written is given up: reporting a listener's fault must not
         * become a fault of the publisher's, nor keep the event from the listeners after it.
         */
        void failed(Event event, Throwable failure) {
            long now = System.nanoTime();
            long last = lastLoggedNanos.get();
            if (now - last >= FAILURE_LOG_INTERVAL_NANOS && lastLoggedNanos.compareAndSet(last, now)) {
                long suppressed = unlogged.sumThenReset();
                String name = name(listener);
                try {
                    LOG.log(Level.WARNING, () -> "Listener " + name + " failed on a " + event.type() + " event"
                            + (suppressed > 0 ? " (" + suppressed + " more failures since the last report)" : ""),
                            failure);
                } catch (RuntimeException unwritable) {
                    // the failure's own methods threw as the logger read them: the count in stats() remains
                }
            } else {
                unlogged.increment();
            }
        }

        private static String name(EventListener listener) {
            try {
                return String.valueOf(listener);
            } catch (RuntimeException e) {
                return listener.getClass().getName();
            }
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                channel.remove(this);
            }
        }
    }
}
