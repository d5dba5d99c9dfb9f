package dev.llmmetrics.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class EventValidationTest {

    private static void rejectsNaming(String field, Executable construction) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, construction);
        assertTrue(e.getMessage().startsWith(field), () -> "message should name " + field + ": " + e.getMessage());
    }

    @Test
    void blankSessionIdOrModelIsRejectedNamingTheField() {
        rejectsNaming("sessionId", () -> new LlmRequestStarted(" ", "gpt-4", 1, 0));
        rejectsNaming("sessionId", () -> new LlmRequestCompleted(null, "gpt-4", 1, 1, 1, 2, false));
        rejectsNaming("model", () -> new LlmRequestCompleted("s", "", 1, 1, 1, 2, false));
        rejectsNaming("model", () -> new LlmRequestFailed("s", "\t", "boom"));
    }

    @Test
    void negativeCountsTokensAndDurationsAreRejectedNamingTheField() {
        rejectsNaming("messagesCount", () -> new LlmRequestStarted("s", "m", -1, 0));
        rejectsNaming("toolsCount", () -> new LlmRequestStarted("s", "m", 0, -3));
        rejectsNaming("durationMs", () -> new LlmRequestCompleted("s", "m", -1, 1, 1, 2, false));
        rejectsNaming("promptTokens", () -> new LlmRequestCompleted("s", "m", 1, -1, 1, 2, false));
        rejectsNaming("completionTokens", () -> new LlmRequestCompleted("s", "m", 1, 1, -1, 2, false));
        rejectsNaming("totalTokens", () -> new LlmRequestCompleted("s", "m", 1, 1, 1, -2, false));
        rejectsNaming("durationMs", () -> new LlmRequestFailed("s", "m", "e", null, null, -5L));
    }

    @Test
    void cachedReasoningAndFirstTokenFiguresMustLieWithinTheCountsTheyArePartOf() {
        rejectsNaming("cachedTokens", () -> new LlmRequestCompleted("s", "m", 100, 10, 5, 15, false, null, null, 11, 0, null));
        rejectsNaming("cachedTokens", () -> new LlmRequestCompleted("s", "m", 100, 10, 5, 15, false, null, null, -1, 0, null));
        rejectsNaming("reasoningTokens", () -> new LlmRequestCompleted("s", "m", 100, 10, 5, 15, false, null, null, 0, 6, null));
        rejectsNaming("timeToFirstTokenMs", () -> new LlmRequestCompleted("s", "m", 100, 10, 5, 15, false, null, null, 0, 0, 101L));
        rejectsNaming("timeToFirstTokenMs", () -> new LlmRequestCompleted("s", "m", 100, 10, 5, 15, false, null, null, 0, 0, -1L));
        LlmRequestCompleted ok = new LlmRequestCompleted("s", "m", 100, 10, 5, 15, false, null, null, 10, 5, 100L);
        assertTrue(ok.hasTimeToFirstToken());
    }

    @Test
    void idsWithControlCharactersLoneSurrogatesOrOverTheLengthLimitAreRejected() {
        rejectsNaming("sessionId", () -> new LlmRequestStarted("a\nb", "m", 0, 0));
        rejectsNaming("sessionId", () -> new LlmRequestStarted("a\u0000b", "m", 0, 0));
        rejectsNaming("model", () -> new LlmRequestStarted("s", "x\uD800y", 0, 0));
        rejectsNaming("sessionId", () -> new LlmRequestStarted("s".repeat(Event.MAX_ID_LENGTH + 1), "m", 0, 0));
        rejectsNaming("correlationId", () -> new LlmRequestStarted("s", "m", 0, 0, " ", null));
        assertEquals("s".repeat(Event.MAX_ID_LENGTH),
                new LlmRequestStarted("s".repeat(Event.MAX_ID_LENGTH), "m", 0, 0).sessionId());
        assertEquals("ses-😀-\"{=}\"", new LlmRequestStarted("ses-😀-\"{=}\"", "m", 0, 0).sessionId());
    }

    @Test
    void errorTextMayHoldLineBreaksButNotOtherControlCharacters() {
        assertEquals("a\n\tb", new LlmRequestFailed("s", "m", "a\n\tb").error());
        rejectsNaming("error", () -> new LlmRequestFailed("s", "m", "a\u0007b"));
        rejectsNaming("error", () -> new LlmRequestFailed("s", "m", null));
        rejectsNaming("error", () -> new LlmRequestFailed("s", "m", "x".repeat(LlmRequestFailed.MAX_ERROR_LENGTH + 1)));
    }

    @Test
    void missingTimestampDefaultsToNowAndCorrelationIdIsOptional() {
        Instant before = Instant.now();
        LlmRequestCompleted e = new LlmRequestCompleted("s", "m", 10, 1, 2, 3, true);
        assertNull(e.correlationId());
        assertNotNull(e.timestamp());
        assertTrue(!e.timestamp().isBefore(before) && !e.timestamp().isAfter(Instant.now()));
        Instant given = Instant.parse("2026-01-17T15:30:00Z");
        assertEquals(given, new LlmRequestStarted("s", "m", 0, 0, "c-1", given).timestamp());
    }

    @Test
    void failedDurationIsOptional() {
        LlmRequestFailed unknown = new LlmRequestFailed("s", "m", "timeout");
        assertTrue(!unknown.hasDuration());
        LlmRequestFailed known = new LlmRequestFailed("s", "m", "timeout", null, null, 1500L);
        assertTrue(known.hasDuration());
        assertEquals(1500L, known.durationMs());
    }

    @Test
    void eachLlmEventReportsItsTypeName() {
        assertEquals("LLM_REQUEST_STARTED", new LlmRequestStarted("s", "m", 0, 0).type());
        assertEquals("LLM_REQUEST_COMPLETED", new LlmRequestCompleted("s", "m", 0, 0, 0, 0, false).type());
        assertEquals("LLM_REQUEST_FAILED", new LlmRequestFailed("s", "m", "e").type());
    }

    @Test
    void genericEventsTakeAnyUpperSnakeTypeExceptTheLlmOnes() {
        GenericEvent tool = new GenericEvent("TOOL_CALL_STARTED", "s", null, null, Map.of("tool", "search"));
        assertEquals("TOOL_CALL_STARTED", tool.type());
        assertEquals(Map.of("tool", "search"), tool.attributes());
        assertNull(new GenericEvent("HITL_APPROVED", null).sessionId());
        rejectsNaming("type", () -> new GenericEvent("tool_call", "s"));
        rejectsNaming("type", () -> new GenericEvent("TOOL__CALL", "s"));
        rejectsNaming("type", () -> new GenericEvent("A".repeat(EventTypes.MAX_TYPE_LENGTH + 1), "s"));
        rejectsNaming("type", () -> new GenericEvent("LLM_REQUEST_COMPLETED", "s"));
    }

    @Test
    void genericEventAttributesAreCopiedAndBounded() {
        java.util.HashMap<String, String> attributes = new java.util.HashMap<>(Map.of("k", "v"));
        GenericEvent e = new GenericEvent("AGENT_STARTED", "s", null, null, attributes);
        attributes.put("k2", "v2");
        assertEquals(Map.of("k", "v"), e.attributes());
        assertThrows(UnsupportedOperationException.class, () -> e.attributes().put("x", "y"));
        rejectsNaming("attributes.k", () -> new GenericEvent("AGENT_STARTED", "s", null, null,
                Map.of("k", "v".repeat(GenericEvent.MAX_ATTRIBUTE_LENGTH + 1))));
    }

    @Test
    void aRefusedValueCarriesItsFieldAsData() {
        InvalidEventException e = assertThrows(InvalidEventException.class,
                () -> new LlmRequestCompleted("s", "m", 100, 10, 5, 15, false, null, null, 11, 0, null));
        assertEquals("cachedTokens", e.field());
        assertEquals("cachedTokens must be at most promptTokens (10), was 11", e.getMessage());
        assertEquals("cached_tokens must be at most promptTokens (10), was 11", e.messageNaming("cached_tokens"));

        InvalidEventException attribute = assertThrows(InvalidEventException.class,
                () -> new GenericEvent("AGENT_STARTED", "s", null, null, Map.of("k", "a\u0007b")));
        assertEquals("attributes", attribute.field());
        assertTrue(attribute.getMessage().startsWith("attributes.k must not contain control characters"));

        assertEquals("session_id", assertThrows(InvalidEventException.class,
                () -> Event.requireValidId("session_id", " ")).field());
    }
}
