package dev.llmmetrics.meter;

import static dev.llmmetrics.meter.MeterNames.SCORE;
import static dev.llmmetrics.meter.MeterNames.SCORE_BUCKETS;
import static dev.llmmetrics.meter.MeterNames.TAG_MODEL;
import static dev.llmmetrics.meter.MeterNames.TAG_NAME;
import dev.llmmetrics.session.SessionStore;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The score histograms, one per (model label, score name): the first {@link SessionStore#MAX_SCORE_NAMES}
 * names seen get a label of their own, later ones share {@link SessionStore#OTHER_SCORE_NAME}; model labels
 * are bounded by the catalog, so the histograms are too.
 */
final class ScoreMeters {

    private final MeterRegistry registry;
    private final Set<String> names = ConcurrentHashMap.newKeySet();
    private final ConcurrentHashMap<Key, DistributionSummary> histograms = new ConcurrentHashMap<>();

    ScoreMeters(MeterRegistry registry) {
        this.registry = registry;
    }

    void record(String modelLabel, String name, double value) {
        histograms.computeIfAbsent(new Key(modelLabel, label(name)), this::register).record(value);
    }

    /** The name's label: its own while there is room, else {@code _other}; a name once admitted stays. */
    private String label(String name) {
        if (names.contains(name)) {
            return name;
        }
        synchronized (names) {
            if (names.contains(name) || names.size() < SessionStore.MAX_SCORE_NAMES) {
                names.add(name);
                return name;
            }
        }
        return SessionStore.OTHER_SCORE_NAME;
    }

    private DistributionSummary register(Key key) {
        return DistributionSummary.builder(SCORE)
                .description("Scores of LLM requests and sessions (user feedback, judges, guardrails), by model and "
                        + "score name; _unknown model for a score whose request the store did not hold")
                .tags(TAG_MODEL, key.model(), TAG_NAME, key.name())
                .serviceLevelObjectives(SCORE_BUCKETS)
                .register(registry);
    }

    private record Key(String model, String name) {
    }
}
