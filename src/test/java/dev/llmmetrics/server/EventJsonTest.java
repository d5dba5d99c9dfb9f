package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The wire format the journal keeps: what {@code encode} writes, {@code decode} reads back as an equal event. */
class EventJsonTest {

    private static final Instant AT = Instant.parse("2026-11-25T10:15:30.250Z");

    @Test
    void everyLlmEventRoundTripsWithItsOptionalFieldsPresentOrAbsent() throws Exception {
        for (Event event : List.<Event>of(
                new LlmRequestStarted("s", "gpt-4o", 3, 1, "c-1", AT),
                new LlmRequestCompleted("s", "gpt-4o", 2400, 2000, 500, 2500, true, "c-1", AT, 1500, 200, 400L),
                new LlmRequestCompleted("s", "gpt-4o", 2400, 2000, 500, 2500, false, null, AT),
                new LlmRequestFailed("s", "gpt-4o", "RateLimitError: 429", "c-2", AT, 120L),
                new LlmRequestFailed("s", "gpt-4o", "RateLimitError: 429", null, AT, null))) {
            assertEquals(event, EventJson.decode(EventJson.encode(event, null)), event::toString);
        }
    }

    @Test
    void fieldsAtTheirDefaultsAreLeftOutOfTheEncoding() {
        String encoded = EventJson.encode(new LlmRequestCompleted("s", "m", 10, 1, 1, 2, false, null, AT), null).toString();
        assertFalse(encoded.contains("cached_tokens"), encoded);
        assertFalse(encoded.contains("time_to_first_token_ms"), encoded);
    }
}
