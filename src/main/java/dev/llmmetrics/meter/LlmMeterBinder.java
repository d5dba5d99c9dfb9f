package dev.llmmetrics.meter;

import static dev.llmmetrics.meter.MeterNames.SESSIONS_ACTIVE;
import static dev.llmmetrics.meter.MeterNames.SESSIONS_EVICTED;
import static dev.llmmetrics.meter.MeterNames.TAG_REASON;

import dev.llmmetrics.cost.ModelCatalog.Model;
import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.EventListener;
import dev.llmmetrics.event.GenericEvent;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.session.EvictionReason;
import dev.llmmetrics.session.SessionStore;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * The per-model meters of LLM requests: a Micrometer {@link MeterBinder} and an {@link EventListener} of
 * the four LLM request event types. Per model label it keeps request and tool-call counters, a latency histogram,
 * token histograms, message and tool summaries and an in-flight gauge, and from their first use a cost counter,
 * an unpriced requests counter, cached and reasoning token counters and the streaming histograms; optionally the
 * OpenTelemetry GenAI instruments too. Of LLM_REQUEST_SCORED events it keeps a score histogram per model label
 * and score name. Meters are never removed. It also binds the session store's gauge and eviction counters, which
 * it reads from the store at scrape time.
 *
 * <p>Meters count only the events this process received, so that Prometheus sums them right across
 * replicas; the in-flight gauges read the store's count of requests in flight instead, which replicas sharing
 * a store share, since a request may start through one and end through another. The per-session series are not here: they read the session figures
 * ({@code dev.llmmetrics.prometheus.SessionSeries}).
 *
 * <p>A registry holds the meters of one binder at a time: two would share their counters while only the first
 * one's gauges showed. So does every registry a composite registry passes meters to: a binder is refused a
 * composite over a registry that holds another's meters, as it is refused that registry. {@link #close()} takes
 * the meters that read this binder's state off the registry (the session gauge and eviction counters, the
 * in-flight gauges), so another binder can then be bound to it; the counters and histograms stay, with what they
 * counted, and the next binder goes on counting in them.
 */
public final class LlmMeterBinder implements MeterBinder, EventListener, AutoCloseable {

    /**
     * The default bound on the GenAI histograms over every model label, besides the 18 overflow ones: at most
     * 18 samples each on a Prometheus scrape (14 buckets, {@code +Inf}, count, sum and maximum).
     */
    public static final int DEFAULT_GENAI_MAX_HISTOGRAMS = 2_000;

    private final ModelCatalog catalog;
    private final SessionStore store;
    /** The histograms left to the GenAI instruments of every model label, or {@code null} when that mode is off. */
    private final GenAiMeters.@Nullable Budget genAiBudget;
    private final @Nullable String defaultProvider;
    /** The meters of each numbered model with a label of its own, by the model's number. */
    private final AtomicReferenceArray<ModelMeters> byNumber = new AtomicReferenceArray<>(ModelCatalog.MAX_NUMBERED);
    /** The meters of the {@link ModelCatalog#OTHER_LABEL} label, made on first use. */
    private volatile @Nullable ModelMeters other;
    private volatile @Nullable MeterRegistry registry;
    /** The per-model request counts and distributions, and the registry that shows them; set with {@link #registry}. */
    private volatile @Nullable RegistryFigures figures;
    private volatile RegistryFigures.@Nullable Binding binding;
    private volatile @Nullable ScoreMeters scores;
    /** The session gauge and eviction counters, which read the store; guarded by {@code this}. */
    private final List<Meter> storeMeters = new ArrayList<>();
    /** Set by {@link #close()}; guarded by {@code this}. */
    private boolean closed;

    private LlmMeterBinder(Builder builder) {
        this.catalog = Objects.requireNonNull(builder.catalog, "catalog");
        this.store = Objects.requireNonNull(builder.store, "store");
        this.genAiBudget = builder.semanticConventions ? new GenAiMeters.Budget(builder.genAiMaxHistograms) : null;
        this.defaultProvider = builder.defaultProvider;
    }

    /** A builder; the catalog and the store must be set. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * @throws IllegalStateException when this binder is bound already or closed, or {@code registry} (or, for a
     *                               composite, a registry it passes its meters to) holds the meters of another
     *                               binder not closed
     */
    @Override
    public synchronized void bindTo(MeterRegistry registry) {
        if (this.registry != null || closed) {
            throw new IllegalStateException(closed ? "the binder is closed" : "already bound to a registry");
        }
        synchronized (registry) { // so that of two binders bound at once, one sees the other's gauge
            if (holdsSessionGauge(registry, Collections.newSetFromMap(new IdentityHashMap<>()))) {
                throw new IllegalStateException("the registry holds the meters of another LlmMetrics that is not "
                        + "closed; one registry takes one LlmMetrics at a time (close the other first)");
            }
            storeMeters.add(Gauge.builder(SESSIONS_ACTIVE, store, SessionStore::sessionCount)
                    .description("Sessions held in the session store")
                    .register(registry));
        }
        for (EvictionReason reason : EvictionReason.values()) {
            storeMeters.add(FunctionCounter.builder(SESSIONS_EVICTED, store, s -> s.evictions(reason))
                    .description("Sessions evicted from the session store, by reason (capacity, idle or memory)")
                    .tag(TAG_REASON, reason.label())
                    .register(registry));
        }
        this.scores = new ScoreMeters(registry);
        List<MeterRegistry> leaves = new ArrayList<>();
        leaves(registry, leaves, Collections.newSetFromMap(new IdentityHashMap<>()));
        RegistryFigures.Binding bound = new RegistryFigures.Binding(registry, leaves);
        this.figures = RegistryFigures.of(bound);
        this.binding = bound;
        this.registry = registry;
    }

    /**
     * Whether {@code registry}, or a registry a composite {@code registry} passes its meters to (at any depth), holds
     * the session gauge of a binder not closed: a composite's own lookups see only what was registered through it,
     * while a second binder through it would count into the counters of the first one's registry beneath.
     */
    private static boolean holdsSessionGauge(MeterRegistry registry, Set<MeterRegistry> seen) {
        if (!seen.add(registry)) {
            return false;
        }
        if (registry.find(SESSIONS_ACTIVE).gauge() != null) {
            return true;
        }
        if (registry instanceof CompositeMeterRegistry composite) {
            for (MeterRegistry child : composite.getRegistries()) {
                if (holdsSessionGauge(child, seen)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The registries that show what {@code registry} is given: itself, or for a composite the registries it passes
     * meters to, at any depth; a composite without any is its own.
     */
    private static void leaves(MeterRegistry registry, List<MeterRegistry> leaves, Set<MeterRegistry> seen) {
        if (!seen.add(registry)) {
            return;
        }
        if (registry instanceof CompositeMeterRegistry composite && !composite.getRegistries().isEmpty()) {
            for (MeterRegistry child : composite.getRegistries()) {
                leaves(child, leaves, seen);
            }
        } else {
            leaves.add(registry);
        }
    }

    /**
     * Takes the meters that read this binder's state off its registry: the session gauge and eviction counters
     * and each model's in-flight gauge. The counters and histograms stay, and still count an event delivered once
     * this closed (one the store recorded as its instance was closing), so that they agree with the store: for a
     * model without meters yet, its meters are made then without the in-flight gauge. Closing again does nothing.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        MeterRegistry bound = registry;
        if (bound == null) {
            return;
        }
        storeMeters.forEach(bound::remove);
        for (int i = 0; i < byNumber.length(); i++) {
            ModelMeters meters = byNumber.get(i);
            if (meters != null && meters.inFlightGauge != null) {
                bound.remove(meters.inFlightGauge);
            }
        }
        ModelMeters shared = other;
        if (shared != null && shared.inFlightGauge != null) {
            bound.remove(shared.inFlightGauge);
        }
    }

    @Override
    public void onEvent(Event event) {
        switch (event) {
            case LlmRequestStarted e -> meters(catalog.model(e.model())).started(e.messagesCount(), e.toolsCount());
            case LlmRequestCompleted e -> {
                Model model = catalog.model(e.model());
                meters(model).completed(e, model);
            }
            case LlmRequestFailed e -> meters(catalog.model(e.model())).failed(e);
            case LlmRequestScored e -> scored(e);
            case GenericEvent e -> {
                // Counted by the bus; it carries no LLM request data.
            }
        }
    }

    /**
     * Records a score under the model of its request, as the store holds it; {@link MeterNames#UNKNOWN_MODEL}
     * when the store holds no record of that correlation id.
     */
    private void scored(LlmRequestScored e) {
        ScoreMeters meters = scores;
        if (meters == null) {
            throw new IllegalStateException("bindTo(MeterRegistry) must be called before events arrive");
        }
        String model = e.correlationId() == null ? null
                : store.requestModel(e.sessionId(), e.correlationId()).orElse(null);
        meters.record(model == null ? MeterNames.UNKNOWN_MODEL : catalog.model(model).label(), e.name(), e.value());
    }

    /** Totals per model label, read from the meters, in label order. */
    public List<ModelTotals> modelTotals() {
        List<ModelTotals> totals = new ArrayList<>();
        for (int i = 0; i < byNumber.length(); i++) {
            ModelMeters meters = byNumber.get(i);
            if (meters != null) {
                totals.add(meters.totals());
            }
        }
        ModelMeters shared = other;
        if (shared != null) {
            totals.add(shared.totals());
        }
        totals.sort(Comparator.comparing(ModelTotals::model));
        return totals;
    }

    /**
     * The {@code gen_ai.provider.name} of a label's events that name none: the price table's provider for
     * the model, else the configured default, else {@code _OTHER}.
     */
    private String genAiProvider(@Nullable String priceTableProvider) {
        return priceTableProvider != null ? priceTableProvider
                : defaultProvider != null ? defaultProvider : GenAiMeters.OTHER;
    }

    /** The meters of {@code model}'s label, made on its first event. */
    private ModelMeters meters(Model model) {
        MeterRegistry registry = this.registry;
        if (registry == null) {
            throw new IllegalStateException("bindTo(MeterRegistry) must be called before events arrive");
        }
        if (model.sharesLabel()) {
            ModelMeters shared = other;
            if (shared == null) {
                synchronized (this) {
                    shared = other;
                    if (shared == null) {
                        other = shared = new ModelMeters(ModelCatalog.OTHER_LABEL, genAiProvider(null), store, registry,
                                Objects.requireNonNull(figures), Objects.requireNonNull(binding), genAiBudget, !closed);
                    }
                }
            }
            return shared;
        }
        ModelMeters meters = byNumber.get(model.number());
        if (meters == null) {
            // Made under the lock: the meters of one label are registered once.
            synchronized (this) {
                meters = byNumber.get(model.number());
                if (meters == null) {
                    meters = new ModelMeters(model.label(), genAiProvider(model.provider()), store, registry,
                            Objects.requireNonNull(figures), Objects.requireNonNull(binding), genAiBudget, !closed);
                    byNumber.set(model.number(), meters);
                }
            }
        }
        return meters;
    }

    /** Builds an {@link LlmMeterBinder}. */
    public static final class Builder {
        private @Nullable ModelCatalog catalog;
        private @Nullable SessionStore store;
        private boolean semanticConventions;
        private int genAiMaxHistograms = DEFAULT_GENAI_MAX_HISTOGRAMS;
        private @Nullable String defaultProvider;

        private Builder() {
        }

        /** Labels and prices the models; share it with the store so a name is resolved once. */
        public Builder catalog(ModelCatalog catalog) {
            this.catalog = Objects.requireNonNull(catalog, "catalog");
            return this;
        }

        /** The store whose session count and evictions the binder's gauge and counters read. */
        public Builder store(SessionStore store) {
            this.store = Objects.requireNonNull(store, "store");
            return this;
        }

        /**
         * Whether to register the OpenTelemetry GenAI semantic-convention instruments
         * ({@code gen_ai.client.*}) beside llm-metrics' own; off unless set.
         */
        public Builder semanticConventions(boolean enabled) {
            this.semanticConventions = enabled;
            return this;
        }

        /**
         * Most GenAI histograms (one a distinct set of attributes of an instrument) over every model label, so
         * that model labels times providers times response models cannot grow the scrape without end; past it
         * an instrument's new sets share its overflow histogram, of model and provider {@code _OTHER}.
         * {@value #DEFAULT_GENAI_MAX_HISTOGRAMS} unless set.
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
         * The {@code gen_ai.provider.name} of the GenAI instruments for events that name no provider and models
         * the price table gives none, such as {@code openai}; {@code _OTHER} unless set.
         *
         * @throws dev.llmmetrics.event.InvalidEventException when not a provider name as events take it
         */
        public Builder defaultProvider(@Nullable String provider) {
            this.defaultProvider = provider == null ? null : Event.requireValidProvider(provider);
            return this;
        }

        public LlmMeterBinder build() {
            return new LlmMeterBinder(this);
        }
    }
}
