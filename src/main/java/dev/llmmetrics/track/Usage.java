package dev.llmmetrics.track;

import dev.llmmetrics.event.Event;
import org.jspecify.annotations.Nullable;

/**
 * What an LLM response reports about its usage and cost.
 *
 * <pre>{@code
 * Usage usage = Usage.of(1200, 400, false).withCachedTokens(1000).withReasoningTokens(150);
 * Usage gateway = Usage.of(1200, 400, false).withCostUsd(0.0031);   // the cost OpenRouter or LiteLLM reported
 * Usage none = Usage.NONE.withToolCalls(true);                       // a response that reported no usage
 * }</pre>
 *
 * @param promptTokens     tokens in the prompt; not negative; {@code null} when the response reported no usage
 * @param completionTokens tokens in the completion; not negative; {@code null} exactly when {@code promptTokens} is
 * @param totalTokens      total tokens; not negative; {@code null} exactly when {@code promptTokens} is
 * @param hasToolCalls     whether the response asked for tool calls
 * @param cachedTokens     of the prompt tokens, those served from the provider's prompt cache; 0 to
 *                         {@code promptTokens}, 0 without usage
 * @param reasoningTokens  of the completion tokens, those spent reasoning; 0 to {@code completionTokens}, 0
 *                         without usage
 * @param costUsd          the call's cost in US dollars as the provider reported it, 0 to
 *                         {@link Event#MAX_COST_USD}; {@code null} when it did not
 * @param responseModel    the model that answered, as the response names it; {@code null} when not known
 * @param cacheWriteTokens of the prompt tokens, those written to the provider's prompt cache; with
 *                         {@code cachedTokens} at most {@code promptTokens}, 0 without usage
 */
public record Usage(@Nullable Integer promptTokens, @Nullable Integer completionTokens, @Nullable Integer totalTokens,
                    boolean hasToolCalls, int cachedTokens, int reasoningTokens, @Nullable Double costUsd,
                    @Nullable String responseModel, int cacheWriteTokens) {

    /** A response that reported no usage, no cost and no tool calls. */
    public static final Usage NONE = new Usage(null, null, null, false, 0, 0, null, null, 0);

    /**
     * Rejects token counts given in part, negative ones, cached or reasoning tokens beyond the count they
     * are part of, a cost out of range, and a response model the events refuse as an id
     * ({@link Event#requireValidId}), so that finishing a call with this usage cannot fail.
     */
    public Usage {
        if (responseModel != null) {
            Event.requireValidId("responseModel", responseModel);
        }
        boolean usage = promptTokens != null;
        if (usage != (completionTokens != null) || usage != (totalTokens != null)) {
            throw new IllegalArgumentException("prompt, completion and total tokens are all given or none");
        }
        if (usage && (promptTokens < 0 || completionTokens < 0 || totalTokens < 0) || cachedTokens < 0
                || reasoningTokens < 0) {
            throw new IllegalArgumentException("token counts must not be negative");
        }
        if (cachedTokens > (usage ? promptTokens : 0)) {
            throw new IllegalArgumentException("cachedTokens (" + cachedTokens + ") must be at most promptTokens ("
                    + promptTokens + ")");
        }
        if (reasoningTokens > (usage ? completionTokens : 0)) {
            throw new IllegalArgumentException("reasoningTokens (" + reasoningTokens
                    + ") must be at most completionTokens (" + completionTokens + ")");
        }
        if (cacheWriteTokens < 0 || (long) cachedTokens + cacheWriteTokens > (usage ? promptTokens : 0)) {
            throw new IllegalArgumentException("cacheWriteTokens (" + cacheWriteTokens + ") must be at most promptTokens"
                    + " less cachedTokens");
        }
        if (costUsd != null && !(costUsd >= 0 && costUsd <= Event.MAX_COST_USD)) {
            throw new IllegalArgumentException("costUsd must be 0 to " + Event.MAX_COST_USD + ", was " + costUsd);
        }
    }

    /**
     * Usage whose total is the sum of prompt and completion tokens, without cached or reasoning tokens or cost.
     *
     * @throws IllegalArgumentException if a count is negative or the sum exceeds {@link Integer#MAX_VALUE}
     */
    public static Usage of(int promptTokens, int completionTokens, boolean hasToolCalls) {
        long total = (long) promptTokens + completionTokens;
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("totalTokens must be at most " + Integer.MAX_VALUE + ", was " + total);
        }
        return new Usage(promptTokens, completionTokens, (int) total, hasToolCalls, 0, 0, null, null, 0);
    }

    /** Whether the response reported its token usage: then the token counts are not {@code null}. */
    public boolean hasUsage() {
        return promptTokens != null;
    }

    /** This usage with the total the provider reported, where it differs from the sum of prompt and completion. */
    public Usage withTotalTokens(int totalTokens) {
        if (!hasUsage()) {
            throw new IllegalStateException("a usage without token counts has no total");
        }
        return new Usage(promptTokens, completionTokens, totalTokens, hasToolCalls, cachedTokens, reasoningTokens,
                costUsd, responseModel, cacheWriteTokens);
    }

    /** This usage with {@code cachedTokens} of the prompt served from the provider's cache. */
    public Usage withCachedTokens(int cachedTokens) {
        return new Usage(promptTokens, completionTokens, totalTokens, hasToolCalls, cachedTokens, reasoningTokens,
                costUsd, responseModel, cacheWriteTokens);
    }

    /** This usage with {@code reasoningTokens} of the completion spent reasoning. */
    public Usage withReasoningTokens(int reasoningTokens) {
        return new Usage(promptTokens, completionTokens, totalTokens, hasToolCalls, cachedTokens, reasoningTokens,
                costUsd, responseModel, cacheWriteTokens);
    }

    /** This usage saying whether the response asked for tool calls. */
    public Usage withToolCalls(boolean hasToolCalls) {
        return new Usage(promptTokens, completionTokens, totalTokens, hasToolCalls, cachedTokens, reasoningTokens,
                costUsd, responseModel, cacheWriteTokens);
    }

    /** This usage naming the model that answered, as the response names it; {@code null} for not known. */
    public Usage withResponseModel(@Nullable String responseModel) {
        return new Usage(promptTokens, completionTokens, totalTokens, hasToolCalls, cachedTokens, reasoningTokens,
                costUsd, responseModel, cacheWriteTokens);
    }

    /** This usage with {@code cacheWriteTokens} of the prompt written to the provider's cache (Anthropic). */
    public Usage withCacheWriteTokens(int cacheWriteTokens) {
        return new Usage(promptTokens, completionTokens, totalTokens, hasToolCalls, cachedTokens, reasoningTokens,
                costUsd, responseModel, cacheWriteTokens);
    }

    /** This usage with the cost the provider reported, in US dollars; {@code null} for none. */
    public Usage withCostUsd(@Nullable Double costUsd) {
        return new Usage(promptTokens, completionTokens, totalTokens, hasToolCalls, cachedTokens, reasoningTokens,
                costUsd, responseModel, cacheWriteTokens);
    }
}
