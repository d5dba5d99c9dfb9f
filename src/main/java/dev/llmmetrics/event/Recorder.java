package dev.llmmetrics.event;

import java.util.List;

/**
 * The record of truth behind an {@link EventBus}: an event reaches the bus's listeners only once the
 * recorder has applied it. A recorder applies a batch all or none, and an event whose
 * {@linkplain Event#eventId() event id} it has applied before only once, so that a producer's retry is safe.
 * The bus hands any other runtime exception a recorder throws to the publisher as the cause of a
 * {@link RecordingFailedException}.
 */
public interface Recorder {

    /**
     * Applies {@code events} in order, all or none, passing over those whose event id was applied before.
     *
     * @return the events applied, in order: those without an id and those whose id is new
     * @throws RecordingFailedException when the events could not be applied; then none was, or, with a store on
     *                                  a server that did not answer in time, they may have been (see the store)
     */
    List<Event> record(List<? extends Event> events);

    /**
     * Applies one event; see {@link #record(List)}.
     *
     * @return whether it was applied, {@code false} for a repeat of an applied event id
     * @throws RecordingFailedException when the event could not be applied
     */
    default boolean record(Event event) {
        return !record(List.of(event)).isEmpty();
    }
}
