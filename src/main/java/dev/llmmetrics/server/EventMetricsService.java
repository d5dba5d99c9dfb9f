package dev.llmmetrics.server;

import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.EventBusStats;
import dev.llmmetrics.meter.LlmMeterBinder;
import dev.llmmetrics.meter.ModelTotals;
import dev.llmmetrics.session.SessionStore;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code GET /events/metrics}: metrics over all events on the bus: counts by type and by category
 * (LLM, agent, tool, HITL, other), plus LLM totals overall and by model: this process's meters, but for the
 * requests in flight, which are the session store's (so a model only another replica sharing the store saw is
 * listed with its requests in flight alone).
 */
final class EventMetricsService implements HttpService {

    private final EventBus bus;
    private final LlmMeterBinder meters;
    private final SessionStore store;

    EventMetricsService(EventBus bus, LlmMeterBinder meters, SessionStore store) {
        this.bus = bus;
        this.meters = meters;
        this.store = store;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::metrics)
                .any("/", MethodNotAllowed.allowing(Method.GET));
    }

    private void metrics(ServerRequest request, ServerResponse response) {
        EventBusStats stats = bus.stats();
        Map<String, Long> byCategory = new TreeMap<>();
        for (String category : List.of("llm", "agent", "tool", "hitl", "other")) {
            byCategory.put(category, 0L);
        }
        stats.publishedByType().forEach((type, count) -> byCategory.merge(category(type), count, Long::sum));

        List<ModelTotals> models = meters.modelTotals();
        Map<String, Long> flying = store.inFlightByLabel();
        long requests = 0;
        long successful = 0;
        long failed = 0;
        long prompt = 0;
        long completion = 0;
        double durationSeconds = 0;
        Map<String, ModelView> byModel = new TreeMap<>();
        for (ModelTotals m : models) {
            requests += m.requests();
            successful += m.successfulRequests();
            failed += m.failedRequests();
            prompt += m.promptTokens();
            completion += m.completionTokens();
            durationSeconds += m.successDurationSeconds();
            byModel.put(m.model(), new ModelView(m.requests(), m.successfulRequests(), m.failedRequests(),
                    m.promptTokens(), m.completionTokens(), m.promptTokens() + m.completionTokens(),
                    averageMs(m.successDurationSeconds(), m.successfulRequests()), flying.getOrDefault(m.model(), 0L)));
        }
        flying.forEach((model, count) -> byModel.computeIfAbsent(model, m -> new ModelView(0, 0, 0, 0, 0, 0, 0.0, count)));
        long inFlight = flying.values().stream().mapToLong(Long::longValue).sum();
        ModelView llm = new ModelView(requests, successful, failed, prompt, completion, prompt + completion,
                averageMs(durationSeconds, successful), inFlight);
        Json.send(response, Status.OK_200, new EventMetrics(stats.publishedTotal(), new TreeMap<>(stats.publishedByType()),
                byCategory, llm, byModel));
    }

    /** The category of an event type: its first word, for the four kinds agent runtimes emit. */
    static String category(String type) {
        int underscore = type.indexOf('_');
        String prefix = underscore < 0 ? type : type.substring(0, underscore);
        return switch (prefix) {
            case "LLM" -> "llm";
            case "AGENT" -> "agent";
            case "TOOL" -> "tool";
            case "HITL" -> "hitl";
            default -> "other";
        };
    }

    private static double averageMs(double seconds, long count) {
        return count == 0 ? 0.0 : Math.round(seconds * 1000.0 / count * 100.0) / 100.0;
    }

    /**
     * @param totalEvents       events published on the bus
     * @param eventsByType      events per type name
     * @param eventsByCategory  events per category
     * @param llm               LLM request totals over every model
     * @param llmByModel        LLM request totals per model label
     */
    record EventMetrics(long totalEvents, Map<String, Long> eventsByType, Map<String, Long> eventsByCategory,
                        ModelView llm, Map<String, ModelView> llmByModel) {
    }

    /** LLM request totals of one model or of all. */
    record ModelView(long totalRequests, long successfulRequests, long failedRequests, long totalPromptTokens,
                     long totalCompletionTokens, long totalTokens, double averageDurationMs, long inFlight) {
    }
}
