package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.GenericEvent;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import java.lang.reflect.RecordComponent;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The wire format: what {@code encode} writes, {@code decode} reads back as an equal event. */
class EventJsonTest {

    private static final Instant AT = Instant.parse("2026-11-25T10:15:30.250Z");

    @Test
    void everyLlmEventRoundTripsWithItsOptionalFieldsPresentOrAbsent() throws Exception {
        for (Event event : List.<Event>of(
                LlmRequestStarted.builder("s", "gpt-4o").messagesCount(3).toolsCount(1).correlationId("c-1")
                        .timestamp(AT).build(),
                LlmRequestCompleted.builder("s", "gpt-4o").durationMs(2400).promptTokens(2000).completionTokens(500)
                        .hasToolCalls(true).correlationId("c-1").timestamp(AT).cachedTokens(1500)
                        .reasoningTokens(200).timeToFirstTokenMs(400L).build(),
                LlmRequestCompleted.builder("s", "gpt-4o").durationMs(2400).promptTokens(2000).completionTokens(500)
                        .timestamp(AT).build(),
                LlmRequestFailed.builder("s", "gpt-4o").error("RateLimitError: 429").correlationId("c-2")
                        .timestamp(AT).durationMs(120L).build(),
                LlmRequestFailed.builder("s", "gpt-4o").error("RateLimitError: 429").timestamp(AT).build(),
                LlmRequestStarted.builder("s", "gpt-4o").provider("openai").timestamp(AT).build(),
                LlmRequestCompleted.builder("s", "gpt-4o").durationMs(2400).timestamp(AT).provider("openrouter")
                        .costUsd(0.00123).responseModel("gpt-4o-2024-08-06").build(),
                LlmRequestCompleted.builder("s", "claude-sonnet-4").durationMs(10).promptTokens(100).cachedTokens(20)
                        .cacheWriteTokens(50).completionTokens(5).timestamp(AT).build(),
                LlmRequestCompleted.builder("s", "gpt-4o").durationMs(2400).timestamp(AT).build(),
                LlmRequestFailed.builder("s", "gpt-4o").error("slow").errorType(ErrorType.TIMEOUT).timestamp(AT).build(),
                LlmRequestFailed.builder("s", "gpt-4o").error("429").httpStatus(429).provider("openai").timestamp(AT)
                        .build(),
                LlmRequestFailed.builder("s", "gpt-4o").error("?").errorType(ErrorType.OTHER).httpStatus(418)
                        .timestamp(AT).build())) {
            assertEquals(event, EventJson.decode(EventJson.encode(event)), event::toString);
        }
    }

    @Test
    void fieldsAtTheirDefaultsAreLeftOutOfTheEncoding() {
        String encoded = EventJson.encode(LlmRequestCompleted.builder("s", "m").durationMs(10).promptTokens(1)
                .completionTokens(1).timestamp(AT).build()).toString();
        assertFalse(encoded.contains("cached_tokens"), encoded);
        assertFalse(encoded.contains("time_to_first_token_ms"), encoded);
        assertFalse(encoded.contains("cost_usd"), encoded);
        assertFalse(encoded.contains("provider"), encoded);
        String withoutUsage = EventJson.encode(LlmRequestCompleted.builder("s", "m").durationMs(10).timestamp(AT).build())
                .toString();
        assertFalse(withoutUsage.contains("tokens"), withoutUsage);
    }

    @Test
    void everyFieldOfTheEventRecordsHasASnakeCaseWireName() {
        for (Class<?> type : List.of(LlmRequestStarted.class, LlmRequestCompleted.class, LlmRequestFailed.class,
                GenericEvent.class)) {
            for (RecordComponent component : type.getRecordComponents()) {
                String wire = EventJson.wireName(component.getName());
                assertNotNull(wire, () -> type.getSimpleName() + "." + component.getName() + " has no wire name");
                assertTrue(wire.matches("[a-z]+(_[a-z]+)*"), wire);
            }
        }
    }

    @Test
    void aValueTheEventRefusesIsReportedUnderItsWireName() {
        EventJson.InvalidField e = assertThrows(EventJson.InvalidField.class, () -> EventJson.decode(Json.MAPPER.readTree(
                "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s\",\"model\":\"m\",\"duration_ms\":100,"
                        + "\"prompt_tokens\":10,\"completion_tokens\":5,\"time_to_first_token_ms\":101}")));
        assertEquals("time_to_first_token_ms", e.field);
        assertTrue(e.getMessage().startsWith("time_to_first_token_ms must be at most "), e.getMessage());
    }
}
