package dev.llmmetrics.event;

import java.util.Locale;
import java.util.Optional;

/**
 * Why an LLM call failed, in a small fixed vocabulary fit for a metric label: a dashboard can graph rate
 * limits apart from timeouts and provider outages, and an alert can fire on one of them. Each value has a
 * wire name, the one the HTTP API and the meters use; free text is never a type (it goes in the error
 * message).
 */
public enum ErrorType {
    /** The provider refused the call for the caller's rate or quota (HTTP 429). */
    RATE_LIMIT("rate_limit"),
    /** The call or the connection timed out (HTTP 408, 504, a client-side timeout). */
    TIMEOUT("timeout"),
    /** The provider failed (HTTP 5xx other than 504). */
    SERVER_ERROR("server_error"),
    /** The provider refused the request as malformed, too large or for an unknown model (other HTTP 4xx). */
    INVALID_REQUEST("invalid_request"),
    /** The provider's content filter refused the prompt or the response. */
    CONTENT_FILTER("content_filter"),
    /** The credentials were missing, wrong or not allowed the model (HTTP 401, 403). */
    AUTH("auth"),
    /** The caller gave up on the call before it ended (HTTP 499, an interrupted or cancelled call). */
    CANCELLED("cancelled"),
    /** Anything else: a failure known to be none of the above, as the GenAI conventions spell it. */
    OTHER("_OTHER");

    private final String wireName;

    ErrorType(String wireName) {
        this.wireName = wireName;
    }

    /** The name used on the wire and as a label value, for example {@code rate_limit}. */
    public String wireName() {
        return wireName;
    }

    /** The type of that wire name; empty when the name is none of the vocabulary's. */
    public static Optional<ErrorType> ofWireName(String name) {
        for (ErrorType type : values()) {
            if (type.wireName.equals(name)) {
                return Optional.of(type);
            }
        }
        return Optional.empty();
    }

    /**
     * The type an HTTP error status means: 429 a rate limit, 408 and 504 a timeout, 401 and 403 auth,
     * 499 cancelled, other 4xx an invalid request, other 5xx a server error, anything else {@link #OTHER}.
     */
    public static ErrorType ofHttpStatus(int status) {
        return switch (status) {
            case 429 -> RATE_LIMIT;
            case 408, 504 -> TIMEOUT;
            case 401, 403 -> AUTH;
            case 499 -> CANCELLED;
            default -> status >= 400 && status < 500 ? INVALID_REQUEST
                    : status >= 500 && status < 600 ? SERVER_ERROR : OTHER;
        };
    }

    /**
     * Whether a provider's error code or type names a content filter or policy, as Azure OpenAI's
     * {@code content_filter} and OpenAI's {@code content_policy_violation} do: such a refused request is
     * {@link #CONTENT_FILTER}, not {@link #INVALID_REQUEST}.
     */
    public static boolean namesContentFilter(String code) {
        String lower = code.toLowerCase(Locale.ROOT);
        return lower.contains("content_filter") || lower.contains("content_policy");
    }

    /** The wire names of the vocabulary, in order, comma-separated: for messages that list them. */
    public static String wireNames() {
        StringBuilder names = new StringBuilder();
        for (ErrorType type : values()) {
            names.append(names.isEmpty() ? "" : ", ").append(type.wireName);
        }
        return names.toString();
    }
}
