package dev.llmmetrics.http;

import java.util.Optional;

/**
 * The HTTP layer's settings.
 *
 * @param authToken    the {@code x-internal-auth} secret guarding {@code /events/**}; empty for none
 * @param scrapeToken  the bearer token guarding {@code /metrics}; empty for an open scrape
 * @param maxBodyBytes the largest {@code POST /events} body accepted, in bytes
 * @param maxBatch     the most events one {@code POST /events} may carry
 */
public record HttpSettings(Optional<String> authToken, Optional<String> scrapeToken, int maxBodyBytes, int maxBatch) {

    /** The default body limit: 1 MiB. */
    public static final int DEFAULT_MAX_BODY_BYTES = 1 << 20;
    /** The default batch limit: 1 000 events. */
    public static final int DEFAULT_MAX_BATCH = 1_000;

    /** Rejects empty tokens and limits that are not positive. */
    public HttpSettings {
        authToken = authToken.filter(t -> !t.isEmpty());
        scrapeToken = scrapeToken.filter(t -> !t.isEmpty());
        if (maxBodyBytes < 1 || maxBatch < 1) {
            throw new IllegalArgumentException("maxBodyBytes and maxBatch must be positive");
        }
    }

    @Override
    public String toString() {
        return "HttpSettings[authToken=" + (authToken.isPresent() ? "****" : "none") + ", scrapeToken="
                + (scrapeToken.isPresent() ? "****" : "none") + ", maxBodyBytes=" + maxBodyBytes + ", maxBatch=" + maxBatch + "]";
    }
}
