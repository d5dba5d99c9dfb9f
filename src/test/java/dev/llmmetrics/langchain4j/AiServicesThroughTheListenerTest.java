package dev.llmmetrics.langchain4j;

import static dev.llmmetrics.langchain4j.FakeOpenAi.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.invocation.InvocationParameters;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.memory.chat.MessageWindowChatMemory;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.MemoryId;
import dev.langchain4j.service.TokenStream;
import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.session.RequestRecord;
import dev.llmmetrics.session.SessionMetrics;
import dev.llmmetrics.langchain4j.FakeOpenAi.Answer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The listener under LangChain4j's AI services ({@code AiServices}, module {@code langchain4j}) over its real OpenAI
 * client and a fake OpenAI-compatible server: a tool call and the request that follows it once the tool ran, blocking
 * and streamed (where LangChain4j sends the follow-up from the HTTP client's thread), chat memory over several turns,
 * a tool that throws, and a model error on the follow-up. The session is the documented one for an AI service: bound
 * to the calling thread by {@link LlmMetricsChatModelListener#withSession}, or given by the invocation's parameters
 * through {@link LlmMetricsChatModelListener#aiServiceListener()}.
 */
class AiServicesThroughTheListenerTest {

    private static final String SESSION = "user-7";

    /** A blocking AI service. */
    interface Assistant {
        String chat(String question);
    }

    /** A streaming AI service. */
    interface StreamingAssistant {
        TokenStream chat(String question);
    }

    /** A blocking AI service with one chat memory per user. */
    interface MemoryAssistant {
        String chat(@MemoryId String user, @dev.langchain4j.service.UserMessage String question);
    }

    /** A blocking AI service whose callers give the invocation's parameters. */
    interface ParameterizedAssistant {
        String chat(@dev.langchain4j.service.UserMessage String question, InvocationParameters parameters);
    }

    /** A streaming AI service whose callers give the invocation's parameters. */
    interface ParameterizedStreamingAssistant {
        TokenStream chat(@dev.langchain4j.service.UserMessage String question, InvocationParameters parameters);
    }

    /** The tool the model asks for: notes the thread it ran on, and throws when told to. */
    static final class WeatherTool {
        final List<String> threads = new CopyOnWriteArrayList<>();
        volatile boolean fail;

        @Tool("The weather of a city")
        String weather(@P(name = "city", description = "The city") String city) {
            threads.add(Thread.currentThread().getName());
            if (fail) {
                throw new IllegalStateException("the weather service is down");
            }
            return "Sunny, 21 degrees in " + city;
        }
    }

    private final FakeOpenAi openAi = new FakeOpenAi();

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final LlmMetrics metrics = LlmMetrics.builder(registry).build();
    private final List<Event> events = new CopyOnWriteArrayList<>();
    private final LlmMetricsChatModelListener listener = LlmMetricsChatModelListener.of(metrics.tracker());
    private final WeatherTool tool = new WeatherTool();

    AiServicesThroughTheListenerTest() throws IOException {
        metrics.bus().subscribeToAll(events::add);
    }

    @AfterEach
    void stop() {
        openAi.close();
        metrics.close();
    }

    private OpenAiChatModel model() {
        return OpenAiChatModel.builder().baseUrl(openAi.baseUrl()).apiKey("test-key").modelName("gpt-4o").maxRetries(0)
                .listeners(List.of(listener)).build();
    }

    /** The streaming model as docs/java.md has it: with the listener, wrapped for the time to first token. */
    private StreamingAssistant streamingAssistant() {
        return streamingAssistantBuilder().build();
    }

    private AiServices<StreamingAssistant> streamingAssistantBuilder() {
        return AiServices.builder(StreamingAssistant.class)
                .streamingChatModel(LlmMetricsChatModelListener.timeToFirstToken(OpenAiStreamingChatModel.builder()
                        .baseUrl(openAi.baseUrl()).apiKey("test-key").modelName("gpt-4o")
                        .listeners(List.of(listener)).build()))
                .tools(tool);
    }

    // The fake server's openAi.answers.

    private static final String USAGE = ",\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":30,"
            + "\"total_tokens\":150}";

    private static String completion(String message, String finishReason) {
        return "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1700000000,"
                + "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"message\":" + message
                + ",\"finish_reason\":\"" + finishReason + "\"}]" + USAGE + "}";
    }

    private static final Answer TOOL_CALL = exchange -> json(exchange, 200, completion(
            "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
                    + "\"function\":{\"name\":\"weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]}",
            "tool_calls"));

    private static Answer text(String text) {
        return exchange -> json(exchange, 200, completion("{\"role\":\"assistant\",\"content\":\"" + text + "\"}",
                "stop"));
    }

    private static final Answer SERVER_ERROR = exchange -> json(exchange, 500,
            "{\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}");

    private static final Answer RATE_LIMITED = exchange -> json(exchange, 429,
            "{\"error\":{\"message\":\"Rate limit reached for gpt-4o\",\"type\":\"requests\","
                    + "\"code\":\"rate_limit_exceeded\"}}");

    private static void sse(OutputStream out, String data) throws IOException {
        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static final String CHUNK = "{\"id\":\"chatcmpl-2\",\"object\":\"chat.completion.chunk\","
            + "\"created\":1700000000,\"model\":\"gpt-4o-2024-08-06\",";

    private static final Answer STREAMED_TOOL_CALL = exchange -> {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
        exchange.sendResponseHeaders(200, 0);
        OutputStream out = exchange.getResponseBody();
        sse(out, CHUNK + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,"
                + "\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{"
                + "\"name\":\"weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}");
        sse(out, CHUNK + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{"
                + "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},\"finish_reason\":null}]}");
        sse(out, CHUNK + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}");
        sse(out, CHUNK + "\"choices\":[]" + USAGE + "}");
        sse(out, "[DONE]");
    };

    private static Answer streamedText(String text) {
        return exchange -> {
            exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(200, 0);
            OutputStream out = exchange.getResponseBody();
            sse(out, CHUNK + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"" + text
                    + "\"},\"finish_reason\":null}]}");
            sse(out, CHUNK + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}");
            sse(out, CHUNK + "\"choices\":[]" + USAGE + "}");
            sse(out, "[DONE]");
        };
    }

    // What was recorded.

    private SessionMetrics session() {
        return metrics.store().session(SESSION).orElseThrow(() -> new AssertionError(
                "no session " + SESSION + "; events: " + events));
    }

    private void assertAllInTheCallersSession() {
        for (Event event : events) {
            assertEquals(SESSION, event.sessionId(), "every event in the caller's session: " + events);
        }
        assertTrue(metrics.store().session(LlmMetricsChatModelListener.DEFAULT_SESSION_ID).isEmpty(),
                "nothing fell back to the default session: " + events);
    }

    private void assertNothingInFlight() {
        assertEquals(0.0, registry.get("llm.requests.in.flight").tag("model", "gpt-4o").gauge().value(),
                "nothing left in flight: " + events);
    }

    private double toolCallRequests() {
        return registry.get("llm.tool.call.requests").tag("model", "gpt-4o").functionCounter().count();
    }

    /** Waits until {@code count} events came: a streamed call ends on the HTTP client's thread. */
    private void awaitEvents(int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (events.size() < count && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(count, events.size(), "events: " + events);
    }

    private <T extends Event> T event(int index, Class<T> type) {
        return assertInstanceOf(type, events.get(index), () -> "events: " + events);
    }

    /** The follow-up request carries the tool's result (or error) as a tool message. */
    private String toolMessageOfRequest(int index) {
        for (JsonNode message : openAi.requests.get(index).path("messages")) {
            if ("tool".equals(message.path("role").asText())) {
                return message.path("content").asText();
            }
        }
        throw new AssertionError("no tool message in request " + index + ": " + openAi.requests.get(index));
    }

    // Blocking.

    @Test
    void aBlockingAiServiceWithAToolRecordsBothRequestsInTheCallersSessionAndCountsTheToolCall() {
        openAi.answers.add(TOOL_CALL);
        openAi.answers.add(text("Sunny in Paris"));
        Assistant assistant = AiServices.builder(Assistant.class).chatModel(model()).tools(tool).build();

        String answer = LlmMetricsChatModelListener.withSession(SESSION, () -> assistant.chat("Weather in Paris?"));

        assertEquals("Sunny in Paris", answer);
        assertEquals(1, tool.threads.size(), "the tool ran once");
        assertEquals("Sunny, 21 degrees in Paris", toolMessageOfRequest(1), "the follow-up carries the tool's result");
        assertEquals(4, events.size(), "two calls, STARTED and COMPLETED each: " + events);
        assertAllInTheCallersSession();
        assertEquals(1, event(0, LlmRequestStarted.class).toolsCount(), "the tool offered");
        assertTrue(event(1, LlmRequestCompleted.class).hasToolCalls(), "the first response asked for the tool");
        assertEquals(1, event(2, LlmRequestStarted.class).toolsCount(), "offered again");
        assertTrue(event(2, LlmRequestStarted.class).messagesCount() > event(0, LlmRequestStarted.class).messagesCount(),
                "the follow-up carries the tool call and its result: " + events);
        assertFalse(event(3, LlmRequestCompleted.class).hasToolCalls());
        assertNotEquals(event(0, LlmRequestStarted.class).correlationId(), event(2, LlmRequestStarted.class).correlationId(),
                "two calls, two correlation ids");

        SessionMetrics session = session();
        assertEquals(2, session.totalRequests());
        assertEquals(2, session.successfulRequests());
        assertEquals(1, session.requestsWithTools());
        assertEquals(300, session.totalTokens());
        assertEquals(List.of(true, false), session.requests().stream().map(RequestRecord::hasToolCalls).toList(),
                "the session's records, oldest first");
        assertEquals(1.0, toolCallRequests());
        assertTrue(registry.scrape().contains("llm_tool_call_requests_total{model=\"gpt-4o\"} 1.0"),
                "llm_tool_call_requests_total: " + registry.scrape());
        assertNothingInFlight();
    }

    @Test
    void aToolThatThrowsSendsItsErrorToTheModelAndBothRequestsCompleteInTheCallersSession() {
        tool.fail = true;
        openAi.answers.add(TOOL_CALL);
        openAi.answers.add(text("The weather service is down"));
        Assistant assistant = AiServices.builder(Assistant.class).chatModel(model()).tools(tool).build();

        String answer = LlmMetricsChatModelListener.withSession(SESSION, () -> assistant.chat("Weather in Paris?"));

        assertEquals("The weather service is down", answer);
        assertEquals("the weather service is down", toolMessageOfRequest(1),
                "LangChain4j hands the tool's exception to the model as the tool's result");
        assertEquals(4, events.size(), "two calls, STARTED and COMPLETED each: " + events);
        assertAllInTheCallersSession();
        event(3, LlmRequestCompleted.class);
        SessionMetrics session = session();
        assertEquals(2, session.successfulRequests());
        assertEquals(0, session.failedRequests(), "a tool's failure is not the model's");
        assertEquals(1, session.requestsWithTools());
        assertNothingInFlight();
    }

    @Test
    void aServerErrorOnTheFollowUpIsOneFailedRequestOfTypeServerErrorInTheCallersSession() {
        openAi.answers.add(TOOL_CALL);
        openAi.answers.add(SERVER_ERROR);
        Assistant assistant = AiServices.builder(Assistant.class).chatModel(model()).tools(tool).build();

        RuntimeException thrown = assertThrows(RuntimeException.class, () ->
                LlmMetricsChatModelListener.withSession(SESSION, () -> assistant.chat("Weather in Paris?")));

        assertEquals("InternalServerException", thrown.getClass().getSimpleName(), thrown.toString());
        assertEquals(4, events.size(), "STARTED, COMPLETED, STARTED, FAILED: " + events);
        assertAllInTheCallersSession();
        assertTrue(event(1, LlmRequestCompleted.class).hasToolCalls());
        LlmRequestFailed failed = event(3, LlmRequestFailed.class);
        assertEquals(ErrorType.SERVER_ERROR, failed.errorType(), failed.error());
        assertEquals(500, failed.httpStatus());
        assertEquals(event(2, LlmRequestStarted.class).correlationId(), failed.correlationId());
        SessionMetrics session = session();
        assertEquals(2, session.totalRequests());
        assertEquals(1, session.successfulRequests());
        assertEquals(1, session.failedRequests());
        assertEquals(1.0, toolCallRequests());
        assertEquals(1.0, registry.get("llm.request.errors").tag("model", "gpt-4o").tag("error_type", "server_error")
                .counter().count());
        assertNothingInFlight();
    }

    @Test
    void chatMemoryOverSeveralTurnsRecordsEachRequestWithItsGrowingMessagesInTheCallersSession() {
        openAi.answers.add(text("Hello Ada"));
        openAi.answers.add(TOOL_CALL);
        openAi.answers.add(text("Sunny in Paris"));
        openAi.answers.add(text("You asked about Paris"));
        MemoryAssistant assistant = AiServices.builder(MemoryAssistant.class).chatModel(model()).tools(tool)
                .chatMemoryProvider(user -> MessageWindowChatMemory.withMaxMessages(20)).build();

        LlmMetricsChatModelListener.withSession(SESSION, () -> {
            assertEquals("Hello Ada", assistant.chat("ada", "I am Ada"));
            assertEquals("Sunny in Paris", assistant.chat("ada", "Weather in Paris?"));
            assertEquals("You asked about Paris", assistant.chat("ada", "What did I ask?"));
            return null;
        });

        assertEquals(8, events.size(), "four calls in three turns: " + events);
        assertAllInTheCallersSession();
        List<Integer> messages = events.stream().filter(LlmRequestStarted.class::isInstance)
                .map(e -> ((LlmRequestStarted) e).messagesCount()).toList();
        // user; +assistant, user; +assistant's tool call, tool result; +assistant, user
        assertEquals(List.of(1, 3, 5, 7), messages, "each request carries the memory so far");
        SessionMetrics session = session();
        assertEquals(4, session.totalRequests());
        assertEquals(4, session.successfulRequests());
        assertEquals(1, session.requestsWithTools());
        assertEquals(1.0, toolCallRequests());
        assertNothingInFlight();
    }

    // Streaming: the follow-up after the tool runs on the HTTP client's thread.

    /** Starts the streaming AI service with the session bound on this thread; the stream ends with the future. */
    private CompletableFuture<ChatResponse> stream(StreamingAssistant assistant) {
        CompletableFuture<ChatResponse> end = new CompletableFuture<>();
        LlmMetricsChatModelListener.withSession(SESSION, () -> {
            assistant.chat("Weather in Paris?")
                    .onPartialResponse(partial -> { })
                    .onCompleteResponse(end::complete)
                    .onError(end::completeExceptionally)
                    .start();
            return null;
        });
        return end;
    }

    @Test
    void aStreamingAiServiceWithAToolRecordsTheFollowUpFromTheClientsThreadInTheCallersSession() throws Exception {
        openAi.answers.add(STREAMED_TOOL_CALL);
        openAi.answers.add(streamedText("Sunny in Paris"));

        ChatResponse response = stream(streamingAssistant()).get(10, TimeUnit.SECONDS);

        assertEquals("Sunny in Paris", response.aiMessage().text());
        assertEquals(1, tool.threads.size(), "the tool ran once");
        assertNotEquals(Thread.currentThread().getName(), tool.threads.get(0),
                "the tool, and the follow-up request after it, ran on the HTTP client's thread");
        assertEquals("Sunny, 21 degrees in Paris", toolMessageOfRequest(1));
        awaitEvents(4);
        assertAllInTheCallersSession();
        assertTrue(event(1, LlmRequestCompleted.class).hasToolCalls(), "the first response asked for the tool");
        LlmRequestCompleted followUp = event(3, LlmRequestCompleted.class);
        assertFalse(followUp.hasToolCalls());
        assertTrue(followUp.hasTimeToFirstToken(), "the follow-up went through the wrapped model: " + followUp);
        SessionMetrics session = session();
        assertEquals(2, session.totalRequests());
        assertEquals(1, session.requestsWithTools());
        assertEquals(1.0, toolCallRequests());
        assertNothingInFlight();
    }

    @Test
    void aStreamingAiServiceRunningItsToolsOnAnExecutorRecordsTheFollowUpInTheCallersSession() throws Exception {
        openAi.answers.add(STREAMED_TOOL_CALL);
        openAi.answers.add(streamedText("Sunny in Paris"));
        ExecutorService toolThreads = Executors.newSingleThreadExecutor(r -> new Thread(r, "tool-thread"));
        try {
            ChatResponse response = stream(streamingAssistantBuilder().executeToolsConcurrently(toolThreads).build())
                    .get(10, TimeUnit.SECONDS);

            assertEquals("Sunny in Paris", response.aiMessage().text());
            assertEquals(List.of("tool-thread"), tool.threads, "the tool ran on the executor");
        } finally {
            toolThreads.shutdownNow();
        }
        awaitEvents(4);
        assertAllInTheCallersSession();
        assertEquals(2, session().totalRequests());
        assertEquals(1.0, toolCallRequests());
        assertNothingInFlight();
    }

    @Test
    void aRateLimitOnTheStreamedFollowUpIsOneFailedRequestOfTypeRateLimitInTheCallersSession() throws Exception {
        openAi.answers.add(STREAMED_TOOL_CALL);
        openAi.answers.add(RATE_LIMITED);

        ExecutionException error = assertThrows(ExecutionException.class,
                () -> stream(streamingAssistant()).get(10, TimeUnit.SECONDS), "the error reaches onError");

        assertEquals("RateLimitException", error.getCause().getClass().getSimpleName(), error.getCause().toString());
        awaitEvents(4);
        assertAllInTheCallersSession();
        assertTrue(event(1, LlmRequestCompleted.class).hasToolCalls());
        LlmRequestFailed failed = event(3, LlmRequestFailed.class);
        assertEquals(ErrorType.RATE_LIMIT, failed.errorType(), failed.error());
        assertEquals(429, failed.httpStatus());
        SessionMetrics session = session();
        assertEquals(1, session.successfulRequests());
        assertEquals(1, session.failedRequests());
        assertNothingInFlight();
    }

    @Test
    void aStreamingAiServiceWhoseToolThrowsStillRecordsTheFollowUpInTheCallersSession() throws Exception {
        tool.fail = true;
        openAi.answers.add(STREAMED_TOOL_CALL);
        openAi.answers.add(streamedText("The weather service is down"));

        ChatResponse response = stream(streamingAssistant()).get(10, TimeUnit.SECONDS);

        assertEquals("The weather service is down", response.aiMessage().text());
        assertEquals("the weather service is down", toolMessageOfRequest(1));
        awaitEvents(4);
        assertAllInTheCallersSession();
        event(3, LlmRequestCompleted.class);
        assertEquals(2, session().successfulRequests());
        assertNothingInFlight();
    }

    // The invocation's parameters, through the AI service listener.

    private static InvocationParameters parameters() {
        return InvocationParameters.from(Map.of(LlmMetricsChatModelListener.SESSION_ID, SESSION,
                LlmMetricsChatModelListener.ATTRIBUTES, Map.of("feature", "weather"),
                LlmMetricsChatModelListener.CORRELATION_ID, "answer-42"));
    }

    @Test
    void aBlockingAiServiceGivesEachRequestOfAnInvocationTheSessionAttributesAndCorrelationIdOfItsParameters() {
        openAi.answers.add(TOOL_CALL);
        openAi.answers.add(text("Sunny in Paris"));
        ParameterizedAssistant assistant = AiServices.builder(ParameterizedAssistant.class).chatModel(model())
                .tools(tool).registerListener(LlmMetricsChatModelListener.aiServiceListener()).build();

        String answer = LlmMetricsChatModelListener.withSession("bound-session",
                () -> assistant.chat("Weather in Paris?", parameters()));

        assertEquals("Sunny in Paris", answer);
        assertEquals(4, events.size(), "two calls, STARTED and COMPLETED each: " + events);
        assertAllInTheCallersSession();
        assertTrue(metrics.store().session("bound-session").isEmpty(), "the parameter wins over the bound session");
        for (Event event : events) {
            assertEquals("answer-42", event.correlationId(), "the invocation's correlation id: " + events);
        }
        metrics.score(SESSION, "answer-42", "thumbs", 1);
        SessionMetrics session = session();
        assertEquals(2, session.totalRequests());
        for (RequestRecord record : session.requests()) {
            assertEquals(Map.of("feature", "weather"), record.attributes(), "the invocation's attributes: " + record);
            assertEquals(1, record.scores().size(), "a score of the invocation is listed with each request: " + record);
        }
        assertNothingInFlight();
    }

    @Test
    void aStreamingAiServiceGivesItsFollowUpFromTheClientsThreadTheSessionOfItsParametersWithoutTheWrapper()
            throws Exception {
        openAi.answers.add(STREAMED_TOOL_CALL);
        openAi.answers.add(streamedText("Sunny in Paris"));
        ParameterizedStreamingAssistant assistant = AiServices.builder(ParameterizedStreamingAssistant.class)
                .streamingChatModel(OpenAiStreamingChatModel.builder().baseUrl(openAi.baseUrl()).apiKey("test-key")
                        .modelName("gpt-4o").listeners(List.of(listener)).build())
                .tools(tool).registerListener(LlmMetricsChatModelListener.aiServiceListener()).build();
        CompletableFuture<ChatResponse> end = new CompletableFuture<>();

        assistant.chat("Weather in Paris?", parameters()).onPartialResponse(partial -> { })
                .onCompleteResponse(end::complete).onError(end::completeExceptionally).start();

        assertEquals("Sunny in Paris", end.get(10, TimeUnit.SECONDS).aiMessage().text());
        assertNotEquals(Thread.currentThread().getName(), tool.threads.get(0), "the follow-up left this thread");
        awaitEvents(4);
        assertAllInTheCallersSession();
        for (Event event : events) {
            assertEquals("answer-42", event.correlationId(), "the invocation's correlation id: " + events);
        }
        assertEquals(2, session().totalRequests());
        assertNothingInFlight();
    }

    @Test
    void listenersOfTwoTrackersOnTheModelBothTakeTheInvocationsParameters() {
        openAi.answers.add(text("Hello"));
        LlmMetrics other = LlmMetrics.builder(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).build();
        try {
            ParameterizedAssistant assistant = AiServices.builder(ParameterizedAssistant.class)
                    .chatModel(OpenAiChatModel.builder().baseUrl(openAi.baseUrl()).apiKey("test-key")
                            .modelName("gpt-4o").maxRetries(0)
                            .listeners(List.of(listener, LlmMetricsChatModelListener.of(other.tracker()))).build())
                    .registerListener(LlmMetricsChatModelListener.aiServiceListener()).build();

            assistant.chat("Say hello", parameters());

            assertAllInTheCallersSession();
            for (LlmMetrics recorded : List.of(metrics, other)) {
                RequestRecord record = recorded.store().session(SESSION).orElseThrow().requests().get(0);
                assertEquals("answer-42", record.correlationId());
                assertEquals(Map.of("feature", "weather"), record.attributes());
            }
        } finally {
            other.close();
        }
    }

    @Test
    void aRequestAnAiServiceAnnouncedForAModelWithoutTheListenerGivesItsParametersToNoLaterCall() {
        openAi.answers.add(text("Hello"));
        ParameterizedAssistant assistant = AiServices.builder(ParameterizedAssistant.class)
                .chatModel(OpenAiChatModel.builder().baseUrl(openAi.baseUrl()).apiKey("test-key").modelName("gpt-4o")
                        .maxRetries(0).build())
                .registerListener(LlmMetricsChatModelListener.aiServiceListener()).build();
        assistant.chat("Say hello", parameters());
        assertEquals(List.of(), events, "the AI service's model has no listener");

        model().chat(ChatRequest.builder().messages(UserMessage.from("Say hello")).build());

        assertEquals(2, events.size(), "the later call on the same thread, alone: " + events);
        for (Event event : events) {
            assertEquals(LlmMetricsChatModelListener.DEFAULT_SESSION_ID, event.sessionId(), "events: " + events);
            assertNotEquals("answer-42", event.correlationId());
        }
    }
}
