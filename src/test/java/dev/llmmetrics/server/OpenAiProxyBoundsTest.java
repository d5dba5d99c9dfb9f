package dev.llmmetrics.server;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Each bound of the metering proxy pushed past on the real server: the body size, the upstream calls in
 * progress, the connect and read timeouts; and a client that goes away mid-stream.
 */
class OpenAiProxyBoundsTest {

    private static final int MAX_BODY = 4096;
    private static final int MAX_CONCURRENT = 2;

    private static FakeOpenAi upstream;
    private static TestServer server;

    @BeforeAll
    static void start() {
        upstream = new FakeOpenAi();
        Map<String, String> settings = new HashMap<>(FakeOpenAi.proxyTo(upstream));
        settings.put("proxy.max.body.bytes", String.valueOf(MAX_BODY));
        settings.put("proxy.max.concurrent", String.valueOf(MAX_CONCURRENT));
        settings.put("proxy.read.timeout", "PT0.5S");
        server = TestServer.start(settings);
    }

    @AfterAll
    static void stop() {
        server.close();
        upstream.close();
    }

    private static String chat(String model, String extra) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]" + extra + "}";
    }

    @Test
    void aMethodAProxiedPathDoesNotTakeGets405WithAllowAndIsNotForwarded() {
        Map<String, String> allowed = Map.of("/v1/chat/completions", "POST", "/v1/embeddings", "POST", "/v1/models", "GET");
        allowed.forEach((path, allow) -> {
            int before = upstream.at(path).size();
            for (String method : List.of("GET", "POST", "PUT", "PATCH", "DELETE")) {
                if (method.equals(allow)) {
                    continue;
                }
                HttpResponse<String> answer = server.send(HttpRequest.newBuilder(server.uri(path))
                        .method(method, method.equals("GET") || method.equals("DELETE") ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofString(chat("fake-plain", "")))
                        .header("Content-Type", "application/json").header("x-session-id", "bounds-method"));
                assertEquals(405, answer.statusCode(), method + " " + path + ": " + answer.body());
                assertEquals(allow, answer.headers().firstValue("Allow").orElse(null), method + " " + path);
                JsonNode error = TestServer.json(answer).get("error");
                assertEquals("method_not_allowed", error.get("code").asText(), answer.body());
                assertEquals(method + " is not allowed here; allowed: " + allow, error.get("message").asText());
            }
            assertEquals(before, upstream.at(path).size(), path + " was forwarded");
        });
        assertEquals(404, server.get("/events/metrics/session/bounds-method").statusCode());
    }

    @Test
    void aBrokenChunkedBodyGets400MalformedBodyAtOnceAndIsNotForwarded() throws IOException {
        for (String path : List.of("/v1/chat/completions", "/v1/embeddings")) {
            int before = upstream.at(path).size();
            // Chunk sizes that are no size, then nothing more: the connection stays open, so only the framing
            // tells the body is broken. Then whole bodies with a chunk extension or a trailer field, which Helidon
            // does not read (limits.md): the answer closes the connection all the same.
            String chat = chat("fake-plain", "");
            String size = Integer.toHexString(chat.length());
            for (String chunks : List.of("zz\r\n", "-1\r\n", "ffffffffffffffffffff\r\n",
                    size + ";foo=bar\r\n" + chat + "\r\n0\r\n\r\n", size + "\r\n" + chat + "\r\n0\r\nX-Trailer: 1\r\n\r\n")) {
                long start = System.nanoTime();
                HostileSupport.RawResponse answer = HostileSupport.raw(server.running().port(), HostileSupport.concat(
                        HostileSupport.request("POST", path, "Content-Type: application/json", "x-session-id: bounds-chunks",
                                "Transfer-Encoding: chunked"), chunks.getBytes(StandardCharsets.UTF_8)), false);
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertEquals(400, answer.status(), path + " " + chunks + ": " + answer);
                JsonNode error = TestServer.JSON.readTree(answer.bodyText()).get("error");
                assertTrue(error != null && error.isObject(), "the OpenAI error shape: " + answer);
                assertEquals("malformed_body", error.get("code").asText(), answer.toString());
                assertEquals("close", answer.headers().get("connection"), answer.toString());
                assertTrue(took.compareTo(Duration.ofSeconds(5)) < 0, "answered after " + took);
            }
            assertEquals(before, upstream.at(path).size(), path + " was forwarded");
        }
        assertEquals(404, server.get("/events/metrics/session/bounds-chunks").statusCode());
    }

    @Test
    void requestsHelidonRefusesBeforeRoutingGetTheOpenAiErrorShapeUnderV1() throws IOException {
        int before = upstream.at("/v1/chat/completions").size();
        String body = chat("fake-plain", "");
        // A declared length past what the server reads at all (the larger body limit and the 2 MiB a 413
        // swallows), headers past their limit, a header Helidon cannot parse, a query it cannot decode.
        Map<byte[], Integer> refused = new java.util.LinkedHashMap<>();
        refused.put(HostileSupport.request("POST", "/v1/chat/completions", "Content-Type: application/json",
                "x-session-id: bounds-direct", "Content-Length: " + 8 * 1024 * 1024), 413);
        refused.put(HostileSupport.concat(HostileSupport.request("POST", "/v1/chat/completions", "Content-Type: application/json",
                "x-session-id: bounds-direct", "X-Big: " + "a".repeat(20_000), "Content-Length: " + body.length()),
                body.getBytes(StandardCharsets.UTF_8)), 431);
        refused.put(HostileSupport.concat(HostileSupport.request("POST", "/v1/chat/completions", "Content-Type: application/json",
                "x-session-id: bounds-\u0001", "Content-Length: " + body.length()), body.getBytes(StandardCharsets.UTF_8)), 400);
        refused.put(HostileSupport.request("GET", "/v1/models?x=%zz"), 400);
        for (Map.Entry<byte[], Integer> attempt : refused.entrySet()) {
            int status = attempt.getValue();
            HostileSupport.RawResponse answer = HostileSupport.raw(server.running().port(), attempt.getKey(), false);
            assertEquals(status, answer.status(), answer.toString());
            JsonNode error = TestServer.JSON.readTree(answer.bodyText()).get("error");
            assertTrue(error != null && error.isObject() && error.get("code").isTextual() && error.get("message").isTextual()
                    && error.get("type").asText().equals("invalid_request_error") && error.has("param"), answer.toString());
        }
        assertEquals(before, upstream.at("/v1/chat/completions").size());
        assertEquals(404, server.get("/events/metrics/session/bounds-direct").statusCode());
        // The server's own routes keep the server's shape.
        HostileSupport.RawResponse events = HostileSupport.raw(server.running().port(), HostileSupport.request("POST", "/events",
                "Content-Type: application/json", "Content-Length: " + 8 * 1024 * 1024), false);
        assertEquals(413, events.status(), events.toString());
        assertEquals("body_too_large", TestServer.JSON.readTree(events.bodyText()).get("error").asText(), events.toString());
    }

    @Test
    void aBodyOverTheLimitGets413AndIsNotForwarded() {
        int before = upstream.at("/v1/chat/completions").size();
        String padding = ",\"user\":\"" + "x".repeat(MAX_BODY) + "\"";
        HttpResponse<String> tooLarge = server.post("/v1/chat/completions", chat("fake-plain", padding),
                "x-session-id", "bounds-body");
        assertEquals(413, tooLarge.statusCode());
        assertEquals("body_too_large", TestServer.json(tooLarge).get("error").get("code").asText());
        assertEquals(before, upstream.at("/v1/chat/completions").size());
        assertEquals(404, server.get("/events/metrics/session/bounds-body").statusCode());

        String fits = chat("fake-plain", ",\"user\":\"" + "x".repeat(MAX_BODY - 200) + "\"");
        assertTrue(fits.length() <= MAX_BODY);
        assertEquals(200, server.post("/v1/chat/completions", fits, "x-session-id", "bounds-body").statusCode());
    }

    @Test
    void aV1PathTheProxyDoesNotForwardGets404InTheOpenAiErrorShapeAndIsNotForwarded() {
        for (String path : List.of("/v1/responses", "/v1/completions", "/v1/chat/completions/", "/v1/")) {
            HttpResponse<String> r = server.post(path, chat("fake-plain", ""), "x-session-id", "bounds-unknown-path");
            assertEquals(404, r.statusCode(), path);
            JsonNode error = TestServer.json(r).get("error");
            assertEquals("not_found", error.get("code").asText(), r.body());
            assertEquals("invalid_request_error", error.get("type").asText(), r.body());
            assertTrue(error.get("message").asText().contains(path), r.body());
        }
        assertTrue(upstream.at("/v1/responses").isEmpty() && upstream.at("/v1/completions").isEmpty(), "not forwarded");
        assertEquals(404, server.get("/events/metrics/session/bounds-unknown-path").statusCode());
    }

    @Test
    void bodiesStillArrivingHoldOnlyTheBytesTheySentBoundedByTheBodiesBoundAndNoUpstreamSlot() throws IOException {
        int sent = MAX_BODY - 100;
        List<Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_CONCURRENT; i++) { // each declares a body at the limit and sends most of it
                Socket socket = new Socket();
                slow.add(socket);
                socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.running().port()), 5000);
                socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                        + "Content-Type: application/json\r\nContent-Length: " + MAX_BODY + "\r\n\r\n"
                        + "{\"model\":\"fake-plain\",\"user\":\"" + "x".repeat(sent - 30)).getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
            }
            // They hold almost all of MAX_BODY × MAX_CONCURRENT bytes: a body of 300 more is refused once read...
            String padded = chat("fake-plain", ",\"user\":\"" + "y".repeat(300) + "\"");
            await().atMost(Duration.ofSeconds(10)).until(() -> server.post("/v1/chat/completions", padded,
                    "x-session-id", "bounds-slow-bodies").statusCode() == 503);
            HttpResponse<String> refused = server.post("/v1/chat/completions", padded, "x-session-id", "bounds-slow-bodies");
            assertEquals(503, refused.statusCode(), refused.body());
            assertEquals("too_many_upstream_calls", TestServer.json(refused).get("error").get("code").asText());
            assertTrue(TestServer.json(refused).get("error").get("message").asText().contains("request bytes"), refused.body());
            // ...while they hold no upstream slot: a call without a body still goes through.
            assertEquals(200, server.get("/v1/models").statusCode());
        } finally {
            for (Socket socket : slow) {
                socket.close();
            }
        }
        // Their bytes come back when those bodies end unfinished.
        await().atMost(Duration.ofSeconds(10)).until(() -> server.post("/v1/chat/completions",
                chat("fake-plain", ",\"user\":\"" + "y".repeat(300) + "\""), "x-session-id", "bounds-slow-bodies")
                .statusCode() == 200);
    }

    /**
     * Sends only the headers of a POST to {@code path} declaring {@code length} bytes with {@code Expect:
     * 100-continue}, and reads the first answer: the final one, never {@code 100 Continue}, when the declared length
     * alone is refused (RFC 9110 §10.1.1), so that the client never sends the body.
     */
    private static HostileSupport.RawResponse refusedBeforeTheBody(String path, long length) {
        HostileSupport.RawResponse answer = HostileSupport.raw(server.running().port(), HostileSupport.request("POST", path,
                "Content-Type: application/json", "x-session-id: bounds-expect", "Expect: 100-continue",
                "Content-Length: " + length), false);
        assertTrue(answer.answered() && answer.status() != 100, path + " " + length + " bytes: " + answer);
        assertEquals("close", answer.headers().get("connection"), "the body it may still send is never read: " + answer);
        return answer;
    }

    @Test
    void aClientExpecting100ContinueIsRefusedBeforeItSendsABodyTheBoundsCannotTake() throws IOException {
        int before = upstream.at("/v1/chat/completions").size();
        // Past proxy.max.body.bytes (and under what Helidon refuses itself), on the proxy and on /events.
        HostileSupport.RawResponse tooLarge = refusedBeforeTheBody("/v1/chat/completions", MAX_BODY + 1);
        assertEquals(413, tooLarge.status(), tooLarge.toString());
        assertEquals("body_too_large", TestServer.JSON.readTree(tooLarge.bodyText()).get("error").get("code").asText());
        HostileSupport.RawResponse events = refusedBeforeTheBody("/events", HttpSettings.DEFAULT_MAX_BODY_BYTES + 1);
        assertEquals(413, events.status(), events.toString());
        assertEquals("body_too_large", TestServer.JSON.readTree(events.bodyText()).get("error").asText(), events.toString());

        // Within proxy.max.body.bytes, past what the bodies' bound has free while others hold most of it.
        List<Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_CONCURRENT; i++) {
                Socket socket = new Socket();
                slow.add(socket);
                socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.running().port()), 5000);
                socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                        + "Content-Type: application/json\r\nContent-Length: " + MAX_BODY + "\r\n\r\n"
                        + "{\"model\":\"fake-plain\",\"user\":\"" + "x".repeat(MAX_BODY - 130)).getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
            }
            String padded = chat("fake-plain", ",\"user\":\"" + "y".repeat(300) + "\"");
            await().atMost(Duration.ofSeconds(10)).until(() -> server.post("/v1/chat/completions", padded,
                    "x-session-id", "bounds-expect").statusCode() == 503);
            HostileSupport.RawResponse full = refusedBeforeTheBody("/v1/chat/completions", padded.length());
            assertEquals(503, full.status(), full.toString());
            assertEquals("1", full.headers().get("retry-after"), full.toString());
            assertEquals("too_many_upstream_calls", TestServer.JSON.readTree(full.bodyText()).get("error").get("code").asText());
        } finally {
            for (Socket socket : slow) {
                socket.close();
            }
        }
        assertEquals(before, upstream.at("/v1/chat/completions").size(), "nothing forwarded");
        assertEquals(404, server.get("/events/metrics/session/bounds-expect").statusCode());
    }

    /** A raw client of a streamed completion, to read some of it and then go away. */
    private static final class StreamReader implements AutoCloseable {
        private final Socket socket = new Socket();
        private final InputStream in;

        StreamReader(String session) throws IOException {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.running().port()), 5000);
            socket.setSoTimeout(10_000);
            byte[] body = chat("fake-endless", ",\"stream\":true").getBytes(StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "x-session-id: " + session + "\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            in = socket.getInputStream();
        }

        /** Reads until {@code count} chunks of content arrived. */
        void readChunks(int count) throws IOException {
            StringBuilder seen = new StringBuilder();
            byte[] buffer = new byte[4096];
            while (seen.toString().split("\"more \"", -1).length - 1 < count) {
                int read = in.read(buffer);
                if (read < 0) {
                    throw new AssertionError("the stream ended: " + seen);
                }
                seen.append(new String(buffer, 0, read, StandardCharsets.UTF_8));
            }
            assertTrue(seen.toString().startsWith("HTTP/1.1 200"), seen.toString());
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void pastTheConcurrentUpstreamCallsARequestGets503AndAClientThatGoesAwayCancelsItsUpstreamCall() throws IOException {
        int cancelledBefore = upstream.cancelled.get();
        List<StreamReader> streams = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_CONCURRENT; i++) {
                StreamReader stream = new StreamReader("bounds-streams");
                streams.add(stream);
                stream.readChunks(3);
            }
            HttpResponse<String> refused = server.post("/v1/chat/completions", chat("fake-plain", ""),
                    "x-session-id", "bounds-refused");
            assertEquals(503, refused.statusCode());
            assertEquals("1", refused.headers().firstValue("Retry-After").orElseThrow());
            assertEquals("too_many_upstream_calls", TestServer.json(refused).get("error").get("code").asText());
        } finally {
            for (StreamReader stream : streams) {
                stream.close();
            }
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> upstream.cancelled.get() == cancelledBefore + MAX_CONCURRENT);
        JsonNode s = server.awaitSession("bounds-streams", MAX_CONCURRENT);
        assertEquals(MAX_CONCURRENT, s.get("failed_requests").asLong());
        for (JsonNode record : s.get("requests")) {
            assertEquals("cancelled", record.get("error_type").asText(), record.toString());
        }
        assertEquals(404, server.get("/events/metrics/session/bounds-refused").statusCode());
        // The slots are free again.
        assertEquals(200, server.post("/v1/chat/completions", chat("fake-plain", ""), "x-session-id", "bounds-after")
                .statusCode());
    }

    /**
     * Clients that ask for an answer of 20 MB and read none of it, on the real server in its own JVM: the proxy
     * passes on what the sockets take and holds no copy of the text it has read (a parser holding the growing
     * string kept about 8 MB a client); a client that reads the same answer gets it whole, recorded with the usage
     * that comes after the text.
     */
    @Test
    void aLargeAnswerToClientsThatDoNotReadItHoldsNoCopyOfItAndIsStillRecordedWithItsUsage() throws Exception {
        int stalled = 8;
        try (ChildServer proxy = ChildServer.mainWithJvmArgs(List.of("-Xmx256m"), "PROXY_UPSTREAM_URL", upstream.baseUrl())) {
            long heapBefore = proxy.heapAfterFullGc();
            long sentBefore = upstream.largeBytesSent.get();
            byte[] body = chat("fake-large", "").getBytes(StandardCharsets.UTF_8);
            List<Socket> clients = new ArrayList<>();
            try {
                for (int i = 0; i < stalled; i++) {
                    Socket socket = new Socket();
                    clients.add(socket);
                    socket.setReceiveBufferSize(4096);
                    socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port), 5000);
                    socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                            + "x-session-id: bounds-large-stalled\r\nContent-Type: application/json\r\nContent-Length: "
                            + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    socket.getOutputStream().write(body);
                }
                // Until the upstream has written all the sockets take: its count still for a second.
                long sent = -1;
                for (long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos(); System.nanoTime() < deadline; ) {
                    Thread.sleep(1000);
                    long now = upstream.largeBytesSent.get();
                    if (now == sent) {
                        break;
                    }
                    sent = now;
                }
                long relayed = upstream.largeBytesSent.get() - sentBefore;
                long held = proxy.heapAfterFullGc() - heapBefore;
                System.out.printf("%d stalled clients: %,d bytes read from the upstream, heap %,d B more%n", stalled,
                        relayed, held);
                assertTrue(relayed > stalled * (1L << 20), "the answers were under way: " + relayed + " bytes");
                assertTrue(relayed < stalled * FakeOpenAi.largeAnswerBytes(), "the clients read nothing, so the answers "
                        + "stopped where the sockets were full: " + relayed + " bytes");
                assertTrue(held < stalled * (256L << 10), "heap after GC grew by " + held + " bytes for " + stalled
                        + " stalled clients");
            } finally {
                for (Socket socket : clients) {
                    socket.close();
                }
            }
            HttpResponse<String> whole = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(proxy.base() + "/v1/chat/completions")).header("Content-Type", "application/json")
                    .header("x-session-id", "bounds-large").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, whole.statusCode());
            assertEquals(FakeOpenAi.largeAnswerBytes(), whole.body().length(), "passed on whole");
            HttpRequest read = HttpRequest.newBuilder(URI.create(proxy.base() + "/events/metrics/session/bounds-large")).build();
            await().atMost(Duration.ofSeconds(10)).until(() -> HttpClient.newHttpClient().send(read,
                    HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
            JsonNode session = TestServer.JSON.readTree(HttpClient.newHttpClient().send(read,
                    HttpResponse.BodyHandlers.ofString()).body());
            assertEquals(1, session.get("successful_requests").asLong(), session.toString());
            assertEquals(12, session.get("total_prompt_tokens").asLong(), session.toString());
            assertEquals(4_000_000, session.get("total_completion_tokens").asLong(), session.toString());
        }
    }

    @Test
    void anUpstreamSlowerThanTheReadTimeoutGets504OrACutStreamAndIsRecordedAsATimeout() throws IOException {
        HostileSupport.RawResponse hung = HostileSupport.raw(server.running().port(), HostileSupport.concat(
                HostileSupport.request("POST", "/v1/chat/completions", "x-session-id: bounds-read", "Content-Length: "
                        + chat("fake-hang", "").length()), chat("fake-hang", "").getBytes(StandardCharsets.UTF_8)), false);
        assertEquals(504, hung.status(), hung.toString());
        assertEquals("upstream_timeout", TestServer.JSON.readTree(hung.bodyText()).get("error").get("code").asText());
        assertEquals("close", hung.headers().get("connection"), "its connection was looked at, so it is not reused");

        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.running().port()), 5000);
            socket.setSoTimeout(10_000);
            byte[] body = chat("fake-stall", ",\"stream\":true").getBytes(StandardCharsets.UTF_8);
            socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nx-session-id: "
                    + "bounds-read\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(body);
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 200") && answer.contains("\"first\""), answer);
            assertFalse(answer.endsWith("0\r\n\r\n"), "the stream is cut, not ended: " + answer);
        }
        JsonNode s = server.awaitSession("bounds-read", 2);
        for (JsonNode record : s.get("requests")) {
            assertEquals("timeout", record.get("error_type").asText(), record.toString());
        }
    }

    @Test
    void aClientThatLeavesWhileTheUpstreamIsSilentIsRecordedAsCancelledWhenTheUpstreamTimesOut() throws IOException {
        // Before the answer's head (fake-hang), and in a stream after its first chunk (fake-stall).
        for (String model : List.of("fake-hang", "fake-stall")) {
            boolean stream = model.equals("fake-stall");
            int forwarded = upstream.at("/v1/chat/completions").size();
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.running().port()), 5000);
                socket.setSoTimeout(10_000);
                byte[] body = chat(model, stream ? ",\"stream\":true" : "").getBytes(StandardCharsets.UTF_8);
                socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nx-session-id: "
                        + "bounds-left\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().write(body);
                if (stream) {
                    byte[] seen = new byte[4096];
                    StringBuilder text = new StringBuilder();
                    while (!text.toString().contains("\"first\"")) {
                        int read = socket.getInputStream().read(seen);
                        assertTrue(read > 0, "the stream ended: " + text);
                        text.append(new String(seen, 0, read, StandardCharsets.UTF_8));
                    }
                } else {
                    await().atMost(Duration.ofSeconds(5)).until(() -> upstream.at("/v1/chat/completions").size() > forwarded);
                }
            } // the client leaves while the upstream sends nothing
        }
        JsonNode s = server.awaitSession("bounds-left", 2);
        for (JsonNode record : s.get("requests")) {
            assertEquals("cancelled", record.get("error_type").asText(), record.toString());
            assertTrue(record.get("error").asText().startsWith("the client disconnected while the proxy waited for the "
                    + "upstream, which then timed out: the upstream did not answer in time"), record.toString());
        }
        // The proxy goes on serving, a client that stays still gets its 504.
        assertEquals(504, server.post("/v1/chat/completions", chat("fake-hang", ""), "x-session-id", "bounds-left-after")
                .statusCode());
        assertEquals(200, server.post("/v1/chat/completions", chat("fake-plain", ""), "x-session-id", "bounds-left-after")
                .statusCode());
    }

    @Test
    void aPipelinedClientAndOneThatClosedOnlyItsSendingSideStillGetTheirAnswersWhenTheUpstreamTimesOut()
            throws IOException {
        byte[] hang = chat("fake-hang", "").getBytes(StandardCharsets.UTF_8);
        byte[] plain = chat("fake-plain", "").getBytes(StandardCharsets.UTF_8);
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nx-session-id: bounds-pipelined\r\n"
                + "Content-Length: ";
        // Two requests in one write: the first times out, the second is read after it on the same connection.
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.running().port()), 5000);
            socket.setSoTimeout(20_000);
            ByteArrayOutputStream both = new ByteArrayOutputStream();
            both.writeBytes((head + hang.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            both.writeBytes(hang);
            both.writeBytes((head + plain.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            both.writeBytes(plain);
            socket.getOutputStream().write(both.toByteArray());
            String answers = readUntil(socket, "chatcmpl");
            assertTrue(answers.startsWith("HTTP/1.1 504"), answers);
            assertTrue(answers.contains("HTTP/1.1 200"), "the pipelined request is answered too: " + answers);
        }
        // A client that sends its request and closes its sending side, as some do, still reads the 504.
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.running().port()), 5000);
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write((head.replace("bounds-pipelined", "bounds-half-closed") + hang.length
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(hang);
            socket.shutdownOutput();
            String answer = readUntil(socket, "upstream_timeout");
            assertTrue(answer.startsWith("HTTP/1.1 504"), answer);
        }
        JsonNode pipelined = server.awaitSession("bounds-pipelined", 2);
        assertEquals("timeout", pipelined.get("requests").get(0).get("error_type").asText(), pipelined.toString());
        assertTrue(pipelined.get("requests").get(1).get("success").asBoolean(), pipelined.toString());
    }

    /** What the socket reads until {@code text} has come or the server closes it. */
    private static String readUntil(Socket socket, String text) throws IOException {
        StringBuilder read = new StringBuilder();
        byte[] buffer = new byte[4096];
        while (!read.toString().contains(text)) {
            int n = socket.getInputStream().read(buffer);
            if (n < 0) {
                break;
            }
            read.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
        }
        return read.toString();
    }

    @Test
    void anUpstreamThatDoesNotAcceptWithinTheConnectTimeoutGets504() throws IOException {
        try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            List<Socket> queued = new ArrayList<>();
            try {
                for (int i = 0; i < 8; i++) {
                    Socket s = new Socket();
                    try {
                        s.connect(full.getLocalSocketAddress(), 200);
                        queued.add(s);
                    } catch (IOException e) {
                        s.close(); // the accept queue is full: what the proxy will meet
                    }
                }
                Map<String, String> settings = Map.of("proxy.upstream.url", "http://127.0.0.1:" + full.getLocalPort() + "/v1",
                        "proxy.connect.timeout", "PT0.3S");
                try (TestServer proxy = TestServer.start(settings)) {
                    long start = System.nanoTime();
                    HttpResponse<String> r = proxy.post("/v1/chat/completions", chat("fake-plain", ""),
                            "x-session-id", "bounds-connect");
                    long tookMs = (System.nanoTime() - start) / 1_000_000;
                    assertEquals(504, r.statusCode(), r.body());
                    assertTrue(tookMs < 5000, "answered after " + tookMs + " ms");
                    JsonNode s = TestServer.json(proxy.get("/events/metrics/session/bounds-connect"));
                    assertEquals("timeout", s.get("requests").get(0).get("error_type").asText(), s.toString());
                }
            } finally {
                for (Socket s : queued) {
                    s.close();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
