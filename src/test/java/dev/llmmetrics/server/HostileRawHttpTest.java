package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Raw HTTP garbage over a plain socket: malformed request lines, bad and huge headers, wrong
 * Content-Length, chunked bodies with bad chunk sizes or framing, random bytes. Every request is
 * half-closed after it is written, so the server sees its end. A complete request must be answered, and
 * no answer may be a 5xx; a 4xx from our handlers or Helidon's direct handlers is JSON. The server stays
 * up and nothing recorded changes (every body carried is an invalid event).
 */
class HostileRawHttpTest {

    private static TestServer server;
    private static HostileSupport.State baseline;

    @BeforeContainer
    static void start() {
        server = TestServer.start(Map.of("ingest.max.body.bytes", "8192"));
        server.postEvents("[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"raw\",\"model\":\"m\",\"duration_ms\":5,"
                + "\"prompt_tokens\":1,\"completion_tokens\":2}]");
        baseline = HostileSupport.state(server);
    }

    @AfterContainer
    static void stop() {
        HostileSupport.finish(server, HostileRawHttpTest.class);
    }

    @AfterProperty
    void scrapeStaysValid() {
        HostileSupport.assertUnchangedAndScrapeValid(baseline, server);
    }

    /** Bytes to send, and whether the request is complete enough that it must be answered. */
    record RawCase(byte[] bytes, boolean mustAnswer, String description) {
        @Override
        public String toString() {
            return description + ": " + HostileSupport.abbreviate(new String(bytes, StandardCharsets.ISO_8859_1));
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Bodies that are never a valid event, so that whatever the framing makes of them, nothing is applied. */
    private static final List<String> BODIES = List.of("{\"type\":\"lower case\"}", "{\"type\":", "[1,2,3]",
            "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"\",\"model\":\"m\"}", "not json", "",
            "{\"type\":\"TOOL_CALL\",\"attributes\":{\"n\":1}}");

    // ---------------------------------------------------------------------------------------------

    @Provide
    Arbitrary<RawCase> requestLines() {
        Arbitrary<String> method = Arbitraries.of("GET", "POST", "DELETE", "get", "G(T", "GE\u00ffT", "", "GET GET",
                "X".repeat(300), "\u0000GET", "OPTIONS", "PRI", "CONNECT");
        Arbitrary<String> target = Arbitraries.of("/health", "*", "health", "http://x/health", "//", "/%", "/%zz", "/\u0000",
                "/a\u0001b", "/\u00e9", "/" + "a".repeat(5000), "", "/health#frag", "/health?%", "/events/metrics/session/%FF",
                "/events/metrics/session/\u00ff", "/metrics?x=\u0007");
        Arbitrary<String> version = Arbitraries.of("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTP/1.", "http/1.1",
                "HTTP/1.1 extra", "", "HTTP/1.10", "HTTPS/1.1", "HTTP/0.9", "HTTP/1.1\u0000");
        Arbitrary<String> separator = Arbitraries.of(" ", " ", " ", "  ", "\t");
        Arbitrary<String> eol = Arbitraries.of("\r\n", "\r\n", "\n", "\r");
        return Combinators.combine(method, target, version, separator, eol).as((m, t, v, sep, end) -> {
            String text = m + sep + t + (v.isEmpty() ? "" : sep + v) + end + "Host: localhost" + end + end;
            // A bare CR as line end never ends the head: the server may wait for more and see the end of input.
            return new RawCase(ascii(text), !end.equals("\r"), "request line");
        });
    }

    @Property(tries = 100)
    void malformedRequestLinesGetA4xxNeverA5xx(@ForAll("requestLines") RawCase request) {
        check(request, "raw-request-line");
    }

    @Provide
    Arbitrary<RawCase> headers() {
        Arbitrary<String> bad = Arbitraries.of("Bad Header", "NoColon", ": empty-name", "Spa ce: x", "X-\u00ff: y",
                "X: a\u0001b", "X: \u0000", "X:\u007f", " folded: x", "\tfolded", "X-Long: " + "a".repeat(20_000),
                "Host: x:abc", "Host: ", "Host: a b", "Host: [::1", "Content-Length: abc", "Content-Length: -5",
                "Content-Length: 1e3", "Content-Length: 0x10", "Content-Length: +3", "Content-Length: 99999999999999999999",
                "Content-Length: 3, 4", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked, gzip",
                "Transfer-Encoding: identity", "Content-Encoding: gzip", "Content-Encoding: br", "Content-Type: \u00ff/\u0000",
                "Expect: 100-continue", "Expect: something-else", "Connection: upgrade", "Upgrade: h2c",
                "Upgrade: websocket", "x-internal-auth: " + "z".repeat(1000), "Accept: " + "a/b;".repeat(500),
                "Authorization: Bearer \u00ff");
        Arbitrary<String> many = Arbitraries.integers().between(100, 3000).map(n -> {
            StringBuilder h = new StringBuilder();
            for (int i = 0; i < n; i++) {
                h.append(i == 0 ? "" : "\r\n").append("X-").append(i).append(": v");
            }
            return h.toString();
        });
        return Combinators.combine(Arbitraries.oneOf(bad, many).list().ofMinSize(1).ofMaxSize(3),
                Arbitraries.of("GET /health", "POST /events", "GET /events/metrics/sessions", "DELETE /events/metrics/session/raw2"),
                Arbitraries.of(true, false), Arbitraries.of(BODIES)).as((lines, start, host, body) -> {
            StringBuilder text = new StringBuilder(start).append(" HTTP/1.1\r\n");
            if (host) {
                text.append("Host: localhost\r\n");
            }
            lines.forEach(l -> text.append(l).append("\r\n"));
            text.append("\r\n");
            if (start.startsWith("POST")) {
                text.append(body);
            }
            return new RawCase(text.toString().getBytes(StandardCharsets.UTF_8), true, "headers");
        });
    }

    @Property(tries = 100)
    void badHeadersGetA4xxNeverA5xx(@ForAll("headers") RawCase request) {
        check(request, "raw-headers");
    }

    @Provide
    Arbitrary<RawCase> wrongContentLengths() {
        return Combinators.combine(Arbitraries.of(BODIES), Arbitraries.integers().between(-3, 40),
                Arbitraries.of("exact", "short", "long", "negative", "double", "text")).as((body, delta, how) -> {
            int length = body.length();
            String header = switch (how) {
                case "short" -> "Content-Length: " + Math.max(0, length - Math.abs(delta) - 1);
                case "long" -> "Content-Length: " + (length + Math.abs(delta) + 1);
                case "negative" -> "Content-Length: " + (-1 - Math.abs(delta));
                case "double" -> "Content-Length: " + length + "\r\nContent-Length: " + (length + 1 + Math.abs(delta));
                case "text" -> "Content-Length: " + length + "abc";
                default -> "Content-Length: " + length;
            };
            String text = "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" + header + "\r\n\r\n" + body;
            return new RawCase(ascii(text), true, "Content-Length " + how);
        });
    }

    @Property(tries = 100)
    void wrongContentLengthsGetA4xxNeverA5xx(@ForAll("wrongContentLengths") RawCase request) {
        check(request, "raw-content-length");
    }

    @Provide
    Arbitrary<RawCase> brokenChunks() {
        Arbitrary<String> sizeLine = Arbitraries.of("ZZ", "-1", "FFFFFFFFFFFFFFFFFFFF", "", " 3", "3 ", "3;ext=1", "0x3", "3\u0000",
                "+3", "1e1", "7FFFFFFF", "80000000", "\u00ff");
        return Combinators.combine(Arbitraries.of(BODIES).filter(b -> !b.isEmpty()), sizeLine,
                Arbitraries.of("bad size", "size too big", "size too small", "no CRLF after data", "no last chunk",
                        "bad trailer", "good"),
                Arbitraries.of("chunked", "Chunked", "gzip, chunked", "chunked\r\nTransfer-Encoding: chunked",
                        "chunked\r\nContent-Length: 3")).as((body, size, how, te) -> {
            String hex = Integer.toHexString(body.length());
            String chunks = switch (how) {
                case "bad size" -> size + "\r\n" + body + "\r\n0\r\n\r\n";
                case "size too big" -> Integer.toHexString(body.length() + 5) + "\r\n" + body + "\r\n0\r\n\r\n";
                case "size too small" -> Integer.toHexString(Math.max(1, body.length() / 2)) + "\r\n" + body + "\r\n0\r\n\r\n";
                case "no CRLF after data" -> hex + "\r\n" + body + "0\r\n\r\n";
                case "no last chunk" -> hex + "\r\n" + body + "\r\n";
                case "bad trailer" -> hex + "\r\n" + body + "\r\n0\r\nX-Trailer \u0001 bad\r\n\r\n";
                default -> hex + "\r\n" + body + "\r\n0\r\n\r\n";
            };
            String text = "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: "
                    + te + "\r\n\r\n" + chunks;
            return new RawCase(ascii(text), true, "chunked: " + how + " (" + size + ", " + te + ")");
        });
    }

    @Property(tries = 100)
    void brokenChunkedBodiesGetA4xxNeverA5xx(@ForAll("brokenChunks") RawCase request) {
        check(request, "raw-chunked");
    }

    @Provide
    Arbitrary<RawCase> randomBytes() {
        Arbitrary<byte[]> noise = Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(3000);
        return Combinators.combine(Arbitraries.of("", "POST /events HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: localhost\r\n",
                "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Length: 50\r\n\r\n"), noise).as((prefix, bytes) ->
                new RawCase(HostileSupport.concat(ascii(prefix), bytes), false, "random bytes after " + prefix.length() + " bytes"));
    }

    @Property(tries = 80)
    void randomBytesNeverGetA5xxNorStopTheServer(@ForAll("randomBytes") RawCase request) {
        check(request, "raw-random-bytes");
    }

    @Example
    void handPickedGarbage() {
        List<RawCase> cases = new ArrayList<>();
        for (String text : List.of("GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET /health HTTP/1.0\r\n\r\n",
                "GET /health HTTP/1.1\r\n\r\n", "G\u00ffT /health HTTP/1.1\r\nHost: localhost\r\n\r\n",
                "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "\r\n\r\n\r\n", "GET /health HTTP/1.1\r\nHost: localhost\r\nHost: y\r\n\r\n",
                "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\n{}",
                "POST /events HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n",
                "POST /events HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n",
                "POST /events HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n",
                "POST /events HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc\r\n0\r\n\r\n",
                "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"type\":")) {
            cases.add(new RawCase(ascii(text), true, "hand-picked"));
        }
        for (RawCase c : cases) {
            check(c, "raw-hand-picked");
        }
        // A chunked body over the limit: 413 as JSON, from Helidon's own check or ours.
        String big = "x".repeat(9000);
        HostileSupport.count("raw-hand-picked");
        HostileSupport.RawResponse r = HostileSupport.raw(server.running().port(), ascii("POST /events HTTP/1.1\r\nHost: localhost\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(big.length()) + "\r\n" + big + "\r\n0\r\n\r\n"), true);
        assertEquals(413, r.status(), r.toString());
        HostileSupport.assertJsonError(r.status(), r.contentType(), r.bodyText(), "chunked 9000 bytes");
    }

    // ---------------------------------------------------------------------------------------------

    private static void check(RawCase request, String category) {
        HostileSupport.count(category);
        HostileSupport.RawResponse response = HostileSupport.raw(server.running().port(), request.bytes(), true);
        String context = request + " -> " + response;
        if (request.mustAnswer()) {
            assertTrue(response.answered(), "no answer to a complete request: " + context);
        }
        if (response.answered()) {
            assertTrue(response.status() < 500 || response.status() == 501, "a 5xx: " + context);
            if (response.status() >= 400) {
                HostileSupport.assertJsonRefusal(response.status(), response.contentType(), response.bodyText(), context);
            }
        }
        assertEquals(200, server.get("/health").statusCode(), "the server stopped answering after " + context);
        HostileSupport.assertUnchanged(baseline, server, context);
    }
}
