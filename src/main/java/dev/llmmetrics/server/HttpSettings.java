package dev.llmmetrics.server;

import dev.llmmetrics.session.InMemorySessionStore;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The HTTP layer's settings, and the defaults of every server setting that is not one of the library's bounds
 * ({@link dev.llmmetrics.LlmMetricsConfig#DEFAULTS}) nor the port, which Helidon reads from application.yaml;
 * {@code Settings} reads the keys that override them.
 *
 * @param authToken    the {@code x-internal-auth} secret guarding {@code /events/**}; empty for none
 * @param scrapeToken  the bearer token guarding {@code /metrics}; empty for an open scrape
 * @param maxBodyBytes the largest {@code POST /events} body accepted, in bytes
 * @param maxBatch     the most events one {@code POST /events} may carry
 * @param dedupeWindow how long an {@code event_id} is remembered, so that a retry is not applied twice
 * @param dedupeMaxIds the most {@code event_id}s remembered; past it the oldest are forgotten early
 * @param connections  how long the server waits for a client's bytes, and how many connections and requests it serves
 * @param allowedHosts the host names, beside {@code localhost} and IP addresses, a request may name in {@code Host},
 *                     in lower case; {@link #ANY_HOST} for any name
 * @param scrapeGzip   whether {@code /metrics} is gzip-compressed for a client that asks ({@code Accept-Encoding})
 */
public record HttpSettings(Optional<String> authToken, Optional<String> scrapeToken, int maxBodyBytes, int maxBatch,
                           Duration dedupeWindow, int dedupeMaxIds, Connections connections, Set<String> allowedHosts,
                           boolean scrapeGzip) {

    /** In {@link #allowedHosts()}: any host name is served. */
    public static final String ANY_HOST = "*";

    /** Where the sessions are kept unless {@code store.backend} says otherwise: in memory. */
    public static final String DEFAULT_STORE_BACKEND = "memory";

    /**
     * The listener's bounds on what clients hold: time and count. A connection that runs out of time is closed
     * without an answer, or with its answer cut; one past the connection cap waits in the kernel's accept queue
     * until a connection closes; a request past the concurrency cap gets 503 and its connection is closed; a
     * scrape past the scrape cap gets 503.
     *
     * @param headerTimeout         the longest a connection may take to send a request line, and then its headers;
     *                              also how long an idle keep-alive connection is kept
     * @param bodyTimeout           the longest a request body may take to arrive whole, from when the server starts reading it
     * @param writeTimeout          the longest a write of an answer may wait for the client to read, without progress
     * @param maxConnections        the most connections open at once
     * @param maxConcurrentRequests the most requests handled at once
     * @param maxConcurrentScrapes  the most scrapes of {@code /metrics} rendered at once, each holding its families
     *                              until written
     */
    public record Connections(Duration headerTimeout, Duration bodyTimeout, Duration writeTimeout, int maxConnections,
                              int maxConcurrentRequests, int maxConcurrentScrapes) {

        /** The default header timeout: 20 seconds. */
        public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(20);
        /** The default body timeout: 30 seconds. */
        public static final Duration DEFAULT_BODY_TIMEOUT = Duration.ofSeconds(30);
        /** The default write timeout: 30 seconds. */
        public static final Duration DEFAULT_WRITE_TIMEOUT = Duration.ofSeconds(30);
        /** The default connection cap: 1 000. */
        public static final int DEFAULT_MAX_CONNECTIONS = 1_000;
        /** The default concurrency cap: 100 requests. */
        public static final int DEFAULT_MAX_CONCURRENT_REQUESTS = 100;
        /** The default scrape cap: 4 scrapes, room for a pair of Prometheus servers scraping the same target, and more. */
        public static final int DEFAULT_MAX_CONCURRENT_SCRAPES = 4;

        /** The longest header, body or write timeout: a day. */
        public static final Duration MAX_TIMEOUT = Duration.ofDays(1);

        /** The defaults above. */
        public static final Connections DEFAULTS = new Connections(DEFAULT_HEADER_TIMEOUT, DEFAULT_BODY_TIMEOUT,
                DEFAULT_WRITE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_CONCURRENT_SCRAPES);

        /** Rejects caps that are not positive and timeouts that are not positive or exceed {@link #MAX_TIMEOUT}. */
        public Connections {
            if (!withinBounds(headerTimeout) || !withinBounds(bodyTimeout) || !withinBounds(writeTimeout)) {
                throw new IllegalArgumentException("headerTimeout, bodyTimeout and writeTimeout must be positive and at most "
                        + MAX_TIMEOUT + ", were " + headerTimeout + ", " + bodyTimeout + " and " + writeTimeout);
            }
            if (maxConnections < 1 || maxConcurrentRequests < 1 || maxConcurrentScrapes < 1) {
                throw new IllegalArgumentException("maxConnections, maxConcurrentRequests and maxConcurrentScrapes must be"
                        + " positive, were " + maxConnections + ", " + maxConcurrentRequests + " and " + maxConcurrentScrapes);
            }
        }

        private static boolean withinBounds(Duration timeout) {
            return timeout != null && timeout.isPositive() && timeout.compareTo(MAX_TIMEOUT) <= 0;
        }
    }

    /**
     * Whether {@code /metrics} is gzip-compressed by default: no. Compressing costs more CPU than rendering the
     * scrape (docs/benchmarks.md), which crosses a local network quickly as it is; it pays where the scrape crosses
     * a slow or metered link.
     */
    public static final boolean DEFAULT_SCRAPE_GZIP = false;

    /** Whether the per-request log lines (logger {@code dev.llmmetrics.requests}) are written by default: no. */
    public static final boolean DEFAULT_REQUEST_LOG = false;

    /** The default time requests in progress get to finish on SIGTERM: 10 seconds. */
    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(10);
    /** Whether the OpenTelemetry GenAI instruments are registered by default: no, as in the library's builder. */
    public static final boolean DEFAULT_GENAI_CONVENTIONS = false;

    /** The default body limit: 1 MiB. */
    public static final int DEFAULT_MAX_BODY_BYTES = 1 << 20;
    /** The default batch limit: 1 000 events. */
    public static final int DEFAULT_MAX_BATCH = 1_000;
    /** The default dedupe window: 10 minutes. */
    public static final Duration DEFAULT_DEDUPE_WINDOW = InMemorySessionStore.DEFAULT_DEDUPE_WINDOW;
    /** The default bound on remembered event ids: 100 000. */
    public static final int DEFAULT_DEDUPE_MAX_IDS = InMemorySessionStore.DEFAULT_DEDUPE_MAX_IDS;

    /** The longest host name, and the longest label in one (RFC 1035, section 2.3.4). */
    private static final int MAX_HOST_NAME = 253;
    private static final int MAX_LABEL = 63;

    /** Rejects empty tokens, limits that are not positive and allowed hosts that are not lower-case host names. */
    public HttpSettings {
        authToken = authToken.filter(t -> !t.isEmpty());
        scrapeToken = scrapeToken.filter(t -> !t.isEmpty());
        for (String host : allowedHosts) {
            if (!host.equals(ANY_HOST) && !(hostName(host) && host.equals(host.toLowerCase(Locale.ROOT)))) {
                throw new IllegalArgumentException("allowedHosts must be lower-case host names without a port, or "
                        + ANY_HOST + ", was \"" + host + "\"");
            }
        }
        allowedHosts = Set.copyOf(allowedHosts);
        if (maxBodyBytes < 1 || maxBatch < 1 || dedupeMaxIds < 1) {
            throw new IllegalArgumentException("maxBodyBytes, maxBatch and dedupeMaxIds must be positive");
        }
        // the store keeps the window in milliseconds (LlmMetrics.Builder.dedupe)
        if (dedupeWindow == null || dedupeWindow.compareTo(Duration.ofMillis(1)) < 0
                || dedupeWindow.compareTo(Duration.ofMillis(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("dedupeWindow must be from 1 ms to " + Long.MAX_VALUE + " ms, was "
                    + dedupeWindow);
        }
        if (connections == null) {
            throw new IllegalArgumentException("connections must be given");
        }
    }

    /**
     * Whether {@code name} is a host name as a {@code Host} header carries it: labels of ASCII letters, digits,
     * {@code -} (neither first nor last) and {@code _} (which Docker service names have), 1 to 63 characters each,
     * joined by single dots, at most 253 characters in all. Anything else (a path, a pattern, a port, an empty
     * label) no request could name, so listing it would only hide a mistake.
     */
    static boolean hostName(String name) {
        if (name.isEmpty() || name.length() > MAX_HOST_NAME) {
            return false;
        }
        for (String label : name.split("\\.", -1)) {
            if (label.isEmpty() || label.length() > MAX_LABEL || label.startsWith("-") || label.endsWith("-")) {
                return false;
            }
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_')) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * The address to bind when none is configured: every interface with an auth token, loopback without, so
     * that unguarded ingest is not reachable from other machines.
     */
    public String defaultHost() {
        return authToken.isPresent() ? "0.0.0.0" : "127.0.0.1";
    }

    @Override
    public String toString() {
        return "HttpSettings[authToken=" + (authToken.isPresent() ? "****" : "none") + ", scrapeToken="
                + (scrapeToken.isPresent() ? "****" : "none") + ", maxBodyBytes=" + maxBodyBytes + ", maxBatch=" + maxBatch + ", dedupeWindow=" + dedupeWindow
                + ", dedupeMaxIds=" + dedupeMaxIds + ", connections=" + connections + ", allowedHosts=" + allowedHosts + "]";
    }
}
