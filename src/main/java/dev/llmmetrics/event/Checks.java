package dev.llmmetrics.event;

import java.time.Instant;

/** Validation shared by the event records; every failure names the offending field. */
final class Checks {

    private Checks() {
    }

    static String id(String field, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(field + " must not be blank");
        }
        return text(field, value, Event.MAX_ID_LENGTH, false);
    }

    static String optionalId(String field, String value) {
        if (value == null) {
            return null;
        }
        return id(field, value);
    }

    /**
     * A string of at most {@code maxLength} characters, valid UTF-16 (no lone surrogate) and free of
     * control characters, except line feeds and tabs where {@code multiline} allows them.
     */
    static String text(String field, String value, int maxLength, boolean multiline) {
        if (value == null) {
            throw new IllegalArgumentException(field + " must not be null");
        }
        if (value.length() > maxLength) {
            throw new IllegalArgumentException(field + " must be at most " + maxLength + " characters, was " + value.length());
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isISOControl(c) && !(multiline && (c == '\n' || c == '\t'))) {
                throw new IllegalArgumentException(field + " must not contain control characters (found U+"
                        + String.format("%04X", (int) c) + " at index " + i + ")");
            }
            if (Character.isSurrogate(c)) {
                boolean paired = Character.isHighSurrogate(c)
                        ? i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))
                        : i > 0 && Character.isHighSurrogate(value.charAt(i - 1));
                if (!paired) {
                    throw new IllegalArgumentException(field + " must be valid Unicode (lone surrogate at index " + i + ")");
                }
            }
        }
        return value;
    }

    static int nonNegative(String field, int value) {
        if (value < 0) {
            throw new IllegalArgumentException(field + " must not be negative, was " + value);
        }
        return value;
    }

    static long nonNegative(String field, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(field + " must not be negative, was " + value);
        }
        return value;
    }

    /** A count that is part of another: 0 to {@code whole}. */
    static long partOf(String field, long value, String wholeField, long whole) {
        nonNegative(field, value);
        if (value > whole) {
            throw new IllegalArgumentException(field + " must be at most " + wholeField + " (" + whole + "), was " + value);
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
            throw new IllegalArgumentException(field + " must be at most " + Event.MAX_DURATION_MS + " (one day), was " + value);
        }
        return value;
    }

    /**
     * The timestamp, or now when {@code null}; years 1 to 9999 only, so that it has an epoch millisecond
     * (the store's records keep one) and a four-digit ISO-8601 year.
     */
    static Instant timestamp(Instant value) {
        if (value == null) {
            return Instant.now();
        }
        if (value.isBefore(Event.MIN_TIMESTAMP) || value.isAfter(Event.MAX_TIMESTAMP)) {
            throw new IllegalArgumentException("timestamp must be between " + Event.MIN_TIMESTAMP + " and "
                    + Event.MAX_TIMESTAMP + ", was " + value);
        }
        return value;
    }
}
