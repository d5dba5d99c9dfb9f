package dev.llmmetrics;

import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.session.SessionStore;
import java.time.Duration;
import java.util.Objects;

/**
 * The bounds that keep llm-metrics' memory and scrape size in check whatever the traffic.
 *
 * @param maxSessions          most sessions in the session store (least recently active evicted first)
 * @param maxRecordsPerSession most request records kept per session (oldest dropped; aggregates stay exact)
 * @param sessionIdleTimeout   how long a session may see no event before it is evicted
 * @param maxMeteredSessions   most sessions with per-session meters on the scrape (most recently active kept)
 * @param maxModels            most distinct model labels on per-model meters (later ones share {@code _other}); at
 *                             most {@link ModelCatalog#MAX_LABELS}, the labels the catalog can keep
 * @param maxEventTypes        most distinct event type names on the bus
 * @param eventTypeIdleTimeout how long a type without listeners may see no event before its slot can go to a new
 *                             type
 * @param maxStoreBytes        most bytes of data the session store retains, each session counted by its real
 *                             size (least recently active evicted first); for a store in a file, the pages it uses
 * @param maxMeteredPairs      most (session, model) and (session, score name) pairs, together, with
 *                             per-session series on one scrape (whole sessions, most recently active first); at
 *                             least the most one session can have ({@link #pairsOfOneSession}), so that a scrape
 *                             always has room for the most recent session
 * @param maxModelsPerSession  most model labels with per-session figures of their own per session (later
 *                             models share that session's {@code _other})
 */
public record LlmMetricsConfig(int maxSessions, int maxRecordsPerSession, Duration sessionIdleTimeout,
                               int maxMeteredSessions, int maxModels, int maxEventTypes, Duration eventTypeIdleTimeout,
                               long maxStoreBytes,
                               int maxMeteredPairs, int maxModelsPerSession) {

    /** The least {@code maxStoreBytes}: room for a session at the bounds of one event. */
    private static final long MIN_STORE_BYTES = 1L << 20;

    /**
     * The defaults, also those of the server's configuration keys: 10 000 sessions, 1 000 records each, 1 hour
     * idle, 2 000 metered sessions, 200 models, 1 000 types, a quarter of the JVM's maximum heap for the store
     * (at most 256 MiB, at least the 1 MiB a store takes), 4 000 metered pairs, 8 models per session.
     */
    public static final LlmMetricsConfig DEFAULTS = new LlmMetricsConfig(10_000, 1_000, Duration.ofHours(1), 2_000, 200,
            EventBus.DEFAULT_MAX_TYPES, EventBus.DEFAULT_TYPE_IDLE_TIMEOUT, defaultMaxStoreBytes(), 4_000, 8);

    /**
     * Rejects bounds that are not positive, more model labels than the catalog can keep, less than 1 MiB for the
     * store, timeouts under a millisecond or past what milliseconds count, and fewer metered pairs than one session
     * can have; the {@link Builder}'s setters refuse each value alone as this does.
     */
    public LlmMetricsConfig {
        positive("maxSessions", maxSessions);
        positive("maxRecordsPerSession", maxRecordsPerSession);
        inMillis("sessionIdleTimeout", sessionIdleTimeout);
        positive("maxMeteredSessions", maxMeteredSessions);
        requireMaxModels(maxModels);
        positive("maxEventTypes", maxEventTypes);
        inMillis("eventTypeIdleTimeout", eventTypeIdleTimeout);
        requireMaxStoreBytes(maxStoreBytes);
        positive("maxModelsPerSession", maxModelsPerSession);
        if (maxMeteredPairs < pairsOfOneSession(maxModelsPerSession)) {
            throw new IllegalArgumentException("maxMeteredPairs must be at least the pairs one session can have, "
                    + pairsOfOneSession(maxModelsPerSession) + " with maxModelsPerSession " + maxModelsPerSession
                    + ", was " + maxMeteredPairs);
        }
    }

    /**
     * The most (session, model) and (session, score name) pairs one session can have: its own model labels and
     * {@code _other}, its score names and {@code _other}. In a {@code long}: with {@code maxModelsPerSession} near
     * {@link Integer#MAX_VALUE} it is more than an {@code int} holds.
     */
    public static long pairsOfOneSession(int maxModelsPerSession) {
        return (long) maxModelsPerSession + 1 + SessionStore.MAX_SCORE_NAMES + 1;
    }

    /** A builder starting from {@link #DEFAULTS}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * {@code value}, a timeout kept in milliseconds: at least one, at most {@link Long#MAX_VALUE}.
     *
     * @throws IllegalArgumentException naming {@code name} when it is not
     */
    static Duration inMillis(String name, Duration value) {
        Objects.requireNonNull(value, name);
        if (value.compareTo(Duration.ofMillis(1)) < 0 || value.compareTo(Duration.ofMillis(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException(name + " must be from 1 ms to " + Long.MAX_VALUE + " ms, was " + value);
        }
        return value;
    }

    /**
     * {@code value}, when positive.
     *
     * @throws IllegalArgumentException naming {@code name} when it is not
     */
    static int positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
        return value;
    }

    private static int requireMaxModels(int value) {
        if (value < 1 || value > ModelCatalog.MAX_LABELS) {
            throw new IllegalArgumentException("maxModels must be from 1 to " + ModelCatalog.MAX_LABELS + ", was " + value);
        }
        return value;
    }

    /**
     * A quarter of the JVM's maximum heap, within what a store takes: at most 256 MiB, and at least 1 MiB, so
     * that the defaults hold on a heap under 4 MiB too.
     */
    private static long defaultMaxStoreBytes() {
        return Math.clamp(Runtime.getRuntime().maxMemory() / 4, MIN_STORE_BYTES, 256L << 20);
    }

    private static long requireMaxStoreBytes(long value) {
        if (value < MIN_STORE_BYTES) {
            throw new IllegalArgumentException("maxStoreBytes must be at least 1 MiB, was " + value);
        }
        return value;
    }

    /**
     * {@code value}, when some configuration could take it as {@code maxMeteredPairs}: at least the pairs of one
     * session with one model of its own; whether it holds the pairs of one session with {@code maxModelsPerSession}
     * models is the record's to check, once both are known.
     */
    private static int requireMaxMeteredPairs(int value) {
        int least = (int) pairsOfOneSession(1);
        if (value < least) {
            throw new IllegalArgumentException("maxMeteredPairs must be at least " + least
                    + ", the pairs one session with one model can have, was " + value);
        }
        return value;
    }

    /**
     * Builds an {@link LlmMetricsConfig}; every value starts at its default. Each setter refuses a value no
     * configuration could take, with an {@link IllegalArgumentException} naming it; {@link #build()} refuses only
     * what depends on two values.
     */
    public static final class Builder {
        private int maxSessions = DEFAULTS.maxSessions;
        private int maxRecordsPerSession = DEFAULTS.maxRecordsPerSession;
        private Duration sessionIdleTimeout = DEFAULTS.sessionIdleTimeout;
        private int maxMeteredSessions = DEFAULTS.maxMeteredSessions;
        private int maxModels = DEFAULTS.maxModels;
        private int maxEventTypes = DEFAULTS.maxEventTypes;
        private Duration eventTypeIdleTimeout = DEFAULTS.eventTypeIdleTimeout;
        private long maxStoreBytes = DEFAULTS.maxStoreBytes;
        private int maxMeteredPairs = DEFAULTS.maxMeteredPairs;
        private int maxModelsPerSession = DEFAULTS.maxModelsPerSession;

        private Builder() {
        }

        /** See {@link LlmMetricsConfig#maxSessions()}. */
        public Builder maxSessions(int value) {
            maxSessions = positive("maxSessions", value);
            return this;
        }

        /** See {@link LlmMetricsConfig#maxRecordsPerSession()}. */
        public Builder maxRecordsPerSession(int value) {
            maxRecordsPerSession = positive("maxRecordsPerSession", value);
            return this;
        }

        /** See {@link LlmMetricsConfig#sessionIdleTimeout()}. */
        public Builder sessionIdleTimeout(Duration value) {
            sessionIdleTimeout = inMillis("sessionIdleTimeout", value);
            return this;
        }

        /** See {@link LlmMetricsConfig#maxMeteredSessions()}. */
        public Builder maxMeteredSessions(int value) {
            maxMeteredSessions = positive("maxMeteredSessions", value);
            return this;
        }

        /** See {@link LlmMetricsConfig#maxModels()}. */
        public Builder maxModels(int value) {
            maxModels = requireMaxModels(value);
            return this;
        }

        /** See {@link LlmMetricsConfig#maxEventTypes()}. */
        public Builder maxEventTypes(int value) {
            maxEventTypes = positive("maxEventTypes", value);
            return this;
        }

        /** See {@link LlmMetricsConfig#eventTypeIdleTimeout()}. */
        public Builder eventTypeIdleTimeout(Duration value) {
            eventTypeIdleTimeout = inMillis("eventTypeIdleTimeout", value);
            return this;
        }

        /** See {@link LlmMetricsConfig#maxStoreBytes()}. */
        public Builder maxStoreBytes(long value) {
            maxStoreBytes = requireMaxStoreBytes(value);
            return this;
        }

        /** See {@link LlmMetricsConfig#maxMeteredPairs()}. */
        public Builder maxMeteredPairs(int value) {
            maxMeteredPairs = requireMaxMeteredPairs(value);
            return this;
        }

        /** See {@link LlmMetricsConfig#maxModelsPerSession()}. */
        public Builder maxModelsPerSession(int value) {
            maxModelsPerSession = positive("maxModelsPerSession", value);
            return this;
        }

        /**
         * The configuration.
         *
         * @throws IllegalArgumentException when {@code maxMeteredPairs} is fewer than the pairs one session with
         *                                  {@code maxModelsPerSession} models can have
         */
        public LlmMetricsConfig build() {
            return new LlmMetricsConfig(maxSessions, maxRecordsPerSession, sessionIdleTimeout, maxMeteredSessions,
                    maxModels, maxEventTypes, eventTypeIdleTimeout, maxStoreBytes, maxMeteredPairs, maxModelsPerSession);
        }
    }
}
