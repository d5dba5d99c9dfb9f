package dev.llmmetrics.event;

import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** The event type names this library knows, and the rule every other type name follows. */
public final class EventTypes {

    /** Published right before an LLM call. */
    public static final String LLM_REQUEST_STARTED = "LLM_REQUEST_STARTED";
    /** Published when an LLM call returned a response. */
    public static final String LLM_REQUEST_COMPLETED = "LLM_REQUEST_COMPLETED";
    /** Published when an LLM call ended in an error. */
    public static final String LLM_REQUEST_FAILED = "LLM_REQUEST_FAILED";

    /** Published when a call, or a session, was graded: a user's thumbs up, a judge's grade, a guardrail's verdict. */
    public static final String LLM_REQUEST_SCORED = "LLM_REQUEST_SCORED";

    /** The longest type name accepted. */
    public static final int MAX_TYPE_LENGTH = 64;

    private static final Pattern UPPER_SNAKE = Pattern.compile("[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*");

    private EventTypes() {
    }

    /** Whether {@code type} is one of the four LLM request event types, which have records of their own. */
    public static boolean isLlmRequestType(@Nullable String type) {
        return LLM_REQUEST_STARTED.equals(type) || LLM_REQUEST_COMPLETED.equals(type) || LLM_REQUEST_FAILED.equals(type)
                || LLM_REQUEST_SCORED.equals(type);
    }

    /**
     * Whether {@code type} is a well-formed upper-snake type name of at most {@value #MAX_TYPE_LENGTH} characters.
     * The four LLM request types, the type of most events, are compared first: a match of the pattern costs
     * several times as much, and every event's type is checked on its way in.
     */
    public static boolean isValidTypeName(@Nullable String type) {
        return type != null && (isLlmRequestType(type)
                || !type.isEmpty() && type.length() <= MAX_TYPE_LENGTH && UPPER_SNAKE.matcher(type).matches());
    }
}
