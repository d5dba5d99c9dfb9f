package dev.llmmetrics.server;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The session JSON last rendered per session, kept with the store's revision of the state it shows, so
 * that a session read again before its next request is sent as it was rendered, not rendered again: what a
 * dashboard polling a session every few seconds does. Bounded by bytes, about {@code maxBytes}: past it
 * every entry is dropped at once (cheap, rare, and the next reads render again); a session whose JSON
 * alone is above a sixteenth of the bound is never kept. Thread-safe.
 */
final class RenderedSessions {

    /** A rendered session and the revision of the state it shows. */
    record Rendered(String revision, byte[] json) {
    }

    private final ConcurrentHashMap<String, Rendered> byId = new ConcurrentHashMap<>();
    private final AtomicLong bytes = new AtomicLong();
    private final long maxBytes;

    RenderedSessions(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** The JSON of {@code sessionId} at {@code revision}, or {@code null} when not kept. */
    byte[] get(String sessionId, String revision) {
        Rendered rendered = byId.get(sessionId);
        return rendered != null && rendered.revision().equals(revision) ? rendered.json() : null;
    }

    void put(String sessionId, String revision, byte[] json) {
        if (json.length > maxBytes / 16) {
            forget(sessionId);
            return;
        }
        Rendered previous = byId.put(sessionId, new Rendered(revision, json));
        if (bytes.addAndGet(json.length - (previous == null ? 0 : previous.json().length)) > maxBytes) {
            byId.clear();
            bytes.set(0);
        }
    }

    void forget(String sessionId) {
        Rendered previous = byId.remove(sessionId);
        if (previous != null) {
            bytes.addAndGet(-previous.json().length);
        }
    }

    /** Bytes held, about. */
    long bytes() {
        return bytes.get();
    }
}
