package dev.llmmetrics.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.ChatRequestOptions;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.CompleteToolCall;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.PartialThinking;
import dev.langchain4j.model.chat.response.PartialThinkingContext;
import dev.langchain4j.model.chat.response.PartialToolCall;
import dev.langchain4j.model.chat.response.PartialToolCallContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.chat.response.StreamingHandle;
import dev.llmmetrics.track.InFlightCall;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CancellationException;
import org.jspecify.annotations.Nullable;

/**
 * A streaming chat model that notes the first chunk of each response on the call an
 * {@link LlmMetricsChatModelListener} of the model records: see
 * {@link LlmMetricsChatModelListener#timeToFirstToken(StreamingChatModel)}.
 *
 * <p>Each call passes a fresh {@link FirstChunk} to the model's listeners in the listener attributes; the
 * listener binds it to the call it starts, and the handler this model hands on notes the first partial
 * response, thinking or tool call on it before passing each on unchanged, but for the stream's handle: a cancel
 * through it also fails the calls in flight as cancelled, of which LangChain4j tells the listeners nothing. Nor
 * does it tell them of an exception the model throws out of {@code chat} before it reaches the handler: such a
 * call fails here too, with that exception, which then reaches the application unchanged.
 *
 * <p>The handler runs, on whatever thread the client calls it, with the session that was
 * {@linkplain LlmMetricsChatModelListener#withSession bound} to the thread that called {@code chat}: a call the
 * handler makes in turn, such as the request an AI service sends from the HTTP client's thread once the tools a
 * response asked for have run, is recorded in the caller's session rather than the fallback.
 */
final class TimedStreamingChatModel implements StreamingChatModel {

    private final StreamingChatModel delegate;

    TimedStreamingChatModel(StreamingChatModel delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public void chat(ChatRequest request, StreamingChatResponseHandler handler) {
        chat(request, ChatRequestOptions.EMPTY, handler);
    }

    @Override
    public void chat(ChatRequest request, ChatRequestOptions options, StreamingChatResponseHandler handler) {
        FirstChunk firstChunk = new FirstChunk();
        Map<Object, Object> attributes = new HashMap<>(options.listenerAttributes());
        attributes.put(FirstChunk.KEY, firstChunk);
        try {
            delegate.chat(request, ChatRequestOptions.builder().listenerAttributes(attributes).build(),
                    new Handler(handler, firstChunk, LlmMetricsChatModelListener.boundSession()));
        } catch (RuntimeException | Error refused) {
            // A model that throws before it reaches the handler (a parameter its client refuses) tells the
            // listeners nothing after their onRequest: the calls they started fail here, with what it threw.
            firstChunk.failed(refused);
            throw refused;
        }
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        delegate.doChat(request, handler);
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return delegate.defaultRequestParameters();
    }

    @Override
    public List<ChatModelListener> listeners() {
        return delegate.listeners();
    }

    @Override
    public ModelProvider provider() {
        return delegate.provider();
    }

    @Override
    public Set<Capability> supportedCapabilities() {
        return delegate.supportedCapabilities();
    }

    /** The first chunk of one call, and the calls in flight (one per listener of ours) that wait for it. */
    static final class FirstChunk {
        /** The listener attribute key: one for every listener, so that each binds its call. */
        static final Object KEY = new Object() {
            @Override
            public String toString() {
                return "llm-metrics.first-chunk";
            }
        };

        private final List<InFlightCall> calls = new java.util.concurrent.CopyOnWriteArrayList<>();

        /** Called by a listener's {@code onRequest}, before the request is sent. */
        void bind(InFlightCall call) {
            calls.add(call);
        }

        /** Called on each chunk; only the first counts on each call. By {@code forEach}: no iterator per chunk. */
        void arrived() {
            calls.forEach(InFlightCall::firstToken);
        }

        /**
         * Called when the application cancels the stream through its {@link StreamingHandle}: LangChain4j then
         * tells neither the handler nor the listeners, so each call fails here, as cancelled.
         */
        void cancelled() {
            failed(new CancellationException("the application cancelled the stream"));
        }

        /**
         * Called when the model threw out of {@code chat} instead of answering through the handler: LangChain4j then
         * tells the listeners nothing after their {@code onRequest}, so each call still in flight fails here.
         */
        void failed(Throwable error) {
            for (InFlightCall call : calls) {
                call.fail(error);
            }
        }
    }

    /** The stream's handle as the application's handler gets it: a cancel also ends the calls in flight. */
    private record Cancelling(StreamingHandle delegate, FirstChunk firstChunk) implements StreamingHandle {

        @Override
        public void cancel() {
            delegate.cancel();
            firstChunk.cancelled();
        }

        @Override
        public boolean isCancelled() {
            return delegate.isCancelled();
        }
    }

    /**
     * The application's handler, with each chunk noted before it is passed on, and run with {@code session} (the
     * session bound when the call started, {@code null} for none) bound to the thread.
     */
    private record Handler(StreamingChatResponseHandler delegate, FirstChunk firstChunk, @Nullable String session)
            implements StreamingChatResponseHandler {

        /** Binds the call's session to this thread for a step of the handler; returns the binding to restore. */
        private @Nullable String bind() {
            return LlmMetricsChatModelListener.rebind(session);
        }

        private static void restore(@Nullable String previous) {
            LlmMetricsChatModelListener.rebind(previous);
        }

        @Override
        public void onPartialResponse(String partialResponse) {
            firstChunk.arrived();
            @Nullable String previous = bind();
            try {
                delegate.onPartialResponse(partialResponse);
            } finally {
                restore(previous);
            }
        }

        @Override
        public void onPartialResponse(PartialResponse partialResponse, PartialResponseContext context) {
            firstChunk.arrived();
            @Nullable String previous = bind();
            try {
                delegate.onPartialResponse(partialResponse,
                        new PartialResponseContext(new Cancelling(context.streamingHandle(), firstChunk)));
            } finally {
                restore(previous);
            }
        }

        @Override
        public void onPartialThinking(PartialThinking partialThinking) {
            firstChunk.arrived();
            @Nullable String previous = bind();
            try {
                delegate.onPartialThinking(partialThinking);
            } finally {
                restore(previous);
            }
        }

        @Override
        public void onPartialThinking(PartialThinking partialThinking, PartialThinkingContext context) {
            firstChunk.arrived();
            @Nullable String previous = bind();
            try {
                delegate.onPartialThinking(partialThinking,
                        new PartialThinkingContext(new Cancelling(context.streamingHandle(), firstChunk)));
            } finally {
                restore(previous);
            }
        }

        @Override
        public void onPartialToolCall(PartialToolCall partialToolCall) {
            firstChunk.arrived();
            @Nullable String previous = bind();
            try {
                delegate.onPartialToolCall(partialToolCall);
            } finally {
                restore(previous);
            }
        }

        @Override
        public void onPartialToolCall(PartialToolCall partialToolCall, PartialToolCallContext context) {
            firstChunk.arrived();
            @Nullable String previous = bind();
            try {
                delegate.onPartialToolCall(partialToolCall,
                        new PartialToolCallContext(new Cancelling(context.streamingHandle(), firstChunk)));
            } finally {
                restore(previous);
            }
        }

        @Override
        public void onCompleteToolCall(CompleteToolCall completeToolCall) {
            firstChunk.arrived();
            @Nullable String previous = bind();
            try {
                delegate.onCompleteToolCall(completeToolCall);
            } finally {
                restore(previous);
            }
        }

        @Override
        public void onUnmappedRawEvent(@Nullable Object rawEvent) {
            @Nullable String previous = bind();
            try {
                delegate.onUnmappedRawEvent(rawEvent);
            } finally {
                restore(previous);
            }
        }

        @Override
        public void onCompleteResponse(ChatResponse completeResponse) {
            @Nullable String previous = bind();
            try {
                delegate.onCompleteResponse(completeResponse);
            } finally {
                restore(previous);
            }
        }

        @Override
        public void onError(Throwable error) {
            @Nullable String previous = bind();
            try {
                delegate.onError(error);
            } finally {
                restore(previous);
            }
        }
    }
}
