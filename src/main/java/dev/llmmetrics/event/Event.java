package dev.llmmetrics.event;

import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * An event published on the {@link EventBus}.
 *
 * <p>Every event has an upper-snake {@linkplain #type() type name}, the session it belongs to, an
 * optional correlation id that ties the events of one LLM call together, and a UTC timestamp.
 */
public sealed interface Event permits LlmRequestStarted, LlmRequestCompleted, LlmRequestFailed,
        LlmRequestScored, GenericEvent {

    /**
     * The longest session id, model name and correlation id accepted. Ids must also be free of control
     * characters and valid Unicode.
     */
    int MAX_ID_LENGTH = 256;

    /**
     * The most attributes one event may carry. Attributes are free-form strings kept with the event (a generic
     * event's, a request's record); they never become metric labels.
     */
    int MAX_ATTRIBUTES = 64;

    /** The longest attribute value accepted; attribute keys follow the rules of ids. */
    int MAX_ATTRIBUTE_LENGTH = 1024;

    /**
     * The longest duration accepted, in milliseconds: one day. An LLM call that took longer is a clock
     * error, and the bound keeps a timer's sum of nanoseconds from wrapping before about 100 000 such
     * calls on one series (292 years of recorded time).
     */
    long MAX_DURATION_MS = 86_400_000L;

    /** The longest provider name accepted, such as {@code openai} or {@code azure.ai.openai}. */
    int MAX_PROVIDER_LENGTH = 64;

    /**
     * The largest provider-reported cost of one call accepted, in US dollars: far above any real call, and
     * low enough to be counted exactly in picodollars in a {@code long}, as the stores count costs.
     */
    double MAX_COST_USD = 1_000_000;

    /** The earliest timestamp accepted: the first instant of year 1. */
    Instant MIN_TIMESTAMP = Instant.parse("0001-01-01T00:00:00Z");

    /** The latest timestamp accepted: the last instant of year 9999. */
    Instant MAX_TIMESTAMP = Instant.parse("9999-12-31T23:59:59.999999999Z");

    /**
     * Checks {@code value} against the rules of session ids, model names and correlation ids: not blank,
     * at most {@value #MAX_ID_LENGTH} characters, valid Unicode, no control characters. The HTTP layer uses
     * it on ids that arrive outside an event, such as a path parameter.
     *
     * @param field the name to give in the message, for example {@code session_id}
     * @return {@code value}
     * @throws InvalidEventException naming {@code field} and the problem when {@code value} is not a valid id
     */
    static String requireValidId(String field, @Nullable String value) {
        return Checks.id(field, value);
    }

    /**
     * Checks {@code value} against the rule of the events' {@code provider}: lower-case letters, digits, dots,
     * underscores and hyphens, starting with a letter or digit, at most {@value #MAX_PROVIDER_LENGTH}
     * characters, as the GenAI conventions name providers ({@code openai}, {@code aws.bedrock}).
     *
     * @return {@code value}
     * @throws InvalidEventException naming {@code provider} and the problem when {@code value} is not valid
     */
    static String requireValidProvider(String value) {
        return Checks.present("provider", Checks.provider(value));
    }

    /**
     * Checks that an event holding the attributes {@code held} could also hold {@code key} = {@code value}: the
     * key follows the rules of ids, the value is a text of at most {@value #MAX_ATTRIBUTE_LENGTH} characters,
     * and a new key leaves at most {@value #MAX_ATTRIBUTES} attributes. For attributes gathered before their
     * event is built, so that a refusal comes where the attribute is added.
     *
     * @throws InvalidEventException naming {@code attributes} and the problem when the event would refuse it
     */
    static void requireAttributeFits(Map<String, String> held, String key, @Nullable String value) {
        Checks.attribute(key, value);
        if (held.size() >= MAX_ATTRIBUTES && !held.containsKey(key)) {
            throw Checks.invalid("attributes", "must hold at most " + MAX_ATTRIBUTES + " entries");
        }
    }

    /** The event type name, for example {@code LLM_REQUEST_COMPLETED}. */
    String type();

    /** The session the event belongs to; never blank for LLM events, {@code null} allowed for generic ones. */
    @Nullable String sessionId();

    /** The correlation id tying together the events of one call, or {@code null}. */
    @Nullable String correlationId();

    /** When the event happened. */
    Instant timestamp();

    /**
     * The producer's id of this event, the key of idempotent retries: a store applies an event whose id it
     * has applied before only once; {@code null} when the producer gives none.
     */
    @Nullable String eventId();
}
