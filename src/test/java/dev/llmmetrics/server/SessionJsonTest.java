package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.session.InMemorySessionStore;
import dev.llmmetrics.session.RequestRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The timestamps of a session's JSON: what {@link Instant#toString()} writes, for every year an event accepts. */
class SessionJsonTest {

    /** The shape clients parse: four-digit year, milliseconds only when not zero, UTC. */
    private static final Pattern SHAPE = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{3})?Z");

    /** The timestamps of records at {@code epochMillis}, as the records' JSON writes them. */
    private static List<String> timestamps(long[] epochMillis) {
        List<RequestRecord> records = new ArrayList<>(epochMillis.length);
        for (long ms : epochMillis) {
            records.add(RequestRecord.builder(Instant.ofEpochMilli(ms), "m").success(false).error("e").build());
        }
        String json = new String(Json.bytes(records), StandardCharsets.UTF_8);
        String key = "{\"timestamp\":\"";
        List<String> timestamps = new ArrayList<>(epochMillis.length);
        for (int at = json.indexOf(key); at >= 0; at = json.indexOf(key, at + 1)) {
            int start = at + key.length();
            timestamps.add(json.substring(start, json.indexOf('"', start)));
        }
        return timestamps;
    }

    private static void sameAsInstant(long[] epochMillis) {
        List<String> written = timestamps(epochMillis);
        assertEquals(epochMillis.length, written.size());
        for (int i = 0; i < epochMillis.length; i++) {
            long ms = epochMillis[i];
            String expected = Instant.ofEpochMilli(ms).toString();
            assertEquals(expected, written.get(i), () -> "epoch ms " + ms);
            assertTrue(SHAPE.matcher(expected).matches(), expected);
        }
    }

    @Test
    void writesWhatInstantToStringWritesAtTheEdgesOfTheAcceptedYearsAndAroundLeapDays() throws IOException {
        long first = Event.MIN_TIMESTAMP.toEpochMilli();
        long last = Event.MAX_TIMESTAMP.toEpochMilli();
        long[] edges = {first, first + 1, last, last - 1, 0, -1, 1, 999, 1000,
                Instant.parse("2000-02-29T23:59:59.999Z").toEpochMilli(), Instant.parse("1900-03-01T00:00:00Z").toEpochMilli(),
                Instant.parse("2024-12-31T23:59:59.120Z").toEpochMilli(), Instant.parse("2026-01-17T15:30:00Z").toEpochMilli()};
        InMemorySessionStore store = InMemorySessionStore.builder().maxSessions(10).maxRecordsPerSession(edges.length)
                .idleTimeout(Duration.ofHours(1)).build();
        List<String> expected = new ArrayList<>();
        sameAsInstant(edges);
        for (long edge : edges) {
            store.record(LlmRequestFailed.builder("s", "m").error("e").timestamp(Instant.ofEpochMilli(edge)).durationMs(0L).build());
            expected.add(Instant.ofEpochMilli(edge).toString());
        }
        // Through the store, whose records keep epoch milliseconds, and the session's JSON.
        JsonNode session = Json.MAPPER.readTree(Json.bytes(store.session("s").orElseThrow()));
        List<String> written = new ArrayList<>();
        session.get("requests").forEach(r -> written.add(r.get("timestamp").textValue()));
        assertEquals(expected, written);
    }

    @Test
    void writesWhatInstantToStringWritesForAMillionInstantsAcrossTheAcceptedYears() {
        long first = Event.MIN_TIMESTAMP.toEpochMilli();
        long last = Event.MAX_TIMESTAMP.toEpochMilli();
        SplittableRandom random = new SplittableRandom(17);
        long[] batch = new long[10_000];
        for (int i = 0; i < 1_000_000; i++) {
            long ms = random.nextLong(first, last + 1);
            batch[i % batch.length] = i % 4 == 0 ? ms - Math.floorMod(ms, 1000) : ms;
            if (i % batch.length == batch.length - 1) {
                sameAsInstant(batch);
            }
        }
    }

    @Test
    void refusesYearsOutsideOneToNineThousandNineHundredNinetyNine() {
        // No event, so no record, has a timestamp whose year would not have four digits.
        Instant before = Instant.ofEpochMilli(Event.MIN_TIMESTAMP.toEpochMilli() - 1);
        Instant after = Instant.ofEpochMilli(Event.MAX_TIMESTAMP.toEpochMilli() + 1);
        assertThrows(IllegalArgumentException.class, () -> LlmRequestFailed.builder("s", "m").error("e").timestamp(before).durationMs(0L).build());
        assertThrows(IllegalArgumentException.class, () -> LlmRequestFailed.builder("s", "m").error("e").timestamp(after).durationMs(0L).build());
    }
}
