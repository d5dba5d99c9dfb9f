package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmmetrics.server.HostileSupport.RawResponse;
import java.io.IOException;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The conventions every answer of the real server follows: a method a path does not take gets 405 with
 * {@code Allow}, one sent with a lower-case letter 400, one HTTP does not define 501; a badly encoded session id in a path gets {@code invalid_session_id}, also when Helidon
 * refuses it before routing; every JSON answer ends with a line feed.
 */
class HttpAnswersTest {

    private static final String EVENT = """
            {"type":"LLM_REQUEST_COMPLETED","session_id":"s-1","model":"m","duration_ms":5,"prompt_tokens":1,"completion_tokens":2}""";

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
        assertEquals(202, server.post("/events", EVENT).statusCode());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aMethodThePathDoesNotTakeGets405WithAllowAndAJsonBody() {
        Map<String, String> allowed = new LinkedHashMap<>();
        allowed.put("/events", "POST");
        allowed.put("/events/metrics", "GET, HEAD");
        allowed.put("/events/stats", "GET, HEAD");
        allowed.put("/events/metrics/sessions", "GET, HEAD");
        allowed.put("/events/metrics/summaries", "GET, HEAD");
        allowed.put("/events/metrics/models", "GET, HEAD");
        allowed.put("/events/metrics/session/s-1", "GET, HEAD, DELETE");
        allowed.put("/metrics", "GET, HEAD");
        allowed.put("/health", "GET, HEAD");
        allowed.put("/health/ready", "GET, HEAD");
        allowed.put("/", "GET, HEAD");
        allowed.put("/app.js", "GET, HEAD");
        List<String> problems = new ArrayList<>();
        allowed.forEach((path, allow) -> {
            for (String method : List.of("GET", "POST", "PUT", "PATCH", "DELETE")) {
                if (allow.contains(method)) {
                    continue;
                }
                HttpResponse<String> response = server.send(HttpRequest.newBuilder(server.uri(path))
                        .method(method, HttpRequest.BodyPublishers.ofString("{}")));
                String seen = response.statusCode() + " Allow=" + response.headers().firstValue("Allow").orElse("-");
                if (!seen.equals("405 Allow=" + allow)) {
                    problems.add(method + " " + path + ": " + seen + " " + response.body());
                    continue;
                }
                JsonNode error = HostileSupport.assertJsonError(response, method + " " + path);
                if (!error.get("error").asText().equals("method_not_allowed")) {
                    problems.add(method + " " + path + ": " + response.body());
                }
            }
        });
        assertEquals(List.of(), problems);
        assertEquals("s-1", json(server.get("/events/metrics/session/s-1")).get("session_id").asText(),
                "a refused method changes nothing");
        assertEquals(404, server.send(HttpRequest.newBuilder(server.uri("/nowhere")).PUT(HttpRequest.BodyPublishers.noBody()))
                .statusCode(), "a path that does not exist stays 404 whatever the method");
    }

    /**
     * RFC 9110 section 9.1: method names are case-sensitive, so {@code delete} is not {@code DELETE}; Helidon reads
     * the method upper-cased, and a proxy in front refusing DELETE would pass {@code delete} on as another method.
     */
    @Test
    void aMethodSentInAnotherCaseIsRefusedBeforeRoutingAndChangesNothing() throws IOException {
        int port = server.running().port();
        assertEquals(202, server.post("/events", EVENT.replace("s-1", "cased")).statusCode());
        String event = EVENT.replace("s-1", "lower-post");
        Map<String, byte[]> refused = new LinkedHashMap<>();
        refused.put("delete", HostileSupport.request("delete", "/events/metrics/session/cased", "Content-Length: 0"));
        refused.put("Delete", HostileSupport.request("Delete", "/events/metrics/session/cased", "Content-Length: 0"));
        refused.put("post", HostileSupport.concat(HostileSupport.request("post", "/events", "Content-Type: application/json",
                "Content-Length: " + event.length()), event.getBytes(StandardCharsets.UTF_8)));
        refused.put("get", HostileSupport.request("get", "/events/metrics/session/cased"));
        refused.put("gET", HostileSupport.request("gET", "/health"));
        refused.put("head", HostileSupport.request("head", "/health"));
        refused.put("options", HostileSupport.request("options", "/health"));
        refused.put("foo", HostileSupport.request("foo", "/health"));
        for (Map.Entry<String, byte[]> c : refused.entrySet()) {
            // A request pipelined after it is never read: the refusal closes the connection.
            byte[] request = HostileSupport.concat(c.getValue(), HostileSupport.request("GET", "/health"));
            try (Socket socket = new Socket("127.0.0.1", port)) {
                socket.setSoTimeout(10_000);
                socket.getOutputStream().write(request);
                RawResponse answer = HostileSupport.readResponse(socket.getInputStream(), false);
                JsonNode error = HostileSupport.assertJsonError(answer.status(), answer.contentType(), answer.bodyText(),
                        c.getKey());
                assertEquals(400, answer.status(), c.getKey() + ": " + answer);
                assertEquals("invalid_method", error.get("error").asText(), c.getKey() + ": " + answer);
                assertEquals("close", answer.headers().get("connection"), c.getKey() + ": " + answer);
                assertEquals("closed", HostileSupport.readResponse(socket.getInputStream(), false).problem(), c.getKey());
            }
        }
        assertEquals(1, json(server.get("/events/metrics/session/cased")).get("total_requests").asLong(),
                "delete cleared nothing");
        assertEquals(404, server.get("/events/metrics/session/lower-post").statusCode(), "post recorded nothing");
        RawResponse deleted = HostileSupport.raw(port, HostileSupport.request("DELETE", "/events/metrics/session/cased",
                "Content-Length: 0"), false);
        assertEquals(200, deleted.status(), deleted.toString());
        assertEquals(404, server.get("/events/metrics/session/cased").statusCode(), "DELETE cleared the session");
    }

    @Test
    void aMethodHttpDoesNotDefineGets501BeforeRoutingOnEveryPathAndChangesNothing() throws IOException {
        int port = server.running().port();
        String event = EVENT.replace("s-1", "unknown-method");
        for (String method : List.of("FOO", "PROPFIND", "MKCOL", "PURGE")) {
            for (String path : List.of("/health", "/events", "/events/metrics/session/s-1", "/metrics", "/", "/nowhere")) {
                byte[] request = HostileSupport.concat(HostileSupport.request(method, path, "Content-Type: application/json",
                        "Content-Length: " + event.length()), event.getBytes(StandardCharsets.UTF_8),
                        HostileSupport.request("GET", "/health"));
                try (Socket socket = new Socket("127.0.0.1", port)) {
                    socket.setSoTimeout(10_000);
                    socket.getOutputStream().write(request);
                    RawResponse answer = HostileSupport.readResponse(socket.getInputStream(), false);
                    String what = method + " " + path + ": " + answer;
                    assertEquals(501, answer.status(), what);
                    assertEquals("application/json; charset=UTF-8", answer.contentType(), what);
                    JsonNode error = TestServer.JSON.readTree(answer.bodyText());
                    assertEquals("not_implemented", error.get("error").asText(), what);
                    assertEquals("close", answer.headers().get("connection"), what);
                    assertEquals("closed", HostileSupport.readResponse(socket.getInputStream(), false).problem(), what);
                }
            }
        }
        assertEquals(404, server.get("/events/metrics/session/unknown-method").statusCode(), "nothing was recorded");
        assertEquals("s-1", json(server.get("/events/metrics/session/s-1")).get("session_id").asText(), "nor cleared");
        // A method that is no token is a malformed request line, not a method the server could implement.
        for (String method : List.of("", "G(T", "GE/T")) {
            RawResponse malformed = HostileSupport.raw(port, HostileSupport.request(method, "/health"), false);
            JsonNode error = HostileSupport.assertJsonError(malformed.status(), malformed.contentType(),
                    malformed.bodyText(), "method '" + method + "'");
            assertEquals(400, malformed.status(), method + ": " + malformed);
            assertEquals("bad_request", error.get("error").asText(), method + ": " + malformed);
        }
        // A method HTTP defines that a path does not take is still the path's 405.
        for (String method : List.of("PUT", "PATCH", "OPTIONS", "TRACE")) {
            RawResponse defined = HostileSupport.raw(port, HostileSupport.request(method, "/health"), false);
            assertEquals(405, defined.status(), method + ": " + defined);
            assertEquals("GET, HEAD", defined.headers().get("allow"), method + ": " + defined);
        }
    }

    @Test
    void aMethodHttpDoesNotDefineOnTheProxysPathsGets501InTheOpenAiShape() {
        try (TestServer proxying = TestServer.start(Map.of("proxy.upstream.url", "http://127.0.0.1:9/v1"))) {
            for (String path : List.of("/v1/chat/completions", "/v1/events")) {
                RawResponse answer = HostileSupport.raw(proxying.running().port(), HostileSupport.request("FOO", path), false);
                assertEquals(501, answer.status(), path + ": " + answer);
                JsonNode error = TestServer.JSON.readTree(answer.bodyText()).get("error");
                assertEquals("not_implemented", error.get("code").asText(), path + ": " + answer);
                assertTrue(error.get("message").asText().contains("RFC 9110"), path + ": " + answer);
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void livenessAndReadinessAnswerHeadAsTheyAnswerGetWithoutABody() throws IOException {
        for (String path : List.of("/health", "/health/ready")) {
            HttpResponse<String> get = server.get(path);
            assertTrue(get.body().equals("{\"status\":\"UP\",\"reason\":null}\n") || get.body().startsWith("{\"status\":\"UP\",\"sessions\":"),
                    get.body());
            try (Socket socket = new Socket("127.0.0.1", server.running().port())) {
                socket.setSoTimeout(10_000);
                socket.getOutputStream().write(("HEAD " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\nGET " + path
                        + " HTTP/1.1\r\nHost: localhost\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                RawResponse head = HostileSupport.readResponse(socket.getInputStream(), true);
                assertEquals(get.statusCode(), head.status(), path);
                assertEquals(get.headers().firstValue("Content-Type").orElseThrow(), head.headers().get("content-type"), path);
                assertEquals(String.valueOf(get.body().getBytes(StandardCharsets.UTF_8).length),
                        head.headers().get("content-length"), path);
                RawResponse next = HostileSupport.readResponse(socket.getInputStream(), false);
                assertEquals(get.statusCode(), next.status(), path + ": the GET after the HEAD on the same connection");
                assertEquals(get.body(), next.bodyText(), path + ": no body of the HEAD came before it");
            }
        }
    }

    @Test
    void anErrorAnswerToHeadHasItsLengthButNoBodySoTheNextAnswerOnTheConnectionIsReadWhole() throws IOException {
        Map<String, Integer> cases = new LinkedHashMap<>();
        cases.put("HEAD /nowhere HTTP/1.1\r\nHost: localhost\r\n", 404);
        cases.put("HEAD /events HTTP/1.1\r\nHost: localhost\r\n", 405);
        cases.put("HEAD /events/metrics/models?window=1h HTTP/1.1\r\nHost: localhost\r\n", 400);
        cases.put("HEAD /health HTTP/1.1\r\nHost: evil.example\r\n", 403);
        cases.put("HEAD /health?limit=%zz HTTP/1.1\r\nHost: localhost\r\n", 400);
        HttpResponse<String> health = server.get("/health");
        for (Map.Entry<String, Integer> c : cases.entrySet()) {
            try (Socket socket = new Socket("127.0.0.1", server.running().port())) {
                socket.setSoTimeout(10_000);
                socket.getOutputStream().write((c.getKey() + "\r\nGET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                RawResponse head = HostileSupport.readResponse(socket.getInputStream(), true);
                assertEquals(c.getValue(), head.status(), c.getKey());
                // Refused before routing, the answer closes the connection and Helidon states no body's length.
                boolean direct = c.getKey().contains("%zz");
                assertTrue(direct ? "close".equals(head.headers().get("connection"))
                        : Integer.parseInt(head.headers().get("content-length")) > 0, c.getKey() + head.headers());
                RawResponse next = HostileSupport.readResponse(socket.getInputStream(), false);
                assertTrue(next.status() == 200 ? next.bodyText().equals(health.body()) : "closed".equals(next.problem()),
                        c.getKey() + ": after it, " + next);
            }
        }
    }

    /**
     * Helidon refuses a target whose percent-encoding is broken before any route runs; on a session route the
     * answer still names the id. A request line Helidon cannot split (a space in the target) stays a plain
     * {@code bad_request}: nothing in it is known to be an id.
     */
    @Test
    void everyBadlyEncodedSessionIdInAPathGetsInvalidSessionId() {
        List<String> problems = new ArrayList<>();
        for (String method : List.of("GET", "DELETE")) {
            for (String id : List.of("%zz", "%", "a%2", "%g0", "%%", "%uD800", "%C3", "%FF%FE", "%00", "%7F", "%0A", "%20", "%zz?limit=1")) {
                RawResponse response = HostileSupport.raw(server.running().port(),
                        HostileSupport.request(method, "/events/metrics/session/" + id), false);
                String body = response.bodyText();
                if (response.status() != 400 || !body.contains("\"error\":\"invalid_session_id\"")) {
                    problems.add(method + " " + id + ": " + response);
                }
            }
        }
        assertEquals(List.of(), problems);
        RawResponse split = HostileSupport.raw(server.running().port(),
                "GET /events/metrics/session/a b HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII), false);
        assertEquals(400, split.status(), split.toString());
        assertTrue(split.bodyText().contains("\"error\":\"bad_request\""), split.toString());
        assertEquals(1, json(server.get("/events/metrics/session/s-1")).get("total_requests").asLong());
    }

    @Test
    void headersPastTheLimitGet431HeadersTooLargeAndNothingIsApplied() {
        String before = server.get("/events/metrics/session/s-1").body();
        String event = EVENT.replace("s-1", "big-headers");
        List<byte[]> requests = List.of(
                // One header line past Helidon's 16 KiB, several lines that add up past it, a huge header name.
                HostileSupport.concat(HostileSupport.request("POST", "/events", "Content-Type: application/json",
                        "Content-Length: " + event.length(), "X-Big: " + "a".repeat(20_000)), event.getBytes(StandardCharsets.UTF_8)),
                HostileSupport.concat(HostileSupport.request("POST", "/events", manyHeaders("Content-Type: application/json",
                        "Content-Length: " + event.length())), event.getBytes(StandardCharsets.UTF_8)),
                HostileSupport.request("GET", "/health", "X-" + "n".repeat(20_000) + ": 1"));
        for (byte[] request : requests) {
            RawResponse answer = HostileSupport.raw(server.running().port(), request, false);
            assertEquals(431, answer.status(), answer.toString());
            JsonNode error = HostileSupport.assertJsonError(answer.status(), answer.headers().get("content-type"),
                    answer.bodyText(), "headers past the limit");
            assertEquals("headers_too_large", error.path("error").asText(), answer.toString());
        }
        // Headers within the limit are served as before.
        RawResponse fine = HostileSupport.raw(server.running().port(),
                HostileSupport.request("GET", "/health", "Connection: close", "X-Big: " + "a".repeat(8_000)), false);
        assertEquals(200, fine.status(), fine.toString());
        assertEquals(404, server.get("/events/metrics/session/big-headers").statusCode());
        assertEquals(before, server.get("/events/metrics/session/s-1").body());
    }

    @Test
    void aBodyWithAContentEncodingGets415UnsupportedContentEncodingAndNothingIsApplied() {
        String before = server.get("/events/metrics/session/s-1").body();
        byte[] event = EVENT.replace("s-1", "encoded").getBytes(StandardCharsets.UTF_8);
        byte[] gzipped;
        try (java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
             java.util.zip.GZIPOutputStream gzip = new java.util.zip.GZIPOutputStream(out)) {
            gzip.write(event);
            gzip.finish();
            gzipped = out.toByteArray();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        for (String coding : List.of("gzip", "identity", "br", "")) {
            byte[] body = coding.equals("gzip") ? gzipped : event;
            RawResponse answer = HostileSupport.raw(server.running().port(), HostileSupport.concat(HostileSupport.request(
                    "POST", "/events", "Content-Type: application/json", "Content-Encoding: " + coding,
                    "Content-Length: " + body.length), body), false);
            assertEquals(415, answer.status(), coding + ": " + answer);
            JsonNode error = HostileSupport.assertJsonError(answer.status(), answer.headers().get("content-type"),
                    answer.bodyText(), "Content-Encoding: " + coding);
            assertEquals("unsupported_content_encoding", error.path("error").asText(), answer.toString());
        }
        assertEquals(404, server.get("/events/metrics/session/encoded").statusCode());
        assertEquals(before, server.get("/events/metrics/session/s-1").body());
    }

    private static String[] manyHeaders(String... first) {
        List<String> lines = new ArrayList<>(List.of(first));
        for (int i = 0; i < 2_000; i++) {
            lines.add("X-H" + i + ": 1");
        }
        return lines.toArray(String[]::new);
    }

    @Test
    void everyJsonAnswerEndsWithALineFeed() {
        List<HttpResponse<String>> answers = List.of(
                server.post("/events", EVENT.replace("s-1", "s-2")), server.post("/events", "[]"), server.post("/events", "{"),
                server.get("/health"), server.get("/events/metrics"), server.get("/events/stats"),
                server.get("/events/metrics/sessions"), server.get("/events/metrics/summaries"),
                server.get("/events/metrics/models?window=1m"), server.get("/events/metrics/session/s-1"),
                server.get("/events/metrics/session/s-1"), server.get("/events/metrics/session/unknown"),
                server.get("/events/metrics/sessions?limit=x"), server.get("/nowhere"),
                server.send(HttpRequest.newBuilder(server.uri("/health")).PUT(HttpRequest.BodyPublishers.noBody())));
        List<String> problems = new ArrayList<>();
        for (HttpResponse<String> answer : answers) {
            String body = answer.body();
            if (!body.endsWith("}\n") || body.indexOf('\n') != body.length() - 1) {
                problems.add(answer.request().method() + " " + answer.uri() + " -> " + answer.statusCode() + " " + body);
            }
        }
        RawResponse direct = HostileSupport.raw(server.running().port(),
                HostileSupport.request("GET", "/events/metrics/session/%zz"), false);
        if (!direct.bodyText().endsWith("}\n")) {
            problems.add("Helidon's pre-routing answer: " + direct);
        }
        assertEquals(List.of(), problems);
    }

    private static JsonNode json(HttpResponse<String> response) {
        assertEquals(200, response.statusCode(), response.body());
        try {
            return TestServer.JSON.readTree(response.body());
        } catch (Exception e) {
            throw new AssertionError(response.body(), e);
        }
    }
}
