package dev.llmmetrics;

import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.EventTypes;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.event.RecordingFailedException;
import dev.llmmetrics.meter.LlmMeterBinder;
import dev.llmmetrics.session.InMemorySessionStore;
import dev.llmmetrics.session.SessionFigures;
import dev.llmmetrics.session.SessionStore;
import dev.llmmetrics.session.SessionStoreFactory;
import dev.llmmetrics.session.StoreUnavailableException;
import dev.llmmetrics.track.CallTracker;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * llm-metrics inside an application: the event bus, the call tracker, the session store that records every
 * event before the bus delivers it, and the meters on the application's {@link MeterRegistry}, a listener of
 * the bus. Both resolve model names through one {@link ModelCatalog}.
 *
 * <pre>{@code
 * LlmMetrics metrics = LlmMetrics.builder(registry).build();
 * String answer = metrics.tracker().call(sessionId, "gpt-4o").messages(messages.size())
 *         .track(() -> client.chat(messages), r -> Usage.of(r.promptTokens(), r.completionTokens(), false));
 * metrics.store().session(sessionId);   // the session's aggregates and recent requests
 * metrics.close();                      // on shutdown
 * }</pre>
 *
 * <p>A daemon thread evicts idle sessions, at a tenth of the idle timeout (at most once a minute). On a
 * Prometheus registry, add the per-session series with
 * {@code SessionSeries.of(metrics).register(registry)}
 * ({@code dev.llmmetrics.prometheus}); {@link #close()} takes them off the registry again.
 */
public final class LlmMetrics implements AutoCloseable {

    private static final Logger LOG = System.getLogger(LlmMetrics.class.getName());

    private final LlmMetricsConfig config;
    private final EventBus bus;
    private final SessionStore store;
    private final SessionFigures figures;
    private final LlmMeterBinder meters;
    private final CallTracker tracker;
    private final ScheduledExecutorService sweeper;
    /** What {@link #close()} closes before the store, such as the per-session series; guarded by itself. */
    private final Set<AutoCloseable> readers = Collections.newSetFromMap(new IdentityHashMap<>());
    /** Set by {@link #close()} under {@link #readers}; read by the sweeper too. */
    private volatile boolean closed;
    /** Whether the last idle sweep failed; only the sweeper's one thread reads and writes it. */
    private boolean sweepFailing;

    private LlmMetrics(Builder builder) {
        this.config = builder.config;
        ModelCatalog catalog = new ModelCatalog(builder.prices, config.maxModels());
        this.store = builder.storeFactory.create(new SessionStoreFactory.Parameters(config.maxSessions(),
                config.maxRecordsPerSession(), config.maxModelsPerSession(), config.maxStoreBytes(),
                config.sessionIdleTimeout(), builder.dedupeWindow, builder.dedupeMaxIds, builder.clock, catalog));
        if (!(store instanceof SessionFigures storeFigures)) {
            closeStore(store);
            throw new IllegalArgumentException("the session store must also be this process's SessionFigures: "
                    + store.getClass().getName());
        }
        this.figures = storeFigures;
        this.bus = new EventBus(config.maxEventTypes(), config.eventTypeIdleTimeout(), builder.clock, store);
        this.meters = LlmMeterBinder.builder().catalog(catalog).store(store)
                .semanticConventions(builder.semanticConventions).genAiMaxHistograms(builder.genAiMaxHistograms)
                .defaultProvider(builder.defaultProvider).build();
        try {
            meters.bindTo(builder.registry);
        } catch (RuntimeException e) {
            closeStore(store);
            throw e;
        }
        for (String type : List.of(EventTypes.LLM_REQUEST_STARTED, EventTypes.LLM_REQUEST_COMPLETED,
                EventTypes.LLM_REQUEST_FAILED, EventTypes.LLM_REQUEST_SCORED)) {
            bus.subscribe(type, meters);
        }
        this.tracker = new CallTracker(bus);
        this.sweeper = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform()
                .name("llm-metrics-idle-sweeper").daemon(true).factory());
        long periodMs = Math.clamp(config.sessionIdleTimeout().toMillis() / 10, 10L, Duration.ofMinutes(1).toMillis());
        sweeper.scheduleWithFixedDelay(this::evictIdleSessions, periodMs, periodMs, TimeUnit.MILLISECONDS);
    }

    /**
     * A builder recording into {@code registry}, which takes one {@code LlmMetrics} at a time: {@link Builder#build()}
     * refuses a registry holding the meters of another that is not {@linkplain #close() closed}, and a composite
     * registry over one.
     */
    public static Builder builder(MeterRegistry registry) {
        return new Builder(registry);
    }

    /** The configuration in force. */
    public LlmMetricsConfig config() {
        return config;
    }

    /** The event bus: publish events here, or subscribe listeners of your own. */
    public EventBus bus() {
        return bus;
    }

    /** The call tracker publishing on {@link #bus()}. */
    public CallTracker tracker() {
        return tracker;
    }

    /** The session store: every session's aggregates and recent requests. */
    public SessionStore store() {
        return store;
    }

    /** This process's per-session figures, which the per-session series read. */
    public SessionFigures sessionFigures() {
        return figures;
    }

    /**
     * Publishes a score of a call or a session, such as a user's feedback or a judge's grade: the store ties it
     * to the call's record by its correlation id, the meters count it under the call's model.
     *
     * <pre>{@code
     * metrics.score(LlmRequestScored.builder(sessionId, "helpfulness", 0.8).correlationId(call.correlationId())
     *         .comment("judge: cites the right document").build());
     * }</pre>
     *
     * @return whether it was recorded, {@code false} for a repeat of a recorded event id
     * @throws dev.llmmetrics.event.RecordingFailedException when the store could not record it
     */
    public boolean score(LlmRequestScored score) {
        return bus.publish(score);
    }

    /**
     * Publishes the score {@code name} = {@code value} of the call {@code correlationId} of a session, or of
     * the session as a whole when {@code correlationId} is {@code null}; see {@link #score(LlmRequestScored)}.
     *
     * @throws dev.llmmetrics.event.InvalidEventException when a value is not valid
     */
    public boolean score(String sessionId, @Nullable String correlationId, String name, double value) {
        return score(LlmRequestScored.builder(sessionId, name, value).correlationId(correlationId).build());
    }

    /** The per-model meters. */
    public LlmMeterBinder meters() {
        return meters;
    }

    /**
     * Has {@link #close()} close {@code reader}, something that shows what this instance records on a registry, so
     * that it leaves with this instance as the gauges that read it do. {@code SessionSeries.register} adds the
     * per-session series of {@code SessionSeries.of(metrics)} here, and their {@code close()} removes them.
     * A reader added twice is closed once.
     *
     * @throws IllegalStateException when this is closed: the reader would show what this no longer records
     */
    public void addReader(AutoCloseable reader) {
        Objects.requireNonNull(reader, "reader");
        synchronized (readers) {
            if (closed) {
                throw new IllegalStateException("this LlmMetrics is closed; what reads it would show sessions it no "
                        + "longer records");
            }
            readers.add(reader);
        }
    }

    /** Has {@link #close()} no longer close {@code reader}, closed by its owner; nothing when not added. */
    public void removeReader(AutoCloseable reader) {
        synchronized (readers) {
            readers.remove(reader);
        }
    }

    /**
     * Stops the idle sweeper, closes the {@linkplain #addReader readers} (the per-session series leave the registry),
     * then the store and then the meters. From then on an event published on
     * {@link #bus()} fails with {@link dev.llmmetrics.event.RecordingFailedException} and reaches no listener (the
     * {@link #tracker()} drops and counts it, and the call it measures goes on), so the store and the meters keep
     * agreeing. The counters and histograms stay in the registry with what they counted; the gauges and counters
     * that read this instance (sessions, evictions, requests in flight) leave it, so that another
     * {@code LlmMetrics} can be built on the registry. Closing again does nothing.
     */
    @Override
    public void close() {
        List<AutoCloseable> toClose;
        synchronized (readers) {
            closed = true; // first: a sweep running on finds the store closing, and knows why
            toClose = List.copyOf(readers);
            readers.clear();
        }
        sweeper.shutdownNow();
        for (AutoCloseable reader : toClose) { // outside the lock: a reader's close may call removeReader
            try {
                reader.close();
            } catch (Exception e) {
                LOG.log(Level.WARNING, "Closing " + reader + " failed", e);
            }
        }
        closeStore(store);
        meters.close();
    }

    private static void closeStore(SessionStore store) {
        try {
            store.close();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Closing the session store failed", e);
        }
    }

    /**
     * One idle sweep. A store that cannot be written fails every sweep until it can (and says why itself, on its
     * readiness and in its log), so a failure is logged once, with its cause, until a sweep succeeds again. A sweep
     * that {@link #close()} cuts short, the store closed under it, is no failure: logged at DEBUG only.
     */
    private void evictIdleSessions() {
        try {
            store.evictIdle();
            if (sweepFailing) {
                sweepFailing = false;
                LOG.log(Level.INFO, "Idle session sweep succeeded again");
            }
        } catch (RuntimeException e) {
            if (closed) {
                LOG.log(Level.DEBUG, "Idle session sweep cut short by close", e); // no outage: the store was closed under it
            } else if (sweepFailing) {
                LOG.log(Level.DEBUG, "Idle session sweep failed again", e);
            } else if (e instanceof RecordingFailedException || e instanceof StoreUnavailableException) {
                // The store's storage failed (a disk full, a file removed, Redis down), an operator's to mend and
                // said by the store itself: one line with its cause, the trace only at DEBUG.
                sweepFailing = true;
                LOG.log(Level.WARNING, "Idle session sweep failed (" + e.getMessage() + "); trying again each period,"
                        + " not logged again until a sweep succeeds");
                LOG.log(Level.DEBUG, "Idle session sweep failed", e);
            } else {
                sweepFailing = true; // a bug: its trace is wanted
                LOG.log(Level.WARNING, "Idle session sweep failed; trying again each period, not logged again until"
                        + " a sweep succeeds", e);
            }
        }
    }

    /** Builds {@link LlmMetrics}. */
    public static final class Builder {
        private final MeterRegistry registry;
        private LlmMetricsConfig config = LlmMetricsConfig.DEFAULTS;
        private InstantSource clock = InstantSource.system();
        private PriceTable prices = PriceTable.EMPTY;
        private boolean semanticConventions;
        private int genAiMaxHistograms = LlmMeterBinder.DEFAULT_GENAI_MAX_HISTOGRAMS;
        private @Nullable String defaultProvider;
        private Duration dedupeWindow = InMemorySessionStore.DEFAULT_DEDUPE_WINDOW;
        private int dedupeMaxIds = InMemorySessionStore.DEFAULT_DEDUPE_MAX_IDS;
        private SessionStoreFactory storeFactory = InMemorySessionStore.factory();

        private Builder(MeterRegistry registry) {
            this.registry = Objects.requireNonNull(registry, "registry");
        }

        /** The bounds; {@link LlmMetricsConfig#DEFAULTS} unless set. */
        public Builder config(LlmMetricsConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        /**
         * What each model's tokens cost; {@link PriceTable#EMPTY} unless set, so that every request is counted
         * as unpriced. The store and the meters both cost with it.
         */
        public Builder prices(PriceTable prices) {
            this.prices = Objects.requireNonNull(prices, "prices");
            return this;
        }

        /**
         * Whether to register the OpenTelemetry GenAI semantic-convention instruments
         * ({@code gen_ai.client.operation.duration}, {@code gen_ai.client.token.usage} and the streaming ones)
         * beside llm-metrics' own meters; off unless set.
         */
        public Builder semanticConventions(boolean enabled) {
            this.semanticConventions = enabled;
            return this;
        }

        /**
         * Most GenAI histograms (an instrument's distinct set of attributes) over every model label, besides
         * one overflow histogram per instrument and kept attribute that the sets past it share, with model and
         * provider {@code _OTHER}; {@link LlmMeterBinder#DEFAULT_GENAI_MAX_HISTOGRAMS} unless set.
         *
         * @throws IllegalArgumentException when not positive
         */
        public Builder genAiMaxHistograms(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("genAiMaxHistograms must be positive, was " + max);
            }
            this.genAiMaxHistograms = max;
            return this;
        }

        /**
         * The {@code gen_ai.provider.name} of the GenAI instruments for events that name no provider, of models
         * the price table gives none, such as {@code openai}; {@code _OTHER} unless set.
         *
         * @throws dev.llmmetrics.event.InvalidEventException when not a provider name as events take it
         */
        public Builder defaultProvider(@Nullable String provider) {
            this.defaultProvider = provider == null ? null : Event.requireValidProvider(provider);
            return this;
        }

        /**
         * How long an applied event id is remembered, so that a producer's retry is applied once, and how
         * many ids at most; {@link InMemorySessionStore#DEFAULT_DEDUPE_WINDOW} and
         * {@link InMemorySessionStore#DEFAULT_DEDUPE_MAX_IDS} unless set.
         *
         * @throws IllegalArgumentException naming the argument when the window is under 1 ms or past
         *                                  {@link Long#MAX_VALUE} ms, or {@code maxIds} is not positive
         */
        public Builder dedupe(Duration window, int maxIds) {
            LlmMetricsConfig.inMillis("dedupe window", window);
            LlmMetricsConfig.positive("dedupe maxIds", maxIds);
            this.dedupeWindow = window;
            this.dedupeMaxIds = maxIds;
            return this;
        }

        /**
         * Makes the session store from this builder's bounds, catalog and clock; in memory
         * ({@link InMemorySessionStore#factory()}) unless set. A durable store, such as
         * {@code SqliteSessionStore.at(path)}, keeps the sessions across restarts.
         */
        public Builder store(SessionStoreFactory factory) {
            this.storeFactory = Objects.requireNonNull(factory, "factory");
            return this;
        }

        /** The wall clock that dates activity and uptime; {@link InstantSource#system()} unless set. */
        public Builder clock(InstantSource clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Wires everything and starts the idle sweeper.
         *
         * @throws IllegalStateException when the registry, or a registry a composite one passes its meters to, holds
         *                               the meters of another {@code LlmMetrics} not closed
         */
        public LlmMetrics build() {
            return new LlmMetrics(this);
        }
    }
}
