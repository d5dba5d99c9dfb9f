package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * The path and query parameters of every endpoint under generated input, sent byte for byte over a raw
 * socket: session ids percent-encoded or raw, valid, invalid, badly encoded or too long for the request
 * line; {@code limit} and {@code offset} garbage; unknown paths and parameters. Never a 5xx; every 4xx is
 * a JSON error naming the problem; nothing recorded changes, not even by a DELETE.
 */
class HostilePathAndQueryTest {

    /** Helidon's longest request line, CRLF excluded: longer gets 414. */
    private static final int MAX_PROLOGUE = 4095;
    private static final String SESSION_PATH = "/events/metrics/session/";

    private static TestServer server;
    private static HostileSupport.State baseline;

    @BeforeContainer
    static void start() {
        server = TestServer.start(Map.of());
        server.postEvents("[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"kept \\\"{1}\\\"\",\"model\":\"m\",\"duration_ms\":5,"
                + "\"prompt_tokens\":1,\"completion_tokens\":2},{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"kept/2\",\"model\":\"m\","
                + "\"error\":\"x\"},{\"type\":\"TOOL_CALL_STARTED\",\"session_id\":\"kept-3\"}]");
        baseline = HostileSupport.state(server);
    }

    @AfterContainer
    static void stop() {
        HostileSupport.finish(server, HostilePathAndQueryTest.class);
    }

    @AfterProperty
    void scrapeStaysValid() {
        HostileSupport.assertUnchangedAndScrapeValid(baseline, server);
    }

    private static HostileSupport.RawResponse send(String method, String target) {
        return HostileSupport.raw(server.running().port(), HostileSupport.request(method, target), false);
    }

    private static boolean fits(String method, String target) {
        return method.length() + 1 + target.getBytes(StandardCharsets.UTF_8).length + 9 <= MAX_PROLOGUE;
    }

    // ---------------------------------------------------------------------------------------------
    // Session ids in the path

    /** What the answer to a session path must be: a status and error code, or only "some 4xx". */
    record PathCase(String segment, int status, String error, String description) {
    }

    private static final List<String> RAW_GARBAGE = List.of("%ZZ", "%", "%2", "%u0041", "%G0", "a%", "%%", "%0", "%-1",
            "a\"b", "{x}", "a|b", "a\\b", "a^b", "a`b", "<x>", "\u00e9", "\u65e5", "\uD83D\uDE00", "a\u0001b", "a\u007fb",
            "a#b", "a?b", "a;b=c", "a b", "a\tb", "%2e%2e%2f", "....", "a/", "/a", "//", "a//b", "%C0%AF", "%E0%80%AF",
            "%ED%A0%80", "%F4%90%80%80", "%FF", "%FE%FF", "%00", "%0A", "%0D%0A", "%7F", "%C2%85", "%20", "%20%20", "%09");

    @Provide
    Arbitrary<PathCase> sessionPaths() {
        Arbitrary<PathCase> validUnknown = HostileArbitraries.weirdValidIds()
                .map(id -> new PathCase(HostileSupport.encode(id), 404, "session_not_found", "valid unknown id " + id));
        Arbitrary<PathCase> invalid = HostileArbitraries.invalidIds().filter(id -> !id.isEmpty())
                .map(id -> new PathCase(HostileSupport.encode(id), 400, "invalid_session_id", "invalid id " + id));
        Arbitrary<PathCase> garbage = Arbitraries.oneOf(Arbitraries.of(RAW_GARBAGE),
                        Combinators.combine(Arbitraries.of(RAW_GARBAGE), Arbitraries.strings().alpha().numeric().ofMaxLength(10),
                                Arbitraries.of(RAW_GARBAGE)).as((a, b, c) -> a + b + c))
                .map(s -> new PathCase(s, -1, null, "raw " + s));
        Arbitrary<PathCase> longIds = Combinators.combine(Arbitraries.integers().between(257, 12_000), Arbitraries.of("a", "%41"))
                .as((n, c) -> new PathCase(c.repeat(n), 400, "invalid_session_id", n + " chars, each as " + c));
        return Arbitraries.frequencyOf(Tuple.of(4, validUnknown), Tuple.of(4, invalid), Tuple.of(3, garbage), Tuple.of(1, longIds));
    }

    @Property(tries = 200)
    void sessionIdsInThePathGetA4xxJsonErrorAndChangeNothing(@ForAll("sessionPaths") PathCase path,
                                                            @ForAll("methods") String method) {
        HostileSupport.count("path-session-id");
        String target = SESSION_PATH + path.segment();
        HostileSupport.RawResponse response = send(method, target);
        String context = method + " " + HostileSupport.abbreviate(target) + " (" + HostileSupport.abbreviate(path.description())
                + ") -> " + response;
        assertTrue(response.answered(), context);
        JsonNode error = HostileSupport.assertJsonError(response.status(), response.contentType(), response.bodyText(), context);
        if (!fits(method, target)) {
            assertEquals(414, response.status(), context);
            assertEquals("uri_too_long", error.get("error").asText(), context);
        } else if (path.status() > 0) {
            assertEquals(path.status(), response.status(), context);
            assertEquals(path.error(), error.get("error").asText(), context);
            if (path.status() == 400) {
                assertTrue(error.get("detail").asText().contains("session_id"), context);
            }
        }
        HostileSupport.assertUnchanged(baseline, server, context);
    }

    @Provide
    Arbitrary<String> methods() {
        return Arbitraries.of("GET", "DELETE");
    }

    @Example
    void dotSegmentsAreResolvedBeforeRoutingAndNeverFail() {
        // ".." and "." as literal path segments are URI syntax, resolved before routing (RFC 3986): the
        // request lands on another path. Whatever it is, no 5xx, JSON when an error, nothing deleted.
        for (String target : List.of(SESSION_PATH + "..", SESSION_PATH + ".", SESSION_PATH + "../..", SESSION_PATH + "a/..",
                SESSION_PATH + "../../../../../etc/passwd", "/events/metrics/session/..%2F..", "/..", "/../..", "/./health")) {
            for (String method : List.of("GET", "DELETE")) {
                HostileSupport.count("path-hand-picked");
                HostileSupport.RawResponse response = send(method, target);
                String context = method + " " + target + " -> " + response;
                assertTrue(response.answered() && response.status() < 500, context);
                if (response.status() >= 400) {
                    HostileSupport.assertJsonError(response.status(), response.contentType(), response.bodyText(), context);
                }
            }
        }
        HostileSupport.assertUnchanged(baseline, server, "dot segments");
    }

    @Example
    void everyHandPickedIdRoundTripsThroughThePathOrIsRejected() {
        for (String id : HostileArbitraries.HAND_PICKED_VALID) {
            HostileSupport.count("path-hand-picked");
            HostileSupport.RawResponse r = send("GET", SESSION_PATH + HostileSupport.encode(id));
            assertEquals(404, r.status(), id + " -> " + r);
            assertEquals("session_not_found", HostileSupport.assertJsonError(r.status(), r.contentType(), r.bodyText(), id)
                    .get("error").asText());
        }
        for (String id : HostileArbitraries.HAND_PICKED_INVALID) {
            HostileSupport.count("path-hand-picked");
            String target = SESSION_PATH + HostileSupport.encode(id);
            HostileSupport.RawResponse r = send("DELETE", target);
            JsonNode error = HostileSupport.assertJsonError(r.status(), r.contentType(), r.bodyText(), target);
            if (id.isEmpty()) {
                assertEquals(404, r.status(), target + " -> " + r);
            } else {
                assertEquals(fits("DELETE", target) ? 400 : 414, r.status(), HostileSupport.abbreviate(target) + " -> " + r);
            }
            assertTrue(!error.get("detail").asText().isEmpty());
        }
        // The stored sessions themselves, percent-encoded, are found, whatever the form of the request target.
        for (String id : List.of("kept \"{1}\"", "kept/2", "kept-3")) {
            for (String prefix : List.of("", "http://localhost", "/", "/x/..")) {
                HostileSupport.count("path-hand-picked");
                HostileSupport.RawResponse r = send("GET", prefix + SESSION_PATH + HostileSupport.encode(id));
                assertEquals(id.equals("kept-3") ? 404 : 200, r.status(), prefix + " " + id + " -> " + r);
                if (r.status() == 200) {
                    assertEquals(id, HostileSupport.assertJsonOk(r, id).get("session_id").asText());
                }
            }
        }
        HostileSupport.assertUnchanged(baseline, server, "hand-picked ids");
    }

    // ---------------------------------------------------------------------------------------------
    // Query parameters

    private static final Pattern DIGITS = Pattern.compile("[0-9]+");

    /** One query parameter: its name and value as sent (already encoded or raw), and as the server decodes them. */
    record Param(String raw, String name, String value, boolean badEncoding) {
    }

    @Provide
    Arbitrary<Param> params() {
        Arbitrary<String> names = Arbitraries.frequencyOf(Tuple.of(6, Arbitraries.of("limit", "offset")),
                Tuple.of(1, Arbitraries.of("Limit", "LIMIT", "limit ", "page", "", "x", "limit[]")));
        Arbitrary<String> numbers = Arbitraries.oneOf(Arbitraries.integers().between(0, 20_000).map(String::valueOf),
                Arbitraries.of("0", "00", "0001", "10000", "10001", "2147483647", "2147483648", "99999999999", "9".repeat(30),
                        "-0", "-1", "+1", "1.0", "1.5", "1e3", "0x10", " 1", "1 ", "", "NaN", "Infinity", "١", "\uFF11",
                        "1\u0000", "\u00001", "1\n", "１０", "1,000", "1_000", "one", "null", "[]", "%"));
        Arbitrary<Param> encoded = Combinators.combine(names, numbers)
                .as((n, v) -> new Param(HostileSupport.encode(n) + "=" + HostileSupport.encode(v), n, v, false));
        Arbitrary<Param> rawBad = Combinators.combine(names, Arbitraries.of("%ZZ", "%", "%2", "1%", "%u0031", "%G1"))
                .as((n, v) -> new Param(HostileSupport.encode(n) + "=" + v, n, v, true));
        Arbitrary<Param> noValue = names.map(n -> new Param(HostileSupport.encode(n), n, "", false));
        return Arbitraries.frequencyOf(Tuple.of(8, encoded), Tuple.of(1, rawBad), Tuple.of(1, noValue));
    }

    @Property(tries = 200)
    void limitAndOffsetGarbageIsA400NamingTheParameter(@ForAll("queries") List<Param> query) {
        HostileSupport.count("query-params");
        StringBuilder target = new StringBuilder("/events/metrics/sessions");
        for (int i = 0; i < query.size(); i++) {
            target.append(i == 0 ? '?' : '&').append(query.get(i).raw());
        }
        HostileSupport.RawResponse response = send("GET", target.toString());
        String context = HostileSupport.abbreviate(target.toString()) + " -> " + response;
        assertTrue(response.answered(), context);
        String problem = expectedProblem(query);
        if (problem == null) {
            assertEquals(200, response.status(), context);
            JsonNode page = HostileSupport.assertJsonOk(response, context);
            assertTrue(page.get("sessions").isArray(), context);
        } else {
            JsonNode error = HostileSupport.assertJsonError(response.status(), response.contentType(), response.bodyText(), context);
            assertEquals(400, response.status(), context);
            if (!problem.equals("encoding")) {
                assertEquals("invalid_parameter", error.get("error").asText(), context);
                assertTrue(error.get("detail").asText().startsWith(problem + " "), context);
            }
        }
        HostileSupport.assertUnchanged(baseline, server, context);
    }

    @Provide
    Arbitrary<List<Param>> queries() {
        return params().list().ofMinSize(0).ofMaxSize(4);
    }

    /** The parameter the server must complain about, "encoding" for a bad percent-encoding, or null for a 200. */
    private static String expectedProblem(List<Param> query) {
        if (query.stream().anyMatch(Param::badEncoding)) {
            return "encoding";
        }
        for (String name : List.of("limit", "offset")) {
            List<Param> given = query.stream().filter(p -> p.name().equals(name)).toList();
            if (given.size() > 1) {
                return name;
            }
            if (given.size() == 1) {
                String v = given.get(0).value();
                long max = name.equals("limit") ? 10_000 : Integer.MAX_VALUE;
                if (!DIGITS.matcher(v).matches() || v.length() > 18 || Long.parseLong(v) > max) {
                    return name;
                }
            }
        }
        return null;
    }

    // ---------------------------------------------------------------------------------------------
    // The web view's endpoints: window, limit, offset and id_contains garbage

    @Provide
    Arbitrary<String> webViewQueries() {
        Arbitrary<String> name = Arbitraries.of("window", "limit", "offset", "id_contains", "WINDOW", "x", "");
        Arbitrary<String> value = Arbitraries.oneOf(
                Arbitraries.of("", "5m", "1m", "30s", "10s", "9s", "6m", "0m", "-1m", "1h", "60", "1.5m", "5M", " 5m",
                        "5m ", "05m", "99999999999999999999s", "NaN", "%ZZ", "%", "%00", "１m", "100", "1000", "1001",
                        "-1", "2147483648", "a%2Fb", "<script>"),
                Arbitraries.strings().withCharRange('!', '~').ofMaxLength(12).map(HostileSupport::encode),
                Arbitraries.strings().ofMinLength(200).ofMaxLength(300).withChars("ab").map(HostileSupport::encode));
        Arbitrary<String> pair = Combinators.combine(name, value).as((n, v) -> n + "=" + v);
        Arbitrary<String> path = Arbitraries.of("/events/metrics/models", "/events/metrics/summaries");
        return Combinators.combine(path, pair.list().ofMaxSize(3)).as((p, q) -> q.isEmpty() ? p : p + "?" + String.join("&", q));
    }

    @Property(tries = 150)
    void theWebViewsEndpointsAnswerGarbageParametersWithA400AndNeverFail(@ForAll("webViewQueries") String target) {
        HostileSupport.count("query-params");
        HostileSupport.RawResponse response = send("GET", target);
        String context = HostileSupport.abbreviate(target) + " -> " + response;
        assertTrue(response.answered(), context);
        if (response.status() == 200) {
            JsonNode body = HostileSupport.assertJsonOk(response, context);
            assertTrue(body.has(target.startsWith("/events/metrics/models") ? "models" : "sessions"), context);
        } else {
            assertEquals(400, response.status(), context);
            JsonNode error = HostileSupport.assertJsonError(response.status(), response.contentType(), response.bodyText(), context);
            assertTrue(List.of("invalid_parameter", "bad_request").contains(error.get("error").asText()), context);
        }
        HostileSupport.assertUnchanged(baseline, server, context);
    }

    // ---------------------------------------------------------------------------------------------
    // Parameters no route reads: still UTF-8 (limits.md: "in every parameter")

    @Example
    void aParameterNoRouteReadsMustStillBeUtf8OnEveryRouteThatTakesAQuery() {
        List<String> routes = List.of("GET /events/metrics", "GET /events/stats", "GET /events/metrics/sessions",
                "GET /events/metrics/summaries", "GET /events/metrics/models", "GET /events/metrics/session/kept-3",
                "DELETE /events/metrics/session/kept-3", "POST /events", "GET /metrics", "GET /health", "GET /health/ready",
                "GET /", "GET /app.js");
        for (String route : routes) {
            String method = route.substring(0, route.indexOf(' '));
            String path = route.substring(route.indexOf(' ') + 1);
            for (String query : List.of("foo=%ff", "%ff=1", "foo=%C3", "a=1&b=%E2%82", "foo=%C3%A9&bar=%ED%A0%80")) {
                String target = path + "?" + query;
                HostileSupport.RawResponse response = send(method, target);
                String context = method + " " + target + " -> " + response;
                JsonNode error = HostileSupport.assertJsonError(response.status(), response.contentType(), response.bodyText(), context);
                assertEquals(400, response.status(), context);
                assertEquals("invalid_parameter", error.get("error").asText(), context);
                assertEquals("the query is not valid UTF-8 once percent-decoded", error.get("detail").asText(), context);
            }
            // Valid UTF-8 in a parameter the route ignores changes nothing.
            HostileSupport.RawResponse fine = send(method, path + "?foo=%C3%A9%F0%9F%98%80&%E2%82%AC=1");
            assertTrue(fine.answered() && !fine.bodyText().contains("invalid_parameter"),
                    method + " " + path + " with a valid unread parameter -> " + fine);
        }
        HostileSupport.assertUnchanged(baseline, server, "unread parameters");
    }

    // ---------------------------------------------------------------------------------------------
    // Any path, any method

    @Provide
    Arbitrary<String> anyTargets() {
        Arbitrary<String> prefix = Arbitraries.of("/", "/events", "/events/", "/events/metrics", "/events/metrics/",
                "/events/stats", "/events/metrics/sessions", "/events/metrics/session", "/metrics", "/health", "/x", "",
                "/events/metrics/sessions/", "/EVENTS", "/health/", "//health", "/events/metrics/models",
                "/events/metrics/summaries", "/app.js", "/index.html", "/app.css", "/favicon.svg", "/web/");
        Arbitrary<String> suffix = Arbitraries.oneOf(Arbitraries.just(""), Arbitraries.of(RAW_GARBAGE),
                Arbitraries.strings().withCharRange('!', '~').ofMaxLength(20).map(HostileSupport::encode),
                Arbitraries.strings().withChars("abc/?&=#%.;").ofMaxLength(12));
        return Combinators.combine(prefix, suffix).as((p, s) -> p + s).filter(t -> !t.isEmpty() && !t.contains(" ")
                && !t.contains("\t"));
    }

    @Property(tries = 150)
    void anyPathAndMethodNeverFailsAndNeverChangesAnything(@ForAll("anyTargets") String target,
                                                          @ForAll("anyMethods") String method) {
        HostileSupport.count("path-any");
        HostileSupport.RawResponse response = send(method, target);
        String context = method + " " + HostileSupport.abbreviate(target) + " -> " + response;
        assertTrue(response.answered(), context);
        assertTrue(response.status() < 500 || response.status() == 501 && Set.of("PROPFIND", "FOO").contains(method), context);
        if (response.status() >= 400 && !method.equals("HEAD")) {
            HostileSupport.assertJsonRefusal(response.status(), response.contentType(), response.bodyText(), context);
        }
        HostileSupport.assertUnchanged(baseline, server, context);
    }

    @Provide
    Arbitrary<String> anyMethods() {
        return Arbitraries.of("GET", "DELETE", "PUT", "PATCH", "OPTIONS", "TRACE", "HEAD", "CONNECT", "PROPFIND", "get", "FOO");
    }
}
