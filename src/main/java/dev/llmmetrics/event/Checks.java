package dev.llmmetrics.event;

import java.time.Instant;
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
