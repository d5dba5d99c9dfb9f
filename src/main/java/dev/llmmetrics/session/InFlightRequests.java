package dev.llmmetrics.session;

import dev.llmmetrics.cost.ModelCatalog.Model;
import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Requests in flight per model label, as {@link SessionStore#inFlight(String)} defines them, for a store whose
 * events all pass through this process. Lock-free: a numbered model with a label of its own counts in its slot,
 * every other model under {@link ModelCatalog#OTHER_LABEL}, as the meters label them.
 */
public final class InFlightRequests {

    private final ModelCatalog catalog;
    private final AtomicLongArray byNumber = new AtomicLongArray(ModelCatalog.MAX_NUMBERED);
    private final AtomicLong other = new AtomicLong();

    /** Counts the models as {@code catalog} labels them. */
    public InFlightRequests(ModelCatalog catalog) {
        this.catalog = Objects.requireNonNull(catalog, "catalog");
    }

    /** Counts an applied event: a start adds one to its model's label, an end takes one off while there is one. */
    public void applied(Event event) {
        switch (event) {
            case LlmRequestStarted s -> started(catalog.model(s.model()));
            case LlmRequestCompleted c -> ended(catalog.model(c.model()));
            case LlmRequestFailed f -> ended(catalog.model(f.model()));
            default -> {
                // Scores and generic events neither start nor end a request.
            }
        }
    }

    /** A request of {@code model} started. */
    public void started(Model model) {
        if (model.sharesLabel()) {
            other.incrementAndGet();
        } else {
            byNumber.incrementAndGet(model.number());
        }
    }

    /** A request of {@code model} ended; nothing is taken off a label with none in flight. */
    public void ended(Model model) {
        if (model.sharesLabel()) {
            long current;
            do {
                current = other.get();
            } while (current > 0 && !other.compareAndSet(current, current - 1));
        } else {
            int slot = model.number();
            long current;
            do {
                current = byNumber.get(slot);
            } while (current > 0 && !byNumber.compareAndSet(slot, current, current - 1));
        }
    }

    /** The requests of {@code label} in flight; 0 for a label never counted. */
    public long count(String label) {
        if (label.equals(ModelCatalog.OTHER_LABEL)) {
            return other.get();
        }
        Model model = catalog.known(label);
        return model == null || model.sharesLabel() ? 0 : byNumber.get(model.number());
    }
}
