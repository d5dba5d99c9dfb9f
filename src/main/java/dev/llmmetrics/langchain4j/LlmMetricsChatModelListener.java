package dev.llmmetrics.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelErrorContext;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.listener.ChatModelRequestContext;
import dev.langchain4j.model.chat.listener.ChatModelResponseContext;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.TokenUsage;
import dev.langchain4j.observability.api.listener.AiServiceRequestIssuedListener;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.InvalidEventException;
import dev.llmmetrics.track.CallTracker;
import dev.llmmetrics.track.Failure;
import dev.llmmetrics.track.InFlightCall;
import dev.llmmetrics.track.LlmCall;
import dev.llmmetrics.track.Usage;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * A LangChain4j {@link ChatModelListener} that publishes llm-metrics' STARTED, COMPLETED and FAILED
 * events for every call of the chat model (blocking or streaming) it is given to.
 *
 * <pre>{@code
 * LlmMetrics metrics = LlmMetrics.builder(registry).build();
 * ChatModelListener listener = LlmMetricsChatModelListener.of(metrics.tracker());
 * ChatModel model = OpenAiChatModel.builder()...listeners(List.of(listener)).build();
 * StreamingChatModel streaming = LlmMetricsChatModelListener.timeToFirstToken(
 *         OpenAiStreamingChatModel.builder()...listeners(List.of(listener)).build());
 * }</pre>
 *
 * <p>A listener sees a streamed response only once it is whole; {@link #timeToFirstToken(StreamingChatModel)}
 * wraps a streaming model so that the first chunk of each response is noted on the call the listener
 * records, which then carries its time to first token.
 *
 * <p><b>Session.</b> The session id of a call is, in this order:
 * <ol>
 *   <li>the listener attribute {@link #SESSION_ID} of the call, as its {@code toString()}:
 *       {@code model.chat(request, ChatRequestOptions.builder().addListenerAttribute(SESSION_ID, id).build())};
 *       for an AI service's calls, which carry no listener attributes, the AI service's
 *       {@code InvocationParameters} entry of that key, when the AI service has the {@link #aiServiceListener()}
 *       (as are {@link #ATTRIBUTES}, {@link #CORRELATION_ID} and {@link #TOOLS_COUNT});</li>
 *   <li>else the session bound to the calling thread by {@link #withSession(String, LlmCall)}, which
 *       reaches calls the application does not build itself (an AI service's, which carry no listener
 *       attributes); on a streaming model wrapped by {@link #timeToFirstToken(StreamingChatModel)} it also
 *       reaches the calls its handler makes on the client's thread (an AI service's request after a tool
 *       ran);</li>
 *   <li>else the builder's {@linkplain Builder#fallbackSessionId(Supplier) fallback}, by default
 *       {@value #DEFAULT_SESSION_ID}.</li>
 * </ol>
 *
 * <p><b>The rest of the events.</b> The model is the request's model name (the model's default
 * parameters merged with the request's), else the name of the model's {@link ModelProvider} when it is
 * not {@code OTHER}, else {@value #UNKNOWN_MODEL}; the response's model name is not used, so that the
 * three events of a call name the same model. The provider is the model's {@link ModelProvider} by the
 * name the GenAI conventions give it ({@link #providerName(ModelProvider)}). Messages are the request's messages; tools are the
 * attribute {@link #TOOLS_COUNT} when it is a non-negative number, else the request's tool
 * specifications. The call's attributes are the map under {@link #ATTRIBUTES}, and its correlation id the
 * attribute {@link #CORRELATION_ID} when given:
 * {@code ChatRequestOptions.builder().addListenerAttribute(ATTRIBUTES, Map.of("feature", "search"))
 * .addListenerAttribute(CORRELATION_ID, answerId)}. The usage is read from the response by the {@linkplain Builder#usageMapper usage
 * mapper}, by default {@link #defaultUsage(ChatResponse)}. A failure carries the error's class and
 * message, and the error type and HTTP status {@link Failure#of(Throwable)} reads from LangChain4j's
 * exceptions ({@code RateLimitException}, {@code TimeoutException}, {@code HttpException} and the others). The events of one call share a correlation id; the call's state travels in the listener
 * attributes LangChain4j hands to {@code onRequest}, {@code onResponse} and {@code onError} of that call,
 * so concurrent calls, and streaming calls finishing on another thread, never mix. Listeners of one tracker on
 * one model (or one listener given twice) record each call once, the first of them in the model's list; listeners
 * of different trackers each record it.
 *
 * <p><b>Never in the way.</b> No method throws into the model's call: a call whose session id or model
 * name the events refuse (blank, longer than 256 characters, control characters) is not recorded, and a
 * warning says why; a usage mapper that throws or returns {@code null} records the call as completed with
 * no usage. A stream the application cancels through its {@code StreamingHandle} is recorded as failed, of
 * error type {@code cancelled}, when the model is wrapped by {@link #timeToFirstToken(StreamingChatModel)}: a
 * cancel reaches no listener; so is a call the wrapped model throws out of {@code chat} before it reaches the
 * handler, with that exception. A call LangChain4j starts but never finishes (on a streaming model not wrapped: one
 * that throws before it reaches the handler, a stream cancelled) stays in flight. Thread-safe.
 */
public final class LlmMetricsChatModelListener implements ChatModelListener {

    /** Listener attribute key whose value, as its {@code toString()}, is the session id of the call. */
    public static final String SESSION_ID = "llm-metrics.session-id";

    /**
     * Listener attribute key whose value, a non-negative {@link Number}, is the tools count of the call
     * (by default the request's tool specifications are counted).
     */
    public static final String TOOLS_COUNT = "llm-metrics.tools-count";

    /**
     * Listener attribute key whose value, a {@link Map}, gives the call's attributes (a feature, a prompt
     * version …): each entry's key and value as their {@code toString()}, kept with the call's record, never
     * a metric label. Past the events' bounds ({@link dev.llmmetrics.event.Event#MAX_ATTRIBUTES} entries,
     * values of {@link dev.llmmetrics.event.Event#MAX_ATTRIBUTE_LENGTH} characters) the call is recorded
     * without them, and a warning says why.
     */
    public static final String ATTRIBUTES = "llm-metrics.attributes";

    /**
     * Listener attribute key whose value, as its {@code toString()}, is the correlation id of the call's events
     * (by default a new random one): the id a later score of the call names. One the events refuse as an id is
     * left out, with a warning, and the call recorded under a new one.
     */
    public static final String CORRELATION_ID = "llm-metrics.correlation-id";

    /** The session id of a call with no session attribute, no bound session and no fallback of its own. */
    public static final String DEFAULT_SESSION_ID = "default";

    /** The model of a call whose request names no model and whose model names no provider. */
    public static final String UNKNOWN_MODEL = "unknown";

    private static final Logger LOG = System.getLogger(LlmMetricsChatModelListener.class.getName());

    /** Whether {@code langchain4j-open-ai}, an optional module, is on the class path: found without loading it. */
    private static final boolean OPEN_AI_PRESENT = LlmMetricsChatModelListener.class.getClassLoader()
            .getResource("dev/langchain4j/model/openai/OpenAiTokenUsage.class") != null;

    /** The session bound by {@link #withSession}, shared by every listener: one binding reaches them all. */
    private static final ThreadLocal<@Nullable String> BOUND_SESSION = new ThreadLocal<>();

    private final CallTracker tracker;
    private final Supplier<? extends @Nullable String> fallbackSessionId;
    private final Function<? super ChatResponse, ? extends @Nullable Usage> usageMapper;
    /**
     * The attribute key of the call in flight, equal for the listeners of one tracker: the first of them on a model
     * records the call, so that two (or one given twice) never count it twice; listeners of other trackers never
     * collide with it.
     */
    private final CallKey callKey;

    private LlmMetricsChatModelListener(Builder builder) {
        this.tracker = builder.tracker;
        this.fallbackSessionId = builder.fallbackSessionId;
        this.usageMapper = builder.usageMapper;
        this.callKey = new CallKey(builder.tracker);
    }

    /** A listener publishing through {@code tracker}, with the default session fallback and usage mapping. */
    public static LlmMetricsChatModelListener of(CallTracker tracker) {
        return builder(tracker).build();
    }

    /** A builder of a listener publishing through {@code tracker}. */
    public static Builder builder(CallTracker tracker) {
        return new Builder(tracker);
    }

    /**
     * Runs {@code call} with {@code sessionId} bound to the current thread: the chat calls it makes on this
     * thread that carry no {@link #SESSION_ID} attribute are recorded under {@code sessionId}. Bindings
     * nest; the previous one is restored when {@code call} returns or throws. A {@code null} id binds
     * nothing (the fallback applies). A streaming model wrapped by {@link #timeToFirstToken(StreamingChatModel)}
     * binds the session again while its handler runs on the client's thread, so that the requests a streaming AI
     * service sends from there (after a tool ran) are recorded under it too; a {@code TokenStream} sends its first
     * request in {@code start()}, which {@code call} must therefore include.
     *
     * <pre>{@code
     * String answer = LlmMetricsChatModelListener.withSession(userSessionId, () -> assistant.chat(question));
     * LlmMetricsChatModelListener.withSession(userSessionId, () -> {
     *     streamingAssistant.chat(question).onPartialResponse(...).onCompleteResponse(...).onError(...).start();
     *     return null;
     * });
     * }</pre>
     *
     * @return what {@code call} returns
     * @throws X whatever {@code call} throws, unchanged
     */
    public static <R extends @Nullable Object, X extends Throwable> R withSession(@Nullable String sessionId,
                                                                                 LlmCall<R, X> call) throws X {
        Objects.requireNonNull(call, "call");
        @Nullable String previous = BOUND_SESSION.get();
        BOUND_SESSION.set(sessionId);
        try {
            return call.call();
        } finally {
            if (previous == null) {
                BOUND_SESSION.remove();
            } else {
                BOUND_SESSION.set(previous);
            }
        }
    }

    /**
     * A listener for an AI service ({@code AiServices.builder(...).registerListener(aiServiceListener())}) that hands
     * the entries {@link #SESSION_ID}, {@link #ATTRIBUTES}, {@link #CORRELATION_ID} and {@link #TOOLS_COUNT} of the
     * {@code InvocationParameters} a method of the AI service is called with to each request that invocation sends
     * (a tool call's follow-up too), as if they were that request's listener attributes: LangChain4j gives an AI
     * service's requests no listener attributes of their own. A listener attribute the request carries wins. It
     * relies on LangChain4j announcing each request on the thread that then sends it to the model, which 1.19.0
     * does, blocking and streaming; a request that reaches the model with other messages than it announced (a model
     * wrapper that rewrites them) gets none of them.
     *
     * <pre>{@code
     * interface Assistant { String chat(@UserMessage String question, InvocationParameters parameters); }
     * Assistant assistant = AiServices.builder(Assistant.class).chatModel(model)
     *         .registerListener(LlmMetricsChatModelListener.aiServiceListener()).build();
     * assistant.chat(question, InvocationParameters.from(Map.of(SESSION_ID, userSessionId,
     *         ATTRIBUTES, Map.of("feature", "search"), CORRELATION_ID, answerId)));
     * }</pre>
     */
    public static AiServiceRequestIssuedListener aiServiceListener() {
        return AiServiceParameters.LISTENER;
    }

    /** The session bound to the calling thread by {@link #withSession}, {@code null} when none is. */
    static @Nullable String boundSession() {
        return BOUND_SESSION.get();
    }

    /**
     * Binds {@code sessionId} ({@code null} for none) to the calling thread and returns the binding it replaces,
     * to be bound again the same way when the step is done: {@link #withSession} without its call's allocation,
     * for a stream's handler on each chunk. An unbound thread keeps its entry, holding {@code null}, so that the
     * next chunk makes none.
     */
    static @Nullable String rebind(@Nullable String sessionId) {
        @Nullable String previous = BOUND_SESSION.get();
        if (!Objects.equals(previous, sessionId)) {
            BOUND_SESSION.set(sessionId);
        }
        return previous;
    }

    /**
     * Wraps a streaming model so that the calls a listener of this class records on it carry their time to
     * first token: from the start of the call to the first partial response, thinking or tool call; and so that
     * a stream the application cancels through its {@code StreamingHandle} is recorded as failed, cancelled, and a
     * request the model throws out of {@code chat} before it streams as failed with that exception; and so
     * that the session {@linkplain #withSession bound} when a call starts is bound again while its handler runs,
     * on the client's thread, where a streaming AI service sends its request after a tool ran. The
     * model's listeners must include such a listener; the wrapped model is what the application (or its AI
     * service) uses.
     *
     * <pre>{@code
     * StreamingChatModel model = LlmMetricsChatModelListener.timeToFirstToken(
     *         OpenAiStreamingChatModel.builder()...listeners(List.of(listener)).build());
     * }</pre>
     */
    public static StreamingChatModel timeToFirstToken(StreamingChatModel model) {
        return model instanceof TimedStreamingChatModel ? model : new TimedStreamingChatModel(model);
    }

    /**
     * The usage LangChain4j reports in {@link ChatResponse#tokenUsage()}: input tokens as prompt tokens,
     * output tokens as completion tokens, the reported total (or their sum when none is reported); no usage
     * (not zeros) when the response reported none; for OpenAI ({@code OpenAiTokenUsage}) the cached prompt
     * tokens and the reasoning tokens; tool calls when the AI message carries tool execution requests; the
     * response's model name, left out when the events refuse it as an id. A custom
     * {@linkplain Builder#usageMapper usage mapper} may start from it.
     */
    public static Usage defaultUsage(ChatResponse response) {
        AiMessage message = response.aiMessage();
        boolean toolCalls = message != null && message.hasToolExecutionRequests();
        TokenUsage tokens = response.tokenUsage();
        String responseModel = responseModel(response.modelName());
        if (tokens == null || (tokens.inputTokenCount() == null && tokens.outputTokenCount() == null)) {
            return Usage.NONE.withToolCalls(toolCalls).withResponseModel(responseModel);
        }
        int prompt = orZero(tokens.inputTokenCount());
        int completion = orZero(tokens.outputTokenCount());
        Integer total = tokens.totalTokenCount();
        Usage usage = Usage.of(prompt, completion, toolCalls);
        usage = (total == null ? usage : usage.withTotalTokens(total)).withResponseModel(responseModel);
        if (OPEN_AI_PRESENT && OpenAiDetails.is(tokens)) {
            usage = OpenAiDetails.withDetails(usage, tokens);
        }
        return usage;
    }

    /**
     * The response's model name when the events take it as an id; {@code null} when it names none, or one they
     * refuse (past 256 characters, control characters), so that an odd name costs the call its response model,
     * not its usage.
     */
    private static @Nullable String responseModel(@Nullable String name) {
        if (name == null || name.isBlank()) {
            return null;
        }
        try {
            return Event.requireValidId("responseModel", name);
        } catch (InvalidEventException e) {
            return null;
        }
    }

    /**
     * The name the OpenTelemetry GenAI conventions give a LangChain4j provider ({@code OPEN_AI} is
     * {@code openai}, {@code AMAZON_BEDROCK} {@code aws.bedrock}, ...), its lower-case name for one they do
     * not list, {@code null} for {@code OTHER}.
     */
    public static @Nullable String providerName(@Nullable ModelProvider provider) {
        if (provider == null || provider == ModelProvider.OTHER) {
            return null;
        }
        return switch (provider.name()) {
            case "OPEN_AI" -> "openai";
            case "AZURE_OPEN_AI" -> "azure.ai.openai";
            case "ANTHROPIC" -> "anthropic";
            case "AMAZON_BEDROCK" -> "aws.bedrock";
            case "GOOGLE_AI_GEMINI" -> "gcp.gemini";
            case "GOOGLE_VERTEX_AI_GEMINI", "GOOGLE_VERTEX_AI_ANTHROPIC" -> "gcp.vertex_ai";
            case "GOOGLE_GENAI" -> "gcp.gen_ai";
            case "MISTRAL_AI" -> "mistral_ai";
            case "COHERE" -> "cohere";
            case "WATSONX" -> "ibm.watsonx.ai";
            case "GITHUB_MODELS", "MICROSOFT_FOUNDRY" -> "azure.ai.inference";
            default -> provider.name().toLowerCase(Locale.ROOT);
        };
    }

    /**
     * Publishes STARTED and keeps the call in the request's attributes; nothing when a listener of the same tracker
     * already keeps one there (this one given to the model twice, or another built on the tracker), so that the
     * call is recorded once and finished.
     */
    @Override
    public void onRequest(ChatModelRequestContext context) {
        try {
            AiServiceParameters.adopt(context);
            if (context.attributes().containsKey(callKey)) {
                return;
            }
            ChatRequest request = context.chatRequest();
            String sessionId = sessionId(context.attributes());
            String model = model(request, context.modelProvider());
            CallTracker.Call described = tracker.call(sessionId, model)
                    .messages(size(request.messages()))
                    .tools(toolsCount(context.attributes(), request))
                    .provider(providerName(context.modelProvider()));
            if (context.attributes().get(CORRELATION_ID) instanceof Object id) {
                String given = correlationId(id);
                if (given != null) {
                    described.correlationId(given);
                }
            }
            Map<String, String> attributes = attributes(context.attributes());
            InFlightCall call;
            try {
                call = described.attributes(attributes).start();
            } catch (InvalidEventException refused) {
                if (!"attributes".equals(refused.field())) {
                    LOG.log(Level.WARNING, "Not recording a LangChain4j chat call: " + refused.getMessage());
                    return;
                }
                LOG.log(Level.WARNING, "Recording a LangChain4j chat call without its attributes: " + refused.getMessage());
                try {
                    call = described.attributes(Map.of()).start();
                } catch (InvalidEventException stillRefused) {
                    LOG.log(Level.WARNING, "Not recording a LangChain4j chat call: " + stillRefused.getMessage());
                    return;
                }
            }
            context.attributes().put(callKey, call);
            if (context.attributes().get(TimedStreamingChatModel.FirstChunk.KEY)
                    instanceof TimedStreamingChatModel.FirstChunk firstChunk) {
                firstChunk.bind(call);
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Not recording a LangChain4j chat call: the request could not be read", e);
        }
    }

    /** Publishes COMPLETED with the usage the mapper reads from the response. */
    @Override
    public void onResponse(ChatModelResponseContext context) {
        try {
            InFlightCall call = takeCall(context.attributes());
            if (call != null) {
                call.complete(usage(context.chatResponse()));
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Could not record the end of a LangChain4j chat call", e);
        }
    }

    /** Publishes FAILED with the error's class, message, type and HTTP status. */
    @Override
    public void onError(ChatModelErrorContext context) {
        try {
            InFlightCall call = takeCall(context.attributes());
            if (call != null) {
                @Nullable Throwable error = context.error();
                if (error != null) {
                    call.fail(error);
                } else {
                    call.fail("unknown error");
                }
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Could not record the failure of a LangChain4j chat call", e);
        }
    }

    private @Nullable InFlightCall takeCall(Map<Object, Object> attributes) {
        return attributes.remove(callKey) instanceof InFlightCall call ? call : null;
    }

    /**
     * The correlation id the application gave, as its {@code toString()}; {@code null}, with a warning, when the
     * events refuse it, so that the call is still recorded, under a correlation id of its own.
     */
    private static @Nullable String correlationId(Object given) {
        try {
            return Event.requireValidId("correlationId", given.toString());
        } catch (RuntimeException refused) {
            LOG.log(Level.WARNING, "Recording a LangChain4j chat call under a correlation id of its own, not the one "
                    + "given: " + refused.getMessage());
            return null;
        }
    }

    /** The entries of the map under {@link #ATTRIBUTES}, as strings; none when there is no such map. */
    private static Map<String, String> attributes(Map<Object, Object> listenerAttributes) {
        if (!(listenerAttributes.get(ATTRIBUTES) instanceof Map<?, ?> given) || given.isEmpty()) {
            return Map.of();
        }
        Map<String, String> attributes = new LinkedHashMap<>();
        given.forEach((k, v) -> {
            if (k != null && v != null) {
                attributes.put(k.toString(), v.toString());
            }
        });
        return attributes;
    }

    private String sessionId(Map<Object, Object> attributes) {
        Object attribute = attributes.get(SESSION_ID);
        if (attribute != null) {
            return attribute.toString();
        }
        @Nullable String bound = BOUND_SESSION.get();
        if (bound != null) {
            return bound;
        }
        @Nullable String fallback;
        try {
            fallback = fallbackSessionId.get();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "The fallback session id supplier failed; using \"" + DEFAULT_SESSION_ID + "\"", e);
            return DEFAULT_SESSION_ID;
        }
        return fallback != null ? fallback : DEFAULT_SESSION_ID;
    }

    private static String model(ChatRequest request, @Nullable ModelProvider provider) {
        String name = request.modelName();
        if (name != null && !name.isBlank()) {
            return name;
        }
        return provider != null && provider != ModelProvider.OTHER ? provider.name() : UNKNOWN_MODEL;
    }

    private static int toolsCount(Map<Object, Object> attributes, ChatRequest request) {
        if (attributes.get(TOOLS_COUNT) instanceof Number count && count.longValue() >= 0) {
            return (int) Math.min(count.longValue(), Integer.MAX_VALUE);
        }
        return size(request.toolSpecifications());
    }

    private Usage usage(@Nullable ChatResponse response) {
        if (response == null) {
            return Usage.NONE;
        }
        try {
            @Nullable Usage usage = usageMapper.apply(response);
            return usage != null ? usage : Usage.NONE;
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Could not read the usage of a LangChain4j chat response;"
                    + " recording the call as completed with no usage", e);
            return Usage.NONE;
        }
    }

    private static int size(@Nullable List<?> list) {
        return list == null ? 0 : list.size();
    }

    private static int orZero(@Nullable Integer count) {
        return count == null ? 0 : count;
    }

    /** The attribute key of the call in flight of one tracker's listeners: equal when the tracker is the same. */
    private static final class CallKey {
        private final CallTracker tracker;

        CallKey(CallTracker tracker) {
            this.tracker = tracker;
        }

        @Override
        public boolean equals(@Nullable Object other) {
            return other instanceof CallKey key && key.tracker == tracker;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(tracker);
        }

        @Override
        public String toString() {
            return "llm-metrics.call";
        }
    }

    /** Builds {@link LlmMetricsChatModelListener}. */
    public static final class Builder {
        private final CallTracker tracker;
        private Supplier<? extends @Nullable String> fallbackSessionId = () -> DEFAULT_SESSION_ID;
        private Function<? super ChatResponse, ? extends @Nullable Usage> usageMapper =
                LlmMetricsChatModelListener::defaultUsage;

        private Builder(CallTracker tracker) {
            this.tracker = Objects.requireNonNull(tracker, "tracker");
        }

        /**
         * The session id of a call with no {@link #SESSION_ID} attribute and no session bound by
         * {@link #withSession}; asked on the calling thread at each such call (for the request a streaming AI
         * service sends after a tool ran, the HTTP client's thread). {@value #DEFAULT_SESSION_ID}
         * unless set, and whenever it returns {@code null} or throws.
         */
        public Builder fallbackSessionId(Supplier<? extends @Nullable String> fallbackSessionId) {
            this.fallbackSessionId = Objects.requireNonNull(fallbackSessionId, "fallbackSessionId");
            return this;
        }

        /**
         * Reads the usage from a response, for provider-specific details; a {@code null} usage records the
         * call as completed with no usage. {@link LlmMetricsChatModelListener#defaultUsage(ChatResponse)}
         * unless set.
         */
        public Builder usageMapper(Function<? super ChatResponse, ? extends @Nullable Usage> usageMapper) {
            this.usageMapper = Objects.requireNonNull(usageMapper, "usageMapper");
            return this;
        }

        /** The listener. */
        public LlmMetricsChatModelListener build() {
            return new LlmMetricsChatModelListener(this);
        }
    }
}
