package dev.llmmetrics.cost;

import dev.llmmetrics.event.LlmRequestCompleted;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * The one place that knows a model name's number, label and price. The session store and the meters both
 * ask it, so a name is resolved against the {@link PriceTable} once for the life of the process.
 *
 * <p>Bounded twice: the first {@code maxLabels} names seen, reserved ones aside, get a label of their own, later ones share
 * {@link #OTHER_LABEL}; the first {@link #MAX_NUMBERED} names get a number, later ones are resolved on every
 * call (still correctly, only without the cache). A label is kept by its number, so {@code maxLabels} is at most
 * {@link #MAX_LABELS}: then every name that gets a label has a number too. A durable store hands in first
 * ({@link #labelFirst}) the names its stored figures hold under a label of their own, so that a model keeps its
 * label across a restart. The labels the meters give a meaning of their own, {@link #OTHER_LABEL} and
 * {@link #UNKNOWN_LABEL}, are reserved: a model of either name shares {@link #OTHER_LABEL}, so that {@code _unknown}
 * on the score meters means only a score whose model is not known.
 * Thread-safe, lock-free on the lookup of a known name.
 */
public final class ModelCatalog {

    /** The label shared by the models past the bound on labels, and by those named as a reserved label. */
    public static final String OTHER_LABEL = "_other";
    /** The label of the score meters for a score whose request's model is not known; no model gets it. */
    public static final String UNKNOWN_LABEL = "_unknown";
    /** Most names numbered and cached. */
    public static final int MAX_NUMBERED = 1024;
    /**
     * Most labels of their own a catalog gives: the numbered names less the two reserved ones, which take a number and
     * no label, so that the first {@code maxLabels} models get their labels whichever names came before them.
     */
    public static final int MAX_LABELS = MAX_NUMBERED - 2;

    private final ConcurrentHashMap<String, Model> byName = new ConcurrentHashMap<>();
    private final AtomicReferenceArray<Model> byNumber = new AtomicReferenceArray<>(MAX_NUMBERED);
    private final AtomicInteger next = new AtomicInteger();
    /** Labels of their own handed out, or asked for past the bound; reserved names take none. */
    private final AtomicInteger labelled = new AtomicInteger();
    private final PriceTable prices;
    private final int maxLabels;

    /**
     * @param prices    what each model's tokens cost
     * @param maxLabels how many models get a label of their own; 1 to {@link #MAX_LABELS}
     */
    public ModelCatalog(PriceTable prices, int maxLabels) {
        if (maxLabels < 1 || maxLabels > MAX_LABELS) {
            throw new IllegalArgumentException("maxLabels must be from 1 to " + MAX_LABELS + ", was " + maxLabels);
        }
        this.prices = java.util.Objects.requireNonNull(prices, "prices");
        this.maxLabels = maxLabels;
    }

    /** The entry of {@code name}, numbered on first sight while numbers last. */
    public Model model(String name) {
        Model model = byName.get(name);
        if (model != null) {
            return model;
        }
        if (next.get() >= MAX_NUMBERED) {
            return new Model(name, -1, OTHER_LABEL, prices.price(name).orElse(null));
        }
        model = byName.computeIfAbsent(name, n -> {
            int number = next.getAndIncrement();
            if (number >= MAX_NUMBERED) {
                return null; // the bound was reached meanwhile: no mapping
            }
            boolean own = !reserved(n) && labelled.getAndIncrement() < maxLabels;
            Model numbered = new Model(n, number, own ? n : OTHER_LABEL, prices.price(n).orElse(null));
            byNumber.set(number, numbered);
            return numbered;
        });
        return model != null ? model : new Model(name, -1, OTHER_LABEL, prices.price(name).orElse(null));
    }

    /**
     * Gives the models {@code names} a label of their own ahead of their events, in the order given, while labels
     * are left: a durable store calls it as it opens, with the labels its sessions' figures hold, so that after a
     * restart a model's new figures join those it had under its own label, rather than going to
     * {@link #OTHER_LABEL} because new models came first. Reserved names, and names already known, are passed
     * over; the names left once every label is handed out are not numbered, and share {@link #OTHER_LABEL} when
     * they come.
     */
    public void labelFirst(Iterable<String> names) {
        for (String name : names) {
            if (labelled.get() >= maxLabels) {
                return;
            }
            if (!reserved(name)) {
                model(name);
            }
        }
    }

    /** The entry of {@code name} if it has been numbered, else empty: a lookup that numbers nothing. */
    public Optional<Model> known(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** Whether {@code name} is a label the meters give a meaning of their own, which no model may take. */
    public static boolean reserved(String name) {
        return name.equals(OTHER_LABEL) || name.equals(UNKNOWN_LABEL);
    }

    /** The entry numbered {@code number}, as {@link Model#number()} gave it. */
    public Model model(int number) {
        return byNumber.get(number);
    }

    /**
     * One model name as the catalog resolved it.
     *
     * @param name   the name events carry
     * @param number its number, 0 to {@link #MAX_NUMBERED} - 1, or -1 past the bound
     * @param label  the {@code model} label of its meters: the name, or {@link #OTHER_LABEL} past the bound and
     *               for a reserved name
     * @param price  its price, or {@code null} when the table has none
     */
    public record Model(String name, int number, String label, @Nullable ModelPrice price) {

        /** Whether the label gathers several models: {@link #OTHER_LABEL} does, also for a model of a reserved name. */
        public boolean sharesLabel() {
            return number < 0 || label.equals(OTHER_LABEL) || !label.equals(name);
        }

        /**
         * Whether this model's figures, kept under {@code label} (its own, or its session's {@link #OTHER_LABEL}
         * past the session's bound on labels), went to {@link #OTHER_LABEL} for want of room: past the session's
         * bound, or past the catalog's, which gives the model no label of its own. A model of a reserved name under
         * {@link #OTHER_LABEL} did not: no room would give it a label of its own.
         */
        public boolean overflowed(String label) {
            // A label that is the name's own string is the model's own label: decided without comparing texts.
            return !label.equals(this.label) || this.label != name && this.label.equals(OTHER_LABEL) && !reserved(name);
        }

        /** Whether the price table prices this model. */
        public boolean priced() {
            return price != null;
        }

        /**
         * What a completed request cost in picodollars: the cost the provider reported when it did (see
         * {@link LlmRequestCompleted#costUsd()}), else the cost by this model's price of the usage the
         * response reported; -1 when neither is known (no reported cost, and no price or no usage).
         */
        public long costPicoUsd(LlmRequestCompleted e) {
            if (e.hasReportedCost()) {
                return Math.round(e.costUsd() * ModelPrice.PICO_USD_PER_USD);
            }
            if (price == null || !e.hasUsage()) {
                return -1;
            }
            return price.costPicoUsd(e.promptTokens(), e.cachedTokens(), e.cacheWriteTokens(), e.completionTokens());
        }

        /** The provider the price table names for this model, or {@code null}. */
        public @Nullable String provider() {
            return price == null ? null : price.provider();
        }
    }
}
