package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * What a client can hold on the real server: stalled requests are closed once the header or body timeout
 * passes, connections past the cap are not served until one closes, requests past the concurrency cap get
 * 503 (a request refused before its body is read gives its slot back at once, its body then read at a minimum
 * pace or its connection closed), and {@code Connection: close} closes the connection after the answer.
 */
class ConnectionLimitsTest {

    private static final String EVENT = "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"limits\",\"model\":\"m\","
            + "\"duration_ms\":5,\"prompt_tokens\":1,\"completion_tokens\":2}";

    private static Socket connect(int port) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        return socket;
    }

    private static Socket send(int port, String bytes) throws IOException {
        Socket socket = connect(port);
        OutputStream out = socket.getOutputStream();
        out.write(bytes.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        return socket;
    }

    /**
     * Reads until the server closes the connection (end of stream or reset) and returns what it sent; fails
     * if it is still open after {@code timeoutMs}.
     */
    private static String readUntilClosed(Socket socket, int timeoutMs, String what) throws IOException {
        socket.setSoTimeout(timeoutMs);
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[4096];
        try {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                received.write(buffer, 0, n);
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError(what + ": still open after " + timeoutMs + " ms; received "
                    + received.toString(StandardCharsets.ISO_8859_1), e);
        } catch (SocketException e) {
            // reset: closed as well
        }
        return received.toString(StandardCharsets.ISO_8859_1);
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void requestsStalledBeforeOrInTheirHeadersOrBodiesAreClosedAfterTheTimeouts() throws Exception {
        assertStalledRequestsAreClosed(Map.of());
    }

    /** The same with the proxy on, whose listener of the connections sits beside the header deadlines'. */
    @Test
    void requestsStalledInTheirHeadersAreClosedAfterTheTimeoutWithTheProxyOnToo() throws Exception {
        assertStalledRequestsAreClosed(Map.of("proxy.upstream.url", "http://127.0.0.1:9/v1"));
    }

    private static void assertStalledRequestsAreClosed(Map<String, String> extra) throws Exception {
        Map<String, String> settings = new java.util.HashMap<>(Map.of("http.header.timeout", "PT1S", "http.body.timeout", "PT1S",
                "llm.metrics.auth.token", "t"));
        settings.putAll(extra);
        try (TestServer server = TestServer.start(settings)) {
            int port = server.running().port();
            String post = "POST /events HTTP/1.1\r\nHost: localhost\r\nx-internal-auth: t\r\nContent-Type: application/json\r\n";
            Map<String, String> stalls = new LinkedHashMap<>();
            stalls.put("silent", "");
            stalls.put("mid request line", "GET /hea");
            stalls.put("mid headers", "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ");
            stalls.put("mid headers, before auth", "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Le");
            stalls.put("mid body", post + "Content-Length: 100\r\n\r\n[" + EVENT.substring(0, 20));
            stalls.put("mid chunked body", post + "Transfer-Encoding: chunked\r\n\r\n40\r\n[" + EVENT.substring(0, 20));
            stalls.put("mid body, unauthenticated", "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n[{");
            stalls.put("mid body of a route that does not read it", "POST /health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{");
            stalls.put("idle after an answer", "GET /health HTTP/1.1\r\nHost: localhost\r\nx-internal-auth: t\r\n\r\n");
            List<Socket> sockets = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (int copy = 0; copy < 3; copy++) {
                for (Map.Entry<String, String> stall : stalls.entrySet()) {
                    sockets.add(send(port, stall.getValue()));
                    names.add(stall.getKey());
                }
            }
            long start = System.nanoTime();
            List<String> received = new ArrayList<>();
            for (int i = 0; i < sockets.size(); i++) {
                try (Socket socket = sockets.get(i)) {
                    received.add(readUntilClosed(socket, 10_000, names.get(i)));
                }
            }
            long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            assertTrue(elapsedMs < 10_000, "all " + sockets.size() + " stalled connections closed, in " + elapsedMs + " ms");
            for (int i = 0; i < names.size(); i++) {
                String name = names.get(i);
                String text = received.get(i);
                switch (name) {
                    // Answered before the body was read; the rest of it then never came.
                    case "mid body, unauthenticated" -> assertTrue(text.startsWith("HTTP/1.1 401 "), name + ": " + text);
                    case "mid body of a route that does not read it" -> assertTrue(text.startsWith("HTTP/1.1 405 "), name + ": " + text);
                    case "idle after an answer" -> assertTrue(text.startsWith("HTTP/1.1 200 "), name + ": " + text);
                    default -> assertFalse(text.contains("HTTP/1.1 2"), name + ": " + text);
                }
                assertTrue(count(text, "HTTP/1.1 ") <= 1, name + ": " + text);
            }
            assertEquals(200, server.get("/health", "x-internal-auth", "t").statusCode());
            assertFalse(server.get("/events/metrics/sessions", "x-internal-auth", "t").body().contains("limits"),
                    "no stalled event was applied");
        }
    }

    @Test
    void aRequestThatKeepsToTheTimeoutsIsServed() throws Exception {
        try (TestServer server = TestServer.start(Map.of("http.header.timeout", "PT3S", "http.body.timeout", "PT3S"))) {
            String body = "[" + EVENT + "]";
            try (Socket socket = send(server.running().port(), "POST /events HTTP/1.1\r\nHost: localhost\r\n")) {
                OutputStream out = socket.getOutputStream();
                Thread.sleep(300);
                out.write(("Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                Thread.sleep(300);
                out.write(body.getBytes(StandardCharsets.US_ASCII));
                out.flush();
                socket.setSoTimeout(10_000);
                HostileSupport.RawResponse response = HostileSupport.readResponse(socket.getInputStream(), false);
                assertEquals(202, response.status(), response.toString());
            }
        }
    }

    @Test
    void connectionsPastTheCapAreNotServedUntilAConnectionCloses() throws Exception {
        try (TestServer server = TestServer.start(Map.of("http.max.connections", "3", "http.header.timeout", "PT2S"))) {
            int port = server.running().port();
            List<Socket> held = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                held.add(send(port, "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Stalled: "));
            }
            Thread.sleep(200);
            try (Socket fourth = send(port, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")) {
                fourth.setSoTimeout(1_000);
                assertThrows(SocketTimeoutException.class, () -> fourth.getInputStream().read(),
                        "a fourth connection is not served while three are open");
                for (Socket socket : held) {
                    try (socket) {
                        readUntilClosed(socket, 10_000, "held connection");
                    }
                }
                fourth.setSoTimeout(10_000);
                HostileSupport.RawResponse response = HostileSupport.readResponse(fourth.getInputStream(), false);
                assertEquals(200, response.status(), "served once the stalled ones were closed: " + response);
            }
        }
    }

    @Test
    void requestsPastTheConcurrencyCapGet503AndTheirConnectionIsClosed() throws Exception {
        try (TestServer server = TestServer.start(Map.of("http.max.concurrent.requests", "1", "http.body.timeout", "PT10S"))) {
            int port = server.running().port();
            String body = "[" + EVENT + "]";
            try (Socket busy = send(port, "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length() + "\r\n\r\n" + body.substring(0, 10))) {
                Thread.sleep(300); // the first request is in its handler, waiting for the rest of its body
                try (Socket refused = send(port, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")) {
                    String answer = readUntilClosed(refused, 10_000, "refused request");
                    assertTrue(answer.startsWith("HTTP/1.1 503 "), answer);
                    JsonNode error = TestServer.JSON.readTree(answer.substring(answer.indexOf("\r\n\r\n") + 4));
                    assertEquals("overloaded", error.get("error").asText(), answer);
                }
                busy.getOutputStream().write(body.substring(10).getBytes(StandardCharsets.US_ASCII));
                busy.setSoTimeout(10_000);
                HostileSupport.RawResponse response = HostileSupport.readResponse(busy.getInputStream(), false);
                assertEquals(202, response.status(), response.toString());
            }
            assertEquals(200, server.get("/health").statusCode());
        }
    }

    @Test
    void bodiesDrippedAfterARefusalHoldNoRequestSlotAndTheirConnectionsAreClosedWithinSeconds() throws Exception {
        // Refused before the body is read, each by a client without credentials: none (401), a method the path does not
        // take (405), no route (404), a malformed query (400). As many as the concurrency cap, each then sending a byte of
        // its body every 0.9 s: a pace that never pauses a whole second, far below any ordinary one.
        List<String> refusals = List.of("POST /events", "POST /health", "POST /nope", "POST /health?%ff=1");
        String token = "limits-token";
        try (TestServer server = TestServer.start(Map.of("llm.metrics.auth.token", token,
                "http.max.concurrent.requests", String.valueOf(refusals.size())))) {
            int port = server.running().port();
            List<Socket> dripping = new CopyOnWriteArrayList<>();
            AtomicBoolean stop = new AtomicBoolean();
            Thread drip = Thread.ofPlatform().daemon().start(() -> {
                while (!stop.get()) {
                    for (Socket socket : dripping) {
                        try {
                            socket.getOutputStream().write(' ');
                        } catch (IOException closed) {
                            // closed by the server: what is expected
                        }
                    }
                    try {
                        Thread.sleep(900);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            try {
                List<Integer> statuses = new ArrayList<>();
                for (String refusal : refusals) {
                    Socket socket = send(port, refusal + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                            + "Content-Length: 5000\r\n\r\n{");
                    socket.setSoTimeout(10_000);
                    statuses.add(HostileSupport.readResponse(socket.getInputStream(), false).status());
                    dripping.add(socket);
                }
                assertEquals(List.of(401, 405, 404, 400), statuses);
                long answered = System.nanoTime();
                Thread.sleep(200);
                // Every slot was taken by a refused request: each gave its slot back once answered.
                HttpResponse<String> served = server.post("/events", "[" + EVENT + "]", "x-internal-auth", token);
                assertEquals(202, served.statusCode(), served.body());
                for (Socket socket : dripping) {
                    readUntilClosed(socket, 5_000, "a connection dripping a refused body");
                }
                long closedAfterMs = (System.nanoTime() - answered) / 1_000_000;
                // The rest of a refused body must bring 8 KiB a second (ConnectionFilter.DISCARD_MIN_BYTES); a window that
                // did not is closed at the next sweep of the deadlines, at most a second later.
                assertTrue(closedAfterMs < 3_500, "the dripping connections were closed after " + closedAfterMs + " ms");
                // A slot given back early is not given back again when its request ends: the cap is still the cap.
                String body = "[" + EVENT + "]";
                List<Socket> busy = new ArrayList<>();
                try {
                    for (int i = 0; i < refusals.size(); i++) {
                        busy.add(send(port, "POST /events HTTP/1.1\r\nHost: localhost\r\nx-internal-auth: " + token
                                + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n{"));
                    }
                    Thread.sleep(300); // each in its handler, waiting for the rest of its body
                    try (Socket refused = send(port, "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")) {
                        String answer = readUntilClosed(refused, 10_000, "a request past the cap");
                        assertTrue(answer.startsWith("HTTP/1.1 503 "), answer);
                    }
                } finally {
                    for (Socket socket : busy) {
                        socket.close();
                    }
                }
            } finally {
                stop.set(true);
                drip.join();
                for (Socket socket : dripping) {
                    socket.close();
                }
            }
        }
    }

    @Test
    void connectionCloseClosesTheConnectionAfterTheAnswerAndAPipelinedRequestIsNeverAnswered() throws Exception {
        try (TestServer server = TestServer.start()) {
            int port = server.running().port();
            String next = "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
                    + EVENT.length() + "\r\n\r\n" + EVENT;
            // Asked by the client, on a request without a body and on one with a body.
            List<String> firsts = List.of("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                    "GET /events/metrics/sessions HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive, close\r\n\r\n",
                    "POST /events HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 4"
                            + "\r\n\r\n[1,]",
                    // Decided by the server: a body whose framing breaks (a chunk size that is not hex).
                    "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + "ZZ\r\n[1]\r\n0\r\n\r\n");
            for (String first : firsts) {
                try (Socket socket = send(port, first + next)) {
                    String answer = readUntilClosed(socket, 10_000, first);
                    assertEquals(1, count(answer, "HTTP/1.1 "), "one answer, then the end of the connection: " + answer);
                    assertTrue(answer.toLowerCase().contains("connection: close"), answer);
                }
            }
            assertFalse(server.get("/events/metrics/sessions").body().contains("limits"), "the pipelined event was not applied");
        }
    }

    @Test
    void anExpectationOtherThan100ContinueGets417BeforeTheBodyIsReadAndHoldsNoRequestSlot() throws Exception {
        try (TestServer server = TestServer.start(Map.of("http.max.concurrent.requests", "1", "http.body.timeout", "PT10S"))) {
            int port = server.running().port();
            String body = "[" + EVENT + "]";
            String post = "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length() + "\r\n";
            // The one request slot is held by a request waiting for the rest of its body.
            try (Socket busy = send(port, post + "\r\n" + body.substring(0, 10))) {
                Thread.sleep(300);
                for (String expect : List.of("200-ok", "100-continue, 200-ok", "100-continue-x", "200-ok\r\nExpect: 100-continue",
                        "\"100-continue\"")) {
                    // Each sends its headers alone: the body would follow only once the expectation is met.
                    for (String head : List.of(post, "GET /health HTTP/1.1\r\nHost: localhost\r\n")) {
                        try (Socket expecting = send(port, head + "Expect: " + expect + "\r\n\r\n")) {
                            String answer = readUntilClosed(expecting, 5_000, "Expect: " + expect);
                            assertTrue(answer.startsWith("HTTP/1.1 417 "), "Expect: " + expect + " -> " + answer);
                            String json = answer.substring(answer.indexOf("\r\n\r\n") + 4);
                            JsonNode error = HostileSupport.assertJsonError(417, contentType(answer), json, "Expect: " + expect);
                            assertEquals("expectation_failed", error.get("error").asText(), answer);
                        }
                    }
                }
                busy.getOutputStream().write(body.substring(10).getBytes(StandardCharsets.US_ASCII));
                busy.setSoTimeout(10_000);
                assertEquals(202, HostileSupport.readResponse(busy.getInputStream(), false).status());
            }
        }
    }

    @Test
    void aLargeBodySentAfter100ContinueIsAccepted() throws Exception {
        try (TestServer server = TestServer.start()) {
            StringBuilder events = new StringBuilder("[");
            for (int i = 0; i < 200; i++) {
                events.append(i == 0 ? "" : ",").append(EVENT.replace("\"limits\"", "\"continued\""));
            }
            byte[] body = events.append(']').toString().getBytes(StandardCharsets.US_ASCII);
            assertTrue(body.length > 16 * 1024, "more than curl's 1 KiB, past which it sends Expect: 100-continue");
            for (String expect : List.of("100-continue", "100-Continue")) {
                try (Socket socket = send(server.running().port(), "POST /events HTTP/1.1\r\nHost: localhost\r\n"
                        + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\nExpect: " + expect + "\r\n\r\n")) {
                    socket.setSoTimeout(10_000);
                    HostileSupport.RawResponse interim = HostileSupport.readResponse(socket.getInputStream(), false);
                    assertEquals(100, interim.status(), "Expect: " + expect + " -> " + interim);
                    socket.getOutputStream().write(body);
                    HostileSupport.RawResponse response = HostileSupport.readResponse(socket.getInputStream(), false);
                    assertEquals(202, response.status(), "Expect: " + expect + " -> " + response);
                }
            }
            JsonNode session = TestServer.json(server.get("/events/metrics/session/continued"));
            assertEquals(400, session.get("total_requests").asInt(), session.toString());
        }
    }

    private static String contentType(String answer) {
        for (String line : answer.substring(0, answer.indexOf("\r\n\r\n")).split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-type:")) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return null;
    }
}
