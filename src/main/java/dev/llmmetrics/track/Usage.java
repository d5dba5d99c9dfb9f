package dev.llmmetrics.track;

/**
 * What an LLM response reports about its cost.
 *
 * <pre>{@code
 * Usage usage = Usage.of(1200, 400, false).withCachedTokens(1000).withReasoningTokens(150);
 * }</pre>
 *
 * @param promptTokens     tokens in the prompt; not negative
 * @param completionTokens tokens in the completion; not negative
 * @param totalTokens      total tokens; not negative
 * @param hasToolCalls     whether the response asked for tool calls
 * @param cachedTokens     of the prompt tokens, those served from the provider's prompt cache; 0 to
 *                         {@code promptTokens}
 * @param reasoningTokens  of the completion tokens, those spent reasoning; 0 to {@code completionTokens}
 */
public record Usage(int promptTokens, int completionTokens, int totalTokens, boolean hasToolCalls,
                    int cachedTokens, int reasoningTokens) {

    /** Usage of a response that reported none. */
    public static final Usage NONE = new Usage(0, 0, 0, false, 0, 0);

    /** Rejects negative token counts, and cached or reasoning tokens beyond the count they are part of. */
    public Usage {
        if (promptTokens < 0 || completionTokens < 0 || totalTokens < 0 || cachedTokens < 0 || reasoningTokens < 0) {
            throw new IllegalArgumentException("token counts must not be negative");
        }
        if (cachedTokens > promptTokens) {
            throw new IllegalArgumentException("cachedTokens (" + cachedTokens + ") must be at most promptTokens ("
                    + promptTokens + ")");
        }
        if (reasoningTokens > completionTokens) {
            throw new IllegalArgumentException("reasoningTokens (" + reasoningTokens
                    + ") must be at most completionTokens (" + completionTokens + ")");
        }
    }

    /**
     * Usage whose total is the sum of prompt and completion tokens, without cached or reasoning tokens.
     *
     * @throws IllegalArgumentException if a count is negative or the sum exceeds {@link Integer#MAX_VALUE}
     */
    public static Usage of(int promptTokens, int completionTokens, boolean hasToolCalls) {
        long total = (long) promptTokens + completionTokens;
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("totalTokens must be at most " + Integer.MAX_VALUE + ", was " + total);
        }
        return new Usage(promptTokens, completionTokens, (int) total, hasToolCalls, 0, 0);
    }

    /** This usage with the total the provider reported, where it differs from the sum of prompt and completion. */
    public Usage withTotalTokens(int totalTokens) {
        return new Usage(promptTokens, completionTokens, totalTokens, hasToolCalls, cachedTokens, reasoningTokens);
    }

    /** This usage with {@code cachedTokens} of the prompt served from the provider's cache. */
    public Usage withCachedTokens(int cachedTokens) {
        return new Usage(promptTokens, completionTokens, totalTokens, hasToolCalls, cachedTokens, reasoningTokens);
    }

    /** This usage with {@code reasoningTokens} of the completion spent reasoning. */
    public Usage withReasoningTokens(int reasoningTokens) {
        return new Usage(promptTokens, completionTokens, totalTokens, hasToolCalls, cachedTokens, reasoningTokens);
    }
}
