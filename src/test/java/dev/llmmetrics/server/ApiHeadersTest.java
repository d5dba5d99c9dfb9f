package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every API answer, errors, 304s and the answers Helidon sends before routing included, carries
 * {@code X-Content-Type-Options: nosniff} and {@code Cache-Control: no-store}; the web view's files keep
 * their own revalidating headers. Every answer is dated in HTTP's one date form for senders.
 */
class ApiHeadersTest {

    private static final String TOKEN = "headers-token";
    private static final String AUTH = "x-internal-auth";
    private static final String EVENT = "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"h\",\"model\":\"m\",\"duration_ms\":5,"
            + "\"prompt_tokens\":1,\"completion_tokens\":2}";

    private static void assertApiHeaders(int status, String nosniff, String cacheControl, String what) {
        assertEquals("nosniff", nosniff, what + " (" + status + ")");
        assertEquals("no-store", cacheControl, what + " (" + status + ")");
    }

    private static void assertApiHeaders(HttpResponse<String> response, String what) {
        assertApiHeaders(response.statusCode(), response.headers().firstValue("X-Content-Type-Options").orElse(null),
                response.headers().firstValue("Cache-Control").orElse(null), what);
    }

    @Test
    void everyRouteAndEveryErrorCarriesNosniffAndNoStore() {
        try (TestServer server = TestServer.start(Map.of("llm.metrics.auth.token", TOKEN, "ingest.max.body.bytes", "4096"))) {
            server.postEvents("[" + EVENT + "]", AUTH, TOKEN);
            String etag = server.get("/events/metrics/session/h", AUTH, TOKEN).headers().firstValue("ETag").orElseThrow();

            Map<String, HttpResponse<String>> answers = new LinkedHashMap<>();
            answers.put("health", server.get("/health"));
            answers.put("scrape", server.get("/metrics"));
            answers.put("event metrics", server.get("/events/metrics", AUTH, TOKEN));
            answers.put("bus stats", server.get("/events/stats", AUTH, TOKEN));
            answers.put("sessions", server.get("/events/metrics/sessions", AUTH, TOKEN));
            answers.put("summaries", server.get("/events/metrics/summaries", AUTH, TOKEN));
            answers.put("model rates", server.get("/events/metrics/models?window=1m", AUTH, TOKEN));
            answers.put("session", server.get("/events/metrics/session/h", AUTH, TOKEN));
            answers.put("session, 304", server.get("/events/metrics/session/h", AUTH, TOKEN, "If-None-Match", etag));
            answers.put("session, 404", server.get("/events/metrics/session/nobody", AUTH, TOKEN));
            answers.put("session id, 400", server.get("/events/metrics/session/%FF", AUTH, TOKEN));
            answers.put("ingest, 202", server.post("/events", EVENT, AUTH, TOKEN));
            answers.put("ingest, 400", server.post("/events", "{", AUTH, TOKEN));
            answers.put("ingest, 413", server.post("/events", " ".repeat(5000) + EVENT, AUTH, TOKEN));
            answers.put("no auth, 401", server.get("/events/metrics/sessions"));
            answers.put("parameter, 400", server.get("/events/metrics/sessions?limit=x", AUTH, TOKEN));
            answers.put("no route, 404", server.get("/nothing/here"));
            answers.put("delete", server.delete("/events/metrics/session/h", AUTH, TOKEN));
            answers.forEach((what, response) -> assertApiHeaders(response, what));
            assertEquals(304, answers.get("session, 304").statusCode());

            // An answer Helidon sends before routing: a request line it cannot parse.
            HostileSupport.RawResponse direct = HostileSupport.raw(server.running().port(),
                    "G\u00ffT /health HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), true);
            assertEquals(400, direct.status(), direct.toString());
            assertApiHeaders(direct.status(), direct.headers().get("x-content-type-options"), direct.headers().get("cache-control"),
                    "pre-routing error");
        }
    }

    /** RFC 9110 section 5.6.7's IMF-fixdate: the day in two digits, the time in GMT. */
    private static final Pattern IMF_FIXDATE = Pattern.compile(
            "(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \\d{4} \\d{2}:\\d{2}:\\d{2} GMT");

    private static void assertImfFixdate(List<String> dates, String what) {
        assertEquals(1, dates.size(), what + ": one Date header, " + dates);
        String date = dates.get(0);
        assertTrue(IMF_FIXDATE.matcher(date).matches(), what + ": " + date);
        Instant sent = DateTimeFormatter.RFC_1123_DATE_TIME.parse(date, Instant::from);
        assertTrue(Duration.between(sent, Instant.now()).abs().toSeconds() < 60, what + ": " + date);
    }

    @Test
    void everyAnswerDatesItselfAsAnImfFixdateWhateverTheServersTimeZone() throws Exception {
        // In a zone other than UTC, Helidon wrote the zone's offset (+0530) in place of GMT; on days 1 to 9, one digit.
        try (ChildServer server = ChildServer.mainWithJvmArgs(List.of("-Duser.timezone=Asia/Kolkata"))) {
            HttpClient client = HttpClient.newHttpClient();
            for (String path : List.of("/health", "/metrics", "/", "/app.js", "/events/metrics/summaries", "/nothing/here",
                    "/events/metrics/session/nobody", "/events/metrics/sessions?limit=x")) {
                HttpResponse<String> response = client.send(HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + server.port + path)).build(), HttpResponse.BodyHandlers.ofString());
                assertImfFixdate(response.headers().allValues("Date"), path + " " + response.statusCode());
            }
            // An answer Helidon sends before routing: a request line it cannot parse.
            HostileSupport.RawResponse direct = HostileSupport.raw(server.port,
                    "G\u00ffT /health HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), true);
            assertEquals(400, direct.status(), direct.toString());
            assertImfFixdate(List.of(direct.headers().get("date")), "pre-routing error");
        }
    }

    @Test
    void aDateIsFormattedWithTwoDigitsOfDayInGmt() {
        assertEquals("Sun, 06 Dec 2026 09:56:41 GMT", HttpDate.format(Instant.parse("2026-12-06T09:56:41Z")));
        assertEquals("Thu, 31 Dec 2026 23:59:59 GMT", HttpDate.format(Instant.parse("2026-12-31T23:59:59.999Z")));
        String now = HttpDate.now().get();
        assertImfFixdate(List.of(now), "now");
    }

    @Test
    void theWebViewsFilesKeepTheirRevalidationHeaders() {
        try (TestServer server = TestServer.start()) {
            for (String path : new String[] {"/", "/app.js"}) {
                HttpResponse<String> response = server.send(HttpRequest.newBuilder(server.uri(path)).GET());
                assertEquals(200, response.statusCode());
                assertEquals("no-cache", response.headers().firstValue("Cache-Control").orElseThrow(), path);
                assertEquals("nosniff", response.headers().firstValue("X-Content-Type-Options").orElseThrow(), path);
            }
        }
    }
}
