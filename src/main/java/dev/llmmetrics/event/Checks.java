package dev.llmmetrics.event;

import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Validation shared by the event records. Every failure is an {@link InvalidEventException} naming the
 * offending field; where a method takes a {@code part}, it is what the message names within the field
 * ({@code " key"}, {@code ".<key>"}) and is empty for the field as a whole.
 */
final class Checks {

    private Checks() {
    }

    static String id(String field, @Nullable String value) {
        return id(field, "", value);
    }

    static String id(String field, String part, @Nullable String value) {
        if (value == null || value.isBlank()) {
            throw invalid(field, part, "must not be blank");
        }
        return text(field, part, value, Event.MAX_ID_LENGTH, false);
    }

    static @Nullable String optionalId(String field, @Nullable String value) {
        if (value == null) {
            return null;
        }
        return id(field, value);
    }

    static String text(String field, @Nullable String value, int maxLength, boolean multiline) {
        return text(field, "", value, maxLength, multiline);
    }

    /**
     * A string of at most {@code maxLength} characters, valid UTF-16 (no lone surrogate) and free of
     * control characters, except line feeds and tabs where {@code multiline} allows them.
     */
    static String text(String field, String part, @Nullable String value, int maxLength, boolean multiline) {
        if (value == null) {
            throw invalid(field, part, "must not be null");
        }
        if (value.length() > maxLength) {
            throw invalid(field, part, "must be at most " + maxLength + " characters, was " + value.length());
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isISOControl(c) && !(multiline && (c == '\n' || c == '\t'))) {
                throw invalid(field, part, "must not contain control characters (found U+"
                        + String.format("%04X", (int) c) + " at index " + i + ")");
            }
            if (Character.isSurrogate(c)) {
                boolean paired = Character.isHighSurrogate(c)
                        ? i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))
                        : i > 0 && Character.isHighSurrogate(value.charAt(i - 1));
                if (!paired) {
                    throw invalid(field, part, "must be valid Unicode (lone surrogate at index " + i + ")");
                }
            }
        }
        return value;
    }

    /**
     * An unmodifiable copy of an event's attributes, {@code null} meaning none: at most
     * {@link Event#MAX_ATTRIBUTES} entries, each key an id ({@link #id}), each value a text of at most
     * {@link Event#MAX_ATTRIBUTE_LENGTH} characters.
     */
    static Map<String, String> attributes(@Nullable Map<String, String> attributes) {
        if (attributes == null || attributes.isEmpty()) {
            return Map.of();
        }
        if (attributes.size() > Event.MAX_ATTRIBUTES) {
            throw invalid("attributes", "must hold at most " + Event.MAX_ATTRIBUTES + " entries, held "
                    + attributes.size());
        }
        attributes.forEach(Checks::attribute);
        Map<String, String> copy = Map.copyOf(attributes);
        if (copy.size() > Event.MAX_ATTRIBUTES) { // a map whose size() said fewer than it holds
            throw invalid("attributes", "must hold at most " + Event.MAX_ATTRIBUTES + " entries, held " + copy.size());
        }
        return copy;
    }

    /** One attribute: its key an id, its value a text of at most {@link Event#MAX_ATTRIBUTE_LENGTH} characters. */
    static void attribute(@Nullable String key, @Nullable String value) {
        id("attributes", " key", key);
        text("attributes", "." + key, value, Event.MAX_ATTRIBUTE_LENGTH, true);
    }

    /** {@code value}, which a builder requires to have been set. */
    static <T> T present(String field, @Nullable T value) {
        if (value == null) {
            throw invalid(field, "must not be null");
        }
        return value;
    }

    static int nonNegative(String field, int value) {
        if (value < 0) {
            throw invalid(field, "must not be negative, was " + value);
        }
        return value;
    }

    static long nonNegative(String field, long value) {
        if (value < 0) {
            throw invalid(field, "must not be negative, was " + value);
        }
        return value;
    }

    /** A count that is part of another: 0 to {@code whole}. */
    static long partOf(String field, long value, String wholeField, long whole) {
        nonNegative(field, value);
        if (value > whole) {
            throw invalid(field, "must be at most " + wholeField + " (" + whole + "), was " + value);
        }
        return value;
    }

    /**
     * A duration in milliseconds: not negative, and at most {@link Event#MAX_DURATION_MS}, so that it
     * converts to the nanoseconds Micrometer's timers count in without saturating.
     */
    static long durationMs(String field, long value) {
        nonNegative(field, value);
        if (value > Event.MAX_DURATION_MS) {
            throw invalid(field, "must be at most " + Event.MAX_DURATION_MS + " (one day), was " + value);
        }
        return value;
    }

    /**
     * A provider name as the GenAI conventions write them ({@code openai}, {@code aws.bedrock}): lower-case
     * letters, digits, dots, underscores and hyphens, starting with a letter or digit, at most
     * {@link Event#MAX_PROVIDER_LENGTH} characters, or {@code null}. Free text is refused: it becomes a
     * metric label.
     */
    static @Nullable String provider(@Nullable String value) {
        if (value == null) {
            return null;
        }
        if (value.isEmpty() || value.length() > Event.MAX_PROVIDER_LENGTH) {
            throw invalid("provider", "must be 1 to " + Event.MAX_PROVIDER_LENGTH + " characters, was " + value.length());
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            boolean letterOrDigit = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            if (!letterOrDigit && (i == 0 || (c != '.' && c != '_' && c != '-'))) {
                throw invalid("provider", "must be lower-case letters, digits, '.', '_' and '-', starting with a"
                        + " letter or digit, such as openai or aws.bedrock");
            }
        }
        return value;
    }

    /** An HTTP status, 100 to 599, or {@code null}. */
    static @Nullable Integer httpStatus(@Nullable Integer value) {
        if (value != null && (value < 100 || value > 599)) {
            throw invalid("httpStatus", "must be an HTTP status from 100 to 599, was " + value);
        }
        return value;
    }

    /** An amount in US dollars, finite, 0 to {@link Event#MAX_COST_USD}, or {@code null}. */
    static @Nullable Double costUsd(@Nullable Double value) {
        if (value != null && !(value >= 0 && value <= Event.MAX_COST_USD)) {
            throw invalid("costUsd", "must be an amount from 0 to " + (long) Event.MAX_COST_USD + " US dollars, was "
                    + value);
        }
        return value;
    }

    /**
     * The timestamp, or now when {@code null}; years 1 to 9999 only, so that it has an epoch millisecond
     * (the store's records keep one) and a four-digit ISO-8601 year.
     */
    static Instant timestamp(@Nullable Instant value) {
        if (value == null) {
            return Instant.now();
        }
        if (value.isBefore(Event.MIN_TIMESTAMP) || value.isAfter(Event.MAX_TIMESTAMP)) {
            throw invalid("timestamp", "must be between " + Event.MIN_TIMESTAMP + " and " + Event.MAX_TIMESTAMP
                    + ", was " + value);
        }
        return value;
    }

    /** The failure of {@code field} as a whole: the message is the field's name, a space, then {@code problem}. */
    static InvalidEventException invalid(String field, String problem) {
        return invalid(field, "", problem);
    }

    private static InvalidEventException invalid(String field, String part, String problem) {
        return new InvalidEventException(field, part + " " + problem);
    }
}
