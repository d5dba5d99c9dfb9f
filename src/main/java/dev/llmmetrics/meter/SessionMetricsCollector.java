package dev.llmmetrics.meter;

import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.cost.PriceTable;
import static dev.llmmetrics.meter.MeterNames.*;

import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.EventListener;
import dev.llmmetrics.event.GenericEvent;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.session.EvictionReason;
import dev.llmmetrics.session.LeastRecentlyActive;
import dev.llmmetrics.session.SessionStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.time.InstantSource;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Updates the Micrometer meters and the {@link SessionStore} for every LLM request event.
 *
 * <p>Per model it keeps counters, a latency histogram, token histograms, message and tool summaries
 * and an in-flight gauge, and from their first use a cost counter (by the {@link PriceTable}), an unpriced
 * requests counter, cached and reasoning token counters and, for streamed requests, time-to-first-token
 * and time-per-output-token histograms; optionally the OpenTelemetry GenAI semantic-convention
 * instruments too. These are never removed. Per (session, model) it keeps bucket-less counters,
 * a timer and token summaries, for at most {@code maxMeteredSessions} sessions, the most recently
 * active: an id label is the classic way to overload a Prometheus server, so the scrape stays bounded
 * whatever the traffic, while the store keeps serving every session it holds. Meters are cached, so
 * recording an event for a known (session, model) goes through two map lookups and the meters
 * themselves, never through a builder.
 *
 * <p>Use: {@link #bindTo(MeterRegistry)} once, then subscribe the collector to
 * {@code LLM_REQUEST_STARTED}, {@code LLM_REQUEST_COMPLETED} and {@code LLM_REQUEST_FAILED}.
 *
 * <p>The request log lines go to the logger {@value #REQUEST_LOGGER} at INFO; turning it down costs
 * nothing on the hot path.
 */
public final class SessionMetricsCollector implements MeterBinder, EventListener {

    /** The logger of the per-request INFO lines. */
    public static final String REQUEST_LOGGER = "dev.llmmetrics.requests";

    private static final Logger REQUEST_LOG = System.getLogger(REQUEST_LOGGER);

    private final SessionStore store;
    private final InstantSource clock;
    private final PriceTable prices;
    private final boolean semanticConventions;
    private final int maxMeteredSessions;
    private final int maxModels;
    private final int meterEvictionBatch;
    private final ConcurrentHashMap<String, ModelMeters> models = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, SessionMeters> sessions = new ConcurrentHashMap<>();
    private final AtomicBoolean evicting = new AtomicBoolean();
    private final SessionSeries sessionSeries = new SessionSeries(sessions::values);
    private volatile MeterRegistry registry;
    /**
     * Where per-session function meters go: {@code null} on a Prometheus registry, whose scrape
     * {@link SessionSeries} writes the per-session series into instead.
     */
    private MeterRegistry functionRegistry;
    private Counter evictedForCapacity;
    private Counter evictedForIdleness;

    /**
     * A collector writing to {@code store}.
     *
     * @param store              the session store to update; its evictions remove the session's meters
     * @param maxMeteredSessions most sessions with per-session meters; positive
     * @param maxModels          most distinct model labels on per-model meters; later models share the
     *                           label {@code _other}; positive
     * @param clock              dates each session's activity, to keep the most recently active metered
     */
    public SessionMetricsCollector(SessionStore store, int maxMeteredSessions, int maxModels, InstantSource clock) {
        this(store, maxMeteredSessions, maxModels, clock, PriceTable.EMPTY, false);
    }

    /**
     * A collector writing to {@code store}, costing requests with {@code prices}.
     *
     * @param store               the session store to update; its evictions remove the session's meters
     * @param maxMeteredSessions  most sessions with per-session meters; positive
     * @param maxModels           most distinct model labels on per-model meters; later models share the
     *                            label {@code _other}; positive
     * @param clock               dates each session's activity, to keep the most recently active metered
     * @param prices              what each model's tokens cost; give the store the same table
     * @param semanticConventions whether to register the OpenTelemetry GenAI semantic-convention
     *                            instruments ({@code gen_ai.client.*}) beside llm-metrics' own
     */
    public SessionMetricsCollector(SessionStore store, int maxMeteredSessions, int maxModels, InstantSource clock,
                                   PriceTable prices, boolean semanticConventions) {
        if (maxMeteredSessions < 1) {
            throw new IllegalArgumentException("maxMeteredSessions must be positive, was " + maxMeteredSessions);
        }
        if (maxModels < 1) {
            throw new IllegalArgumentException("maxModels must be positive, was " + maxModels);
        }
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.prices = Objects.requireNonNull(prices, "prices");
        this.semanticConventions = semanticConventions;
        this.maxMeteredSessions = maxMeteredSessions;
        this.maxModels = maxModels;
        this.meterEvictionBatch = Math.max(1, maxMeteredSessions / 100);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        if (this.registry != null) {
            throw new IllegalStateException("already bound to a registry");
        }
        Gauge.builder(SESSIONS_ACTIVE, store, SessionStore::sessionCount)
                .description("Sessions held in the session store")
                .register(registry);
        Gauge.builder(SESSIONS_METERED, sessions, Map::size)
                .description("Sessions that currently have per-session meters")
                .register(registry);
        if (registry instanceof PrometheusMeterRegistry prometheus) {
            prometheus.getPrometheusRegistry().register(sessionSeries);
        } else {
            functionRegistry = registry;
        }
        evictedForCapacity = evicted(registry, EvictionReason.CAPACITY);
        evictedForIdleness = evicted(registry, EvictionReason.IDLE);
        store.addEvictionListener(this::onEvicted);
        this.registry = registry;
    }

    @Override
    public void onEvent(Event event) {
        MeterRegistry registry = this.registry;
        if (registry == null) {
            throw new IllegalStateException("bindTo(MeterRegistry) must be called before events arrive");
        }
        switch (event) {
            case LlmRequestStarted e -> started(e, registry);
            case LlmRequestCompleted e -> completed(e, registry);
            case LlmRequestFailed e -> failed(e, registry);
            case GenericEvent e -> {
                // Counted by the bus; it carries no LLM request data.
            }
        }
    }

    /**
     * Forgets a session: removes it from the store and its meters from the registry.
     *
     * @return whether the store or the registry held anything of it
     */
    public boolean clearSession(String sessionId) {
        boolean inStore = store.clear(sessionId);
        return removeMeters(sessionId) || inStore;
    }

    /**
     * Writes the per-session series (the {@code llm_session_*} families) in the Prometheus text format 0.0.4,
     * or in OpenMetrics 1.0 without the closing {@code # EOF}: what a scrape of the Prometheus registry
     * writes for them, several times faster. A server scraping the registry itself can write these first,
     * then the registry's other families, filtered with {@link #isSessionSeries(String)}:
     * <pre>{@code
     * collector.writeSessionSeries(out, openMetrics);
     * writer.write(out, registry.getPrometheusRegistry().scrape(name -> !SessionMetricsCollector.isSessionSeries(name)));
     * }</pre>
     */
    public void writeSessionSeries(OutputStream out, boolean openMetrics) throws IOException {
        sessionSeries.writeText(out, openMetrics);
    }

    /** Whether {@code prometheusName} is the name of a per-session family, as a registry scrape's name filter sees it. */
    public static boolean isSessionSeries(String prometheusName) {
        return SessionSeries.NAMES.contains(prometheusName);
    }

    /** Totals per model label, read from the meters, in label order. */
    public List<ModelTotals> modelTotals() {
        List<ModelTotals> totals = new ArrayList<>(models.size());
        for (ModelMeters meters : models.values()) {
            totals.add(meters.totals());
        }
        totals.sort(Comparator.comparing(ModelTotals::model));
        return totals;
    }

    private void started(LlmRequestStarted e, MeterRegistry registry) {
        modelMeters(e.model(), registry).started(e.messagesCount(), e.toolsCount());
        store.recordStarted(e);
        if (REQUEST_LOG.isLoggable(Level.INFO)) {
            REQUEST_LOG.log(Level.INFO, "LLM request started for session {0}", e.sessionId());
        }
    }

    private void completed(LlmRequestCompleted e, MeterRegistry registry) {
        ModelMeters model = modelMeters(e.model(), registry);
        ModelPrice price = model.shared ? prices.price(e.model()) : model.price;
        long costPicoUsd = price == null ? -1 : price.costPicoUsd(e.promptTokens(), e.cachedTokens(), e.completionTokens());
        model.completed(e, costPicoUsd);
        sessionModelMeters(e.sessionId(), model.label)
                .completed(e.durationMs(), e.promptTokens(), e.completionTokens(), e.hasToolCalls(), costPicoUsd);
        boundMeteredSessions();
        store.recordCompleted(e);
        if (REQUEST_LOG.isLoggable(Level.INFO)) {
            REQUEST_LOG.log(Level.INFO, "LLM request completed for session {0}: {1}ms, {2} tokens",
                    e.sessionId(), String.valueOf(e.durationMs()), String.valueOf(e.totalTokens()));
            logSessionUpdated(e.sessionId());
        }
    }

    private void failed(LlmRequestFailed e, MeterRegistry registry) {
        ModelMeters model = modelMeters(e.model(), registry);
        model.failed(e);
        sessionModelMeters(e.sessionId(), model.label).failed();
        boundMeteredSessions();
        store.recordFailed(e);
        if (REQUEST_LOG.isLoggable(Level.INFO)) {
            REQUEST_LOG.log(Level.INFO, "LLM request failed for session {0}: {1}", e.sessionId(), e.error());
            logSessionUpdated(e.sessionId());
        }
    }

    private void logSessionUpdated(String sessionId) {
        store.summary(sessionId).ifPresent(m -> REQUEST_LOG.log(Level.INFO, "Session {0} metrics updated: {1} requests, {2} tokens",
                sessionId, String.valueOf(m.totalRequests()), String.valueOf(m.totalTokens())));
    }

    /**
     * The meters of {@code model}, created on its first event. Past the bound, unknown models share the
     * {@code _other} meters; concurrent first events may overshoot the bound by a few, never more than
     * the number of publishing threads, and take no lock.
     */
    private ModelMeters modelMeters(String model, MeterRegistry registry) {
        ModelMeters meters = models.get(model);
        if (meters != null) {
            return meters;
        }
        String label = models.size() < maxModels ? model : OTHER_MODEL;
        meters = models.get(label);
        return meters != null ? meters : models.computeIfAbsent(label, l -> {
            boolean shared = l.equals(OTHER_MODEL);
            return new ModelMeters(l, shared, shared ? null : prices.price(l), registry, semanticConventions);
        });
    }

    private SessionModelMeters sessionModelMeters(String sessionId, String modelLabel) {
        long now = clock.millis();
        while (true) {
            SessionMeters session = sessions.get(sessionId);
            if (session == null) {
                SessionMeters created = new SessionMeters(sessionId, now);
                session = sessions.putIfAbsent(sessionId, created);
                if (session == null) {
                    session = created;
                }
            }
            session.touch(now);
            SessionModelMeters meters = session.forModel(modelLabel, functionRegistry);
            if (meters != null) {
                return meters;
            }
            sessions.remove(sessionId, session);
        }
    }

    /**
     * Removes the meters of the least recently active sessions until at most the bound remain. Called
     * after recording, so that the session just recorded, the most recently active, is never removed
     * before its update landed.
     */
    private void boundMeteredSessions() {
        while (sessions.size() > maxMeteredSessions && evicting.compareAndSet(false, true)) {
            try {
                int excess = sessions.size() - maxMeteredSessions;
                if (excess > 0) {
                    for (SessionMeters victim : LeastRecentlyActive.pick(sessions.values(), SessionMeters::lastActiveMs,
                            excess + meterEvictionBatch - 1)) {
                        removeMeters(victim);
                    }
                }
            } finally {
                evicting.set(false);
            }
        }
    }

    private void onEvicted(String sessionId, EvictionReason reason) {
        removeMeters(sessionId);
        (reason == EvictionReason.CAPACITY ? evictedForCapacity : evictedForIdleness).increment();
    }

    private boolean removeMeters(String sessionId) {
        SessionMeters session = sessions.get(sessionId);
        return session != null && removeMeters(session);
    }

    private boolean removeMeters(SessionMeters session) {
        if (!sessions.remove(session.sessionId, session)) {
            return false;
        }
        session.remove(registry);
        return true;
    }

    private static Counter evicted(MeterRegistry registry, EvictionReason reason) {
        return Counter.builder(SESSIONS_EVICTED)
                .description("Sessions evicted from the session store, by reason (capacity or idle)")
                .tag(TAG_REASON, reason.label())
                .register(registry);
    }
}
