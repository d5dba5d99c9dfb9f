package dev.llmmetrics.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import java.util.List;
import java.util.function.Function;

/**
 * A real LangChain4j {@link ChatModel} without network: it implements only {@code doChat}, so every call
 * goes through LangChain4j's own {@code chat(...)}, which merges the default parameters and notifies the
 * listeners, exactly as for a provider's model.
 */
final class ScriptedChatModel implements ChatModel {

    private final List<ChatModelListener> listeners;
    private final String defaultModelName;
    private final ModelProvider provider;
    private final Function<ChatRequest, ChatResponse> answer;

    /**
     * @param defaultModelName the model's configured model name, as a provider's builder sets it; may be null
     * @param answer           the response to a request, or throws as a failing provider would
     */
    ScriptedChatModel(List<ChatModelListener> listeners, String defaultModelName, ModelProvider provider,
                      Function<ChatRequest, ChatResponse> answer) {
        this.listeners = List.copyOf(listeners);
        this.defaultModelName = defaultModelName;
        this.provider = provider;
        this.answer = answer;
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        return answer.apply(request);
    }

    @Override
    public List<ChatModelListener> listeners() {
        return listeners;
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return defaultModelName == null ? DefaultChatRequestParameters.EMPTY
                : ChatRequestParameters.builder().modelName(defaultModelName).build();
    }

    @Override
    public ModelProvider provider() {
        return provider;
    }
}
