package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** x-internal-auth on every /events route, the optional scrape bearer token, and the token kept secret. */
class AuthTest {

    private static final String TOKEN = "s3cr3t-token-value";
    private static final String SCRAPE_TOKEN = "scrape-token-value";

    private final List<String> logged = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            logged.add(String.valueOf(record.getMessage()) + " " + java.util.Arrays.toString(record.getParameters())
                    + " " + record.getThrown());
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private TestServer server;

    private void start(Map<String, String> settings) {
        Logger.getLogger("").addHandler(capture);
        server = TestServer.start(settings);
    }

    @AfterEach
    void stop() {
        server.close();
        Logger.getLogger("").removeHandler(capture);
        for (String line : logged) {
            assertFalse(line.contains(TOKEN) || line.contains(SCRAPE_TOKEN), "a token was logged: " + line);
        }
    }

    @Test
    void aStalledBodyWithoutCredentialsIsDroppedWithinSecondsAndHoldsNoRequestSlot() throws Exception {
        start(Map.of("llm.metrics.auth.token", TOKEN, "http.max.concurrent.requests", "2"));
        List<Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                Socket socket = new Socket("127.0.0.1", server.running().port());
                socket.setSoTimeout(40_000);
                socket.getOutputStream().write(("POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                        + "Content-Length: 1000\r\n\r\n{\"type\":").getBytes(StandardCharsets.US_ASCII));
                stalled.add(socket);
            }
            long start = System.nanoTime();
            for (Socket socket : stalled) {
                String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                assertTrue(answer.startsWith("HTTP/1.1 401 "), answer);
            }
            long closedAfterMs = (System.nanoTime() - start) / 1_000_000;
            // The body timeout is 30 s; the rest of a refused body must bring ConnectionFilter.DISCARD_MIN_BYTES each
            // ConnectionFilter.DISCARD_WINDOW (1 s), a window passed at the next sweep of the deadlines (at most 1 s later).
            assertTrue(closedAfterMs < 5_000, "closed after " + closedAfterMs + " ms");
            HttpResponse<String> authenticated = server.post("/events", "{\"type\":\"LLM_REQUEST_STARTED\","
                    + "\"session_id\":\"s\",\"model\":\"m\"}", "x-internal-auth", TOKEN);
            assertEquals(202, authenticated.statusCode(), authenticated.body());
        } finally {
            for (Socket socket : stalled) {
                socket.close();
            }
        }
    }

    @Test
    void aClientWithAWrongTokenSendingALargeBodyAtAnOrdinaryPaceReadsThe401NotABrokenConnection() throws Exception {
        start(Map.of("llm.metrics.auth.token", TOKEN));
        // A batch within ingest.max.body.bytes (1 MiB), sent steadily at about 350 KB/s (a slow uplink): 3 s in all,
        // well within http.body.timeout (30 s). A client that writes its body, then reads the answer (Python's
        // http.client, under requests) must get the 401 that says its token is wrong.
        int length = 1_000_000;
        try (Socket socket = new Socket("127.0.0.1", server.running().port())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("POST /events HTTP/1.1\r\nHost: localhost\r\nx-internal-auth: wrong-token\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = new byte[50_000];
            java.util.Arrays.fill(chunk, (byte) ' ');
            long start = System.nanoTime();
            try {
                for (int sent = 0; sent < length; sent += chunk.length) {
                    socket.getOutputStream().write(chunk);
                    Thread.sleep(150);
                }
            } catch (java.io.IOException e) {
                throw new AssertionError("the body could not be sent whole (" + e + " after "
                        + (System.nanoTime() - start) / 1_000_000 + " ms): the client never reads the 401", e);
            }
            String answer = new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            assertEquals("HTTP/1.1 401", answer);
        }
    }

    @Test
    void everyEventsRouteNeedsTheRightHeaderWhenATokenIsSet() {
        start(Map.of("llm.metrics.auth.token", TOKEN));
        String event = "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"s\",\"model\":\"m\",\"duration_ms\":1,"
                + "\"prompt_tokens\":1,\"completion_tokens\":1}";
        List<java.util.function.Function<String[], HttpResponse<String>>> calls = List.of(
                h -> server.post("/events", event, h),
                h -> server.get("/events/metrics", h),
                h -> server.get("/events/stats", h),
                h -> server.get("/events/metrics/sessions", h),
                h -> server.get("/events/metrics/session/s", h),
                h -> server.delete("/events/metrics/session/s", h),
                h -> server.get("/events/nowhere", h));
        for (var call : calls) {
            for (String[] headers : List.of(new String[0], new String[] {"x-internal-auth", "wrong"},
                    new String[] {"x-internal-auth", TOKEN + "x"}, new String[] {"x-internal-auth", ""})) {
                HttpResponse<String> response = call.apply(headers);
                assertEquals(401, response.statusCode(), response.request().method() + " " + response.uri());
                assertEquals("unauthorized", TestServer.json(response).get("error").asText());
                assertEquals("X-Internal-Auth realm=\"llm-metrics\"",
                        response.headers().firstValue("WWW-Authenticate").orElse(""), "RFC 9110: a 401 challenges");
                assertFalse(response.body().contains(TOKEN));
            }
        }
        String[] auth = {"x-internal-auth", TOKEN};
        assertEquals(202, server.post("/events", event, auth).statusCode());
        assertEquals(200, server.get("/events/metrics/session/s", auth).statusCode());
        assertEquals(200, server.get("/events/metrics/sessions", auth).statusCode());
        assertEquals(200, server.get("/events/metrics", auth).statusCode());
        assertEquals(200, server.get("/events/stats", auth).statusCode());
        assertEquals(200, server.delete("/events/metrics/session/s", auth).statusCode());
        assertEquals(404, server.get("/events/nowhere", auth).statusCode());
        assertFalse(server.get("/metrics").body().contains(TOKEN), "the token never appears on the scrape");
        for (String sneaky : List.of("//events/stats", "/events/../events/stats", "/EVENTS/stats", "/events/%2e%2e/events/stats")) {
            int status = server.get(sneaky).statusCode();
            assertTrue(status == 401 || status == 404, sneaky + " must not get around the filter, got " + status);
        }
    }

    @Test
    void withoutATokenTheEventsRoutesAreOpen() {
        start(Map.of());
        assertEquals(200, server.get("/events/stats").statusCode());
        assertEquals(200, server.get("/events/metrics/sessions").statusCode());
    }

    @Test
    void theScrapeAndHealthStayOpenUnlessAScrapeTokenIsSet() {
        start(Map.of("llm.metrics.auth.token", TOKEN));
        assertEquals(200, server.get("/metrics").statusCode());
        assertEquals(200, server.get("/health").statusCode());
        assertEquals("UP", TestServer.json(server.get("/health")).get("status").asText());
        server.close();

        start(Map.of("llm.metrics.scrape.token", SCRAPE_TOKEN));
        HttpResponse<String> denied = server.get("/metrics");
        assertEquals(401, denied.statusCode());
        assertEquals("Bearer realm=\"llm-metrics\"", denied.headers().firstValue("WWW-Authenticate").orElse(""));
        assertEquals(401, server.get("/metrics", "Authorization", "Bearer nope").statusCode());
        assertEquals(200, server.get("/metrics", "Authorization", "Bearer " + SCRAPE_TOKEN).statusCode());
    }

    @Test
    void aCredentialHeaderGivenTwiceIsRefusedWhicheverCopyIsRight() {
        start(Map.of("llm.metrics.auth.token", TOKEN, "llm.metrics.scrape.token", SCRAPE_TOKEN));
        String event = "{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"twice\",\"model\":\"m\"}";
        for (String[] copies : new String[][] {{TOKEN, "wrong"}, {"wrong", TOKEN}, {TOKEN, TOKEN}}) {
            String request = "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "x-internal-auth: " + copies[0] + "\r\nx-internal-auth: " + copies[1] + "\r\nContent-Length: "
                    + event.length() + "\r\n\r\n" + event;
            HostileSupport.RawResponse answer = HostileSupport.raw(server.running().port(),
                    request.getBytes(StandardCharsets.US_ASCII), false);
            assertEquals(401, answer.status(), answer.toString());
            String scrape = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + copies[0]
                    .replace(TOKEN, SCRAPE_TOKEN) + "\r\nAuthorization: Bearer " + copies[1].replace(TOKEN, SCRAPE_TOKEN) + "\r\n\r\n";
            assertEquals(401, HostileSupport.raw(server.running().port(), scrape.getBytes(StandardCharsets.US_ASCII), false)
                    .status(), scrape);
        }
        assertEquals(404, server.get("/events/metrics/session/twice", "x-internal-auth", TOKEN).statusCode(),
                "no refused batch was applied");
        assertEquals(200, server.get("/metrics", "Authorization", "Bearer " + SCRAPE_TOKEN).statusCode());
    }
}
