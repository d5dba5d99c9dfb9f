package dev.llmmetrics.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.session.SessionStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.List;

/**
 * Durable mode: every accepted batch is written to the {@link Journal} before {@code POST /events}
 * answers 202, and on start the journal is replayed through the bus, which rebuilds the store and the
 * meters. A journal record is one batch as a JSON array in the wire format, timestamps and
 * {@code event_id}s included, so a replayed event is the event that was acknowledged, and a retry after
 * a restart is still recognised.
 *
 * <p>A {@code DELETE} of a session is journaled too, before it is applied, so a replay does not bring the
 * session back. Compaction keeps the events of the sessions the store still holds (and nothing of the sessions it
 * evicted or that were cleared), so the journal's size follows the store's bounds rather than all
 * traffic ever received. The per-model meters after a restart therefore count the events kept.
 */
final class EventJournal implements AutoCloseable {

    private static final Logger LOG = System.getLogger(EventJournal.class.getName());

    /** The key of a record saying a session was cleared. */
    private static final String CLEARED = "cleared_session";

    private final Journal journal;

    EventJournal(Journal journal) {
        this.journal = journal;
    }

    /** Writes one batch and returns once it is on disk. */
    void append(List<Event> events) throws IOException {
        ArrayNode batch = Json.MAPPER.createArrayNode();
        for (Event event : events) {
            batch.add(EventJson.encode(event));
        }
        journal.append(Json.MAPPER.writeValueAsBytes(batch));
    }

    /** Writes that a session was cleared, so that a replay does not bring it back; returns once on disk. */
    void appendClear(String sessionId) throws IOException {
        journal.append(Json.MAPPER.writeValueAsBytes(Json.MAPPER.createObjectNode().put(CLEARED, sessionId)));
    }

    /**
     * Publishes every journaled event again, in order (the store applies each event_id once), and clears the
     * sessions cleared in between; returns how many events.
     */
    long replay(EventBus bus, SessionStore store) throws IOException {
        long[] events = {0};
        long records = journal.replay(payload -> {
            JsonNode record = read(payload);
            if (record.has(CLEARED)) {
                store.clear(record.get(CLEARED).textValue());
                return;
            }
            for (JsonNode node : record) {
                try {
                    Event event = EventJson.decode(node);
                    bus.publish(event);
                    events[0]++;
                } catch (EventJson.InvalidField e) {
                    LOG.log(Level.WARNING, "Skipping a journaled event that no longer validates: {0}", e.getMessage());
                }
            }
        });
        LOG.log(Level.INFO, "Replayed {0} events from {1} journal records", String.valueOf(events[0]), String.valueOf(records));
        return events[0];
    }

    /** Drops from the sealed segments every event whose session the store no longer holds. */
    long compact(SessionStore store) throws IOException {
        return journal.compact(payload -> {
            JsonNode record = read(payload);
            if (record.has(CLEARED)) {
                // Needed only while events of the session that came after it are kept.
                return store.summary(record.get(CLEARED).textValue()).isPresent() ? payload : null;
            }
            ArrayNode kept = Json.MAPPER.createArrayNode();
            for (JsonNode node : record) {
                JsonNode session = node.get("session_id");
                if (session != null && session.isTextual() && store.summary(session.textValue()).isPresent()) {
                    kept.add(node);
                }
            }
            if (kept.isEmpty()) {
                return null;
            }
            try {
                return Json.MAPPER.writeValueAsBytes(kept);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    long sizeBytes() throws IOException {
        return journal.sizeBytes();
    }

    @Override
    public void close() throws IOException {
        journal.close();
    }

    private static JsonNode read(byte[] payload) {
        try {
            return Json.MAPPER.readTree(payload);
        } catch (IOException e) {
            throw new UncheckedIOException("a journal record passed its checksum but is not JSON", e);
        }
    }
}
