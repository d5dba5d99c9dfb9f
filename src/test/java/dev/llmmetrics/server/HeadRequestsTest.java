package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.server.HostileSupport.RawResponse;
import java.io.IOException;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * RFC 9110 section 9.3.2: every {@code GET} route answers {@code HEAD} as it answers {@code GET}, the same status
 * and headers and the same 304 and 4xx decisions, with no body, so that the next answer on the connection is read
 * whole; its {@code Content-Length} is the length of the GET's body, also when the GET sends that in chunks.
 */
class HeadRequestsTest {

    private static final String EVENT = """
            {"type":"LLM_REQUEST_COMPLETED","session_id":"s-1","model":"m","duration_ms":5,"prompt_tokens":1,"completion_tokens":2}""";

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("http.scrape.gzip", "true"));
        assertEquals(202, server.post("/events", EVENT).statusCode());
        // A session of more JSON than one write: its GET goes in chunks, its kept rendering is sent in pieces.
        List<String> large = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            large.add(EVENT.replace("s-1", "large"));
        }
        assertEquals(202, server.post("/events", "[" + String.join(",", large) + "]").statusCode());
        assertTrue(server.get("/events/metrics/session/large").body().length() > Json.PIECE_BYTES);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** Sends a GET, a HEAD and a GET of the same request on one connection and reads the three answers. */
    private static List<RawResponse> getHeadGet(String target, String... headers) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", server.running().port())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(HostileSupport.concat(HostileSupport.request("GET", target, headers),
                    HostileSupport.request("HEAD", target, headers), HostileSupport.request("GET", target, headers)));
            List<RawResponse> answers = new ArrayList<>();
            answers.add(HostileSupport.readResponse(socket.getInputStream(), false));
            answers.add(HostileSupport.readResponse(socket.getInputStream(), true));
            answers.add(HostileSupport.readResponse(socket.getInputStream(), false));
            return answers;
        }
    }

    /**
     * {@code headers} but for their date and how the body is framed: a GET's body too long for one write goes in
     * chunks, while the HEAD states the length it counted.
     */
    private static Map<String, String> framingAndDateLeftOut(Map<String, String> headers) {
        Map<String, String> kept = new LinkedHashMap<>(headers);
        kept.remove("date");
        kept.remove("content-length");
        kept.remove("transfer-encoding");
        return kept;
    }

    private static String etag(String target) throws IOException {
        String etag = getHeadGet(target).getFirst().headers().get("etag");
        assertNotNull(etag, target);
        return etag;
    }

    @Test
    void everyGetRouteAnswersHeadWithTheGetsStatusAndHeadersAndNoBody() throws IOException {
        Map<String, String[]> cases = new LinkedHashMap<>();
        cases.put("/events/metrics/session/s-1", new String[0]);
        cases.put("/events/metrics/session/large", new String[0]);
        cases.put("/events/metrics/sessions", new String[0]);
        cases.put("/events/metrics/summaries", new String[0]);
        cases.put("/events/metrics", new String[0]);
        cases.put("/metrics?name%5B%5D=llm_requests_total", new String[0]);
        cases.put("/metrics?name%5B%5D=llm_requests_total&gzip", new String[] {"Accept-Encoding: gzip"});
        cases.put("/metrics?name%5B%5D=llm_requests_total&openmetrics",
                new String[] {"Accept: application/openmetrics-text; version=1.0.0"});
        cases.put("/health", new String[0]);
        cases.put("/health/ready", new String[0]);
        cases.put("/", new String[0]);
        cases.put("/app.js", new String[0]);
        // The same 304 as the GET with the tag it sent.
        cases.put("/events/metrics/session/s-1?304", new String[] {"If-None-Match: " + etag("/events/metrics/session/s-1")});
        cases.put("/events/metrics/summaries?304", new String[] {"If-None-Match: " + etag("/events/metrics/summaries")});
        cases.put("/?304", new String[] {"If-None-Match: " + etag("/")});
        // The same 4xx, decided in the handler.
        cases.put("/events/metrics/session/unknown", new String[0]);
        cases.put("/events/metrics/summaries?limit=x", new String[0]);
        cases.put("/events/metrics/models?window=1h", new String[0]);
        cases.put("/metrics?name%5B%5D=9", new String[0]);
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, String[]> c : cases.entrySet()) {
            String target = c.getKey().replaceFirst("[?&](304|gzip|openmetrics)$", "");
            List<RawResponse> answers = getHeadGet(target, c.getValue());
            RawResponse get = answers.get(0);
            RawResponse head = answers.get(1);
            RawResponse again = answers.get(2);
            String what = c.getKey() + ": GET " + get + " HEAD " + head;
            if (get.status() != head.status()) {
                problems.add("status, " + what);
            }
            if (!framingAndDateLeftOut(get.headers()).equals(framingAndDateLeftOut(head.headers()))) {
                problems.add("headers, " + what);
            }
            // The GET's length, whether the GET states it or sends its body in chunks.
            if (!String.valueOf(get.body().length).equals(head.headers().get("content-length"))) {
                problems.add("length, " + what);
            }
            if (again.status() != get.status() || !Arrays.equals(again.body(), get.body())) {
                problems.add("the GET after the HEAD, " + what + " then " + again);
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void aHeadTheStatsOrTheWholeScrapeAnswersStatesTheLengthAndSendsNoBody() throws IOException {
        // Their bodies change from one request to the next (uptime, the JVM's figures): the length is of the HEAD's own.
        for (String target : List.of("/events/stats", "/metrics", "/events/metrics/models")) {
            List<RawResponse> answers = getHeadGet(target);
            RawResponse head = answers.get(1);
            assertEquals(200, head.status(), target + ": " + head);
            assertEquals(answers.get(0).contentType(), head.contentType(), target);
            assertTrue(Integer.parseInt(head.headers().get("content-length")) > 0, target + ": " + head);
            assertEquals(200, answers.get(2).status(), target + ": the GET after the HEAD " + answers.get(2));
            assertTrue(answers.get(2).body().length > 0, target);
        }
    }

    @Test
    void aHeadWithoutTheTokensIsRefusedAsTheGetIsWithoutABody() throws IOException {
        try (TestServer guarded = TestServer.start(Map.of("llm.metrics.auth.token", "secret",
                "llm.metrics.scrape.token", "scrape-secret"))) {
            for (String target : List.of("/metrics", "/events/metrics/summaries")) {
                try (Socket socket = new Socket("127.0.0.1", guarded.running().port())) {
                    socket.setSoTimeout(10_000);
                    socket.getOutputStream().write(HostileSupport.concat(HostileSupport.request("GET", target),
                            HostileSupport.request("HEAD", target), HostileSupport.request("GET", "/health")));
                    RawResponse get = HostileSupport.readResponse(socket.getInputStream(), false);
                    RawResponse head = HostileSupport.readResponse(socket.getInputStream(), true);
                    RawResponse health = HostileSupport.readResponse(socket.getInputStream(), false);
                    assertEquals(401, head.status(), target + ": " + head);
                    assertEquals(framingAndDateLeftOut(get.headers()), framingAndDateLeftOut(head.headers()), target);
                    assertEquals(String.valueOf(get.body().length), head.headers().get("content-length"), target);
                    assertEquals(200, health.status(), target + ": no body of the HEAD came before " + health);
                }
            }
        }
    }

    @Test
    void aMethodAGetRouteDoesNotTakeNamesHeadInItsAllow() {
        for (String path : List.of("/metrics", "/events/metrics", "/events/stats", "/events/metrics/sessions",
                "/events/metrics/summaries", "/events/metrics/models", "/health", "/")) {
            RawResponse answer = HostileSupport.raw(server.running().port(), HostileSupport.request("PUT", path,
                    "Content-Length: 0"), false);
            assertEquals(405, answer.status(), path + ": " + answer);
            assertEquals("GET, HEAD", answer.headers().get("allow"), path);
        }
        RawResponse session = HostileSupport.raw(server.running().port(), HostileSupport.request("PUT",
                "/events/metrics/session/s-1", "Content-Length: 0"), false);
        assertEquals("GET, HEAD, DELETE", session.headers().get("allow"), session.toString());
        RawResponse ingest = HostileSupport.raw(server.running().port(), HostileSupport.request("HEAD", "/events"), false);
        assertEquals(405, ingest.status(), ingest.toString());
        assertEquals("POST", ingest.headers().get("allow"), "a POST route takes no HEAD");
    }
}
