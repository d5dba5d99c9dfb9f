package dev.llmmetrics.event;

/**
 * Receives events from the {@link EventBus}, on the publisher's thread.
 *
 * <p>A listener should be quick and must be thread-safe: publishers call it concurrently. An exception
 * it throws is caught, logged and counted by the bus; the publisher and the other listeners never see it.
 */
@FunctionalInterface
public interface EventListener {

    /** Handles one event. */
    void onEvent(Event event);
}
