package dev.llmmetrics.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import org.jspecify.annotations.Nullable;

/**
 * The session JSON last rendered per session, kept with the store's revision of the state it shows, so
 * that a session read again before its next request is sent as it was rendered, not rendered again: what a
 * dashboard polling a session every few seconds does. A Caffeine cache bounded by the bytes it holds, about
 * {@code maxBytes}. Thread-safe.
 */
final class RenderedSessions {

    /** A rendered session and the revision of the state it shows. */
    record Rendered(String revision, byte[] json) {
    }

    private final Cache<String, Rendered> byId;

    RenderedSessions(long maxBytes) {
        this.byId = Caffeine.newBuilder()
                .maximumWeight(maxBytes)
                .weigher((String id, Rendered rendered) -> rendered.json().length + 2 * id.length())
                .build();
    }

    /** The JSON of {@code sessionId} at {@code revision}, or {@code null} when not kept. */
    byte @Nullable [] get(String sessionId, String revision) {
        Rendered rendered = byId.getIfPresent(sessionId);
        return rendered != null && rendered.revision().equals(revision) ? rendered.json() : null;
    }

    void put(String sessionId, String revision, byte[] json) {
        byId.put(sessionId, new Rendered(revision, json));
    }

    void forget(String sessionId) {
        byId.invalidate(sessionId);
    }
}
