package dev.llmmetrics.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.ChatRequestOptions;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelErrorContext;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.listener.ChatModelResponseContext;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.TokenUsage;
import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.prometheus.SessionSeries;
import dev.llmmetrics.session.RequestRecord;
import dev.llmmetrics.session.RequestScore;
import dev.llmmetrics.session.SessionMetrics;
import dev.llmmetrics.track.Usage;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The listener on real LangChain4j models (no network): LangChain4j's own dispatch calls it. */
class LlmMetricsChatModelListenerTest {

    private static final String MODEL = "gpt-4o";

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final LlmMetrics metrics = LlmMetrics.builder(registry).build();
    private final SessionSeries sessionSeries =
            SessionSeries.of(metrics).register(registry);
    private final List<Event> events = new CopyOnWriteArrayList<>();
    private final ChatModelListener listener = LlmMetricsChatModelListener.of(metrics.tracker());

    LlmMetricsChatModelListenerTest() {
        metrics.bus().subscribeToAll(events::add);
    }

    @AfterEach
    void close() {
        metrics.close();
    }

    private ChatModel model(Function<ChatRequest, ChatResponse> answer) {
        return new ScriptedChatModel(List.of(listener), MODEL, ModelProvider.OPEN_AI, answer);
    }

    private static ChatResponse answer(int input, int output, ToolExecutionRequest... toolCalls) {
        AiMessage message = toolCalls.length == 0 ? AiMessage.from("done") : AiMessage.from(toolCalls);
        return ChatResponse.builder().aiMessage(message).tokenUsage(new TokenUsage(input, output)).build();
    }

    private static ChatRequestOptions session(String sessionId) {
        return ChatRequestOptions.builder().addListenerAttribute(LlmMetricsChatModelListener.SESSION_ID, sessionId).build();
    }

    private static ChatRequest request(String text) {
        return ChatRequest.builder().messages(UserMessage.from(text)).build();
    }

    private static ToolSpecification tool(String name) {
        return ToolSpecification.builder().name(name).description("a tool").build();
    }

    private SessionMetrics stored(String sessionId) {
        return metrics.store().session(sessionId).orElseThrow(() -> new AssertionError("no session " + sessionId));
    }

    private double requests(String model, String outcome) {
        return registry.get("llm.requests").tag("model", model).tag("outcome", outcome).functionCounter().count();
    }

    private double inFlight(String model) {
        return registry.get("llm.requests.in.flight").tag("model", model).gauge().value();
    }

    @Test
    void aCompletedChatIsRecordedUnderTheSessionAttributeWithTokensToolCallsMessagesAndTools() {
        ToolExecutionRequest toolCall = ToolExecutionRequest.builder().id("t1").name("weather").arguments("{}").build();
        ChatModel model = model(r -> answer(850, 420, toolCall));
        List<ChatMessage> messages = List.of(SystemMessage.from("be brief"), UserMessage.from("hi"),
                AiMessage.from("hello"), UserMessage.from("weather in Paris?"));
        ChatRequest request = ChatRequest.builder().messages(messages).toolSpecifications(tool("weather"), tool("time")).build();

        ChatResponse response = model.chat(request, session("abc-123"));

        assertTrue(response.aiMessage().hasToolExecutionRequests());
        SessionMetrics session = stored("abc-123");
        assertEquals(1, session.totalRequests());
        assertEquals(1, session.successfulRequests());
        assertEquals(850, session.totalPromptTokens());
        assertEquals(420, session.totalCompletionTokens());
        assertEquals(1270, session.totalTokens());
        assertEquals(1, session.requestsWithTools());
        RequestRecord record = session.requests().get(0);
        assertEquals(MODEL, record.model(), "the model's configured model name, merged by LangChain4j into the request");
        assertTrue(record.success());

        assertEquals(1, requests(MODEL, "success"));
        assertEquals(4, registry.get("llm.request.messages").tag("model", MODEL).summary().totalAmount());
        assertEquals(2, registry.get("llm.request.tools").tag("model", MODEL).summary().totalAmount());
        assertTrue(((PrometheusMeterRegistry) registry).scrape()
                .contains("llm_session_tool_call_requests_total{model=\"" + MODEL + "\",session=\"abc-123\"} 1.0"));
        assertTrue(((PrometheusMeterRegistry) registry).scrape()
                .contains("llm_tokens_sum{model=\"" + MODEL + "\",type=\"prompt\"} 850.0"));
        assertEquals(0, inFlight(MODEL));

        LlmRequestStarted started = (LlmRequestStarted) events.get(0);
        LlmRequestCompleted completed = (LlmRequestCompleted) events.get(1);
        assertEquals(2, events.size());
        assertEquals(started.correlationId(), completed.correlationId(), "one correlation id per call");
    }

    @Test
    void aFailedChatIsRecordedWithTheErrorTextAndTheSameExceptionReachesTheCaller() {
        IllegalStateException rateLimited = new IllegalStateException("429 rate limited");
        ChatModel model = model(r -> {
            throw rateLimited;
        });

        assertSame(rateLimited, assertThrows(IllegalStateException.class, () -> model.chat(request("hi"), session("s-fail"))));

        SessionMetrics session = stored("s-fail");
        assertEquals(1, session.totalRequests());
        assertEquals(1, session.failedRequests());
        assertEquals(0, session.totalTokens());
        assertEquals("java.lang.IllegalStateException: 429 rate limited", session.requests().get(0).error());
        assertEquals(1, requests(MODEL, "failure"));
        assertEquals(0, inFlight(MODEL));
        assertEquals(events.get(0).correlationId(), events.get(1).correlationId());
    }

    @Test
    void withoutAttributeTheSessionBoundToTheThreadIsUsedAndWithoutEitherTheDefault() {
        ChatModel model = model(r -> answer(1, 1));

        LlmMetricsChatModelListener.withSession("bound", () -> model.chat("one"));
        LlmMetricsChatModelListener.withSession("bound", () -> model.chat(request("two"), session("attribute wins")));
        model.chat("three");

        assertEquals(1, stored("bound").totalRequests());
        assertEquals(1, stored("attribute wins").totalRequests());
        assertEquals(1, stored(LlmMetricsChatModelListener.DEFAULT_SESSION_ID).totalRequests());
    }

    @Test
    void sessionBindingsNestAndAreRestoredWhenTheCallThrows() {
        ChatModel model = model(r -> answer(1, 1));

        LlmMetricsChatModelListener.withSession("outer", () -> {
            assertThrows(IllegalStateException.class, () -> LlmMetricsChatModelListener.withSession("inner", () -> {
                model.chat("in inner");
                throw new IllegalStateException("the application's own failure");
            }));
            return model.chat("back in outer");
        });
        model.chat("unbound");

        assertEquals(1, stored("inner").totalRequests());
        assertEquals(1, stored("outer").totalRequests());
        assertEquals(1, stored("default").totalRequests());
    }

    @Test
    void theBuildersFallbackSuppliesTheSessionOfUnattributedUnboundCalls() {
        ThreadLocal<String> applicationContext = ThreadLocal.withInitial(() -> "user-42");
        ChatModelListener custom = LlmMetricsChatModelListener.builder(metrics.tracker())
                .fallbackSessionId(applicationContext::get)
                .build();
        ChatModel model = new ScriptedChatModel(List.of(custom), MODEL, ModelProvider.OTHER, r -> answer(1, 1));

        model.chat("hi");
        applicationContext.set(null);
        model.chat("hi again");

        assertEquals(1, stored("user-42").totalRequests());
        assertEquals(1, stored("default").totalRequests(), "a fallback answering null falls back to the default");
    }

    @Test
    void theToolsCountAttributeOverridesTheCountOfToolSpecifications() {
        ChatModel model = model(r -> answer(1, 1));
        ChatRequest request = ChatRequest.builder().messages(UserMessage.from("hi")).toolSpecifications(tool("a")).build();
        ChatRequestOptions options = ChatRequestOptions.builder()
                .addListenerAttribute(LlmMetricsChatModelListener.SESSION_ID, "s")
                .addListenerAttribute(LlmMetricsChatModelListener.TOOLS_COUNT, 7)
                .build();

        model.chat(request, options);
        model.chat(request, session("s"));

        assertEquals(7, ((LlmRequestStarted) events.get(0)).toolsCount());
        assertEquals(1, ((LlmRequestStarted) events.get(2)).toolsCount());
    }

    @Test
    void theAttributesMapAndCorrelationIdTheUserPutInTheListenerAttributesReachTheRecordAndAScoreOfTheCall() {
        ChatModel model = model(r -> answer(12, 3));
        ChatRequestOptions options = ChatRequestOptions.builder()
                .addListenerAttribute(LlmMetricsChatModelListener.SESSION_ID, "s")
                .addListenerAttribute(LlmMetricsChatModelListener.ATTRIBUTES, Map.of("feature", "search", "prompt_version", 7))
                .addListenerAttribute(LlmMetricsChatModelListener.CORRELATION_ID, "answer-42")
                .addListenerAttribute("someone.else", "not an attribute of ours")
                .build();

        model.chat(request("hi"), options);
        metrics.score("s", "answer-42", "thumbs", 1);

        RequestRecord record = stored("s").requests().get(0);
        assertEquals(Map.of("feature", "search", "prompt_version", "7"), record.attributes());
        assertEquals("answer-42", record.correlationId());
        assertEquals(List.of("thumbs"), record.scores().stream().map(RequestScore::name).toList());
        assertEquals(Map.of("feature", "search", "prompt_version", "7"), ((LlmRequestStarted) events.get(0)).attributes());
        assertEquals(1, registry.get("llm.score").tag("model", MODEL).tag("name", "thumbs").summary().count());
    }

    @Test
    void attributesPastTheBoundsAreLeftOutAndTheCallIsStillRecorded() {
        ChatModel model = model(r -> answer(1, 1));
        ChatRequestOptions options = ChatRequestOptions.builder()
                .addListenerAttribute(LlmMetricsChatModelListener.SESSION_ID, "s")
                .addListenerAttribute(LlmMetricsChatModelListener.ATTRIBUTES,
                        Map.of("long", "x".repeat(dev.llmmetrics.event.Event.MAX_ATTRIBUTE_LENGTH + 1)))
                .build();

        model.chat(request("hi"), options);

        SessionMetrics session = stored("s");
        assertEquals(1, session.successfulRequests());
        assertEquals(Map.of(), session.requests().get(0).attributes());
    }

    @Test
    void theModelIsTheRequestsModelNameElseTheProviderElseUnknown() {
        ChatModel configured = model(r -> answer(1, 1));
        ChatModel openAiWithoutName = new ScriptedChatModel(List.of(listener), null, ModelProvider.OPEN_AI, r -> answer(1, 1));
        ChatModel anonymous = new ScriptedChatModel(List.of(listener), null, ModelProvider.OTHER, r -> answer(1, 1));

        configured.chat(ChatRequest.builder().messages(UserMessage.from("hi")).modelName("gpt-4o-mini").build());
        openAiWithoutName.chat("hi");
        anonymous.chat("hi");

        List<String> models = stored("default").requests().stream().map(RequestRecord::model).toList();
        assertEquals(List.of("gpt-4o-mini", "OPEN_AI", LlmMetricsChatModelListener.UNKNOWN_MODEL), models);
    }

    @Test
    void aResponseWithoutTokenUsageCompletesWithZeroTokens() {
        ChatModel model = model(r -> ChatResponse.builder().aiMessage(AiMessage.from("no usage block")).build());

        model.chat(request("hi"), session("s"));

        SessionMetrics session = stored("s");
        assertEquals(1, session.successfulRequests());
        assertEquals(0, session.totalTokens());
    }

    @Test
    void theDefaultUsageKeepsTheReportedTotalAndSumsWhenThereIsNone() {
        ChatResponse reported = ChatResponse.builder().aiMessage(AiMessage.from("x")).tokenUsage(new TokenUsage(10, 5, 20)).build();
        ChatResponse partial = ChatResponse.builder().aiMessage(AiMessage.from("x")).tokenUsage(new TokenUsage(10, null)).build();

        assertEquals(Usage.of(10, 5, false).withTotalTokens(20), LlmMetricsChatModelListener.defaultUsage(reported));
        assertEquals(Usage.of(10, 0, false), LlmMetricsChatModelListener.defaultUsage(partial));
    }

    @Test
    void aCustomUsageMapperReadsTheResponse() {
        ChatModelListener custom = LlmMetricsChatModelListener.builder(metrics.tracker())
                .usageMapper(r -> {
                    Usage base = LlmMetricsChatModelListener.defaultUsage(r);
                    return Usage.of(base.promptTokens() * 2, base.completionTokens(), true);
                })
                .build();
        ChatModel model = new ScriptedChatModel(List.of(custom), MODEL, ModelProvider.OTHER, r -> answer(100, 10));

        model.chat(request("hi"), session("mapped"));

        SessionMetrics session = stored("mapped");
        assertEquals(200, session.totalPromptTokens());
        assertEquals(1, session.requestsWithTools());
    }

    @Test
    void aUsageMapperThatThrowsStillRecordsTheCallAsCompletedWithNoUsage() {
        ChatModelListener custom = LlmMetricsChatModelListener.builder(metrics.tracker())
                .usageMapper(r -> {
                    throw new IllegalStateException("unexpected provider metadata");
                })
                .build();
        ChatModel model = new ScriptedChatModel(List.of(custom), MODEL, ModelProvider.OTHER, r -> answer(100, 10));

        assertEquals("done", model.chat(request("hi"), session("s")).aiMessage().text());

        assertEquals(1, stored("s").successfulRequests());
        assertEquals(0, stored("s").totalTokens());
        assertEquals(0, inFlight(MODEL));
    }

    @Test
    void anIdTheEventsRefuseLeavesTheCallUntouchedAndUnrecorded() {
        ChatModel model = model(r -> answer(1, 1));

        assertEquals("done", model.chat(request("hi"), session("x".repeat(300))).aiMessage().text());
        assertEquals("done", model.chat(request("hi"), session("tab\tand\u0000nul")).aiMessage().text());
        assertEquals("done", LlmMetricsChatModelListener.withSession(" ", () -> model.chat("hi")));
        IllegalStateException failure = new IllegalStateException("down");
        ChatModel failing = model(r -> {
            throw failure;
        });
        assertSame(failure, assertThrows(IllegalStateException.class, () -> failing.chat(request("hi"), session(""))));

        assertTrue(events.isEmpty());
        assertEquals(0, metrics.store().sessionCount());
    }

    @Test
    void aResponseOrErrorWithoutAStartedCallPublishesNothing() {
        ChatRequest request = request("hi");
        Map<Object, Object> attributes = new ConcurrentHashMap<>();

        listener.onResponse(new ChatModelResponseContext(answer(1, 1), request, ModelProvider.OTHER, attributes));
        listener.onError(new ChatModelErrorContext(new RuntimeException("x"), request, ModelProvider.OTHER, attributes));

        assertTrue(events.isEmpty());
    }

    @Test
    void twoListenersOnOneModelRecordTheCallOnceEachWithoutMixingTheirCalls() {
        PrometheusMeterRegistry otherRegistry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (LlmMetrics other = LlmMetrics.builder(otherRegistry).build()) {
            ChatModel model = new ScriptedChatModel(List.of(listener, LlmMetricsChatModelListener.of(other.tracker())),
                    MODEL, ModelProvider.OTHER, r -> answer(3, 4));

            model.chat(request("hi"), session("both"));

            assertEquals(7, stored("both").totalTokens());
            assertEquals(7, other.store().session("both").orElseThrow().totalTokens());
        }
    }

    @Test
    void theSameListenerGivenTwiceToOneModelRecordsEachCallOnceAndLeavesNoneInFlight() {
        // As when a framework adds every listener bean to the model and the application adds its own too.
        ChatModel model = new ScriptedChatModel(List.of(listener, listener), MODEL, ModelProvider.OTHER,
                r -> answer(3, 4));

        model.chat(request("hi"), session("twice"));

        assertEquals(2, events.size(), "one STARTED, one COMPLETED: " + events);
        assertEquals(1, stored("twice").totalRequests());
        assertEquals(7, stored("twice").totalTokens());
        assertEquals(0.0, inFlight(MODEL));
    }

    @Test
    void twoListenersOfOneTrackerOnOneModelRecordEachCallOnceWithTheFirstListenersUsage() {
        ChatModelListener second = LlmMetricsChatModelListener.builder(metrics.tracker())
                .usageMapper(response -> Usage.of(100, 200, false)).build();
        ChatModel model = new ScriptedChatModel(List.of(listener, second), MODEL, ModelProvider.OTHER,
                r -> answer(3, 4));

        model.chat(request("hi"), session("one-tracker"));

        assertEquals(2, events.size(), "one STARTED, one COMPLETED: " + events);
        assertEquals(7, stored("one-tracker").totalTokens());
        assertEquals(0.0, inFlight(MODEL));
    }

    @Test
    void concurrentCallsOnDifferentThreadsAreEachRecordedUnderTheirOwnSession() throws Exception {
        int threads = 16;
        int callsPerThread = 5;
        AtomicInteger mostInFlight = new AtomicInteger();
        // Every round, all threads are inside the model at once before any returns.
        CyclicBarrier allInFlight = new CyclicBarrier(threads,
                () -> mostInFlight.accumulateAndGet((int) inFlight(MODEL), Math::max));
        ChatModel model = model(r -> {
            try {
                allInFlight.await(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            int i = Integer.parseInt(((UserMessage) r.messages().get(0)).singleText());
            if (i % 4 == 3) {
                throw new IllegalStateException("failure of " + i);
            }
            return answer(i + 1, 10 * (i + 1));
        });

        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int i = t;
                done.add(pool.submit(() -> {
                    for (int c = 0; c < callsPerThread; c++) {
                        try {
                            if (i % 2 == 0) {
                                model.chat(request(Integer.toString(i)), session("session-" + i));
                            } else {
                                LlmMetricsChatModelListener.withSession("session-" + i, () -> model.chat(request(Integer.toString(i))));
                            }
                        } catch (IllegalStateException expected) {
                            assertEquals("failure of " + i, expected.getMessage());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        assertEquals(threads, mostInFlight.get(), "the calls overlapped");
        for (int i = 0; i < threads; i++) {
            SessionMetrics session = stored("session-" + i);
            assertEquals(callsPerThread, session.totalRequests());
            if (i % 4 == 3) {
                assertEquals(callsPerThread, session.failedRequests());
                String error = "java.lang.IllegalStateException: failure of " + i;
                assertTrue(session.requests().stream().allMatch(r -> error.equals(r.error())));
            } else {
                assertEquals(callsPerThread, session.successfulRequests());
                assertEquals((long) callsPerThread * (i + 1), session.totalPromptTokens());
                assertEquals((long) callsPerThread * 10 * (i + 1), session.totalCompletionTokens());
            }
        }
        assertEquals(0, inFlight(MODEL));
        assertEquals(threads / 4 * callsPerThread, requests(MODEL, "failure"));
        assertEquals(threads * 3 / 4 * callsPerThread, requests(MODEL, "success"));
        Map<String, String> sessionOfCorrelation = new ConcurrentHashMap<>();
        for (Event e : events) {
            String previous = sessionOfCorrelation.putIfAbsent(e.correlationId(), e.sessionId());
            assertTrue(previous == null || previous.equals(e.sessionId()), "a correlation id never spans two sessions");
        }
        assertEquals(threads * callsPerThread, sessionOfCorrelation.size());
    }

    @Test
    void aStreamingChatIsRecordedWhenItsResponseOrErrorArrivesOnTheStreamingThread() throws Exception {
        ExecutorService streamThread = Executors.newSingleThreadExecutor();
        try {
            ScriptedStreamingChatModel streaming = new ScriptedStreamingChatModel(List.of(listener), MODEL, streamThread,
                    r -> {
                        if (((UserMessage) r.messages().get(0)).singleText().equals("fail")) {
                            throw new IllegalStateException("stream broke");
                        }
                        return answer(12, 34);
                    });

            CompletableFuture<ChatResponse> ok = new CompletableFuture<>();
            streaming.chat(request("hi"), session("streamed"), handler(ok));
            assertEquals(12, ok.get(10, TimeUnit.SECONDS).tokenUsage().inputTokenCount());
            CompletableFuture<ChatResponse> broken = new CompletableFuture<>();
            LlmMetricsChatModelListener.withSession("streamed", () -> {
                streaming.chat(request("fail"), handler(broken));
                return null;
            });
            assertThrows(Exception.class, () -> broken.get(10, TimeUnit.SECONDS));
        } finally {
            streamThread.shutdownNow();
        }

        SessionMetrics session = stored("streamed");
        assertEquals(2, session.totalRequests());
        assertEquals(46, session.totalTokens());
        assertEquals("java.lang.IllegalStateException: stream broke", session.requests().get(1).error());
        assertEquals(0, inFlight(MODEL));
        assertNull(session.requests().get(0).error());
        assertFalse(session.requests().get(1).success());
    }

    @Test
    void aWrappedStreamRunsItsHandlerInTheSessionBoundWhenItStartedAndLeavesTheStreamingThreadUnbound()
            throws Exception {
        ExecutorService streamThread = Executors.newSingleThreadExecutor();
        try {
            StreamingChatModel streaming = LlmMetricsChatModelListener.timeToFirstToken(
                    new ScriptedStreamingChatModel(List.of(listener), MODEL, streamThread, r -> answer(1, 2)));
            CompletableFuture<ChatResponse> followUp = new CompletableFuture<>();
            CompletableFuture<String> boundInHandler = new CompletableFuture<>();
            LlmMetricsChatModelListener.withSession("bound", () -> {
                streaming.chat(request("first"), new StreamingChatResponseHandler() {
                    @Override
                    public void onCompleteResponse(ChatResponse response) {
                        boundInHandler.complete(LlmMetricsChatModelListener.boundSession());
                        streaming.chat(request("follow-up"), handler(followUp)); // as an AI service after a tool
                    }

                    @Override
                    public void onError(Throwable error) {
                        followUp.completeExceptionally(error);
                    }
                });
                return null;
            });
            followUp.get(10, TimeUnit.SECONDS);
            assertEquals("bound", boundInHandler.get(), "the handler runs in the session bound when the call started");
            assertNull(streamThread.submit(LlmMetricsChatModelListener::boundSession).get(10, TimeUnit.SECONDS),
                    "nothing stays bound to the streaming thread once the handler returned");
        } finally {
            streamThread.shutdownNow();
        }

        assertEquals(2, stored("bound").totalRequests(), "the follow-up, sent from the streaming thread, too");
        assertTrue(metrics.store().session(LlmMetricsChatModelListener.DEFAULT_SESSION_ID).isEmpty());
        assertEquals(0, inFlight(MODEL));
    }

    /**
     * The wrapper hands each chunk on with the call's session bound, on the client's thread, without an allocation
     * of its own per chunk: a stream calls it for every token.
     */
    @Test
    void aWrappedStreamHandsItsChunksOnInItsSessionWithoutAllocatingPerChunk() throws Exception {
        for (String session : new String[] {null, "bound"}) {
            List<StreamingChatResponseHandler> wrapped = new ArrayList<>();
            StreamingChatModel capturing = new StreamingChatModel() {
                @Override
                public void chat(ChatRequest request, ChatRequestOptions options, StreamingChatResponseHandler handler) {
                    wrapped.add(handler);
                }
            };
            AtomicInteger chunks = new AtomicInteger();
            List<String> boundInHandler = new CopyOnWriteArrayList<>();
            LlmMetricsChatModelListener.withSession(session, () -> {
                LlmMetricsChatModelListener.timeToFirstToken(capturing).chat(request("q"), new StreamingChatResponseHandler() {
                    @Override
                    public void onPartialResponse(String partialResponse) {
                        if (chunks.getAndIncrement() == 0) {
                            boundInHandler.add(String.valueOf(LlmMetricsChatModelListener.boundSession()));
                        }
                    }

                    @Override
                    public void onCompleteResponse(ChatResponse response) {
                    }

                    @Override
                    public void onError(Throwable error) {
                    }
                });
                return null;
            });
            StreamingChatResponseHandler handler = wrapped.getFirst();
            ExecutorService streamThread = Executors.newSingleThreadExecutor();
            try {
                long allocated = streamThread.submit(() -> {
                    com.sun.management.ThreadMXBean threads =
                            (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
                    for (int i = 0; i < 200_000; i++) { // compiled
                        handler.onPartialResponse("token");
                    }
                    long before = threads.getCurrentThreadAllocatedBytes();
                    for (int i = 0; i < 10_000; i++) {
                        handler.onPartialResponse("token");
                    }
                    return threads.getCurrentThreadAllocatedBytes() - before;
                }).get(60, TimeUnit.SECONDS);
                assertTrue(allocated < 1_000, allocated + " bytes for 10 000 chunks, session " + session);
                assertNull(streamThread.submit(LlmMetricsChatModelListener::boundSession).get(10, TimeUnit.SECONDS));
            } finally {
                streamThread.shutdownNow();
            }
            assertEquals(List.of(String.valueOf(session)), boundInHandler);
        }
    }

    private static StreamingChatResponseHandler handler(CompletableFuture<ChatResponse> result) {
        return new StreamingChatResponseHandler() {
            @Override
            public void onCompleteResponse(ChatResponse response) {
                result.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                result.completeExceptionally(error);
            }
        };
    }
    @Test
    void aCorrelationIdTheEventsRefuseIsLeftOutAndTheCallIsStillRecorded() {
        Object unreadable = new Object() {
            @Override
            public String toString() {
                throw new IllegalStateException("no id");
            }
        };
        for (Object given : List.of("two\nlines", "x".repeat(300), unreadable)) {
            model(r -> answer(1, 2)).chat(request("hi"), ChatRequestOptions.builder()
                    .addListenerAttribute(LlmMetricsChatModelListener.SESSION_ID, "s")
                    .addListenerAttribute(LlmMetricsChatModelListener.CORRELATION_ID, given).build());
        }
        assertEquals(3, stored("s").successfulRequests());
        assertEquals(0.0, inFlight(MODEL));
        assertEquals(6, events.size(), "a STARTED and a COMPLETED each: " + events);
        assertEquals(events.get(0).correlationId(), events.get(1).correlationId(), "the call's own id ties its events");
    }

}
