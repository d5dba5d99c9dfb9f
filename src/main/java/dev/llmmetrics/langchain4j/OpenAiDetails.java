package dev.llmmetrics.langchain4j;

import dev.langchain4j.model.openai.OpenAiTokenUsage;
import dev.langchain4j.model.output.TokenUsage;
import dev.llmmetrics.track.Usage;
import org.jspecify.annotations.Nullable;

/**
 * The cached and reasoning tokens of {@code langchain4j-open-ai}'s {@link OpenAiTokenUsage}. That module is
 * optional: the listener touches this class only once it knows the module is on the class path.
 */
final class OpenAiDetails {

    private OpenAiDetails() {
    }

    static boolean is(TokenUsage tokens) {
        return tokens instanceof OpenAiTokenUsage;
    }

    /** {@code usage} with the cached prompt tokens and reasoning tokens OpenAI reported, each at most its whole. */
    static Usage withDetails(Usage usage, TokenUsage tokens) {
        OpenAiTokenUsage openAi = (OpenAiTokenUsage) tokens;
        int cached = openAi.inputTokensDetails() == null ? 0 : orZero(openAi.inputTokensDetails().cachedTokens());
        int reasoning = openAi.outputTokensDetails() == null ? 0
                : orZero(openAi.outputTokensDetails().reasoningTokens());
        return usage.withCachedTokens(Math.min(cached, usage.promptTokens()))
                .withReasoningTokens(Math.min(reasoning, usage.completionTokens()));
    }

    private static int orZero(@Nullable Integer count) {
        return count == null || count < 0 ? 0 : count;
    }
}
