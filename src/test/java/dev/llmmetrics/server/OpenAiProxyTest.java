package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The metering proxy on the real server, in front of a fake upstream, driven by a plain HTTP client: what the
 * client gets is byte for byte what the upstream sent (a held usage chunk apart), and the session JSON and
 * the scrape show each call.
 */
class OpenAiProxyTest {

    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

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

    static HttpResponse<byte[]> post(String url, String body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            request.headers(headers);
        }
        try {
            return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String chat(String model, String extra) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":\"Hi\"}]" + extra + "}";
    }

    @Test
    void aPlainCompletionReachesTheClientByteForByteAndIsRecordedWithItsUsage() {
        String request = chat("fake-plain", ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]");
        HttpResponse<byte[]> direct = post(upstream.baseUrl() + "/chat/completions", request);
        HttpResponse<byte[]> proxied = post(server.uri("/v1/chat/completions").toString(), request,
                "x-session-id", "proxy-plain", "Authorization", "Bearer sk-client-key");

        assertEquals(200, proxied.statusCode());
        assertArrayEquals(direct.body(), proxied.body());
        assertEquals(FakeOpenAi.PLAIN, new String(proxied.body(), StandardCharsets.UTF_8));
        assertEquals("req_fake", proxied.headers().firstValue("x-request-id").orElseThrow());
        FakeOpenAi.Received forwarded = upstream.last("/v1/chat/completions");
        assertArrayEquals(request.getBytes(StandardCharsets.UTF_8), forwarded.body(), "a request is forwarded as sent");
        assertEquals("Bearer sk-client-key", forwarded.headers().getFirst("Authorization"));

        JsonNode s = server.awaitSession("proxy-plain", 1);
        assertEquals(1, s.get("successful_requests").asLong());
        assertEquals(120, s.get("total_prompt_tokens").asLong());
        assertEquals(45, s.get("total_completion_tokens").asLong());
        assertEquals(165, s.get("total_tokens").asLong());
        assertEquals(100, s.get("total_cached_tokens").asLong());
        assertEquals(20, s.get("total_reasoning_tokens").asLong());
        JsonNode record = s.get("requests").get(0);
        assertEquals("fake-plain", record.get("model").asText(), "the request's model, not the answer's");
        assertFalse(record.get("has_tool_calls").asBoolean());
        assertTrue(record.get("time_to_first_token_ms").isNull());

        PrometheusText scrape = server.scrape();
        assertEquals(1, scrape.value("llm_session_requests_total", "session", "proxy-plain", "model", "fake-plain",
                "outcome", "success"));
        assertEquals(1, scrape.value("llm_request_tools_count", "model", "fake-plain"));
        assertEquals(2, scrape.value("llm_request_messages_sum", "model", "fake-plain"));
        assertFalse(scrape.toString().contains("sk-client-key"));
    }

    /** proxy.md: the HTTP server reads each byte past ASCII in a header as U+FFFD before the proxy sees it. */
    @Test
    void aToolCallIsRecordedAsSuch() {
        HttpResponse<byte[]> proxied = post(server.uri("/v1/chat/completions").toString(), chat("fake-tools", ""),
                "x-session-id", "proxy-tools");
        assertEquals(FakeOpenAi.TOOLS, new String(proxied.body(), StandardCharsets.UTF_8));
        JsonNode s = server.awaitSession("proxy-tools", 1);
        assertEquals(1, s.get("requests_with_tools").asLong());
        assertTrue(s.get("requests").get(0).get("has_tool_calls").asBoolean());
        assertEquals(110, s.get("total_tokens").asLong());
    }

    @Test
    void aStreamWhoseClientDidNotAskForUsageLosesOnlyTheUsageChunkAndIsRecordedWithIt() {
        String request = chat("fake-stream", ",\"stream\":true");
        HttpResponse<byte[]> proxied = post(server.uri("/v1/chat/completions").toString(), request,
                "x-session-id", "proxy-stream");

        assertEquals(200, proxied.statusCode());
        assertEquals("text/event-stream; charset=utf-8", proxied.headers().firstValue("Content-Type").orElseThrow());
        assertEquals(FakeOpenAi.streamLessUsageChunk("fake-stream"), new String(proxied.body(), StandardCharsets.UTF_8));
        JsonNode forwarded = upstream.last("/v1/chat/completions").json();
        assertTrue(forwarded.get("stream_options").get("include_usage").asBoolean(), "the proxy asked for the usage");

        JsonNode s = server.awaitSession("proxy-stream", 1);
        assertEquals(50, s.get("total_prompt_tokens").asLong());
        assertEquals(7, s.get("total_completion_tokens").asLong());
        assertEquals(10, s.get("total_cached_tokens").asLong());
        assertEquals(2, s.get("total_reasoning_tokens").asLong());
        assertFalse(s.get("requests").get(0).get("time_to_first_token_ms").isNull());
    }

    @Test
    void anAnswerCompressedAgainstTheProxysAskIsPassedOnDecompressedAndRecordedWithItsUsage() {
        for (String model : new String[] {"fake-gzip", "fake-deflate"}) {
            HttpResponse<byte[]> proxied = post(server.uri("/v1/chat/completions").toString(), chat(model, ""),
                    "x-session-id", "proxy-" + model, "Accept-Encoding", "gzip");
            assertEquals("identity", upstream.last("/v1/chat/completions").headers().getFirst("Accept-Encoding"));
            assertEquals(200, proxied.statusCode(), model);
            assertTrue(proxied.headers().firstValue("Content-Encoding").isEmpty(), model);
            assertEquals(FakeOpenAi.PLAIN, new String(proxied.body(), StandardCharsets.UTF_8), model);
            JsonNode s = server.awaitSession("proxy-" + model, 1);
            assertEquals(120, s.get("total_prompt_tokens").asLong(), model);
            assertEquals(45, s.get("total_completion_tokens").asLong(), model);
        }
        HttpResponse<byte[]> limited = post(server.uri("/v1/chat/completions").toString(), chat("fake-gzip-429", ""),
                "x-session-id", "proxy-fake-gzip-429");
        assertEquals(429, limited.statusCode());
        assertEquals(FakeOpenAi.RATE_LIMITED, new String(limited.body(), StandardCharsets.UTF_8));
        JsonNode failed = server.awaitSession("proxy-fake-gzip-429", 1).get("requests").get(0);
        assertEquals("rate_limit", failed.get("error_type").asText());
        assertTrue(failed.get("error").asText().contains("rate_limit_exceeded"), failed.toString());
    }

    @Test
    void aStreamCompressedAgainstTheProxysAskIsPassedOnDecompressedEventByEventAndRecordedWithItsUsage() {
        HttpResponse<byte[]> proxied = post(server.uri("/v1/chat/completions").toString(), chat("fake-gzip-stream", ",\"stream\":true"),
                "x-session-id", "proxy-gzip-stream");
        assertEquals(200, proxied.statusCode());
        assertTrue(proxied.headers().firstValue("Content-Encoding").isEmpty());
        assertEquals(FakeOpenAi.streamLessUsageChunk("fake-gzip-stream"), new String(proxied.body(), StandardCharsets.UTF_8));
        JsonNode s = server.awaitSession("proxy-gzip-stream", 1);
        assertEquals(57, s.get("total_tokens").asLong());
        assertFalse(s.get("requests").get(0).get("time_to_first_token_ms").isNull());
    }

    @Test
    void anAnswerThatSaysGzipButIsNotIsAFailedCallOfTheUpstreamNamedSo() {
        try {
            post(server.uri("/v1/chat/completions").toString(), chat("fake-gzip-broken", ""), "x-session-id", "proxy-gzip-broken");
        } catch (UncheckedIOException cut) {
            // the answer's head went out before its body proved unreadable: the client sees it cut
        }
        JsonNode record = server.awaitSession("proxy-gzip-broken", 1).get("requests").get(0);
        assertFalse(record.get("success").asBoolean());
        assertEquals("server_error", record.get("error_type").asText());
        assertTrue(record.get("error").asText().contains("gzip body cannot be decompressed"), record.toString());
        assertFalse(record.get("error").asText().contains("java."), record.toString());
    }

    @Test
    void anAnswerInACodingTheProxyCannotReadIsPassedOnAsItCameAndRecordedWithoutUsage() throws IOException {
        HttpResponse<byte[]> proxied = post(server.uri("/v1/chat/completions").toString(), chat("fake-br", ""),
                "x-session-id", "proxy-br");
        assertEquals("br", proxied.headers().firstValue("Content-Encoding").orElseThrow());
        assertArrayEquals(FakeOpenAi.compressed("br", FakeOpenAi.PLAIN.getBytes(StandardCharsets.UTF_8)), proxied.body());
        JsonNode record = server.awaitSession("proxy-br", 1).get("requests").get(0);
        assertTrue(record.get("success").asBoolean());
        assertTrue(record.get("prompt_tokens").isNull(), record.toString());
    }

    @Test
    void aStreamAnsweringARequestTheProxyReadAsNotStreamedIsReadAsTheStreamItIs() {
        // "True" is no JSON boolean: the proxy reads no stream asked for; a lenient upstream (pydantic's) streams.
        HttpResponse<byte[]> proxied = post(server.uri("/v1/chat/completions").toString(),
                chat("fake-stream", ",\"stream\":\"True\""), "x-session-id", "proxy-stream-unasked");
        assertEquals(200, proxied.statusCode());
        assertEquals(FakeOpenAi.stream("fake-stream", false), new String(proxied.body(), StandardCharsets.UTF_8),
                "every event, as the upstream sent them");
        JsonNode record = server.awaitSession("proxy-stream-unasked", 1).get("requests").get(0);
        assertTrue(record.get("success").asBoolean(), record.toString());
        assertFalse(record.get("time_to_first_token_ms").isNull(), "its first token timed, as a stream's: " + record);
    }

    @Test
    void withStreamUsageOffAStreamGoesUpstreamAsTheClientWroteItAndIsRecordedWithoutTokens() {
        try (TestServer strict = TestServer.start(Map.of("proxy.upstream.url", upstream.baseUrl(),
                "proxy.stream.usage", "false"))) {
            String request = chat("fake-stream", ",\"stream\":true");
            HttpResponse<byte[]> proxied = post(strict.uri("/v1/chat/completions").toString(), request,
                    "x-session-id", "proxy-stream-usage-off");
            assertEquals(200, proxied.statusCode());
            assertEquals(request, new String(upstream.last("/v1/chat/completions").body(), StandardCharsets.UTF_8),
                    "forwarded as the client wrote it, without stream_options");
            assertEquals(FakeOpenAi.stream("fake-stream", false), new String(proxied.body(), StandardCharsets.UTF_8));
            JsonNode s = strict.awaitSession("proxy-stream-usage-off", 1);
            assertEquals(0, s.get("total_tokens").asLong());
            assertFalse(s.get("requests").get(0).get("time_to_first_token_ms").isNull());
        }
    }

    @Test
    void aStreamWhoseClientAskedForUsageIsPassedOnWhole() {
        String request = chat("fake-stream", ",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
        HttpResponse<byte[]> direct = post(upstream.baseUrl() + "/chat/completions", request);
        HttpResponse<byte[]> proxied = post(server.uri("/v1/chat/completions").toString(), request,
                "x-session-id", "proxy-stream-usage");

        assertArrayEquals(direct.body(), proxied.body());
        assertEquals(FakeOpenAi.stream("fake-stream", true), new String(proxied.body(), StandardCharsets.UTF_8));
        assertArrayEquals(request.getBytes(StandardCharsets.UTF_8), upstream.last("/v1/chat/completions").body());
        assertEquals(57, server.awaitSession("proxy-stream-usage", 1).get("total_tokens").asLong());
    }

    @Test
    void aStreamOptionsThatIsNotAnObjectGoesUpstreamAsTheClientWroteIt() {
        String request = chat("fake-stream", ",\"stream\":true,\"stream_options\":5");
        HttpResponse<byte[]> proxied = post(server.uri("/v1/chat/completions").toString(), request,
                "x-session-id", "proxy-stream-options");

        assertArrayEquals(request.getBytes(StandardCharsets.UTF_8), upstream.last("/v1/chat/completions").body(),
                "the proxy does not turn an invalid request into a valid one");
        assertEquals(FakeOpenAi.stream("fake-stream", false), new String(proxied.body(), StandardCharsets.UTF_8));
        server.awaitSession("proxy-stream-options", 1);
    }

    /**
     * A {@code stream} or an {@code include_usage} that is no JSON boolean ({@code "true"}, {@code 1}, {@code "no"}),
     * which OpenAI refuses with 400: the proxy read {@code "true"} and {@code 1} as asking for a stream, and
     * {@code "no"} as not asking for the usage, and forwarded a request with {@code include_usage} it added or
     * changed. It goes upstream as the client wrote it, for the upstream to answer; one the upstream streams anyway
     * is read as the stream it is.
     */
    @Test
    void aStreamOrIncludeUsageThatIsNoJsonBooleanGoesUpstreamAsTheClientWroteIt() {
        for (String fields : new String[] {",\"stream\":\"true\"", ",\"stream\":1",
                ",\"stream\":true,\"stream_options\":{\"include_usage\":\"no\"}"}) {
            String request = chat("fake-stream", fields);
            HttpResponse<byte[]> proxied = post(server.uri("/v1/chat/completions").toString(), request,
                    "x-session-id", "proxy-stream-not-boolean");
            assertArrayEquals(request.getBytes(StandardCharsets.UTF_8), upstream.last("/v1/chat/completions").body(),
                    "the proxy does not change an invalid request: " + fields);
            assertEquals(200, proxied.statusCode());
            assertEquals(FakeOpenAi.stream("fake-stream", false), new String(proxied.body(), StandardCharsets.UTF_8));
        }
        JsonNode s = server.awaitSession("proxy-stream-not-boolean", 3);
        assertEquals(3, s.get("successful_requests").asLong(), s.toString());
    }

    @Test
    void theTimeToFirstTokenIsTakenAtTheFirstContentChunk() {
        post(server.uri("/v1/chat/completions").toString(), chat("fake-slow", ",\"stream\":true"),
                "x-session-id", "proxy-slow");
        JsonNode record = server.awaitSession("proxy-slow", 1).get("requests").get(0);
        long ttft = record.get("time_to_first_token_ms").asLong();
        assertTrue(ttft >= FakeOpenAi.SLOW_FIRST_TOKEN.toMillis(), "first token at " + ttft + " ms");
        assertTrue(ttft < FakeOpenAi.SLOW_FIRST_TOKEN.toMillis() + 1000, "first token at " + ttft + " ms");
        assertTrue(server.scrape().value("llm_time_to_first_token_seconds_count", "model", "fake-slow") >= 1);
    }

    @Test
    void upstreamErrorsArePassedOnUnchangedAndRecordedWithTheirType() {
        HttpResponse<byte[]> limited = post(server.uri("/v1/chat/completions").toString(), chat("fake-429", ""),
                "x-session-id", "proxy-errors");
        assertEquals(429, limited.statusCode());
        assertEquals(FakeOpenAi.RATE_LIMITED, new String(limited.body(), StandardCharsets.UTF_8));
        HttpResponse<byte[]> failed = post(server.uri("/v1/chat/completions").toString(), chat("fake-500", ""),
                "x-session-id", "proxy-errors");
        assertEquals(500, failed.statusCode());
        assertEquals(FakeOpenAi.SERVER_ERROR, new String(failed.body(), StandardCharsets.UTF_8));
        HttpResponse<byte[]> unknown = post(server.uri("/v1/chat/completions").toString(), chat("fake-nonesuch", ""),
                "x-session-id", "proxy-errors");
        assertEquals(400, unknown.statusCode());

        JsonNode s = server.awaitSession("proxy-errors", 3);
        assertEquals(3, s.get("failed_requests").asLong());
        JsonNode limitedRecord = s.get("requests").get(0);
        assertEquals("rate_limit", limitedRecord.get("error_type").asText());
        assertEquals(429, limitedRecord.get("http_status").asInt());
        assertTrue(limitedRecord.get("error").asText().startsWith("upstream answered 429 rate_limit_exceeded: Rate limit "
                + "reached"), s.toString());
        assertEquals("server_error", s.get("requests").get(1).get("error_type").asText());
        assertEquals(500, s.get("requests").get(1).get("http_status").asInt());
        assertEquals("invalid_request", s.get("requests").get(2).get("error_type").asText());
        assertTrue(s.get("requests").get(2).get("error").asText().startsWith("upstream answered 400 model_not_found"));
        assertEquals(1, server.scrape().value("llm_session_requests_total", "session", "proxy-errors",
                "model", "fake-429", "outcome", "failure"));
    }

    @Test
    void aRequestWithoutTheSessionHeaderGoesToTheFallbackSessionAndOneWithoutAModelToTheAnswersModel() {
        long before = server.get("/events/metrics/session/default").statusCode() == 200
                ? TestServer.json(server.get("/events/metrics/session/default")).get("total_requests").asLong() : 0;
        post(server.uri("/v1/chat/completions").toString(), "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        JsonNode s = server.awaitSession("default", (int) before + 1);
        JsonNode last = s.get("requests").get(s.get("requests").size() - 1);
        assertEquals("fake-plain-2026-01-01", last.get("model").asText());
    }

    @Test
    void embeddingsAndModelsArePassedThroughAndNotRecorded() {
        HttpResponse<byte[]> embeddings = post(server.uri("/v1/embeddings").toString(),
                "{\"model\":\"fake-embedding\",\"input\":\"hello\"}", "x-session-id", "proxy-embeddings");
        assertEquals(FakeOpenAi.EMBEDDINGS, new String(embeddings.body(), StandardCharsets.UTF_8));
        HttpResponse<String> models = server.get("/v1/models?limit=5", "Authorization", "Bearer sk-client-key");
        assertEquals(200, models.statusCode());
        assertEquals(FakeOpenAi.MODELS, models.body());
        assertEquals("/v1/models", upstream.last("/v1/models").path());
        assertEquals("Bearer sk-client-key", upstream.last("/v1/models").headers().getFirst("Authorization"));
        assertEquals(200, server.get("/v1/models?x=%ff", "Authorization", "Bearer sk-client-key").statusCode(),
                "the proxy forwards its query as it came, UTF-8 or not: the upstream judges it");
        assertEquals(404, server.get("/events/metrics/session/proxy-embeddings").statusCode());
    }

    @Test
    void aBodyThatIsNotJsonGetsAClearErrorInTheOpenAiShapeAndIsNotForwarded() {
        int before = upstream.at("/v1/chat/completions").size();
        HttpResponse<byte[]> r = post(server.uri("/v1/chat/completions").toString(), "{\"model\":", "x-session-id", "x");
        assertEquals(400, r.statusCode());
        JsonNode error = TestServer.JSON.valueToTree(parse(r.body())).get("error");
        assertEquals("invalid_body", error.get("code").asText());
        assertEquals(before, upstream.at("/v1/chat/completions").size());
        HttpResponse<byte[]> longSession = post(server.uri("/v1/chat/completions").toString(), chat("fake-plain", ""),
                "x-session-id", "s".repeat(300));
        assertEquals(400, longSession.statusCode());
        assertEquals(before, upstream.at("/v1/chat/completions").size());
    }

    private static JsonNode parse(byte[] body) {
        try {
            return TestServer.JSON.readTree(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void withAnAccessTokenAndNoUpstreamKeyOnlyTheProxysHeaderLetsACallThroughAndA401ChallengesForIt() {
        Map<String, String> settings = new HashMap<>(FakeOpenAi.proxyTo(upstream));
        settings.put("proxy.access.token", "proxy-token-2");
        try (TestServer guarded = TestServer.start(settings)) {
            String url = guarded.uri("/v1/chat/completions").toString();
            HttpResponse<byte[]> refused = post(url, chat("fake-plain", ""), "Authorization", "Bearer proxy-token-2");
            assertEquals(401, refused.statusCode(), "the API key is the client's own, passed on, not the token");
            assertEquals("proxy_unauthorized", parse(refused.body()).get("error").get("code").asText());
            assertEquals("X-Proxy-Auth realm=\"llm-metrics proxy\"",
                    refused.headers().firstValue("WWW-Authenticate").orElse(""));
            assertEquals(200, post(url, chat("fake-plain", ""), "x-proxy-auth", "proxy-token-2").statusCode());
        }
    }

    @Test
    void withAnUpstreamKeyAndAnAccessTokenTheClientPresentsTheTokenAndTheUpstreamGetsTheKey() {
        Map<String, String> settings = new HashMap<>(FakeOpenAi.proxyTo(upstream));
        settings.put("proxy.upstream.key", "sk-upstream-secret");
        settings.put("proxy.access.token", "proxy-token-1");
        settings.put("llm.metrics.auth.token", "internal-token");
        try (TestServer guarded = TestServer.start(settings)) {
            String url = guarded.uri("/v1/chat/completions").toString();
            HttpResponse<byte[]> refused = post(url, chat("fake-plain", ""), "Authorization", "Bearer wrong");
            assertEquals(401, refused.statusCode());
            assertEquals("proxy_unauthorized", parse(refused.body()).get("error").get("code").asText());
            assertEquals("X-Proxy-Auth realm=\"llm-metrics proxy\", Bearer realm=\"llm-metrics proxy\"",
                    refused.headers().firstValue("WWW-Authenticate").orElse(""), "a challenge for each way in");
            assertEquals(401, post(url, chat("fake-plain", ""), "x-internal-auth", "internal-token").statusCode(),
                    "the internal token is not the proxy's");

            assertEquals(200, post(url, chat("fake-plain", ""), "Authorization", "Bearer proxy-token-1",
                    "x-session-id", "guarded").statusCode());
            FakeOpenAi.Received forwarded = upstream.last("/v1/chat/completions");
            assertEquals("Bearer sk-upstream-secret", forwarded.headers().getFirst("Authorization"));
            assertEquals(200, post(url, chat("fake-plain", ""), "x-proxy-auth", "proxy-token-1",
                    "Authorization", "Bearer ignored").statusCode());
            assertNull(upstream.last("/v1/chat/completions").headers().getFirst("x-proxy-auth"));

            String all = guarded.get("/metrics").body() + guarded.get("/events/metrics/session/guarded",
                    "x-internal-auth", "internal-token").body();
            assertFalse(all.contains("sk-upstream-secret") || all.contains("proxy-token-1"));
        }
    }

    /**
     * A client that sends the server's own {@code x-internal-auth} on its {@code /v1} calls too (one HTTP client
     * with default headers for both the events and the proxy) must not hand that token to the upstream, a third
     * party: the proxy does not accept it, and never forwards it.
     */
    @Test
    void theServersInternalTokenIsNeverForwardedToTheUpstream() {
        Map<String, String> settings = new HashMap<>(FakeOpenAi.proxyTo(upstream));
        settings.put("llm.metrics.auth.token", "internal-token-42");
        try (TestServer guarded = TestServer.start(settings)) {
            for (String path : new String[] {"/v1/chat/completions", "/v1/embeddings"}) {
                assertEquals(200, post(guarded.uri(path).toString(), chat("fake-plain", ""), "x-internal-auth",
                        "internal-token-42", "x-session-id", "internal-token").statusCode(), path);
                assertNull(upstream.last(path).headers().getFirst("x-internal-auth"), path);
            }
        }
    }

    @Test
    void theProxyIsOffWithoutAnUpstreamUrlAndServesOnlyItsThreeRoutes() {
        try (TestServer plain = TestServer.start()) {
            HttpResponse<byte[]> r = post(plain.uri("/v1/chat/completions").toString(), chat("fake-plain", ""));
            assertEquals(404, r.statusCode());
            assertEquals("not_found", parse(r.body()).get("error").asText());
        }
        assertEquals(404, server.get("/v1/responses").statusCode());
        assertEquals(404, post(server.uri("/v1/completions").toString(), chat("fake-plain", "")).statusCode());
    }
}
