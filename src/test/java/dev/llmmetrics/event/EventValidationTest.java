package dev.llmmetrics.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

    /** A valid completed event of 100 ms, 10 prompt and 5 completion tokens, to vary one field of. */
    private static LlmRequestCompleted.Builder completed() {
        return LlmRequestCompleted.builder("s", "m").durationMs(100).promptTokens(10).completionTokens(5);
    }

    @Test
    void aScoreOfMinusZeroIsZeroSoThatEveryStoreAgreesOnItsMinimumAndMaximum() {
        assertEquals(0L, Double.doubleToRawLongBits(LlmRequestScored.builder("s", "q", -0.0).build().value()));
    }

    @Test
    void blankSessionIdOrModelIsRejectedNamingTheField() {
        rejectsNaming("sessionId", () -> LlmRequestStarted.builder(" ", "gpt-4").messagesCount(1).build());
        rejectsNaming("sessionId", () -> LlmRequestCompleted.builder(null, "gpt-4").durationMs(1).promptTokens(1).completionTokens(1).build());
        rejectsNaming("model", () -> LlmRequestCompleted.builder("s", "").durationMs(1).promptTokens(1).completionTokens(1).build());
        rejectsNaming("model", () -> LlmRequestFailed.builder("s", "\t").error("boom").build());
    }

    @Test
    void negativeCountsTokensAndDurationsAreRejectedNamingTheField() {
        rejectsNaming("messagesCount", () -> LlmRequestStarted.builder("s", "m").messagesCount(-1).build());
        rejectsNaming("toolsCount", () -> LlmRequestStarted.builder("s", "m").toolsCount(-3).build());
        rejectsNaming("durationMs", () -> LlmRequestCompleted.builder("s", "m").durationMs(-1).promptTokens(1).completionTokens(1).build());
        rejectsNaming("promptTokens", () -> LlmRequestCompleted.builder("s", "m").durationMs(1).promptTokens(-1).completionTokens(1).totalTokens(2).build());
        rejectsNaming("completionTokens", () -> LlmRequestCompleted.builder("s", "m").durationMs(1).promptTokens(1).completionTokens(-1).totalTokens(2).build());
        rejectsNaming("totalTokens", () -> LlmRequestCompleted.builder("s", "m").durationMs(1).promptTokens(1).completionTokens(1).totalTokens(-2).build());
        rejectsNaming("durationMs", () -> LlmRequestFailed.builder("s", "m").error("e").durationMs(-5L).build());
    }

    @Test
    void cachedReasoningAndFirstTokenFiguresMustLieWithinTheCountsTheyArePartOf() {
        rejectsNaming("cachedTokens", () -> completed().cachedTokens(11).build());
        rejectsNaming("cachedTokens", () -> completed().cachedTokens(-1).build());
        rejectsNaming("reasoningTokens", () -> completed().reasoningTokens(6).build());
        rejectsNaming("timeToFirstTokenMs", () -> completed().timeToFirstTokenMs(101L).build());
        rejectsNaming("timeToFirstTokenMs", () -> completed().timeToFirstTokenMs(-1L).build());
        LlmRequestCompleted ok = completed().cachedTokens(10).reasoningTokens(5).timeToFirstTokenMs(100L).build();
        assertTrue(ok.hasTimeToFirstToken());
    }

    @Test
    void idsWithControlCharactersLoneSurrogatesOrOverTheLengthLimitAreRejected() {
        rejectsNaming("sessionId", () -> LlmRequestStarted.builder("a\nb", "m").build());
        rejectsNaming("sessionId", () -> LlmRequestStarted.builder("a\u0000b", "m").build());
        rejectsNaming("model", () -> LlmRequestStarted.builder("s", "x\uD800y").build());
        rejectsNaming("sessionId", () -> LlmRequestStarted.builder("s".repeat(Event.MAX_ID_LENGTH + 1), "m").build());
        rejectsNaming("correlationId", () -> LlmRequestStarted.builder("s", "m").correlationId(" ").build());
        assertEquals("s".repeat(Event.MAX_ID_LENGTH),
                LlmRequestStarted.builder("s".repeat(Event.MAX_ID_LENGTH), "m").build().sessionId());
        assertEquals("ses-😀-\"{=}\"", LlmRequestStarted.builder("ses-😀-\"{=}\"", "m").build().sessionId());
    }

    @Test
    void errorTextMayHoldLineBreaksButNotOtherControlCharacters() {
        assertEquals("a\n\tb", LlmRequestFailed.builder("s", "m").error("a\n\tb").build().error());
        rejectsNaming("error", () -> LlmRequestFailed.builder("s", "m").error("a\u0007b").build());
        rejectsNaming("error", () -> LlmRequestFailed.builder("s", "m").error(null).build());
        rejectsNaming("error", () -> LlmRequestFailed.builder("s", "m").error("x".repeat(LlmRequestFailed.MAX_ERROR_LENGTH + 1)).build());
    }

    @Test
    void missingTimestampDefaultsToNowAndCorrelationIdIsOptional() {
        Instant before = Instant.now();
        LlmRequestCompleted e = LlmRequestCompleted.builder("s", "m").durationMs(10).promptTokens(1).completionTokens(2).hasToolCalls(true).build();
        assertNull(e.correlationId());
        assertNotNull(e.timestamp());
        assertTrue(!e.timestamp().isBefore(before) && !e.timestamp().isAfter(Instant.now()));
        Instant given = Instant.parse("2026-01-17T15:30:00Z");
        assertEquals(given, LlmRequestStarted.builder("s", "m").correlationId("c-1").timestamp(given).build().timestamp());
    }

    @Test
    void failedDurationIsOptional() {
        LlmRequestFailed unknown = LlmRequestFailed.builder("s", "m").error("timeout").build();
        assertTrue(!unknown.hasDuration());
        LlmRequestFailed known = LlmRequestFailed.builder("s", "m").error("timeout").durationMs(1500L).build();
        assertTrue(known.hasDuration());
        assertEquals(1500L, known.durationMs());
    }

    @Test
    void eachLlmEventReportsItsTypeName() {
        assertEquals("LLM_REQUEST_STARTED", LlmRequestStarted.builder("s", "m").build().type());
        assertEquals("LLM_REQUEST_COMPLETED", LlmRequestCompleted.builder("s", "m").build().type());
        assertEquals("LLM_REQUEST_FAILED", LlmRequestFailed.builder("s", "m").error("e").build().type());
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
        InvalidEventException e = assertThrows(InvalidEventException.class, () -> completed().cachedTokens(11).build());
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

    @Test
    void theCompletedTotalIsPromptPlusCompletionUnlessSet() {
        assertEquals(15, completed().build().totalTokens());
        assertEquals(20, completed().totalTokens(20).build().totalTokens());
        rejectsNaming("totalTokens", () -> LlmRequestCompleted.builder("s", "m")
                .promptTokens(Integer.MAX_VALUE).completionTokens(1).build());
    }

    @Test
    void aCompletedEventWithoutTokenCountsHasNoUsageAndPartialUsageIsRefused() {
        LlmRequestCompleted none = LlmRequestCompleted.builder("s", "m").durationMs(10).build();
        assertFalse(none.hasUsage());
        assertNull(none.promptTokens());
        assertNull(none.completionTokens());
        assertNull(none.totalTokens());
        LlmRequestCompleted promptOnly = LlmRequestCompleted.builder("s", "m").promptTokens(7).build();
        assertTrue(promptOnly.hasUsage());
        assertEquals(0, promptOnly.completionTokens(), "a builder's unset count is 0 once another is set");
        assertEquals(7, promptOnly.totalTokens());
        rejectsNaming("cachedTokens", () -> LlmRequestCompleted.builder("s", "m").cachedTokens(1).build());
        rejectsNaming("reasoningTokens", () -> LlmRequestCompleted.builder("s", "m").reasoningTokens(1).build());
        rejectsNaming("completionTokens", () -> new LlmRequestCompleted("s", "m", 1, 1, null, 1, false, null, null, 0, 0,
                null, null, null, null, null, 0, null));
        rejectsNaming("totalTokens", () -> new LlmRequestCompleted("s", "m", 1, 1, 1, null, false, null, null, 0, 0,
                null, null, null, null, null, 0, null));
        rejectsNaming("completionTokens", () -> new LlmRequestCompleted("s", "m", 1, null, 1, 1, false, null, null, 0, 0,
                null, null, null, null, null, 0, null));
    }

    @Test
    void aProviderIsALowerCaseNameAndAReportedCostAFiniteAmountWithinItsBound() {
        for (String provider : new String[] {"openai", "aws.bedrock", "azure.ai.openai", "mistral_ai", "x-ai", "01ai"}) {
            assertEquals(provider, completed().provider(provider).build().provider());
            assertEquals(provider, LlmRequestStarted.builder("s", "m").provider(provider).build().provider());
            assertEquals(provider, LlmRequestFailed.builder("s", "m").error("e").provider(provider).build().provider());
        }
        for (String provider : new String[] {"", "OpenAI", "open ai", ".openai", "-x", "a".repeat(65), "ope\nai", "é"}) {
            rejectsNaming("provider", () -> completed().provider(provider).build());
            rejectsNaming("provider", () -> LlmRequestStarted.builder("s", "m").provider(provider).build());
            rejectsNaming("provider", () -> LlmRequestFailed.builder("s", "m").error("e").provider(provider).build());
        }
        assertEquals(0.0, completed().costUsd(0.0).build().costUsd());
        assertEquals(Event.MAX_COST_USD, completed().costUsd(Event.MAX_COST_USD).build().costUsd());
        for (double cost : new double[] {-0.01, Double.NaN, Double.POSITIVE_INFINITY, Event.MAX_COST_USD * 1.01}) {
            rejectsNaming("costUsd", () -> completed().costUsd(cost).build());
        }
    }

    @Test
    void aFailuresHttpStatusGivesItsErrorTypeUnlessOneIsGiven() {
        Map<Integer, ErrorType> byStatus = Map.of(429, ErrorType.RATE_LIMIT, 408, ErrorType.TIMEOUT, 504,
                ErrorType.TIMEOUT, 401, ErrorType.AUTH, 403, ErrorType.AUTH, 400, ErrorType.INVALID_REQUEST, 404,
                ErrorType.INVALID_REQUEST, 500, ErrorType.SERVER_ERROR, 503, ErrorType.SERVER_ERROR, 499,
                ErrorType.CANCELLED);
        byStatus.forEach((status, type) -> {
            LlmRequestFailed e = LlmRequestFailed.builder("s", "m").error("e").httpStatus(status).build();
            assertEquals(type, e.errorType(), "HTTP " + status);
            assertEquals(type.wireName(), e.errorTypeLabel());
        });
        assertEquals(ErrorType.OTHER, ErrorType.ofHttpStatus(302));
        LlmRequestFailed filtered = LlmRequestFailed.builder("s", "m").error("e").httpStatus(400)
                .errorType(ErrorType.CONTENT_FILTER).build();
        assertEquals(ErrorType.CONTENT_FILTER, filtered.errorType(), "the type given wins over the status's");
        LlmRequestFailed unknown = LlmRequestFailed.builder("s", "m").error("e").build();
        assertNull(unknown.errorType());
        assertEquals("_OTHER", unknown.errorTypeLabel());
        rejectsNaming("httpStatus", () -> LlmRequestFailed.builder("s", "m").error("e").httpStatus(99).build());
        rejectsNaming("httpStatus", () -> LlmRequestFailed.builder("s", "m").error("e").httpStatus(600).build());
        for (ErrorType type : ErrorType.values()) {
            assertEquals(type, ErrorType.ofWireName(type.wireName()).orElseThrow());
            assertTrue(type.wireName().matches("[a-z_]+|_OTHER"), type.wireName());
        }
        assertTrue(ErrorType.ofWireName("RATE_LIMIT").isEmpty(), "wire names only");
    }

    @Test
    void buildersLeaveOptionalFieldsAbsentAndRequireTheFailedError() {
        LlmRequestStarted started = LlmRequestStarted.builder("s", "m").build();
        assertEquals(0, started.messagesCount());
        assertNull(started.correlationId());
        LlmRequestCompleted completed = completed().build();
        assertFalse(completed.hasToolCalls());
        assertFalse(completed.hasTimeToFirstToken());
        assertEquals(0, completed.cachedTokens());
        rejectsNaming("error", () -> LlmRequestFailed.builder("s", "m").build());
    }
}
