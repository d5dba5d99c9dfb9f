package dev.llmmetrics.meter;

import static dev.llmmetrics.meter.MeterNames.*;

import io.micrometer.core.instrument.Clock;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The per-model request figures a registry shows, and the meters that show them. A registry keeps its meters for
 * its life, so these figures live as long: the next binder on the registry, or on a composite over it, finds and
 * counts on in them, as it would in Micrometer's own meters.
 *
 * <p>The request, tool-call, cost and unpriced counters are Micrometer function counters, registered on the
 * registry the binder is bound to (through a composite, so that its filters apply and its registries, later ones
 * too, have them). The duration and token distributions are classic histograms ({@code llm_request_duration_seconds},
 * {@code llm_tokens}, each with a {@code _max} gauge) on each Prometheus registry of
 * {@code micrometer-registry-prometheus} among them at the binding, through {@link PrometheusDistributions}, the one
 * class of the library that uses it and is loaded only for such a registry. On the others they are function timers
 * and counters ({@code llm.request.duration}, {@code llm.tokens.count} and {@code .sum}), maximum gauges
 * ({@code .max}) and cumulative bucket counters ({@code .histogram}, tagged {@code le}), as Micrometer shows a
 * histogram where the registry has none, registered on each such registry beneath the bound one at the binding and
 * never through a composite, which would pass them to the Prometheus registries it is given later.
 */
final class RegistryFigures {

    private static final String PROMETHEUS_REGISTRY = "io.micrometer.prometheusmetrics.PrometheusMeterRegistry";
    private static final Map<MeterRegistry, RegistryFigures> BY_REGISTRY = new WeakHashMap<>();
    private static final String LE = "le";
    private static final String INFINITY = "+Inf";

    /** The Prometheus registries whose scrape has the distributions of the figures {@link #BY_REGISTRY} gives them. */
    private static final Map<MeterRegistry, Boolean> WITH_DISTRIBUTIONS = new WeakHashMap<>();

    private final Clock clock;
    private final Map<String, Model> byLabel = new ConcurrentHashMap<>();

    private RegistryFigures(Clock clock) {
        this.clock = clock;
    }

    /**
     * The figures {@code binding} shows: those its registry or one of the registries beneath it shows already, else
     * new ones; their distributions are put on the scrape of each Prometheus registry among them.
     */
    static RegistryFigures of(Binding binding) {
        synchronized (BY_REGISTRY) {
            RegistryFigures figures = BY_REGISTRY.get(binding.registry);
            for (int i = 0; figures == null && i < binding.leaves.size(); i++) {
                figures = BY_REGISTRY.get(binding.leaves.get(i));
            }
            if (figures == null) {
                figures = new RegistryFigures(binding.registry.config().clock());
            }
            BY_REGISTRY.putIfAbsent(binding.registry, figures);
            for (MeterRegistry leaf : binding.leaves) {
                BY_REGISTRY.putIfAbsent(leaf, figures);
                if (isPrometheus(leaf) && BY_REGISTRY.get(leaf) == figures && WITH_DISTRIBUTIONS.put(leaf, true) == null) {
                    PrometheusDistributions.register(leaf, figures);
                }
            }
            return figures;
        }
    }

    /** Whether {@code registry} is the Prometheus registry, told by name so that its class is never loaded here. */
    private static boolean isPrometheus(MeterRegistry registry) {
        for (Class<?> type = registry.getClass(); type != null; type = type.getSuperclass()) {
            if (type.getName().equals(PROMETHEUS_REGISTRY)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The figures of the model {@code label}, shown through {@code binding}: made on first use, and shown again for
     * each binder that asks, as the registry's meters may have been removed since ({@link MeterRegistry#clear}).
     */
    Model model(String label, Binding binding) {
        Model model = byLabel.computeIfAbsent(label, Model::new);
        model.show(binding);
        return model;
    }

    /** The models shown, in label order. */
    List<Model> models() {
        List<Model> models = new ArrayList<>(byLabel.values());
        models.sort(Comparator.comparing(m -> m.label));
        return models;
    }

    long wallTime() {
        return clock.wallTime();
    }

    /**
     * A registry a binder is bound to, and the registries beneath it at the binding: itself, or the registries a
     * composite passes its meters to, at any depth (a composite with none is its own, and shows the counters only).
     */
    record Binding(MeterRegistry registry, List<MeterRegistry> leaves) {

        Binding {
            leaves = List.copyOf(leaves);
        }
    }

    /** One model's figures, with the counters shown from their first use. */
    final class Model {

        final String label;
        final ModelFigures figures = new ModelFigures(clock.wallTime());
        private volatile boolean costShown;
        private volatile boolean unpricedShown;

        private Model(String label) {
            this.label = label;
        }

        /**
         * Registers the model's meters through {@code binding}, whose registries keep those they have: the
         * counters, the distributions where no Prometheus registry shows them, and the cost and unpriced counters
         * once shown.
         */
        private synchronized void show(Binding binding) {
            requests(binding.registry, OUTCOME_SUCCESS, ModelFigures::successes);
            requests(binding.registry, OUTCOME_FAILURE, ModelFigures::failures);
            // Registered with the model, at 0: its rate over the successes is the model's tool-call share from the
            // first request on, however short its sessions (the per-session counters begin at their first value,
            // which rate() cannot see).
            counter(binding.registry, TOOL_CALL_REQUESTS,
                    "Completed LLM requests whose response asked for tool calls, by model", ModelFigures::toolCallRequests);
            for (MeterRegistry registry : binding.leaves) {
                if (isPrometheus(registry) || registry instanceof CompositeMeterRegistry) {
                    continue; // its collector shows them; a composite would pass them to Prometheus registries too
                }
                durations(registry, OUTCOME_SUCCESS, ModelFigures.SUCCESS_DURATION);
                durations(registry, OUTCOME_FAILURE, ModelFigures.FAILURE_DURATION);
                tokens(registry, TYPE_PROMPT, ModelFigures.PROMPT_TOKENS);
                tokens(registry, TYPE_COMPLETION, ModelFigures.COMPLETION_TOKENS);
            }
            if (costShown) {
                cost(binding.registry);
            }
            if (unpricedShown) {
                unpriced(binding.registry);
            }
        }

        /** Records a completed request, shown through {@code binding}; see {@link ModelFigures#completed}. */
        void completed(long durationNanos, long promptTokens, long completionTokens, boolean toolCalls,
                       double costUsd, Binding binding) {
            figures.completed(durationNanos, promptTokens, completionTokens, toolCalls, costUsd, clock.wallTime());
            if (costUsd >= 0 ? !costShown : !unpricedShown) {
                showCost(costUsd >= 0, binding.registry);
            }
        }

        /** Records a failed request; see {@link ModelFigures#failed}. */
        void failed(long durationNanos) {
            figures.failed(durationNanos, clock.wallTime());
        }

        /** Registers the cost counter, or the unpriced one, on the first request that counts in it. */
        private synchronized void showCost(boolean priced, MeterRegistry registry) {
            if (priced && !costShown) {
                cost(registry);
                costShown = true;
            } else if (!priced && !unpricedShown) {
                unpriced(registry);
                unpricedShown = true;
            }
        }

        private void cost(MeterRegistry registry) {
            counter(registry, COST, "What the completed LLM requests cost in US dollars, as the provider reported it or "
                    + "else by the price table, by model; requests of unknown cost are not in it, see "
                    + "llm_unpriced_requests_total", ModelFigures::costUsd);
        }

        private void unpriced(MeterRegistry registry) {
            counter(registry, UNPRICED_REQUESTS, "Completed LLM requests of unknown cost: no cost reported, and no price for "
                    + "the model or no token usage in the response", ModelFigures::unpricedRequests);
        }

        private void requests(MeterRegistry registry, String outcome, ToDoubleFunction<ModelFigures> count) {
            FunctionCounter.builder(REQUESTS, figures, count)
                    .description("LLM requests finished, by model and outcome")
                    .tags(TAG_MODEL, label, TAG_OUTCOME, outcome)
                    .register(registry);
        }

        private void counter(MeterRegistry registry, String name, String description,
                             ToDoubleFunction<ModelFigures> count) {
            FunctionCounter.builder(name, figures, count).description(description).tag(TAG_MODEL, label)
                    .register(registry);
        }

        private void durations(MeterRegistry registry, String outcome, int distribution) {
            Tags tags = Tags.of(TAG_MODEL, label, TAG_OUTCOME, outcome);
            FunctionTimer.builder(REQUEST_DURATION, figures, f -> f.count(distribution), f -> f.total(distribution),
                            TimeUnit.NANOSECONDS)
                    .description(DURATION_HELP).tags(tags).register(registry);
            TimeGauge.builder(REQUEST_DURATION + ".max", figures, TimeUnit.NANOSECONDS,
                            f -> f.snapshot(distribution, clock.wallTime()).max())
                    .description(DURATION_HELP).tags(tags).register(registry);
            buckets(registry, REQUEST_DURATION, tags, distribution, true);
        }

        private void tokens(MeterRegistry registry, String type, int distribution) {
            Tags tags = Tags.of(TAG_MODEL, label, TAG_TYPE, type);
            FunctionCounter.builder(TOKENS + ".count", figures, f -> f.count(distribution))
                    .description("Completed LLM requests with token usage, by model and type")
                    .tags(tags).register(registry);
            FunctionCounter.builder(TOKENS + ".sum", figures, f -> f.total(distribution))
                    .description(TOKENS_HELP).baseUnit(UNIT_TOKENS).tags(tags).register(registry);
            Gauge.builder(TOKENS + ".max", figures, f -> f.snapshot(distribution, clock.wallTime()).max())
                    .description(TOKENS_HELP).baseUnit(UNIT_TOKENS).tags(tags).register(registry);
            buckets(registry, TOKENS, tags, distribution, false);
        }

        /** The cumulative count of each bucket, tagged with its upper bound, as Micrometer's histogram gauges. */
        private void buckets(MeterRegistry registry, String name, Tags tags, int distribution, boolean seconds) {
            long[] bounds = figures.snapshot(distribution, 0).bounds();
            for (int b = 0; b <= bounds.length; b++) {
                int index = b;
                String le = b == bounds.length ? INFINITY
                        : seconds ? String.valueOf(ModelFigures.seconds(bounds[b])) : String.valueOf(bounds[b]);
                FunctionCounter.builder(name + ".histogram", figures,
                                f -> f.snapshot(distribution, 0).cumulativeCount(index))
                        .description("Cumulative counts of " + name + " at or below le")
                        .tags(tags).tag(LE, le).register(registry);
            }
        }
    }

    static final String DURATION_HELP =
            "LLM request duration, by model and outcome (failures only when their duration is known)";
    static final String TOKENS_HELP = "Tokens per completed LLM request, by model and type";
}
