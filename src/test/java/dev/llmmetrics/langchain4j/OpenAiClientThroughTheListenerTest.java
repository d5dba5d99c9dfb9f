package dev.llmmetrics.langchain4j;

import static dev.llmmetrics.langchain4j.FakeOpenAi.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.chat.response.StreamingHandle;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.session.SessionMetrics;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The listener under LangChain4j's real OpenAI client ({@code langchain4j-open-ai}), which talks HTTP to a fake
 * OpenAI-compatible server in this test: plain, streamed with {@code include_usage}, a tool call, HTTP 500 and
 * 429, a timeout and a response without usage.
 */
class OpenAiClientThroughTheListenerTest {

    private static final String SESSION = "lc4j-openai";

    private final FakeOpenAi openAi = new FakeOpenAi();

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final LlmMetrics metrics = LlmMetrics.builder(registry).build();
    private final List<Event> events = new CopyOnWriteArrayList<>();
    private final LlmMetricsChatModelListener listener = LlmMetricsChatModelListener.builder(metrics.tracker())
            .fallbackSessionId(() -> SESSION).build();

    OpenAiClientThroughTheListenerTest() throws IOException {
        metrics.bus().subscribeToAll(events::add);
    }

    @AfterEach
    void stop() {
        openAi.close();
        metrics.close();
    }

    private ChatModel model(int maxRetries, Duration timeout) {
        return OpenAiChatModel.builder().baseUrl(openAi.baseUrl()).apiKey("test-key").modelName("gpt-4o")
                .maxRetries(maxRetries).timeout(timeout).listeners(List.of(listener)).build();
    }

    private static String completion(String message, String usage) {
        return "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1700000000,"
                + "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"message\":" + message
                + ",\"finish_reason\":\"stop\"}]" + usage + "}";
    }

    private static final String USAGE = ",\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":30,"
            + "\"total_tokens\":150,\"prompt_tokens_details\":{\"cached_tokens\":100},"
            + "\"completion_tokens_details\":{\"reasoning_tokens\":12}}";

    private <T extends Event> T event(int index, Class<T> type) {
        return assertInstanceOf(type, events.get(index));
    }

    private SessionMetrics session() {
        return metrics.store().session(SESSION).orElseThrow();
    }

    @Test
    void aPlainCallRecordsItsTokensCachedAndReasoningTokensAndTheProvider() {
        openAi.answers.add(exchange -> json(exchange, 200, completion("{\"role\":\"assistant\",\"content\":\"Hello\"}", USAGE)));
        ChatResponse response = model(0, Duration.ofSeconds(10)).chat(ChatRequest.builder()
                .messages(UserMessage.from("Hi")).build());
        assertEquals("Hello", response.aiMessage().text());

        assertEquals(2, events.size());
        assertEquals("openai", event(0, LlmRequestStarted.class).provider());
        LlmRequestCompleted completed = event(1, LlmRequestCompleted.class);
        assertEquals("gpt-4o", completed.model());
        assertEquals("openai", completed.provider());
        assertEquals("gpt-4o-2024-08-06", completed.responseModel(), "the response's model, for gen_ai.response.model");
        assertEquals(120, completed.promptTokens());
        assertEquals(30, completed.completionTokens());
        assertEquals(150, completed.totalTokens());
        assertEquals(100, completed.cachedTokens(), "OpenAiTokenUsage's cached prompt tokens");
        assertEquals(12, completed.reasoningTokens(), "OpenAiTokenUsage's reasoning tokens");
        assertFalse(completed.hasTimeToFirstToken(), "not streamed");
        assertEquals(100, session().totalCachedTokens());
    }

    @Test
    void aStreamedCallWithIncludeUsageGetsItsTimeToFirstTokenAndItsUsage() throws Exception {
        openAi.answers.add(exchange -> {
            exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(200, 0);
            OutputStream out = exchange.getResponseBody();
            String head = "{\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                    + "\"model\":\"gpt-4o-2024-08-06\",";
            Thread.sleep(250); // the model thinks before its first token
            sse(out, head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},"
                    + "\"finish_reason\":null}]}");
            Thread.sleep(150);
            sse(out, head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}");
            Thread.sleep(150);
            sse(out, head + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}");
            sse(out, head + "\"choices\":[]" + USAGE + "}");
            sse(out, "[DONE]");
        });
        Handler handler = new Handler(0);
        streamingModel().chat(ChatRequest.builder().messages(UserMessage.from("Hi")).build(), handler);
        handler.end.get(10, TimeUnit.SECONDS);
        assertEquals("Hello", handler.text.toString(), "the application's handler still gets every chunk");
        assertTrue(openAi.requests.get(0).path("stream_options").path("include_usage").asBoolean(),
                "LangChain4j asks for the usage chunk: " + openAi.requests.get(0));

        LlmRequestCompleted completed = waitForEnd(LlmRequestCompleted.class);
        assertTrue(completed.hasTimeToFirstToken());
        long firstMs = completed.timeToFirstTokenMs();
        assertTrue(firstMs >= 250, "the first token came after the server's 250 ms: " + firstMs);
        // The server streams 300 ms more after the first chunk; on a busy machine the first chunk may be handed
        // over late, so half of that is what the test asks: the first token is not the end of the stream.
        assertTrue(completed.durationMs() - firstMs >= 150, "and the stream went on after it: " + completed);
        assertEquals(120, completed.promptTokens(), "the usage of the include_usage chunk");
        assertEquals(30, completed.completionTokens());
        assertEquals(100, completed.cachedTokens());
        Timer firstToken = registry.find("llm.time.to.first.token").tag("model", "gpt-4o").timer();
        assertNotNull(firstToken, "llm_time_to_first_token_seconds has the streamed call");
        assertEquals(1, firstToken.count());
    }

    private static void sse(OutputStream out, String data) throws IOException {
        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Test
    void aToolCallIsRecordedAsSuch() {
        openAi.answers.add(exchange -> json(exchange, 200, completion("{\"role\":\"assistant\",\"content\":null,"
                + "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"weather\","
                + "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]}", USAGE)));
        ToolSpecification weather = ToolSpecification.builder().name("weather").description("The weather of a city")
                .parameters(JsonObjectSchema.builder().addStringProperty("city").required("city").build()).build();
        ChatResponse response = model(0, Duration.ofSeconds(10)).chat(ChatRequest.builder()
                .messages(UserMessage.from("Weather in Paris?")).toolSpecifications(weather).build());
        assertTrue(response.aiMessage().hasToolExecutionRequests());

        assertEquals(1, event(0, LlmRequestStarted.class).toolsCount());
        assertTrue(event(1, LlmRequestCompleted.class).hasToolCalls());
        assertEquals(1, session().requestsWithTools());
    }

    @Test
    void anHttp500IsOneFailureOfTypeServerErrorDespiteTheClientsRetries() {
        openAi.answers.add(exchange -> json(exchange, 500, "{\"error\":{\"message\":\"The server had an error\","
                + "\"type\":\"server_error\"}}"));
        assertThrows(RuntimeException.class, () -> model(1, Duration.ofSeconds(10)).chat(ChatRequest.builder()
                .messages(UserMessage.from("Hi")).build()));
        assertEquals(2, openAi.hits.get(), "LangChain4j retried once");

        assertEquals(2, events.size(), "one STARTED, one FAILED: " + events);
        LlmRequestFailed failed = event(1, LlmRequestFailed.class);
        assertEquals(ErrorType.SERVER_ERROR, failed.errorType());
        assertEquals(500, failed.httpStatus());
        assertEquals("openai", failed.provider());
        assertEquals(1, session().failedRequests());
    }

    @Test
    void aRetryThatSucceedsAfterAnHttp500IsOneCompletedRequestWithTheLastAnswersUsage() {
        openAi.answers.add(exchange -> json(exchange, 500, "{\"error\":{\"message\":\"The server had an error\","
                + "\"type\":\"server_error\"}}"));
        openAi.answers.add(exchange -> json(exchange, 200, completion("{\"role\":\"assistant\",\"content\":\"Hi\"}", USAGE)));
        model(1, Duration.ofSeconds(10)).chat(ChatRequest.builder().messages(UserMessage.from("Hi")).build());
        assertEquals(2, openAi.hits.get(), "LangChain4j retried once");

        assertEquals(2, events.size(), "one STARTED, one COMPLETED: " + events);
        assertEquals(150, event(1, LlmRequestCompleted.class).totalTokens());
        assertEquals(1, session().totalRequests());
        assertEquals(0, session().failedRequests());
        assertTrue(registry.find("llm.request.errors").counters().isEmpty(), "no error counted");
    }

    @Test
    void anHttp504IsATimeoutAndA499CancelledAsTheProxyTypesThemThoughLangChain4jThrowsItsGenericExceptions() {
        for (int status : new int[] {504, 499}) {
            openAi.answers.clear();
            events.clear();
            openAi.answers.add(exchange -> json(exchange, status, "{\"error\":{\"message\":\"upstream gave up\"}}"));
            RuntimeException thrown = assertThrows(RuntimeException.class, () -> model(0, Duration.ofSeconds(10))
                    .chat(ChatRequest.builder().messages(UserMessage.from("Hi")).build()));
            assertEquals(status == 504 ? "InternalServerException" : "InvalidRequestException",
                    thrown.getClass().getSimpleName(), "LangChain4j's exception for a " + status);

            LlmRequestFailed failed = event(1, LlmRequestFailed.class);
            assertEquals(status, failed.httpStatus());
            assertEquals(ErrorType.ofHttpStatus(status), failed.errorType(), "as the proxy types a " + status);
        }
        assertEquals(1.0, registry.get("llm.request.errors").tag("model", "gpt-4o").tag("error_type", "timeout")
                .counter().count());
        assertEquals(1.0, registry.get("llm.request.errors").tag("model", "gpt-4o").tag("error_type", "cancelled")
                .counter().count());
    }

    @Test
    void anHttp429IsARateLimitWithItsStatus() {
        openAi.answers.add(exchange -> json(exchange, 429, "{\"error\":{\"message\":\"Rate limit reached for gpt-4o\","
                + "\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}"));
        assertThrows(RuntimeException.class, () -> model(0, Duration.ofSeconds(10)).chat(ChatRequest.builder()
                .messages(UserMessage.from("Hi")).build()));

        LlmRequestFailed failed = event(1, LlmRequestFailed.class);
        assertEquals(ErrorType.RATE_LIMIT, failed.errorType(), failed.error());
        assertEquals(429, failed.httpStatus());
        assertEquals(ErrorType.RATE_LIMIT, session().requests().get(0).errorType());
    }

    @Test
    void aTimeoutIsATimeout() {
        openAi.answers.add(exchange -> Thread.sleep(5_000));
        assertThrows(RuntimeException.class, () -> model(0, Duration.ofMillis(300)).chat(ChatRequest.builder()
                .messages(UserMessage.from("Hi")).build()));

        LlmRequestFailed failed = event(1, LlmRequestFailed.class);
        assertEquals(ErrorType.TIMEOUT, failed.errorType(), failed.error());
        assertNull(failed.httpStatus(), "no answer, no status");
        assertTrue(failed.durationMs() >= 300, failed.toString());
    }

    @Test
    void aResponseWithoutUsageHasNoTokensRatherThanZeros() {
        openAi.answers.add(exchange -> json(exchange, 200, completion("{\"role\":\"assistant\",\"content\":\"Hi\"}", "")));
        model(0, Duration.ofSeconds(10)).chat(ChatRequest.builder().messages(UserMessage.from("Hi")).build());
        openAi.answers.clear();
        openAi.answers.add(exchange -> json(exchange, 200, completion("{\"role\":\"assistant\",\"content\":\"Hi\"}", USAGE)));
        model(0, Duration.ofSeconds(10)).chat(ChatRequest.builder().messages(UserMessage.from("Hi")).build());

        LlmRequestCompleted without = event(1, LlmRequestCompleted.class);
        assertFalse(without.hasUsage());
        assertNull(without.promptTokens());
        SessionMetrics session = session();
        assertEquals(2, session.successfulRequests());
        assertEquals(1, session.requestsWithoutUsage(), "the session says how many had no usage");
        assertEquals(150, session.totalTokens(), "only the response that reported usage counts");
        assertEquals(150.0, session.averageTokensPerRequest());
        assertNull(session.requests().get(0).totalTokens());
        assertTrue(registry.scrape().contains("llm_tokens_count{model=\"gpt-4o\",type=\"prompt\"} 1\n"),
                "the token histogram has only the request with usage");
    }

    @Test
    void aWrongApiKeyIsOneAuthFailureAndNothingStaysInFlight() {
        openAi.answers.add(exchange -> json(exchange, 401, "{\"error\":{\"message\":\"Incorrect API key provided\","
                + "\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}"));
        assertThrows(RuntimeException.class, () -> model(2, Duration.ofSeconds(10)).chat(ChatRequest.builder()
                .messages(UserMessage.from("Hi")).build()));

        assertEquals(2, events.size(), "one STARTED, one FAILED: " + events);
        LlmRequestFailed failed = event(1, LlmRequestFailed.class);
        assertEquals(ErrorType.AUTH, failed.errorType(), failed.error());
        assertEquals(401, failed.httpStatus());
        assertEquals(0.0, registry.get("llm.requests.in.flight").tag("model", "gpt-4o").gauge().value());
    }

    @Test
    void aPromptTheProvidersContentFilterRefusesIsAContentFilterFailureAsTheProxyRecordsIt() {
        openAi.answers.add(exchange -> json(exchange, 400, "{\"error\":{\"message\":\"The response was filtered due to the "
                + "prompt triggering Azure OpenAI's content management policy.\",\"type\":null,\"param\":\"prompt\","
                + "\"code\":\"content_filter\",\"status\":400}}"));
        assertThrows(RuntimeException.class, () -> model(0, Duration.ofSeconds(10)).chat(ChatRequest.builder()
                .messages(UserMessage.from("Hi")).build()));

        LlmRequestFailed failed = event(1, LlmRequestFailed.class);
        assertEquals(ErrorType.CONTENT_FILTER, failed.errorType(), failed.error());
        assertEquals(400, failed.httpStatus());
        assertEquals(1.0, registry.get("llm.request.errors").tag("model", "gpt-4o").tag("error_type", "content_filter")
                .counter().count());
    }

    @Test
    void aPromptPastTheContextLengthIsAnInvalidRequest() {
        openAi.answers.add(exchange -> json(exchange, 400, "{\"error\":{\"message\":\"This model's maximum context length "
                + "is 128000 tokens.\",\"type\":\"invalid_request_error\",\"param\":\"messages\","
                + "\"code\":\"context_length_exceeded\"}}"));
        assertThrows(RuntimeException.class, () -> model(2, Duration.ofSeconds(10)).chat(ChatRequest.builder()
                .messages(UserMessage.from("Hi")).build()));

        LlmRequestFailed failed = event(1, LlmRequestFailed.class);
        assertEquals(ErrorType.INVALID_REQUEST, failed.errorType(), failed.error());
        assertEquals(400, failed.httpStatus());
        assertTrue(failed.error().contains("context_length_exceeded"), "the provider's code is in the error text");
        assertEquals(1.0, registry.get("llm.request.errors").tag("model", "gpt-4o").tag("error_type", "invalid_request")
                .counter().count());
    }

    @Test
    void aStreamCutAfterItsFirstTokenIsOneFailureAndNothingStaysInFlight() throws Exception {
        openAi.answers.add(exchange -> {
            exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(200, 0);
            OutputStream out = exchange.getResponseBody();
            sse(out, "{\"id\":\"chatcmpl-3\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                    + "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                    + "\"content\":\"Hel\"},\"finish_reason\":null}]}");
            Thread.sleep(100);
            out.write("data: {\"id\":\"chat".getBytes(StandardCharsets.UTF_8)); // and the connection ends
            out.flush();
        });
        Handler handler = new Handler(0);
        streamingModel().chat(ChatRequest.builder().messages(UserMessage.from("Hi")).build(), handler);
        ExecutionException error = assertThrows(ExecutionException.class, () -> handler.end.get(10, TimeUnit.SECONDS),
                "the application's handler gets the error");
        assertNotNull(error.getCause());

        LlmRequestFailed failed = waitForEnd(LlmRequestFailed.class);
        assertEquals(2, events.size(), "one STARTED, one FAILED: " + events);
        assertEquals(1, session().failedRequests());
        assertEquals(0.0, registry.get("llm.requests.in.flight").tag("model", "gpt-4o").gauge().value(), failed.toString());
    }

    @Test
    void aStreamTheApplicationCancelsIsOneFailureOfTypeCancelledAndNothingStaysInFlight() throws Exception {
        Handler handler = new Handler(3);
        openAi.answers.add(exchange -> {
            exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(200, 0);
            OutputStream out = exchange.getResponseBody();
            for (int i = 0; i < 100 && handler.cancelled.getCount() > 0; i++) {
                sse(out, "{\"id\":\"chatcmpl-4\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                        + "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},"
                        + "\"finish_reason\":null}]}");
                Thread.sleep(20);
            }
        });
        streamingModel().chat(ChatRequest.builder().messages(UserMessage.from("Hi")).build(), handler);
        assertTrue(handler.cancelled.await(10, TimeUnit.SECONDS), "three chunks came");
        assertTrue(handler.handle.isCancelled(), "the handle says it is cancelled");

        LlmRequestFailed failed = waitForEnd(LlmRequestFailed.class);
        assertEquals(ErrorType.CANCELLED, failed.errorType(), failed.error());
        assertTrue(failed.hasDuration(), "the time until the cancel: " + failed);
        Thread.sleep(300); // LangChain4j tells no one of a cancel: nothing more comes
        assertEquals(2, events.size(), "one STARTED, one FAILED: " + events);
        assertFalse(handler.end.isDone(), "the application's handler hears of no end, as LangChain4j has it");
        assertEquals(0.0, registry.get("llm.requests.in.flight").tag("model", "gpt-4o").gauge().value());
        assertEquals(1.0, registry.get("llm.request.errors").tag("model", "gpt-4o").tag("error_type", "cancelled")
                .counter().count());
    }

    @Test
    void aStreamedRequestTheClientRefusesBeforeSendingIsOneFailureAndNothingStaysInFlight() {
        ChatRequest request = ChatRequest.builder().messages(UserMessage.from("Hi")).topK(5).build();
        Handler handler = new Handler(0);
        RuntimeException refused = assertThrows(RuntimeException.class, () -> streamingModel().chat(request, handler),
                "OpenAI takes no top_k: the client throws before it sends anything");

        assertEquals(0, openAi.hits.get(), "nothing was sent");
        assertFalse(handler.end.isDone(), "the application's handler hears of no end, as LangChain4j has it");
        LlmRequestFailed failed = event(1, LlmRequestFailed.class);
        assertEquals(refused.getClass().getName() + ": " + refused.getMessage(), failed.error());
        assertEquals(2, events.size(), "one STARTED, one FAILED: " + events);
        assertEquals(0.0, registry.get("llm.requests.in.flight").tag("model", "gpt-4o").gauge().value());
    }

    @Test
    void aStreamWhoseHandlerThrowsOnAChunkIsOneFailureOfThatErrorAsLangChain4jReportsIt() throws Exception {
        openAi.answers.add(exchange -> {
            exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(200, 0);
            OutputStream out = exchange.getResponseBody();
            for (int i = 0; i < 3; i++) {
                sse(out, "{\"id\":\"chatcmpl-5\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                        + "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},"
                        + "\"finish_reason\":null}]}");
            }
            sse(out, "{\"id\":\"chatcmpl-5\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                    + "\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,"
                    + "\"total_tokens\":10}}");
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        });
        IllegalStateException thrown = new IllegalStateException("the application's handler failed");
        CompletableFuture<Throwable> error = new CompletableFuture<>();
        streamingModel().chat(ChatRequest.builder().messages(UserMessage.from("Hi")).build(),
                new StreamingChatResponseHandler() {
                    @Override
                    public void onPartialResponse(String partialResponse) {
                        throw thrown;
                    }

                    @Override
                    public void onCompleteResponse(ChatResponse response) {
                        error.complete(null);
                    }

                    @Override
                    public void onError(Throwable e) {
                        error.complete(e);
                    }
                });
        assertEquals(thrown, error.get(10, TimeUnit.SECONDS), "LangChain4j hands the handler's exception to onError");

        LlmRequestFailed failed = waitForEnd(LlmRequestFailed.class);
        assertEquals("java.lang.IllegalStateException: the application's handler failed", failed.error());
        Thread.sleep(300); // the rest of the stream, had it reached the listener
        assertEquals(2, events.size(), "one STARTED, one FAILED: " + events);
        assertEquals(0.0, registry.get("llm.requests.in.flight").tag("model", "gpt-4o").gauge().value());
    }

    @Test
    void aResponseModelNameTheEventsRefuseCostsTheCallItsResponseModelNotItsUsage() {
        String longName = "gpt-4o-" + "x".repeat(300);
        openAi.answers.add(exchange -> json(exchange, 200, completion("{\"role\":\"assistant\",\"content\":\"Hi\"}", USAGE)
                .replace("gpt-4o-2024-08-06", longName)));
        ChatResponse response = model(0, Duration.ofSeconds(10)).chat(ChatRequest.builder()
                .messages(UserMessage.from("Hi")).build());
        assertEquals(longName, response.modelName(), "LangChain4j hands the name on as the provider sent it");

        LlmRequestCompleted completed = event(1, LlmRequestCompleted.class);
        assertNull(completed.responseModel());
        assertEquals(150, completed.totalTokens());
        assertEquals(0.0, registry.get("llm.requests.in.flight").tag("model", "gpt-4o").gauge().value());
    }

    /** The OpenAI streaming model on the fake upstream, with the listener, wrapped for the time to first token. */
    private StreamingChatModel streamingModel() {
        return LlmMetricsChatModelListener.timeToFirstToken(OpenAiStreamingChatModel.builder()
                .baseUrl(openAi.baseUrl()).apiKey("test-key").modelName("gpt-4o").listeners(List.of(listener)).build());
    }

    /**
     * The application's handler of a stream: keeps its text, ends {@link #end} with the response or the error,
     * and cancels the stream through its handle at chunk {@code cancelAt} when that is not 0.
     */
    private static final class Handler implements StreamingChatResponseHandler {
        final StringBuilder text = new StringBuilder();
        final CompletableFuture<ChatResponse> end = new CompletableFuture<>();
        final CountDownLatch cancelled = new CountDownLatch(1);
        volatile StreamingHandle handle;
        private final int cancelAt;
        private int chunks;

        Handler(int cancelAt) {
            this.cancelAt = cancelAt;
        }

        @Override
        public void onPartialResponse(PartialResponse partialResponse, PartialResponseContext context) {
            text.append(partialResponse.text());
            if (++chunks == cancelAt) {
                handle = context.streamingHandle();
                handle.cancel();
                cancelled.countDown();
            }
        }

        @Override
        public void onCompleteResponse(ChatResponse response) {
            end.complete(response);
        }

        @Override
        public void onError(Throwable error) {
            end.completeExceptionally(error);
        }
    }

    /** The COMPLETED or FAILED event of the one call, which a streaming call publishes on the client's thread. */
    private <T extends Event> T waitForEnd(Class<T> type) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (events.size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        return event(1, type);
    }
}
