package dev.llmmetrics.server;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.HttpException;
import dev.langchain4j.exception.InternalServerException;
import dev.langchain4j.exception.RateLimitException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * LangChain4j's OpenAI client ({@code langchain4j-open-ai}), unchanged, pointed at the metering proxy in front of
 * a fake upstream: it reads the answers as the upstream wrote them, and the session JSON and the scrape show
 * each call.
 */
class LangChain4jProxyTest {

    private static final String SESSION = "langchain4j-through-proxy";

    private static FakeOpenAi upstream;
    private static TestServer server;

    @BeforeAll
    static void start() {
        upstream = new FakeOpenAi();
        server = TestServer.start(FakeOpenAi.proxyTo(upstream));
    }

    @AfterAll
    static void stop() {
        server.close();
        upstream.close();
    }

    private static OpenAiChatModel model(String name) {
        return OpenAiChatModel.builder().baseUrl(server.uri("/v1").toString()).apiKey("sk-langchain4j")
                .modelName(name).customHeaders(Map.of("x-session-id", SESSION)).maxRetries(0)
                .timeout(Duration.ofSeconds(20)).build();
    }

    private static ChatResponse stream(String name) throws Exception {
        OpenAiStreamingChatModel model = OpenAiStreamingChatModel.builder().baseUrl(server.uri("/v1").toString())
                .apiKey("sk-langchain4j").modelName(name).customHeaders(Map.of("x-session-id", SESSION))
                .timeout(Duration.ofSeconds(20)).build();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        StringBuilder partial = new StringBuilder();
        model.chat("Hi", new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String text) {
                partial.append(text);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse response = done.get(30, TimeUnit.SECONDS);
        assertEquals("Hello ✓", partial.toString());
        return response;
    }

    @Test
    void plainStreamedToolAndFailedCallsReadAsTheUpstreamWroteThemAndAreEachRecorded() throws Exception {
        ChatResponse plain = model("fake-plain").chat(ChatRequest.builder().messages(UserMessage.from("Hi")).build());
        assertEquals("Hello from the fake upstream.", plain.aiMessage().text());
        assertEquals(120, plain.tokenUsage().inputTokenCount());
        assertEquals("fake-plain-2026-01-01", plain.modelName());

        ChatResponse tools = model("fake-tools").chat(ChatRequest.builder().messages(UserMessage.from("Weather?"))
                .toolSpecifications(ToolSpecification.builder().name("get_weather").build(),
                        ToolSpecification.builder().name("get_time").build()).build());
        assertEquals(List.of("get_weather", "get_time"),
                tools.aiMessage().toolExecutionRequests().stream().map(r -> r.name()).toList());
        assertEquals("{\"city\":\"Paris\"}", tools.aiMessage().toolExecutionRequests().get(0).arguments());

        ChatResponse streamed = stream("fake-stream");
        assertEquals("Hello ✓", streamed.aiMessage().text());
        assertEquals(57, streamed.tokenUsage().totalTokenCount(), "LangChain4j asks for the usage chunk, and gets it");
        ChatResponse slow = stream("fake-slow");
        assertEquals("Hello ✓", slow.aiMessage().text());

        RateLimitException limited = assertThrows(RateLimitException.class, () -> model("fake-429").chat("Hi"));
        assertTrue(limited.getMessage().contains("rate_limit_exceeded"), limited.getMessage());
        assertEquals(429, ((HttpException) limited.getCause()).statusCode());
        assertThrows(InternalServerException.class, () -> model("fake-500").chat("Hi"));

        await().atMost(Duration.ofSeconds(10)).until(() -> server.get("/events/metrics/session/" + SESSION).statusCode()
                == 200 && TestServer.json(server.get("/events/metrics/session/" + SESSION)).get("total_requests")
                .asLong() == 6);
        JsonNode s = TestServer.json(server.get("/events/metrics/session/" + SESSION));
        assertEquals(4, s.get("successful_requests").asLong());
        assertEquals(2, s.get("failed_requests").asLong());
        assertEquals(120 + 80 + 50 + 50, s.get("total_prompt_tokens").asLong(), "the streams' usage, asked for by the proxy");
        assertEquals(45 + 30 + 7 + 7, s.get("total_completion_tokens").asLong());
        assertEquals(1, s.get("requests_with_tools").asLong());
        List<String> kinds = new ArrayList<>();
        for (JsonNode record : s.get("requests")) {
            kinds.add(record.get("model").asText() + (record.get("success").asBoolean()
                    ? record.get("time_to_first_token_ms").isNull() ? "" : " streamed"
                    : " " + record.get("error_type").asText()));
        }
        assertEquals(List.of("fake-plain", "fake-tools", "fake-stream streamed", "fake-slow streamed",
                "fake-429 rate_limit", "fake-500 server_error"), kinds);
        JsonNode slowRecord = s.get("requests").get(3);
        assertTrue(slowRecord.get("time_to_first_token_ms").asLong() >= FakeOpenAi.SLOW_FIRST_TOKEN.toMillis());
        assertEquals(2, server.scrape().value("llm_session_tokens_count", "session", SESSION, "model", "fake-plain",
                "type", "prompt") + server.scrape().value("llm_session_tokens_count", "session", SESSION,
                "model", "fake-tools", "type", "prompt"));
        assertEquals("Bearer sk-langchain4j", upstream.last("/v1/chat/completions").headers().getFirst("Authorization"));
    }
}
