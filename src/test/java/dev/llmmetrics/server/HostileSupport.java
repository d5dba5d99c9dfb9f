package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Shared by the {@code Hostile*} tests: the count of inputs tried by category, the checks every rejected
 * request must pass (a 4xx JSON error naming the problem, nothing recorded), a raw-socket HTTP client for
 * bytes {@link java.net.http.HttpClient} refuses to send, and a strict percent-encoder.
 */
final class HostileSupport {

    private static final ConcurrentSkipListMap<String, LongAdder> COUNTS = new ConcurrentSkipListMap<>();
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private HostileSupport() {
    }

    // ---------------------------------------------------------------------------------------------
    // Counting

    /** Counts one input tried in {@code category}. */
    static void count(String category) {
        COUNTS.computeIfAbsent(category, k -> new LongAdder()).increment();
    }

    /**
     * Prints the counts so far and writes them to {@code target/hostile-inputs.txt}; every Hostile class
     * calls it when done, so the file ends up with the totals of the whole run.
     */
    static synchronized void report(String after) {
        StringBuilder text = new StringBuilder("Hostile input counts after ").append(after).append('\n');
        long total = 0;
        for (Map.Entry<String, LongAdder> e : COUNTS.entrySet()) {
            long n = e.getValue().sum();
            total += n;
            text.append(String.format(Locale.ROOT, "  %-28s %8d%n", e.getKey(), n));
        }
        text.append(String.format(Locale.ROOT, "  %-28s %8d%n", "TOTAL inputs tried", total));
        System.out.print(text);
        try {
            Path target = Path.of(System.getProperty("basedir", "."), "target");
            Files.createDirectories(target);
            Files.writeString(target.resolve("hostile-inputs.txt"), text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Rejections

    /**
     * Requires a 4xx answer with a JSON body {@code {"error": "...", "detail": "...", ...}} and returns
     * the body. {@code status} and {@code contentType} come from either client.
     */
    static JsonNode assertJsonError(int status, String contentType, String body, String input) {
        String context = "input " + abbreviate(input) + " -> " + status + " " + abbreviate(body);
        assertTrue(status >= 400 && status < 500, "not a 4xx: " + context);
        assertTrue(contentType != null && contentType.toLowerCase(Locale.ROOT).startsWith("application/json"),
                "not JSON (" + contentType + "): " + context);
        JsonNode json;
        try {
            json = TestServer.JSON.readTree(body);
        } catch (IOException e) {
            throw new AssertionError("body is not JSON: " + context, e);
        }
        assertTrue(json != null && json.isObject(), "not a JSON object: " + context);
        assertTrue(json.path("error").isTextual() && !json.path("error").asText().isEmpty(), "no error code: " + context);
        assertTrue(json.path("detail").isTextual() && !json.path("detail").asText().isEmpty(), "no detail: " + context);
        return json;
    }

    /**
     * Requires the JSON refusal of a request: a 4xx as {@link #assertJsonError(int, String, String, String)} does, or
     * the 501 {@code not_implemented} of a method HTTP does not define.
     */
    static JsonNode assertJsonRefusal(int status, String contentType, String body, String input) {
        if (status != 501) {
            return assertJsonError(status, contentType, body, input);
        }
        JsonNode json = assertJsonError(400, contentType, body, input);
        assertEquals("not_implemented", json.get("error").asText(), "a 501 that is not not_implemented: " + input);
        return json;
    }

    static JsonNode assertJsonError(HttpResponse<String> response, String input) {
        return assertJsonError(response.statusCode(), response.headers().firstValue("Content-Type").orElse(null),
                response.body(), input);
    }

    /** Requires a 2xx JSON answer off a raw socket and returns its body. */
    static JsonNode assertJsonOk(RawResponse response, String context) {
        assertTrue(response.status() >= 200 && response.status() < 300, context);
        assertTrue(response.contentType() != null && response.contentType().startsWith("application/json"), context);
        try {
            return TestServer.JSON.readTree(response.body());
        } catch (IOException e) {
            throw new AssertionError("body is not JSON: " + context, e);
        }
    }

    /** Every text of an error body: code, detail, and each problem's field and reason. */
    static String errorText(JsonNode error) {
        StringBuilder all = new StringBuilder(error.path("error").asText()).append(' ').append(error.path("detail").asText());
        for (JsonNode problem : error.path("errors")) {
            all.append(' ').append(problem.path("field").asText()).append(' ').append(problem.path("reason").asText());
        }
        return all.toString();
    }

    static String abbreviate(String s) {
        if (s == null) {
            return "null";
        }
        String shown = s.length() > 300 ? s.substring(0, 300) + "…(" + s.length() + " chars)" : s;
        StringBuilder out = new StringBuilder();
        shown.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp == 0x7f || (cp >= 0xd800 && cp <= 0xdfff)) {
                out.append(String.format("\\u%04x", cp));
            } else {
                out.appendCodePoint(cp);
            }
        });
        return out.toString();
    }

    // ---------------------------------------------------------------------------------------------
    // Recorded state

    /**
     * What the server has recorded, as the API shows it: event metrics, bus statistics without the uptime,
     * the session list, and every {@code llm_*} sample of the scrape except the {@code _max} gauges (which
     * Micrometer decays over time on its own).
     */
    record State(JsonNode eventMetrics, JsonNode stats, JsonNode sessions, Map<String, Double> llmSamples) {
    }

    /** After each property: state as at {@code baseline}, and a scrape both parsers and promtool accept. */
    static void assertUnchangedAndScrapeValid(State baseline, TestServer server) {
        if (baseline != null) {
            assertUnchanged(baseline, server, "(end of property)");
        }
        HostileExposition.check(getBytes(server, "/metrics"));
    }

    /** After a suite: stop its server and print the inputs it tried. */
    static void finish(TestServer server, Class<?> suite) {
        if (server != null) {
            server.close();
        }
        report(suite.getSimpleName());
    }

    static State state(TestServer server) {
        JsonNode metrics = TestServer.json(server.get("/events/metrics"));
        ObjectNode stats = (ObjectNode) TestServer.json(server.get("/events/stats"));
        stats.remove("uptime_seconds");
        JsonNode sessions = TestServer.json(server.get("/events/metrics/sessions"));
        Map<String, Double> samples = new TreeMap<>();
        for (PrometheusText.Sample s : PrometheusText.parse(server.get("/metrics").body()).samples()) {
            if (s.name().startsWith("llm_") && !s.name().endsWith("_max")) {
                samples.put(s.name() + new TreeMap<>(s.labels()), s.value());
            }
        }
        return new State(metrics, stats, sessions, samples);
    }

    static void assertUnchanged(State before, TestServer server, String input) {
        State after = state(server);
        if (!before.equals(after)) {
            assertEquals(before.eventMetrics(), after.eventMetrics(), "event metrics changed by " + abbreviate(input));
            assertEquals(before.stats(), after.stats(), "bus stats changed by " + abbreviate(input));
            assertEquals(before.sessions(), after.sessions(), "session list changed by " + abbreviate(input));
            assertEquals(before.llmSamples(), after.llmSamples(), "llm_* samples changed by " + abbreviate(input));
        }
    }

    // ---------------------------------------------------------------------------------------------
    // HTTP

    /** POSTs raw bytes to {@code /events}. */
    static HttpResponse<String> postBytes(TestServer server, byte[] body, String contentType) {
        return server.send(HttpRequest.newBuilder(server.uri("/events"))
                .header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    /** GETs {@code path} as bytes, so that their encoding can be checked strictly. */
    static byte[] getBytes(TestServer server, String path) {
        try {
            HttpResponse<byte[]> r = CLIENT.send(HttpRequest.newBuilder(server.uri(path)).timeout(Duration.ofSeconds(30)).GET().build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, r.statusCode(), path);
            return r.body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** An answer read off a raw socket; {@code status} is -1 when the server closed without answering. */
    record RawResponse(int status, Map<String, String> headers, byte[] body, String problem) {
        boolean answered() {
            return status > 0;
        }

        String contentType() {
            return headers.get("content-type");
        }

        String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return answered() ? status + " " + headers + " " + abbreviate(bodyText()) : "no answer (" + problem + ")";
        }
    }

    /**
     * Writes {@code request} on a new connection, optionally half-closes it (so the server sees the end of
     * the input instead of waiting for more), and reads one response: up to its Content-Length, through its
     * chunks, or to the end of the connection.
     */
    static RawResponse raw(int port, byte[] request, boolean halfClose) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            try {
                out.write(request);
                out.flush();
                if (halfClose) {
                    socket.shutdownOutput();
                }
            } catch (IOException e) {
                // The server may answer and close before reading everything: read what it said.
            }
            boolean head = request.length >= 5 && new String(request, 0, 5, StandardCharsets.ISO_8859_1).equals("HEAD ");
            return readResponse(socket.getInputStream(), head);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads one response off {@code in}: up to its Content-Length, through its chunks, or to the end. */
    static RawResponse readResponse(InputStream in, boolean headRequest) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        try {
            int state = 0;
            while (state < 4) {
                int b = in.read();
                if (b < 0) {
                    return new RawResponse(-1, Map.of(), new byte[0], head.size() == 0 ? "closed" : "closed mid-headers: " + head);
                }
                head.write(b);
                state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1
                        : b == '\r' ? 1 : 0;
            }
        } catch (SocketTimeoutException e) {
            return new RawResponse(-1, Map.of(), new byte[0], "timeout after " + head.size() + " bytes");
        } catch (IOException e) {
            return new RawResponse(-1, Map.of(), new byte[0], "connection error: " + e.getMessage());
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        String[] statusLine = lines[0].split(" ", 3);
        if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/1.")) {
            fail("not an HTTP status line: " + lines[0]);
        }
        int status = Integer.parseInt(statusLine[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
        }
        byte[] body;
        try {
            if (headRequest || status == 204 || status == 304 || status / 100 == 1) {
                body = new byte[0];
            } else if (headers.containsKey("content-length")) {
                body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
            } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                body = readChunked(in);
            } else {
                body = in.readAllBytes();
            }
        } catch (IOException e) {
            body = new byte[0];
        }
        return new RawResponse(status, headers, body, null);
    }

    private static byte[] readChunked(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            StringBuilder size = new StringBuilder();
            int b;
            while ((b = in.read()) >= 0 && b != '\n') {
                if (b != '\r') {
                    size.append((char) b);
                }
            }
            int n = Integer.parseInt(size.toString().trim(), 16);
            if (n == 0) {
                // The trailer section, up to its empty line, so that a next answer on the connection reads from its start.
                StringBuilder line = new StringBuilder();
                while ((b = in.read()) >= 0) {
                    if (b == '\n') {
                        if (line.isEmpty()) {
                            break;
                        }
                        line.setLength(0);
                    } else if (b != '\r') {
                        line.append((char) b);
                    }
                }
                return body.toByteArray();
            }
            body.write(in.readNBytes(n));
            in.readNBytes(2);
        }
    }

    /** A request line and headers, CRLF-terminated, ready for a body. */
    static byte[] request(String method, String target, String... headerLines) {
        StringBuilder head = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\nHost: localhost\r\n");
        for (String h : headerLines) {
            head.append(h).append("\r\n");
        }
        head.append("\r\n");
        return head.toString().getBytes(StandardCharsets.UTF_8);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    // ---------------------------------------------------------------------------------------------
    // Encoding

    /**
     * Percent-encodes {@code s} for one path segment or query value: every character but ASCII letters,
     * digits, {@code -}, {@code _} and {@code ~} is encoded, {@code .} included (so that {@code .} and
     * {@code ..} stay data, not dot-segments). A lone surrogate is encoded as the three bytes a naive
     * encoder would write (CESU-style), which is not valid UTF-8.
     */
    static String encode(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '~') {
                out.append(c);
                continue;
            }
            byte[] bytes;
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes = s.substring(i, i + 2).getBytes(StandardCharsets.UTF_8);
                i++;
            } else if (Character.isSurrogate(c)) {
                bytes = new byte[] {(byte) (0xE0 | (c >> 12)), (byte) (0x80 | ((c >> 6) & 0x3F)), (byte) (0x80 | (c & 0x3F))};
            } else {
                bytes = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
            }
            for (byte b : bytes) {
                out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xF, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xF, 16)));
            }
        }
        return out.toString();
    }

    /** Writes {@code s} as a JSON string literal, escaping what JSON requires and every non-ASCII character. */
    static String jsonString(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    /** The rules an id must follow, written independently of the library: for the oracle. */
    static boolean validId(String s) {
        if (s == null || s.isEmpty() || s.length() > 256 || s.strip().isEmpty()) {
            return false;
        }
        return s.codePoints().allMatch(cp -> Character.getType(cp) != Character.CONTROL
                && Character.getType(cp) != Character.SURROGATE);
    }

    /** Free text: at most {@code max} UTF-16 units, no lone surrogate, no control character but LF and tab. */
    static boolean validText(String s, int max) {
        if (s == null || s.length() > max) {
            return false;
        }
        return s.codePoints().allMatch(cp -> cp == '\n' || cp == '\t'
                || (Character.getType(cp) != Character.CONTROL && Character.getType(cp) != Character.SURROGATE));
    }
}
