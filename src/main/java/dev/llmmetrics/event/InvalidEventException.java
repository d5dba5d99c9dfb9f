package dev.llmmetrics.event;

/**
 * A value an event cannot accept. The field at fault travels as data, so that a caller whose vocabulary
 * differs (the HTTP API names fields in snake_case) reports the problem in its own words with
 * {@link #messageNaming(String)} rather than by reading the message.
 */
public final class InvalidEventException extends IllegalArgumentException {

    private final String field;
    /** The message after the field's name, for example {@code " must not be blank"}. */
    private final String afterField;

    InvalidEventException(String field, String afterField) {
        super(field + afterField);
        this.field = field;
        this.afterField = afterField;
    }

    /**
     * The field at fault, as the event record names its component, for example {@code cachedTokens};
     * {@code attributes} for any problem with a generic event's attributes, and for
     * {@link Event#requireValidId} the name its caller gave. The message starts with it.
     */
    public String field() {
        return field;
    }

    /**
     * The message with the field called {@code name}: {@code messageNaming("cached_tokens")} gives
     * {@code "cached_tokens must not be negative, was -1"} where the message reads
     * {@code "cachedTokens must not be negative, was -1"}.
     */
    public String messageNaming(String name) {
        return name + afterField;
    }
}
