package dev.llmmetrics.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.EventTypes;
import dev.llmmetrics.event.GenericEvent;
import dev.llmmetrics.event.InvalidEventException;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.event.LlmRequestStarted;
import java.text.ParsePosition;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.time.temporal.TemporalAccessor;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Turns one JSON event object, with snake_case fields plus {@code type}, into an {@link Event}, and back.
 * Strict: unknown fields, wrong types, fractional or out-of-range numbers and timestamps without a zone
 * are rejected with an {@link InvalidField} naming the field.
 */
final class EventJson {

    private static final Set<String> STARTED_FIELDS = Set.of("type", "event_id", "session_id", "model", "messages_count",
            "tools_count", "correlation_id", "timestamp", "provider", "attributes");
    private static final Set<String> COMPLETED_FIELDS = Set.of("type", "event_id", "session_id", "model", "duration_ms",
            "prompt_tokens", "completion_tokens", "total_tokens", "has_tool_calls", "correlation_id", "timestamp",
            "cached_tokens", "reasoning_tokens", "time_to_first_token_ms", "provider", "cost_usd",
            "response_model", "cache_write_tokens", "attributes");
    private static final Set<String> FAILED_FIELDS = Set.of("type", "event_id", "session_id", "model", "error", "duration_ms",
            "correlation_id", "timestamp", "error_type", "http_status", "provider", "attributes");
    private static final Set<String> SCORED_FIELDS = Set.of("type", "event_id", "session_id", "correlation_id", "name",
            "value", "comment", "timestamp");
    private static final Set<String> GENERIC_FIELDS = Set.of("type", "event_id", "session_id", "correlation_id", "timestamp",
            "attributes");

    /**
     * The wire name of each field of the event records, which name them in camelCase: the one mapping
     * between the two, used to report an {@link InvalidEventException} in the wire's words.
     */
    private static final Map<String, String> WIRE_NAMES = Map.ofEntries(
            Map.entry("type", "type"),
            Map.entry("sessionId", "session_id"),
            Map.entry("model", "model"),
            Map.entry("messagesCount", "messages_count"),
            Map.entry("toolsCount", "tools_count"),
            Map.entry("durationMs", "duration_ms"),
            Map.entry("promptTokens", "prompt_tokens"),
            Map.entry("completionTokens", "completion_tokens"),
            Map.entry("totalTokens", "total_tokens"),
            Map.entry("hasToolCalls", "has_tool_calls"),
            Map.entry("correlationId", "correlation_id"),
            Map.entry("timestamp", "timestamp"),
            Map.entry("cachedTokens", "cached_tokens"),
            Map.entry("reasoningTokens", "reasoning_tokens"),
            Map.entry("timeToFirstTokenMs", "time_to_first_token_ms"),
            Map.entry("error", "error"),
            Map.entry("attributes", "attributes"),
            Map.entry("eventId", "event_id"),
            Map.entry("provider", "provider"),
            Map.entry("costUsd", "cost_usd"),
            Map.entry("responseModel", "response_model"),
            Map.entry("cacheWriteTokens", "cache_write_tokens"),
            Map.entry("errorType", "error_type"),
            Map.entry("httpStatus", "http_status"),
            Map.entry("name", "name"),
            Map.entry("value", "value"),
            Map.entry("comment", "comment"));

    /** A word with an upper-case letter after a lower-case one, as the record fields of more than one word. */
    private static final Pattern CAMEL_WORD = Pattern.compile("\\b[a-z]+(?:[A-Z][a-z]*)+\\b");

    private EventJson() {
    }

    /** A field of one event that cannot be accepted; {@code field} is {@code null} when the event as a whole is wrong. */
    static final class InvalidField extends Exception {
        final String field;

        InvalidField(String field, String reason) {
            super(reason, null, false, false);
            this.field = field;
        }
    }

    static Event decode(JsonNode node) throws InvalidField {
        if (node == null || !node.isObject()) {
            throw new InvalidField(null, "an event must be a JSON object");
        }
        String type = string(node, "type", true);
        if (!EventTypes.isValidTypeName(type)) {
            throw new InvalidField("type", "type must be LLM_REQUEST_STARTED, LLM_REQUEST_COMPLETED, LLM_REQUEST_FAILED,"
                    + " LLM_REQUEST_SCORED or another upper-snake name of at most " + EventTypes.MAX_TYPE_LENGTH + " characters");
        }
        try {
            return switch (type) {
                case EventTypes.LLM_REQUEST_STARTED -> {
                    onlyFields(node, STARTED_FIELDS);
                    yield LlmRequestStarted.builder(string(node, "session_id", true), string(node, "model", true))
                            .messagesCount(integer(node, "messages_count", 0))
                            .toolsCount(integer(node, "tools_count", 0))
                            .correlationId(string(node, "correlation_id", false))
                            .timestamp(timestamp(node))
                            .eventId(string(node, "event_id", false))
                            .provider(string(node, "provider", false))
                            .attributes(attributes(node))
                            .build();
                }
                case EventTypes.LLM_REQUEST_COMPLETED -> {
                    onlyFields(node, COMPLETED_FIELDS);
                    requirePresent(node, "duration_ms");
                    Long firstToken = present(node, "time_to_first_token_ms") ? longValue(node, "time_to_first_token_ms") : null;
                    LlmRequestCompleted.Builder completed = LlmRequestCompleted.builder(string(node, "session_id", true),
                            string(node, "model", true));
                    // Usage is all three counts or none: a response without usage has none (not zeros).
                    if (present(node, "prompt_tokens") || present(node, "completion_tokens")
                            || present(node, "total_tokens")) {
                        requireWithUsage(node, "prompt_tokens");
                        requireWithUsage(node, "completion_tokens");
                        int prompt = integer(node, "prompt_tokens", 0);
                        int completion = integer(node, "completion_tokens", 0);
                        completed.promptTokens(prompt).completionTokens(completion);
                        if (present(node, "total_tokens")) {
                            completed.totalTokens(integer(node, "total_tokens", 0)); // else the builder sums them
                        }
                    }
                    yield completed
                            .durationMs(longValue(node, "duration_ms"))
                            .hasToolCalls(bool(node, "has_tool_calls"))
                            .correlationId(string(node, "correlation_id", false))
                            .timestamp(timestamp(node))
                            .cachedTokens(integer(node, "cached_tokens", 0))
                            .reasoningTokens(integer(node, "reasoning_tokens", 0))
                            .timeToFirstTokenMs(firstToken)
                            .eventId(string(node, "event_id", false))
                            .provider(string(node, "provider", false))
                            .costUsd(costUsd(node))
                            .responseModel(string(node, "response_model", false))
                            .cacheWriteTokens(integer(node, "cache_write_tokens", 0))
                            .attributes(attributes(node))
                            .build();
                }
                case EventTypes.LLM_REQUEST_FAILED -> {
                    onlyFields(node, FAILED_FIELDS);
                    Long duration = present(node, "duration_ms") ? longValue(node, "duration_ms") : null;
                    yield LlmRequestFailed.builder(string(node, "session_id", true), string(node, "model", true))
                            .error(string(node, "error", true))
                            .correlationId(string(node, "correlation_id", false))
                            .timestamp(timestamp(node))
                            .durationMs(duration)
                            .eventId(string(node, "event_id", false))
                            .errorType(errorType(node))
                            .httpStatus(present(node, "http_status") ? httpStatus(node) : null)
                            .provider(string(node, "provider", false))
                            .attributes(attributes(node))
                            .build();
                }
                case EventTypes.LLM_REQUEST_SCORED -> {
                    onlyFields(node, SCORED_FIELDS);
                    requirePresent(node, "name");
                    yield LlmRequestScored.builder(string(node, "session_id", true), string(node, "name", true),
                                    scoreValue(node))
                            .correlationId(string(node, "correlation_id", false))
                            .comment(string(node, "comment", false))
                            .timestamp(timestamp(node))
                            .eventId(string(node, "event_id", false))
                            .build();
                }
                default -> {
                    onlyFields(node, GENERIC_FIELDS);
                    yield new GenericEvent(type, string(node, "session_id", false), string(node, "correlation_id", false),
                            timestamp(node), attributes(node), string(node, "event_id", false));
                }
            };
        } catch (InvalidEventException e) {
            String field = Objects.requireNonNullElse(wireName(e.field()), e.field());
            throw new InvalidField(field, inWireWords(e.messageNaming(field)));
        }
    }

    /**
     * The event in the wire format {@link #decode(JsonNode)} reads, with its timestamp and, when given,
     * its {@code event_id}: decoding the result gives an equal event.
     */
    static ObjectNode encode(Event event) {
        ObjectNode node = Json.MAPPER.createObjectNode();
        node.put("type", event.type());
        if (event.eventId() != null) {
            node.put("event_id", event.eventId());
        }
        if (event.sessionId() != null) {
            node.put("session_id", event.sessionId());
        }
        switch (event) {
            case LlmRequestStarted e -> {
                node.put("model", e.model()).put("messages_count", e.messagesCount()).put("tools_count", e.toolsCount());
                putIfPresent(node, "provider", e.provider());
                putAttributes(node, e.attributes());
            }
            case LlmRequestCompleted e -> {
                node.put("model", e.model()).put("duration_ms", e.durationMs());
                if (e.hasUsage()) {
                    node.put("prompt_tokens", e.promptTokens()).put("completion_tokens", e.completionTokens())
                            .put("total_tokens", e.totalTokens());
                }
                node.put("has_tool_calls", e.hasToolCalls());
                if (e.cachedTokens() != 0) {
                    node.put("cached_tokens", e.cachedTokens());
                }
                if (e.reasoningTokens() != 0) {
                    node.put("reasoning_tokens", e.reasoningTokens());
                }
                if (e.hasTimeToFirstToken()) {
                    node.put("time_to_first_token_ms", e.timeToFirstTokenMs());
                }
                putIfPresent(node, "provider", e.provider());
                if (e.hasReportedCost()) {
                    node.put("cost_usd", e.costUsd());
                }
                putIfPresent(node, "response_model", e.responseModel());
                if (e.cacheWriteTokens() != 0) {
                    node.put("cache_write_tokens", e.cacheWriteTokens());
                }
                putAttributes(node, e.attributes());
            }
            case LlmRequestFailed e -> {
                node.put("model", e.model()).put("error", e.error());
                if (e.hasDuration()) {
                    node.put("duration_ms", e.durationMs());
                }
                if (e.errorType() != null) {
                    node.put("error_type", e.errorType().wireName());
                }
                if (e.httpStatus() != null) {
                    node.put("http_status", e.httpStatus());
                }
                putIfPresent(node, "provider", e.provider());
                putAttributes(node, e.attributes());
            }
            case LlmRequestScored e -> {
                node.put("name", e.name()).put("value", e.value());
                if (e.comment() != null) {
                    node.put("comment", e.comment());
                }
            }
            case GenericEvent e -> putAttributes(node, e.attributes());
        }
        if (event.correlationId() != null) {
            node.put("correlation_id", event.correlationId());
        }
        node.put("timestamp", event.timestamp().toString());
        return node;
    }

    private static void putAttributes(ObjectNode node, Map<String, String> attributes) {
        if (!attributes.isEmpty()) {
            ObjectNode object = node.putObject("attributes");
            attributes.forEach(object::put);
        }
    }

    /** A score's value: a number, or {@code true} for 1 and {@code false} for 0. */
    private static double scoreValue(JsonNode node) throws InvalidField {
        JsonNode value = node.get("value");
        if (value == null || value.isNull()) {
            throw new InvalidField("value", "value is required");
        }
        if (value.isBoolean()) {
            return value.booleanValue() ? 1 : 0;
        }
        if (!value.isNumber()) {
            throw new InvalidField("value", "value must be a number from 0 to " + (long) LlmRequestScored.MAX_VALUE
                    + ", or true or false");
        }
        return value.doubleValue();
    }

    /**
     * {@code message} with every other field of the event records it names in camelCase ("must be at most
     * promptTokens (5)") named as on the wire ({@code prompt_tokens}), so that an answer never names a Java field.
     */
    static String inWireWords(String message) {
        return CAMEL_WORD.matcher(message).replaceAll(m -> Matcher.quoteReplacement(
                Objects.requireNonNullElse(wireName(m.group()), m.group())));
    }

    /** The wire name of a field of the event records, for example {@code cached_tokens}; {@code null} if unknown. */
    static String wireName(String recordField) {
        return WIRE_NAMES.get(recordField);
    }

    private static void putIfPresent(ObjectNode node, String field, @Nullable String value) {
        if (value != null) {
            node.put(field, value);
        }
    }

    private static void requireWithUsage(JsonNode node, String field) throws InvalidField {
        if (!present(node, field)) {
            throw new InvalidField(field, field + " is required when the event has token usage (prompt_tokens and"
                    + " completion_tokens come together, with total_tokens or without; none of them for a response without"
                    + " usage)");
        }
    }

    /** The {@code error_type}, one of the {@link ErrorType} vocabulary's wire names; {@code null} when absent. */
    private static @Nullable ErrorType errorType(JsonNode node) throws InvalidField {
        String name = string(node, "error_type", false);
        if (name == null) {
            return null;
        }
        return ErrorType.ofWireName(name).orElseThrow(() -> new InvalidField("error_type", "error_type must be one of "
                + ErrorType.wireNames() + " (put free text in error)"));
    }

    /** The {@code cost_usd}, a JSON number; {@code null} when absent. The event checks its range. */
    private static @Nullable Double costUsd(JsonNode node) throws InvalidField {
        JsonNode value = node.get("cost_usd");
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isNumber()) {
            throw new InvalidField("cost_usd", "cost_usd must be a number of US dollars from 0 to "
                    + (long) Event.MAX_COST_USD);
        }
        return value.doubleValue();
    }

    private static void onlyFields(JsonNode node, Set<String> allowed) throws InvalidField {
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!allowed.contains(name)) {
                throw new InvalidField(name, "unknown field " + quoted(name) + " for this event type");
            }
        }
    }

    private static boolean present(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value != null && !value.isNull();
    }

    private static void requirePresent(JsonNode node, String field) throws InvalidField {
        if (!present(node, field)) {
            throw new InvalidField(field, field + " is required");
        }
    }

    private static String string(JsonNode node, String field, boolean required) throws InvalidField {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            if (required) {
                throw new InvalidField(field, field + " is required");
            }
            return null;
        }
        if (!value.isTextual()) {
            throw new InvalidField(field, field + " must be a string");
        }
        return value.textValue();
    }

    /** A non-negative int; {@code absent} when the field is missing or null. */
    private static int integer(JsonNode node, String field, int absent) throws InvalidField {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return absent;
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt() || value.intValue() < 0) {
            throw new InvalidField(field, field + " must be a whole number from 0 to " + Integer.MAX_VALUE);
        }
        return value.intValue();
    }

    /**
     * {@code http_status} as a whole number; its range is checked by the event, which names it, so that a value
     * of another kind (a fraction, a string, a negative number) is refused in the same words, not in those of any
     * count.
     */
    private static int httpStatus(JsonNode node) throws InvalidField {
        JsonNode value = node.get("http_status");
        if (!value.isIntegralNumber() || !value.canConvertToInt()) {
            throw new InvalidField("http_status", "http_status must be an HTTP status, a whole number from 100 to 599");
        }
        return value.intValue();
    }

    private static long longValue(JsonNode node, String field) throws InvalidField {
        JsonNode value = node.get(field);
        if (!value.isIntegralNumber() || !value.canConvertToLong() || value.longValue() < 0
                || value.longValue() > Event.MAX_DURATION_MS) {
            throw new InvalidField(field, field + " must be a whole number from 0 to " + Event.MAX_DURATION_MS);
        }
        return value.longValue();
    }

    private static boolean bool(JsonNode node, String field) throws InvalidField {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return false;
        }
        if (!value.isBoolean()) {
            throw new InvalidField(field, field + " must be true or false");
        }
        return value.booleanValue();
    }

    private static Instant timestamp(JsonNode node) throws InvalidField {
        String text = string(node, "timestamp", false);
        if (text == null) {
            return null;
        }
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            if (leapSecondInUtc(text)) {
                try {
                    // Which OffsetDateTime refuses, read as ISO_INSTANT reads it: 23:59:59 and its fraction.
                    return Instant.from(DateTimeFormatter.ISO_INSTANT.parse(text));
                } catch (DateTimeException outOfRange) {
                    // an impossible date around it: refused as any
                }
            }
            throw new InvalidField("timestamp", "timestamp must be ISO-8601 with a zone, such as 2026-01-17T15:30:00Z");
        }
    }

    /**
     * Whether {@code text} is written as a leap second in UTC: 23:59:60 at the zero offset. ISO_INSTANT reads a
     * second 60 at 23:59 of any offset, which at another offset is no leap second, and an hour 24, which RFC 3339
     * does not have; both are refused.
     */
    private static boolean leapSecondInUtc(String text) {
        ParsePosition at = new ParsePosition(0);
        TemporalAccessor fields;
        try {
            fields = DateTimeFormatter.ISO_OFFSET_DATE_TIME.parseUnresolved(text, at);
        } catch (DateTimeException outOfRange) {
            return false; // an offset past ±18:00, which the parser throws for rather than marking the error
        }
        return fields != null && at.getErrorIndex() < 0 && at.getIndex() == text.length()
                && is(fields, ChronoField.HOUR_OF_DAY, 23) && is(fields, ChronoField.MINUTE_OF_HOUR, 59)
                && is(fields, ChronoField.SECOND_OF_MINUTE, 60) && is(fields, ChronoField.OFFSET_SECONDS, 0);
    }

    private static boolean is(TemporalAccessor fields, ChronoField field, long value) {
        return fields.isSupported(field) && fields.getLong(field) == value;
    }

    private static Map<String, String> attributes(JsonNode node) throws InvalidField {
        JsonNode value = node.get("attributes");
        if (value == null || value.isNull()) {
            return Map.of();
        }
        if (!value.isObject()) {
            throw new InvalidField("attributes", "attributes must be an object of strings");
        }
        Map<String, String> attributes = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> entry : value.properties()) {
            if (!entry.getValue().isTextual()) {
                throw new InvalidField("attributes." + entry.getKey(), "attribute values must be strings");
            }
            attributes.put(entry.getKey(), entry.getValue().textValue());
        }
        return attributes;
    }

    static String quoted(String name) {
        String shown = name.length() > 64 ? name.substring(0, 64) + "…" : name;
        return '"' + shown.replaceAll("\\p{Cntrl}", "?") + '"';
    }
}
