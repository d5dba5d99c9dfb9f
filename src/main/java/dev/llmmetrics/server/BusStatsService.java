package dev.llmmetrics.server;

import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.EventBusStats;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/** {@code GET /events/stats}: the event bus's counters. */
final class BusStatsService implements HttpService {

    private final EventBus bus;

    BusStatsService(EventBus bus) {
        this.bus = bus;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::stats)
                .any("/", MethodNotAllowed.allowing(Method.GET));
    }

    private void stats(ServerRequest request, ServerResponse response) {
        EventBusStats s = bus.stats();
        Json.send(response, Status.OK_200, new BusStats(s.publishedTotal(), new TreeMap<>(s.publishedByType()),
                new TreeMap<>(s.listenersByType()), s.listenersForAllTypes(), s.listenerFailuresTotal(),
                new TreeMap<>(s.listenerFailuresByType()), s.startedAt(), s.uptime().toMillis() / 1000.0));
    }

    /** The JSON shape of the bus statistics. */
    record BusStats(long totalPublished, Map<String, Long> publishedByType, Map<String, Integer> listenersByType,
                    int listenersForAllTypes, long listenerFailures, Map<String, Long> listenerFailuresByType,
                    Instant startedAt, double uptimeSeconds) {
    }
}
