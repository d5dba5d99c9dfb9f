package dev.llmmetrics.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * A real LangChain4j {@link StreamingChatModel} without network: {@code doChat} streams two chunks and
 * then the complete response (or the error {@code answer} throws) from another thread, as a provider's
 * HTTP client would; LangChain4j's own {@code chat(...)} notifies the listeners.
 */
final class ScriptedStreamingChatModel implements StreamingChatModel {

    private final List<ChatModelListener> listeners;
    private final String defaultModelName;
    private final Executor streamThread;
    private final Function<ChatRequest, ChatResponse> answer;

    ScriptedStreamingChatModel(List<ChatModelListener> listeners, String defaultModelName, Executor streamThread,
                               Function<ChatRequest, ChatResponse> answer) {
        this.listeners = List.copyOf(listeners);
        this.defaultModelName = defaultModelName;
        this.streamThread = streamThread;
        this.answer = answer;
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        streamThread.execute(() -> {
            ChatResponse response;
            try {
                response = answer.apply(request);
            } catch (RuntimeException e) {
                handler.onError(e);
                return;
            }
            handler.onPartialResponse("chunk 1");
            handler.onPartialResponse("chunk 2");
            handler.onCompleteResponse(response);
        });
    }

    @Override
    public List<ChatModelListener> listeners() {
        return listeners;
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return ChatRequestParameters.builder().modelName(defaultModelName).build();
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }
}
