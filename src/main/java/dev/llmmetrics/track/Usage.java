package dev.llmmetrics.track;

/**
 * What an LLM response reports about its cost.
 *
 * @param promptTokens     tokens in the prompt; not negative
 * @param completionTokens tokens in the completion; not negative
 * @param totalTokens      total tokens; not negative
 * @param hasToolCalls     whether the response asked for tool calls
 */
public record Usage(int promptTokens, int completionTokens, int totalTokens, boolean hasToolCalls) {

    /** Usage of a response that reported none. */
    public static final Usage NONE = new Usage(0, 0, 0, false);

    /** Rejects negative token counts. */
    public Usage {
        if (promptTokens < 0 || completionTokens < 0 || totalTokens < 0) {
            throw new IllegalArgumentException("token counts must not be negative");
        }
    }

    /**
     * Usage whose total is the sum of prompt and completion tokens.
     *
     * @throws IllegalArgumentException if a count is negative or the sum exceeds {@link Integer#MAX_VALUE}
     */
    public static Usage of(int promptTokens, int completionTokens, boolean hasToolCalls) {
        long total = (long) promptTokens + completionTokens;
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("totalTokens must be at most " + Integer.MAX_VALUE + ", was " + total);
        }
        return new Usage(promptTokens, completionTokens, (int) total, hasToolCalls);
    }
}
