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

    /** Usage whose total is the sum of prompt and completion tokens. */
    public static Usage of(int promptTokens, int completionTokens, boolean hasToolCalls) {
        return new Usage(promptTokens, completionTokens, Math.addExact(promptTokens, completionTokens), hasToolCalls);
    }
}
