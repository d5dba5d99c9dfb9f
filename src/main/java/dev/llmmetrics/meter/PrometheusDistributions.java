package dev.llmmetrics.meter;

import static dev.llmmetrics.meter.MeterNames.OUTCOME_FAILURE;
import static dev.llmmetrics.meter.MeterNames.OUTCOME_SUCCESS;
import static dev.llmmetrics.meter.MeterNames.TAG_MODEL;
import static dev.llmmetrics.meter.MeterNames.TAG_OUTCOME;
import static dev.llmmetrics.meter.MeterNames.TAG_TYPE;
import static dev.llmmetrics.meter.MeterNames.TYPE_COMPLETION;
import static dev.llmmetrics.meter.MeterNames.TYPE_PROMPT;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.config.NamingConvention;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.model.registry.MetricType;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.Exemplars;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricFamilyDescriptor;
import io.prometheus.metrics.model.snapshots.MetricMetadata;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.DoubleUnaryOperator;

/**
 * The duration and token distributions of {@link RegistryFigures} on a Prometheus registry, as the classic
 * histograms and {@code _max} gauges Micrometer writes for a timer or summary with buckets: the same names, help
 * texts, labels (with the registry's common tags) and bucket bounds. The only class of the library that uses the
 * Prometheus registry; {@link RegistryFigures} loads it for such a registry only.
 */
final class PrometheusDistributions implements MultiCollector {

    private static final String DURATION = "llm_request_duration_seconds";
    private static final String TOKENS = "llm_tokens";
    private static final String MAX = "_max";
    private static final List<MetricFamilyDescriptor> DESCRIPTORS = List.of(
            family(MetricType.HISTOGRAM, DURATION, RegistryFigures.DURATION_HELP, TAG_OUTCOME),
            family(MetricType.GAUGE, DURATION + MAX, RegistryFigures.DURATION_HELP, TAG_OUTCOME),
            family(MetricType.HISTOGRAM, TOKENS, RegistryFigures.TOKENS_HELP, TAG_TYPE),
            family(MetricType.GAUGE, TOKENS + MAX, RegistryFigures.TOKENS_HELP, TAG_TYPE));
    private static final DoubleUnaryOperator SECONDS = ModelFigures::seconds;

    private final RegistryFigures figures;
    private final MeterRegistry registry;
    /** The tags the registry gave each model's meters, by model label, once it gave them. */
    private final Map<String, Tags> registryTags = new ConcurrentHashMap<>();

    private PrometheusDistributions(RegistryFigures figures, MeterRegistry registry) {
        this.figures = figures;
        this.registry = registry;
        // A model's meters removed (clear()) may come back with other common tags: read them again then.
        registry.config().onMeterRemoved(meter -> {
            String name = meter.getId().getName();
            String label = meter.getId().getTag(TAG_MODEL);
            if (label != null && (name.equals(MeterNames.TOOL_CALL_REQUESTS) || name.equals(MeterNames.REQUESTS))) {
                registryTags.remove(label);
            }
        });
    }

    /** Puts the distributions of {@code figures} on the scrape of {@code registry}, a Prometheus registry. */
    static void register(MeterRegistry registry, RegistryFigures figures) {
        ((PrometheusMeterRegistry) registry).getPrometheusRegistry()
                .register(new PrometheusDistributions(figures, registry));
    }

    @Override
    public MetricSnapshots collect() {
        List<HistogramDataPointSnapshot> durations = new ArrayList<>();
        List<GaugeDataPointSnapshot> maxDurations = new ArrayList<>();
        List<HistogramDataPointSnapshot> tokens = new ArrayList<>();
        List<GaugeDataPointSnapshot> maxTokens = new ArrayList<>();
        long now = figures.wallTime();
        for (RegistryFigures.Model model : figures.models()) {
            add(model, ModelFigures.SUCCESS_DURATION, labels(model, TAG_OUTCOME, OUTCOME_SUCCESS), now, SECONDS,
                    durations, maxDurations);
            add(model, ModelFigures.FAILURE_DURATION, labels(model, TAG_OUTCOME, OUTCOME_FAILURE), now, SECONDS,
                    durations, maxDurations);
            add(model, ModelFigures.PROMPT_TOKENS, labels(model, TAG_TYPE, TYPE_PROMPT), now, v -> v, tokens,
                    maxTokens);
            add(model, ModelFigures.COMPLETION_TOKENS, labels(model, TAG_TYPE, TYPE_COMPLETION), now, v -> v, tokens,
                    maxTokens);
        }
        return MetricSnapshots.of(
                new HistogramSnapshot(DESCRIPTORS.get(0).getMetadata(), durations),
                new GaugeSnapshot(DESCRIPTORS.get(1).getMetadata(), maxDurations),
                new HistogramSnapshot(DESCRIPTORS.get(2).getMetadata(), tokens),
                new GaugeSnapshot(DESCRIPTORS.get(3).getMetadata(), maxTokens));
    }

    @Override
    public List<MetricFamilyDescriptor> getMetricFamilyDescriptors() {
        return DESCRIPTORS;
    }

    /**
     * The model label, the distribution's own label {@code key}, and the registry's common tags named as the
     * registry names its meters' tags, but for one named {@code key}: the meter's own tag wins, as in Micrometer.
     */
    private Labels labels(RegistryFigures.Model model, String key, String value) {
        Labels labels = Labels.of(TAG_MODEL, model.label, key, value);
        NamingConvention naming = registry.config().namingConvention();
        for (Tag tag : registryTags(model.label)) {
            if (!tag.getKey().equals(key)) {
                labels = labels.add(naming.tagKey(tag.getKey()), naming.tagValue(tag.getValue()));
            }
        }
        return labels;
    }

    /**
     * The tags this registry gave the model's tool-call counter besides the model (its common tags, and a composite's
     * it came through): read off the meter tagged with the model alone, so that a common tag named as another tag of a
     * distribution ({@code outcome}, {@code type}) is there too, to give way to that tag as on Micrometer's meters.
     * When a meter filter denied that counter, they are read off the model's success counter instead (without a
     * common tag named {@code outcome}, which that counter's own tag hides). Read again once the model's meters are
     * removed from the registry.
     */
    private Tags registryTags(String label) {
        Tags tags = registryTags.get(label);
        if (tags == null) {
            Meter shown = registry.find(MeterNames.TOOL_CALL_REQUESTS).tag(TAG_MODEL, label).meter();
            if (shown == null) {
                shown = registry.find(MeterNames.REQUESTS).tags(TAG_MODEL, label, TAG_OUTCOME, OUTCOME_SUCCESS).meter();
            }
            if (shown == null) {
                return Tags.empty(); // not shown on this registry (yet)
            }
            String own = shown.getId().getName().equals(MeterNames.REQUESTS) ? TAG_OUTCOME : TAG_MODEL;
            tags = Tags.of(shown.getId().getTags().stream()
                    .filter(tag -> !tag.getKey().equals(TAG_MODEL) && !tag.getKey().equals(own)).toList());
            registryTags.put(label, tags);
        }
        return tags;
    }

    private static void add(RegistryFigures.Model model, int distribution, Labels labels, long now,
                            DoubleUnaryOperator unit, List<HistogramDataPointSnapshot> histograms,
                            List<GaugeDataPointSnapshot> maxima) {
        ModelFigures.Distribution d = model.figures.snapshot(distribution, now);
        long[] bounds = d.bounds();
        double[] upperBounds = new double[bounds.length + 1];
        for (int b = 0; b < bounds.length; b++) {
            upperBounds[b] = unit.applyAsDouble(bounds[b]);
        }
        upperBounds[bounds.length] = Double.POSITIVE_INFINITY;
        histograms.add(new HistogramDataPointSnapshot(ClassicHistogramBuckets.of(upperBounds, d.buckets()),
                unit.applyAsDouble(d.sum()), labels, Exemplars.EMPTY, 0L));
        maxima.add(new GaugeDataPointSnapshot(unit.applyAsDouble(d.max()), labels, null));
    }

    private static MetricFamilyDescriptor family(MetricType type, String name, String help, String labelName) {
        return MetricFamilyDescriptor.of(type, new MetricMetadata(name, help), List.of(TAG_MODEL, labelName));
    }
}
