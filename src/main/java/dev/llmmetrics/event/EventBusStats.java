package dev.llmmetrics.event;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * A snapshot of the {@link EventBus}'s counters.
 *
 * @param publishedTotal           events published since the bus started
 * @param publishedByType          events published per type name
 * @param listenersByType          listeners subscribed per type name
 * @param listenersForAllTypes     listeners subscribed to every type
 * @param listenerFailuresTotal    exceptions thrown by listeners
 * @param listenerFailuresByType   exceptions thrown by listeners per type name
 * @param startedAt                when the bus was created
 * @param uptime                   how long the bus has been running
 */
public record EventBusStats(long publishedTotal, Map<String, Long> publishedByType,
                            Map<String, Integer> listenersByType, int listenersForAllTypes,
                            long listenerFailuresTotal, Map<String, Long> listenerFailuresByType,
                            Instant startedAt, Duration uptime) {

    /** Copies the maps, so a snapshot never changes. */
    public EventBusStats {
        publishedByType = Map.copyOf(publishedByType);
        listenersByType = Map.copyOf(listenersByType);
        listenerFailuresByType = Map.copyOf(listenerFailuresByType);
    }
}
