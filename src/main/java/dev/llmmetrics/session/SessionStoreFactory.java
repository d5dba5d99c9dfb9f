package dev.llmmetrics.session;

import dev.llmmetrics.cost.ModelCatalog;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Objects;

/**
 * Makes the {@link SessionStore} an {@code LlmMetrics} instance records into, from that instance's bounds,
 * catalog and clock, so that the store and the meters resolve model names through the one catalog. The store
 * made must also be this process's {@link SessionFigures}; its owner closes it.
 */
@FunctionalInterface
public interface SessionStoreFactory {

    /**
     * A store with these bounds.
     *
     * @throws IllegalArgumentException when the store cannot be made from its configuration (a file that is not
     *                                  one of its stores, say); the message names what is wrong
     */
    SessionStore create(Parameters parameters);

    /**
     * What a store is made from.
     *
     * @param maxSessions          most sessions held
     * @param maxRecordsPerSession most request records kept per session
     * @param maxModelsPerSession  most model labels with figures of their own per session
     * @param maxBytes             most bytes of retained data
     * @param idleTimeout          how long a session may stay idle before {@link SessionStore#evictIdle()} drops it
     * @param dedupeWindow         how long an applied event id is remembered
     * @param dedupeMaxIds         most event ids remembered
     * @param clock                the clock that dates activity
     * @param catalog              numbers, labels and prices the models
     */
    record Parameters(int maxSessions, int maxRecordsPerSession, int maxModelsPerSession, long maxBytes,
                      Duration idleTimeout, Duration dedupeWindow, int dedupeMaxIds, InstantSource clock,
                      ModelCatalog catalog) {

        /** Rejects bounds that are not positive, and durations under a millisecond or past what milliseconds count. */
        public Parameters {
            if (maxSessions < 1 || maxRecordsPerSession < 1 || maxModelsPerSession < 1 || maxBytes < 1 || dedupeMaxIds < 1) {
                throw new IllegalArgumentException("the store's bounds must be positive");
            }
            for (Duration d : new Duration[] {idleTimeout, dedupeWindow}) {
                if (d == null || d.compareTo(Duration.ofMillis(1)) < 0 || d.compareTo(Duration.ofMillis(Long.MAX_VALUE)) > 0) {
                    throw new IllegalArgumentException("the idle timeout and the dedupe window must be from 1 ms to "
                            + Long.MAX_VALUE + " ms, were " + idleTimeout + " and " + dedupeWindow);
                }
            }
            Objects.requireNonNull(clock, "clock");
            Objects.requireNonNull(catalog, "catalog");
        }
    }
}
