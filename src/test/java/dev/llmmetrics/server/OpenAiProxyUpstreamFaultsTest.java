package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy against an upstream that misbehaves at the byte level, played by a raw socket that answers each
 * call with the next scripted bytes: an error object inside a 200 stream, a connection closed without an
 * answer, a reset, an unreadable status line; an https upstream whose TLS handshake fails; and a call refused
 * before it is forwarded.
 */
class OpenAiProxyUpstreamFaultsTest {

    private interface Answer {
        void write(OutputStream out) throws IOException;
    }

    /** An answer after which the connection stays open, as a keep-alive upstream's, until the proxy closes it. */
    private interface KeepsOpen extends Answer {
    }

    /** An answer after which the connection serves the proxy's next request on it, as a keep-alive upstream's. */
    private interface KeepsAlive extends Answer {
    }

    /** Closes the connection with a reset instead of an answer. */
    private static final Answer RESET = out -> { };
    private static final ConcurrentLinkedQueue<Answer> ANSWERS = new ConcurrentLinkedQueue<>();
    private static final AtomicInteger CALLS = new AtomicInteger();
    private static final String CHUNK = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m-up\","
            + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}";
    private static ServerSocket upstream;
    private static TestServer server;

    @BeforeAll
    static void start() throws IOException {
        upstream = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!upstream.isClosed()) {
                try {
                    Socket s = upstream.accept();
                    Thread.ofVirtual().start(() -> answer(s));
                } catch (IOException e) {
                    return;
                }
            }
        });
        server = TestServer.start(Map.of("proxy.upstream.url", "http://127.0.0.1:" + upstream.getLocalPort() + "/v1",
                "proxy.read.timeout", "PT3S"));
    }

    @AfterAll
    static void stop() throws IOException {
        server.close();
        upstream.close();
    }

    /**
     * Reads one request (headers, then a body of its Content-Length) and writes the next scripted answer; the next
     * request on the connection too after a {@link KeepsAlive} answer.
     */
    private static void answer(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            Answer next;
            do {
                ByteArrayOutputStream head = new ByteArrayOutputStream();
                int b;
                while ((b = in.read()) != -1) {
                    head.write(b);
                    if (head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                        break;
                    }
                }
                if (b == -1) {
                    return;
                }
                String h = head.toString(StandardCharsets.ISO_8859_1).toLowerCase();
                int at = h.indexOf("content-length:");
                if (at >= 0) {
                    in.readNBytes(Integer.parseInt(h.substring(at + 15, h.indexOf("\r\n", at)).strip()));
                }
                CALLS.incrementAndGet();
                next = ANSWERS.poll();
                if (next == RESET) {
                    s.setSoLinger(true, 0);
                    return;
                }
                if (next != null) {
                    next.write(s.getOutputStream());
                }
                s.getOutputStream().flush();
            } while (next instanceof KeepsAlive);
            if (next instanceof KeepsOpen) {
                s.setSoTimeout(5_000);
                while (in.read() != -1) {
                    // a request the proxy sends on this connection again is read and never answered
                }
            }
        } catch (IOException e) {
            // the proxy went away: nothing to answer
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static String chunk(String data) {
        return Integer.toHexString(ascii(data).length) + "\r\n" + data + "\r\n";
    }

    private static String chat(String model, String extra) {
        return "{" + (model == null ? "" : "\"model\":\"" + model + "\",")
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]" + extra + "}";
    }

    /** Every byte the proxy sends back to a raw client until it closes. */
    private static String rawCall(String session, String body) throws IOException {
        return rawCall(session, body, "");
    }

    /** The same, with {@code headers} (each ending in CRLF) added to the request. */
    private static String rawCall(String session, String body, String headers) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.running().port()), 5_000);
            socket.setSoTimeout(10_000);
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            socket.getOutputStream().write(ascii("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                    + "Connection: close\r\nContent-Type: application/json\r\nx-session-id: " + session
                    + "\r\nContent-Length: " + bytes.length + "\r\n" + headers + "\r\n"));
            socket.getOutputStream().write(bytes);
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void aRequestWithoutAModelFromASessionTheEventsRefuseGets400AndIsNotForwarded() {
        int before = CALLS.get();
        HttpResponse<String> r = server.post("/v1/chat/completions", chat(null, ""), "x-session-id", "s".repeat(300));
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(r.body().contains("invalid_session_id"), r.body());
        assertEquals(before, CALLS.get(), "not forwarded");
        // The message names the header the client sent, never the Java name of the event's field.
        for (String model : java.util.Arrays.asList(null, "fake-plain")) {
            HttpResponse<String> answer = server.post("/v1/chat/completions", chat(model, ""), "x-session-id", "s".repeat(257));
            assertEquals(400, answer.statusCode(), answer.body());
            assertEquals("the x-session-id header cannot be recorded: x-session-id must be at most 256 characters, was 257",
                    TestServer.json(answer).get("error").get("message").asText(), answer.body());
        }
        assertEquals(before, CALLS.get(), "not forwarded");
    }

    @Test
    void aSessionHeaderSentTwiceOrWithBytesPastAsciiGets400AndIsNotForwarded() throws IOException {
        int before = CALLS.get();
        // The server reads each byte past ASCII as U+FFFD: caf\u00e9 would be recorded as another id's session.
        String pastAscii = rawCall("caf\u00e9", chat("fake-plain", ""));
        assertTrue(pastAscii.startsWith("HTTP/1.1 400"), pastAscii);
        assertTrue(pastAscii.contains("\"code\":\"invalid_session_id\""), pastAscii);
        assertTrue(pastAscii.contains("holds a byte past ASCII at index 3"), pastAscii);
        String twice = rawCall("twice-a", chat("fake-plain", ""), "x-session-id: twice-b\r\n");
        assertTrue(twice.startsWith("HTTP/1.1 400"), twice);
        assertTrue(twice.contains("it is sent 2 times"), twice);
        assertEquals(before, CALLS.get(), "not forwarded");
        for (String session : new String[] {"caf%EF%BF%BD", "twice-a", "twice-b"}) {
            assertEquals(404, server.get("/events/metrics/session/" + session).statusCode(), session);
        }
    }

    @Test
    void anErrorObjectInsideA200StreamIsPassedOnAndRecordedAsAFailure() throws IOException {
        String error = "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":\"overloaded\"}}";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunk("data: " + CHUNK + "\n\n")
                + chunk("data: " + error + "\n\n") + chunk("data: [DONE]\n\n") + "0\r\n\r\n")));
        String got = rawCall("stream-error", chat("m-req", ",\"stream\":true"));
        assertTrue(got.contains(error), got);
        JsonNode s = server.awaitSession("stream-error", 1);
        assertEquals(1, s.get("failed_requests").asLong(), s.toString());
        JsonNode record = s.get("requests").get(0);
        assertEquals("server_error", record.get("error_type").asText(), record.toString());
        assertTrue(record.get("error").asText().contains("overloaded"), record.toString());
    }

    /**
     * An error object after the stream's {@code data: [DONE]}: the SDKs stop reading at {@code [DONE]} (the OpenAI
     * SDKs skip every event after it), so the client took the answer whole. It is passed on as sent, and the call is
     * recorded as completed with its usage, not as a failure the client never saw.
     */
    @Test
    void anErrorObjectAfterTheStreamsDoneIsPassedOnAndTheCallRecordedAsCompleted() throws IOException {
        String usage = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m-up\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}";
        String error = "{\"error\":{\"message\":\"late\",\"type\":\"server_error\",\"code\":\"late\"}}";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunk("data: " + CHUNK + "\n\n")
                + chunk("data: " + usage + "\n\n") + chunk("data: [DONE]\n\n") + chunk("data: " + error + "\n\n")
                + "0\r\n\r\n")));
        String got = rawCall("error-after-done", chat("m-req", ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertTrue(got.contains(error), got);
        JsonNode s = server.awaitSession("error-after-done", 1);
        assertEquals(1, s.get("successful_requests").asLong(), s.toString());
        assertEquals(8, s.get("total_tokens").asLong(), s.toString());
    }

    @Test
    void aStreamSentAsPlainTextIsReadAsAStreamItsUsageTakenAndHeldFromTheClientThatDidNotAskForIt()
            throws IOException {
        String usage = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m-up\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunk("data: " + CHUNK + "\n\n")
                + chunk("data: " + usage + "\n\n") + chunk("data: [DONE]\n\n") + "0\r\n\r\n")));
        String got = rawCall("plain-text-stream", chat("m-req", ",\"stream\":true"));
        assertTrue(got.contains(CHUNK) && got.contains("[DONE]"), got);
        assertFalse(got.contains("total_tokens"), "the usage chunk the proxy asked for is held: " + got);
        assertEquals(8, server.awaitSession("plain-text-stream", 1).get("total_tokens").asLong());
    }

    /**
     * An upstream answer whose {@code Content-Type} cannot be parsed as a media type: reading it threw, so the client
     * got the server's 500 {@code internal_error} and the call, STARTED, was never ended ({@code llm_requests_in_flight}
     * stayed up for good). It is passed on as sent, read as an answer of no type, and recorded once.
     */
    @Test
    void anAnswerWithAnUnparsableContentTypeIsPassedOnAndRecordedOnce() throws IOException {
        String completion = "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"m-up\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}";
        for (String extra : new String[] {"", ",\"stream\":true"}) {
            ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: ;;;===\r\nContent-Length: "
                    + completion.length() + "\r\nConnection: close\r\n\r\n" + completion)));
            String got = rawCall("bad-content-type", chat("m-bad-type", extra));
            assertTrue(got.startsWith("HTTP/1.1 200") && got.contains(completion), "[" + got + "]");
        }
        JsonNode s = server.awaitSession("bad-content-type", 2);
        assertEquals(2, s.get("successful_requests").asLong(), s.toString());
        assertEquals(16, s.get("total_tokens").asLong(), s.toString());
        assertEquals(0.0, server.scrape().value("llm_requests_in_flight", "model", "m-bad-type"), "every call ended");
    }

    /**
     * vLLM's error shape, its message and type at the top level ({@code {"object":"error","message":…,
     * "type":"BadRequestError","code":400}}) rather than in an {@code error} object: the recorded error text keeps
     * its message and type, where it said only "upstream answered 400".
     */
    @Test
    void anErrorInVllmsTopLevelShapeIsRecordedWithItsTypeAndMessage() throws IOException {
        String error = "{\"object\":\"error\",\"message\":\"This model's maximum context length is 4096 tokens.\","
                + "\"type\":\"BadRequestError\",\"param\":null,\"code\":400}";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + error.length() + "\r\nConnection: close\r\n\r\n" + error)));
        String got = rawCall("vllm-error", chat("m-req", ""));
        assertTrue(got.startsWith("HTTP/1.1 400") && got.endsWith(error), got);
        JsonNode record = server.awaitSession("vllm-error", 1).get("requests").get(0);
        assertEquals("invalid_request", record.get("error_type").asText(), record.toString());
        assertEquals("upstream answered 400 BadRequestError: This model's maximum context length is 4096 tokens.",
                record.get("error").asText(), record.toString());
    }

    /**
     * A plain chat completion answered 200 whose body is an error object and no completion, as OpenRouter sends when
     * the provider behind it failed: passed on as sent, and recorded as a failure with the error's text, as the same
     * object inside a 200 stream is, where it was recorded as a completed call.
     */
    @Test
    void anErrorObjectAnswered200ToAPlainCompletionIsRecordedAsAFailure() throws IOException {
        String error = "{\"error\":{\"message\":\"Provider returned error\",\"code\":502,"
                + "\"metadata\":{\"provider_name\":\"X\"}}}";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + error.length() + "\r\nConnection: close\r\n\r\n" + error)));
        String got = rawCall("error-200", chat("m-req", ""));
        assertTrue(got.startsWith("HTTP/1.1 200") && got.endsWith(error), got);
        // The same answer to a streamed request from an upstream that does not stream, sent as text/plain: read as
        // one document, as its usage would be.
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                + error.length() + "\r\nConnection: close\r\n\r\n" + error)));
        String streamed = rawCall("error-200", chat("m-req", ",\"stream\":true"));
        assertTrue(streamed.startsWith("HTTP/1.1 200") && streamed.contains(error), streamed);
        JsonNode s = server.awaitSession("error-200", 2);
        assertEquals(2, s.get("failed_requests").asLong(), s.toString());
        for (JsonNode record : s.get("requests")) {
            assertEquals("server_error", record.get("error_type").asText(), record.toString());
            assertEquals(200, record.get("http_status").asInt(), record.toString());
            assertTrue(record.get("error").asText().contains("Provider returned error"), record.toString());
        }
    }

    /**
     * A stream whose content comes in one event past the bound of an event held whole (a 2 MiB delta, a tool call's
     * 2 MiB arguments), passed on in pieces: its first token is still timed at that event, its tool call still seen,
     * and the model of a request that names none still taken from it.
     */
    @Test
    void aStreamWhoseContentEventIsPastTheEventBoundStillHasItsFirstTokenToolCallsAndModel() throws IOException {
        String usage = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m-big\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}";
        String role = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}";
        String text = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m-big\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + "x".repeat(2 << 20) + "\"}}]}";
        String tool = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m-big\",\"choices\":[{\"index\":0,"
                + "\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t\",\"type\":\"function\",\"function\":{\"name\":\"f\","
                + "\"arguments\":\"" + "y".repeat(2 << 20) + "\"}}]}}]}";
        for (String big : new String[] {text, tool}) {
            ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunk("data: " + role + "\n\n")
                    + chunk("data: " + big + "\n\n") + chunk("data: " + usage + "\n\n") + chunk("data: [DONE]\n\n")
                    + "0\r\n\r\n")));
            String got = rawCall("big-event", chat(null, ",\"stream\":true"));
            assertTrue(got.startsWith("HTTP/1.1 200") && got.contains("[DONE]") && got.length() > 2 << 20,
                    got.substring(0, Math.min(500, got.length())));
        }
        JsonNode s = server.awaitSession("big-event", 2);
        assertEquals(2, s.get("successful_requests").asLong(), s.toString());
        JsonNode records = s.get("requests");
        for (JsonNode record : records) {
            assertEquals("m-big", record.get("model").asText(), record.toString());
            assertTrue(record.get("time_to_first_token_ms").isNumber(), "the first token is timed: " + record);
            assertEquals(8, record.get("total_tokens").asLong(), record.toString());
        }
        assertFalse(records.get(0).get("has_tool_calls").asBoolean(), records.get(0).toString());
        assertTrue(records.get(1).get("has_tool_calls").asBoolean(), "the tool call is seen: " + records.get(1));
    }

    /**
     * An answer with neither a Content-Length nor a chunked Transfer-Encoding, which ends when the upstream closes the
     * connection (RFC 9112 §6.3, rule 8): passed on whole, framed for the client, and recorded as answered; plain,
     * streamed, and on a route only forwarded.
     */
    @Test
    void anAnswerThatEndsWhenTheUpstreamClosesTheConnectionIsPassedOnWholeAndRecordedAsAnswered() throws IOException {
        String completion = "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"m-up\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"}}],\"usage\":{\"prompt_tokens\":5,"
                + "\"completion_tokens\":3,\"total_tokens\":8}}";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + completion)));
        String plain = rawCall("ends-at-close", chat("m-req", ""));
        assertTrue(plain.startsWith("HTTP/1.1 200"), plain);
        assertTrue(plain.toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")
                && plain.endsWith("\r\n0\r\n\r\n"), "framed for the client, and ended: " + plain);
        assertTrue(plain.contains(completion), plain);

        String usage = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m-up\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":6,\"completion_tokens\":4,\"total_tokens\":10}}";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                + "data: " + CHUNK + "\n\n" + "data: " + usage + "\n\n" + "data: [DONE]\n\n")));
        String streamed = rawCall("ends-at-close", chat("m-req", ",\"stream\":true"));
        assertTrue(streamed.startsWith("HTTP/1.1 200") && streamed.contains(CHUNK) && streamed.contains("[DONE]")
                && streamed.endsWith("\r\n0\r\n\r\n"), "every chunk, and ended: " + streamed);

        JsonNode s = server.awaitSession("ends-at-close", 2);
        assertEquals(2, s.get("successful_requests").asLong(), s.toString());
        assertEquals(11, s.get("total_prompt_tokens").asLong(), s.toString());
        assertEquals(7, s.get("total_completion_tokens").asLong(), s.toString());

        String embeddings = "{\"object\":\"list\",\"data\":[],\"model\":\"e\"}";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + embeddings)));
        HttpResponse<String> forwarded = server.post("/v1/embeddings", "{\"model\":\"e\",\"input\":\"x\"}");
        assertEquals(200, forwarded.statusCode(), forwarded.body());
        assertEquals(embeddings, forwarded.body());
    }

    /**
     * The body of a raw chunked answer, its chunks joined, and whether its last chunk came: a body cut where the
     * connection closed gives the chunks it had.
     */
    private record Dechunked(String body, boolean ended) {
        static Dechunked of(String raw) {
            int at = raw.indexOf("\r\n\r\n") + 4;
            StringBuilder body = new StringBuilder();
            while (at < raw.length()) {
                int lineEnd = raw.indexOf("\r\n", at);
                if (lineEnd < 0) {
                    break;
                }
                int size = Integer.parseInt(raw.substring(at, lineEnd).strip(), 16);
                if (size == 0) {
                    return new Dechunked(body.toString(), true);
                }
                body.append(raw, lineEnd + 2, Math.min(raw.length(), lineEnd + 2 + size));
                at = lineEnd + 2 + size + 2;
            }
            return new Dechunked(body.toString(), false);
        }
    }

    /**
     * A gzip answer whose body is whole by its {@code Content-Length} but whose compressed data stops short (a
     * compressor before the upstream that stopped mid-answer): it was recorded, and told to the client, as "the
     * upstream closed the connection before a complete answer", which the upstream had not. It is a body that cannot
     * be decompressed, as one that is not gzip at all: {@code server_error} saying so, the client's answer cut when
     * part of it had been passed on, else the proxy's 502 saying the same.
     */
    @Test
    void aGzipAnswerWholeByItsLengthWhoseCompressedDataStopsShortIsABodyThatCannotBeDecompressed() throws IOException {
        String completion = "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"m-up\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"" + "Hi there, ".repeat(2_000) + "\"}}],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}";
        ByteArrayOutputStream zipped = new ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream gzip = new java.util.zip.GZIPOutputStream(zipped)) {
            gzip.write(ascii(completion));
        }
        String coded = zipped.toString(StandardCharsets.ISO_8859_1);
        for (String cut : new String[] {coded.substring(0, coded.length() - 8), coded.substring(0, 10)}) {
            ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + "Content-Encoding: gzip\r\nContent-Length: " + cut.length() + "\r\n\r\n" + cut)));
            String answer = rawCall("gzip-stops-short", chat("m-gz", ""));
            if (cut.length() > 10) {
                Dechunked body = Dechunked.of(answer);
                assertTrue(answer.startsWith("HTTP/1.1 200") && completion.startsWith(body.body()), answer);
                assertFalse(body.ended(), "the client's answer is cut, not ended");
            } else {
                assertTrue(answer.startsWith("HTTP/1.1 502"), answer);
                assertTrue(answer.contains("its gzip body cannot be decompressed"), answer);
            }
        }
        JsonNode s = server.awaitSession("gzip-stops-short", 2);
        assertEquals(2, s.get("failed_requests").asLong(), s.toString());
        for (JsonNode record : s.get("requests")) {
            assertEquals("server_error", record.get("error_type").asText(), record.toString());
            assertTrue(record.get("error").asText().startsWith("the upstream call failed: its gzip body cannot be "
                    + "decompressed (its compressed data ends before its body does)"), record.toString());
        }
    }

    /**
     * An answer labelled {@code Content-Encoding: gzip} with an empty body ({@code Content-Length: 0}), as a gateway
     * may send with an error status: there is nothing to decompress, but the decompression found no gzip header and
     * the call was recorded as a broken answer, without the upstream's status, and the client got the proxy's 502
     * instead of the upstream's 503. It is passed on as answered, and recorded with its status.
     */
    @Test
    void anEmptyBodyLabelledGzipIsAnEmptyAnswerNotOneThatCannotBeDecompressed() throws IOException {
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                + "Content-Encoding: gzip\r\nContent-Length: 0\r\n\r\n")));
        String answer = rawCall("empty-gzip", chat("m-gz", ""));
        assertTrue(answer.startsWith("HTTP/1.1 503"), answer);
        JsonNode record = server.awaitSession("empty-gzip", 1).get("requests").get(0);
        assertEquals("server_error", record.get("error_type").asText(), record.toString());
        assertEquals(503, record.get("http_status").asInt(), record.toString());
        assertEquals("upstream answered 503", record.get("error").asText(), record.toString());
    }

    /**
     * An answer that ends at the close, whose upstream closes it mid-answer (its process killed): a plain chat
     * completion whose JSON document did not end, a stream before its [DONE]. The client gets every byte the upstream
     * sent, its connection closed without the answer's last chunk (so that its SDK does not take it as whole), and
     * the call is recorded as FAILED server_error, as an answer whose chunks broke off is.
     */
    @Test
    void anAnswerCutWhereTheUpstreamClosesTheConnectionIsPassedOnAsSentAndRecordedAsFailed() throws IOException {
        String half = "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"m-up\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi, this answer is cut";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + half)));
        String plain = rawCall("cut-at-close", chat("m-req", ""));
        assertTrue(plain.startsWith("HTTP/1.1 200"), plain);
        Dechunked plainBody = Dechunked.of(plain);
        assertEquals(half, plainBody.body(), "byte for byte what the upstream sent");
        assertFalse(plainBody.ended(), "the client's answer is cut, not ended: " + plain);

        String events = "data: " + CHUNK + "\n\n" + "data: " + CHUNK + "\n\n";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + events)));
        String streamed = rawCall("cut-at-close", chat("m-req", ",\"stream\":true"));
        Dechunked streamBody = Dechunked.of(streamed);
        assertEquals(events, streamBody.body(), "every event the upstream sent");
        assertFalse(streamBody.ended(), "the client's stream is cut, not ended: " + streamed);

        JsonNode s = server.awaitSession("cut-at-close", 2);
        assertEquals(2, s.get("failed_requests").asLong(), s.toString());
        assertEquals(0, s.get("successful_requests").asLong(), s.toString());
        JsonNode records = s.get("requests");
        for (JsonNode record : records) {
            assertEquals("server_error", record.get("error_type").asText(), record.toString());
            assertTrue(record.get("error").asText().startsWith(
                    "the upstream call failed: the upstream closed the connection before a complete answer"), record.toString());
        }
        assertTrue(records.toString().contains("its JSON document had not ended")
                && records.toString().contains("its stream had not sent data: [DONE]"), records.toString());
        assertEquals(0.0, server.scrape().value("llm_requests_in_flight", "model", "m-req"), "every call ended");
    }

    /**
     * An event stream that ends at the close having sent only comments (the keep-alive pings some OpenAI-compatible
     * servers write while the model has not answered yet), its upstream then killed: a stream cut before its first
     * data, recorded FAILED server_error and cut for the client, as one cut after some data is.
     */
    @Test
    void anEventStreamOfCommentsOnlyEndingAtTheCloseIsACutStream() throws IOException {
        passedOnCut("pings-then-close", "text/event-stream", ": ping\n\n: ping\n\n");
    }

    /**
     * An event stream whose upstream is killed mid-event, its last event without the blank line that ends one:
     * the client still gets every byte the upstream sent, that last piece included, before its stream is cut.
     */
    @Test
    void aStreamCutMidEventAtTheClosePassesOnItsLastPartialEvent() throws IOException {
        passedOnCut("cut-mid-event", "text/event-stream",
                "data: " + CHUNK + "\n\n" + "data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"cut");
    }

    /**
     * A JSON answer to a streamed request from an upstream that does not stream and names no JSON type
     * (text/plain), its upstream killed mid-document: as cut as the same document sent as application/json, so
     * recorded FAILED server_error and cut for the client, not taken for a whole answer for want of event data.
     */
    @Test
    void aPlainTextJsonAnswerToAStreamedRequestCutAtTheCloseIsRecordedAsFailed() throws IOException {
        String half = "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"m-up\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi, this answer is cut";
        JsonNode record = passedOnCut("plain-text-json-cut", "text/plain", half);
        assertTrue(record.get("error").asText().contains("its JSON document had not ended"), record.toString());
    }

    /**
     * Sends {@code answer} as the upstream's to a streamed request, ended by its close, and checks that the client
     * got every byte of it in a stream cut, not ended, and that the call was recorded FAILED server_error; returns
     * its record.
     */
    private JsonNode passedOnCut(String session, String type, String answer) throws IOException {
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: " + type + "\r\n\r\n" + answer)));
        String raw = rawCall(session, chat("m-req", ",\"stream\":true"));
        Dechunked body = Dechunked.of(raw);
        assertEquals(answer, body.body(), "every byte the upstream sent");
        assertFalse(body.ended(), "the client's stream is cut, not ended: " + raw);
        JsonNode s = server.awaitSession(session, 1);
        assertEquals(1, s.get("failed_requests").asLong(), s.toString());
        JsonNode record = s.get("requests").get(0);
        assertEquals("server_error", record.get("error_type").asText(), s.toString());
        return record;
    }

    /** A UTF-8 byte order mark, as read back from a raw answer by {@link #rawCall}. */
    private static final String BOM = "\u00EF\u00BB\u00BF";

    /**
     * An upstream that writes a UTF-8 byte order mark before its answer, as some OpenAI-compatible servers and
     * proxies do: the model and usage are read past it, for a plain answer (the request naming no model, so that
     * the answer's is recorded) and for a stream, and the client gets the answer as sent, mark included.
     */
    @Test
    void anAnswerStartingWithAByteOrderMarkIsReadForItsModelAndUsageAndPassedOnAsSent() throws IOException {
        String completion = "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"m-bom\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"}}],\"usage\":{\"prompt_tokens\":21,"
                + "\"completion_tokens\":13,\"total_tokens\":34}}";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + (completion.length() + 3) + "\r\nConnection: close\r\n\r\n" + BOM + completion)));
        String plain = rawCall("bom", chat(null, ""));
        assertTrue(plain.startsWith("HTTP/1.1 200") && plain.endsWith("\r\n\r\n" + BOM + completion), plain);

        String first = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m-bom-stream\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}";
        String usage = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m-bom-stream\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":5,\"total_tokens\":13}}";
        String events = BOM + "data: " + first + "\n\n" + "data: " + usage + "\n\n" + "data: [DONE]\n\n";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunk(events) + "0\r\n\r\n")));
        String streamed = rawCall("bom-stream", chat(null, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertEquals(events, Dechunked.of(streamed).body(), "the stream as sent, mark included");

        JsonNode s = server.awaitSession("bom", 1);
        assertEquals(1, s.get("successful_requests").asLong(), s.toString());
        assertEquals("m-bom", s.get("requests").get(0).get("model").asText(), s.toString());
        assertEquals(21, s.get("total_prompt_tokens").asLong(), s.toString());
        assertEquals(13, s.get("total_completion_tokens").asLong(), s.toString());
        assertEquals(34, s.get("total_tokens").asLong(), s.toString());
        JsonNode stream = server.awaitSession("bom-stream", 1);
        assertEquals("m-bom-stream", stream.get("requests").get(0).get("model").asText(), stream.toString());
        assertEquals(13, stream.get("total_tokens").asLong(), stream.toString());
        assertTrue(stream.get("requests").get(0).get("time_to_first_token_ms").isNumber(), stream.toString());

        PrometheusText scrape = server.scrape();
        assertEquals(21, scrape.value("llm_tokens_sum", "model", "m-bom", "type", "prompt"));
        assertEquals(13, scrape.value("llm_tokens_sum", "model", "m-bom", "type", "completion"));
        assertEquals(8, scrape.value("llm_tokens_sum", "model", "m-bom-stream", "type", "prompt"));
    }

    /**
     * Answers that end at the close whose end the proxy cannot read, so that nothing says they were cut: a JSON
     * document its reader stops at (a NaN, as Python's json.dumps writes by default), and a whole JSON document
     * as text/plain to a streamed request (an upstream that does not stream and names no JSON type), which carries
     * no event data. Each is passed on whole and recorded as COMPLETED, with the usage read before the stop.
     */
    @Test
    void answersEndingAtTheCloseWhoseEndCannotBeReadArePassedOnWholeAndRecordedAsCompleted() throws IOException {
        String completion = "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"m-up\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}";
        passedOnWhole("not-strict-json", "", "application/json", completion + ",\"x\":NaN}");
        passedOnWhole("plain-text-json", ",\"stream\":true", "text/plain", completion + "}");
        for (String session : java.util.List.of("not-strict-json", "plain-text-json")) {
            JsonNode s = server.awaitSession(session, 1);
            assertEquals(1, s.get("successful_requests").asLong(), s.toString());
            assertEquals(7, s.get("total_tokens").asLong(), session + ": the usage read: " + s);
        }
    }

    /** Sends {@code answer} as the upstream's, ended by its close, and checks the client got it whole and ended. */
    private void passedOnWhole(String session, String requestFields, String type, String answer) throws IOException {
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: " + type + "\r\n\r\n" + answer)));
        String raw = rawCall(session, chat("m-req", requestFields));
        assertTrue(raw.startsWith("HTTP/1.1 200"), raw);
        Dechunked body = Dechunked.of(raw);
        assertEquals(answer, body.body(), "byte for byte what the upstream sent");
        assertTrue(body.ended(), "the client's answer ends as a whole one: " + raw);
    }

    /**
     * An answer that ends at the close, cut by the read timeout while the upstream keeps its connection open and
     * later sends a whole answer meant for nobody: the HTTP client took such a connection for one whose answer had
     * no body and lent it to the next call, which got those bytes as its answer.
     */
    @Test
    void anAnswerThatEndsAtTheCloseLeftHalfReadNeverLendsItsConnectionToAnotherCall() throws IOException {
        String secret = "{\"secret\":\"meant for the first client\"}";
        ANSWERS.add((KeepsOpen) out -> {
            out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"id\":\"c\","));
            out.flush();
            try {
                Thread.sleep(4_000); // past the proxy's read timeout, 3 s
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + secret.length()
                    + "\r\n\r\n" + secret));
        });
        String completion = "{\"id\":\"c2\",\"object\":\"chat.completion\",\"model\":\"m-up\",\"choices\":[]}";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + completion.length() + "\r\nConnection: close\r\n\r\n" + completion)));

        String cut = rawCall("half-read-at-close", chat("m-req", ""));
        assertTrue(cut.startsWith("HTTP/1.1 200") && !cut.endsWith("0\r\n\r\n"), "cut, not ended: " + cut);
        try {
            Thread.sleep(1_500); // the bytes meant for nobody have come
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        HttpResponse<String> next = server.post("/v1/chat/completions", chat("m-req", ""), "x-session-id",
                "half-read-at-close-next");
        assertEquals(200, next.statusCode(), next.body());
        assertEquals(completion, next.body(), "the next call's own answer, never the bytes after the first one");
        assertEquals("timeout", server.awaitSession("half-read-at-close", 1).get("requests").get(0).get("error_type")
                .asText());
    }

    /** The 502 a call gets from {@code proxy}, and the error text recorded for it, which must be the same. */
    private static String unreachable(TestServer proxy, String session) {
        HttpResponse<String> r = proxy.post("/v1/chat/completions", chat("m-req", ""), "x-session-id", session,
                "Authorization", "Bearer sk-client-secret-123");
        assertEquals(502, r.statusCode(), r.body());
        JsonNode error = TestServer.json(r).get("error");
        assertEquals("upstream_unreachable", error.get("code").asText(), r.body());
        String message = error.get("message").asText();
        assertFalse(message.matches("(?s).*(\\b[a-z]+\\.[a-z]+\\.[A-Za-z]+|Exception|sk-client-secret).*"),
                "no class name, no credential: " + message);
        JsonNode record = proxy.awaitSession(session, 1).get("requests").get(0);
        assertEquals("server_error", record.get("error_type").asText(), record.toString());
        assertEquals(message, record.get("error").asText(), "the client is told what is recorded");
        return message;
    }

    @Test
    void anUpstreamThatClosesOrResetsWithoutAnsweringGets502SayingWhichInWordsAndAFailureRecorded() {
        ANSWERS.add(out -> { }); // reads the request, then closes
        assertEquals("the upstream call failed: the upstream closed the connection before a complete answer",
                unreachable(server, "closed"));
        ANSWERS.add(RESET);
        assertEquals("the upstream call failed: the connection broke: Connection reset", unreachable(server, "reset"));
        // A status line the client cannot read: the bytes it quotes after a colon are left out, since they may be
        // part of another call's answer.
        ANSWERS.add(out -> out.write(ascii("XTTP/1.1 200 leftover-bytes-of-another-answer\r\n\r\n")));
        String unreadable = unreachable(server, "unreadable-status");
        assertTrue(unreadable.startsWith("the upstream call failed: HTTP response did not contain correct status line"),
                unreadable);
        assertFalse(unreadable.contains("XTTP") || unreadable.contains("leftover"), unreadable);
    }

    /**
     * An https upstream played by a raw socket: each connection gets the next scripted behaviour, a plain HTTP
     * answer to the TLS client's hello, or a TLS handshake with no certificate (the server's alert), or with a
     * certificate the JDK does not trust.
     */
    @Test
    void aTlsUpstreamThatFailsTheHandshakeGets502NamingTheTlsFailureWithItsDetail(@TempDir Path dir) throws Exception {
        ConcurrentLinkedQueue<TlsBehaviour> behaviours = new ConcurrentLinkedQueue<>();
        try (ServerSocket tls = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                while (!tls.isClosed()) {
                    try {
                        Socket s = tls.accept();
                        TlsBehaviour next = behaviours.poll();
                        Thread.ofVirtual().start(() -> {
                            try (s) {
                                if (next != null) {
                                    next.on(s);
                                }
                            } catch (IOException e) {
                                // the handshake failed: what the test is about
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            SSLContext untrusted = selfSigned(dir);
            SSLContext keyless = SSLContext.getDefault();
            try (TestServer proxy = TestServer.start(Map.of("proxy.upstream.url", "https://127.0.0.1:" + tls.getLocalPort() + "/v1",
                    "proxy.read.timeout", "PT3S"))) {
                behaviours.add(s -> handshake(keyless, s)); // no key: no cipher suite in common
                String alert = unreachable(proxy, "tls-alert");
                assertTrue(alert.startsWith("the upstream call failed: the TLS handshake failed: ")
                        && alert.endsWith("Received fatal alert: handshake_failure"), alert);

                behaviours.add(s -> handshake(untrusted, s));
                String pkix = unreachable(proxy, "tls-untrusted");
                assertTrue(pkix.startsWith("the upstream call failed: the TLS handshake failed: ")
                        && pkix.contains("PKIX path building failed: unable to find valid certification path"), pkix);

                behaviours.add(s -> {
                    s.getInputStream().read(new byte[512]); // the client's hello, answered in plain HTTP
                    s.getOutputStream().write(ascii("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
                });
                assertEquals("the upstream call failed: TLS failed: Unsupported or unrecognized SSL message",
                        unreachable(proxy, "tls-plain"));
            }
        }
    }

    private interface TlsBehaviour {
        void on(Socket socket) throws IOException;
    }

    private static void handshake(SSLContext context, Socket plain) throws IOException {
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(plain, null, true)) {
            socket.setUseClientMode(false);
            socket.startHandshake();
        }
    }

    /** A server TLS context with a new self-signed certificate, which no trust store holds. */
    private static SSLContext selfSigned(Path dir) throws Exception {
        Path store = dir.resolve("upstream.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "upstream", "-keyalg", "EC", "-dname", "CN=localhost", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass", "changeit", "-keypass", "changeit")
                .redirectErrorStream(true).start();
        String output = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, keytool.waitFor(), output);
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            keys.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory managers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        managers.init(keys, "changeit".toCharArray());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(managers.getKeyManagers(), null, null);
        return context;
    }

    /** An answer with {@code status} and a JSON error object whose message is {@code message}, already JSON-escaped. */
    private static Answer errorAnswer(int status, String message) {
        String body = "{\"error\":{\"message\":\"" + message + "\",\"type\":\"server_error\",\"code\":\"boom\"}}";
        return out -> out.write(ascii("HTTP/1.1 " + status + " Whatever\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length() + "\r\nConnection: close\r\n\r\n" + body));
    }

    @Test
    void upstreamErrorsWithMessagesNoEventTakesOrAStatusOutsideHttpAreStillRecordedOnceAndEndTheCall() throws IOException {
        String overlong = "x".repeat(5_000);
        ANSWERS.add(errorAnswer(500, overlong));
        assertTrue(rawCall("odd-errors", chat("m-odd", "")).contains(overlong), "passed on as sent");
        ANSWERS.add(errorAnswer(429, "slow down\\r\\u0007 please"));
        assertTrue(rawCall("odd-errors", chat("m-odd", "")).startsWith("HTTP/1.1 429"));
        ANSWERS.add(errorAnswer(599, "edge"));
        rawCall("odd-errors", chat("m-odd", ""));
        ANSWERS.add(errorAnswer(999, "not an HTTP status"));
        rawCall("odd-errors", chat("m-odd", ""));
        String inStream = "{\"error\":{\"message\":\"" + "y".repeat(5_000) + "\\r\",\"code\":\"boom\"}}";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunk("data: " + CHUNK + "\n\n")
                + chunk("data: " + inStream + "\n\n") + chunk("data: [DONE]\n\n") + "0\r\n\r\n")));
        String streamed = rawCall("odd-errors", chat("m-odd", ",\"stream\":true"));
        assertTrue(streamed.contains("[DONE]") && streamed.endsWith("0\r\n\r\n"), "the stream passed on whole: " + streamed);

        JsonNode s = server.awaitSession("odd-errors", 5);
        assertEquals(5, s.get("failed_requests").asLong(), s.toString());
        JsonNode records = s.get("requests");
        assertTrue(records.get(0).get("error").asText().startsWith("upstream answered 500 boom: xxx"), records.get(0).toString());
        assertTrue(records.get(1).get("error").asText().contains("slow down"), records.get(1).toString());
        assertEquals(599, records.get(2).get("http_status").asInt(), records.get(2).toString());
        assertFalse(records.get(3).has("http_status") && !records.get(3).get("http_status").isNull(),
                "999 is not an HTTP status: " + records.get(3));
        assertEquals("server_error", records.get(4).get("error_type").asText(), records.get(4).toString());
        assertEquals(0.0, server.scrape().value("llm_requests_in_flight", "model", "m-odd"), "every call ended");
    }

    @Test
    void anUpstreamErrorQuotingTheCredentialIsRecordedWithoutIt() throws IOException {
        ANSWERS.add(errorAnswer(400, "bad key Bearer sk-client-secret-123 given"));
        String got = rawCall("quoted-key", chat("m-req", ""), "Authorization: Bearer sk-client-secret-123\r\n");
        assertTrue(got.startsWith("HTTP/1.1 400"), got);
        String error = server.awaitSession("quoted-key", 1).get("requests").get(0).get("error").asText();
        assertFalse(error.contains("sk-client-secret-123"), error);
        assertTrue(error.contains("bad key Bearer [key] given"), error);

        ANSWERS.add(errorAnswer(400, "key azure-secret-456789 is not valid here"));
        rawCall("quoted-api-key", chat("m-req", ""), "api-key: azure-secret-456789\r\n");
        String azure = server.awaitSession("quoted-api-key", 1).get("requests").get(0).get("error").asText();
        assertTrue(azure.contains("key [key] is not valid here"), azure);
    }

    /**
     * The upstream answers with {@code head}, then, on the same connection and after a pause (so that the proxy's
     * client has read what came first), with a whole second answer meant for nobody; the proxy's next call must get
     * its own answer, never that one.
     */
    private static void assertTheBytesAfterAnUnreadableAnswerNeverReachAnotherCall(String session, String head,
            String expected) throws IOException {
        HttpResponse<String> first = assertTheBytesAfterAnAnswerNeverReachAnotherCall(session, head, 502);
        assertTrue(first.body().contains(expected), first.body());
        assertEquals("server_error", server.awaitSession(session, 1).get("requests").get(0).get("error_type").asText());
    }

    /**
     * The same for an answer the client gets with {@code status}; returns the client's answer to the first call.
     */
    private static HttpResponse<String> assertTheBytesAfterAnAnswerNeverReachAnotherCall(String session, String head,
            int status) throws IOException {
        String secret = "{\"secret\":\"meant for the first client\"}";
        String smuggled = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + secret.length()
                + "\r\n\r\n" + secret;
        ANSWERS.add((KeepsOpen) out -> {
            out.write(ascii(head));
            out.flush();
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            out.write(ascii(smuggled));
        });
        String completion = "{\"id\":\"c2\",\"object\":\"chat.completion\",\"model\":\"m-up\",\"choices\":[]}";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + completion.length() + "\r\nConnection: close\r\n\r\n" + completion)));

        HttpResponse<String> first = server.post("/v1/chat/completions", chat("m-req", ""), "x-session-id", session);
        assertEquals(status, first.statusCode(), first.body());
        try {
            Thread.sleep(400); // the rest of the first answer has come
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        HttpResponse<String> second = server.post("/v1/chat/completions", chat("m-req", ""), "x-session-id", session + "-next");
        assertEquals(200, second.statusCode(), second.body());
        assertEquals(completion, second.body(), "the next call's own answer, never the bytes after the first one");
        return first;
    }

    @Test
    void anAnswerDeclaringBothContentLengthAndTransferEncodingGets502AndItsConnectionIsNeverReused() throws IOException {
        assertTheBytesAfterAnUnreadableAnswerNeverReachAnotherCall("te-cl", "HTTP/1.1 200 OK\r\nContent-Type: "
                + "application/json\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n{\"x\":1}",
                "both a Content-Length and a Transfer-Encoding");
        assertTheBytesAfterAnUnreadableAnswerNeverReachAnotherCall("te-cl-0", "HTTP/1.1 200 OK\r\nContent-Type: "
                + "application/json\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
                "both a Content-Length and a Transfer-Encoding");
    }

    /**
     * A stream in a content coding the proxy does not read ({@code br}) that ends where the upstream closes the
     * connection: its bytes say nothing the proxy can read, so nothing can tell it cut short, and it is passed on
     * whole, its chunked answer to the client ended, and recorded as the upstream answered, without usage, as the
     * same stream with a length is.
     */
    @Test
    void aStreamInACodingTheProxyDoesNotReadEndingAtTheCloseIsPassedOnWholeAndRecordedAsAnswered() throws IOException {
        String compressed = "\u001b\u0002\u0080not brotli the proxy could read\u0003";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                + "Content-Encoding: br\r\n\r\n" + compressed)));
        String answer = rawCall("br-at-close", chat("m-br", ",\"stream\":true"));
        assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
        assertTrue(answer.contains(compressed), answer);
        assertTrue(answer.endsWith("\r\n0\r\n\r\n"), "the chunked answer ended, not cut: " + answer);
        JsonNode recorded = server.awaitSession("br-at-close", 1).get("requests").get(0);
        assertTrue(recorded.get("success").asBoolean(), recorded.toString());
        assertTrue(recorded.get("total_tokens").isNull(), recorded.toString());
        assertEquals(0.0, server.scrape().value("llm_requests_in_flight", "model", "m-br"), "every call ended");
    }

    /**
     * A transfer coding other than {@code chunked} ({@code Transfer-Encoding: gzip, chunked}), which the proxy never
     * asks for (it sends no {@code TE}, RFC 9112 §6.1) and which belongs to the upstream's hop: passed on without
     * that header, its bytes would reach the client as a body nothing tells it how to read, recorded as a success
     * without usage. It gets 502 and is recorded as {@code server_error}, on a chat completion and on a route only
     * forwarded, and the connection is never reused.
     */
    @Test
    void anAnswerWithATransferCodingOtherThanChunkedGets502RatherThanBytesTheClientCannotRead() throws IOException {
        String completion = "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"m-up\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}";
        ByteArrayOutputStream zipped = new ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream gzip = new java.util.zip.GZIPOutputStream(zipped)) {
            gzip.write(ascii(completion));
        }
        String coded = zipped.toString(StandardCharsets.ISO_8859_1);
        String head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
        ANSWERS.add(out -> out.write(ascii(head + chunk(coded) + "0\r\n\r\n")));
        String answer = rawCall("te-gzip", chat("m-te", ""));
        assertTrue(answer.startsWith("HTTP/1.1 502"), answer);
        assertTrue(answer.contains("transfer coding"), answer);
        JsonNode recorded = server.awaitSession("te-gzip", 1).get("requests").get(0);
        assertEquals("server_error", recorded.get("error_type").asText(), recorded.toString());

        ANSWERS.add(out -> out.write(ascii(head + chunk(coded) + "0\r\n\r\n")));
        HttpResponse<String> models = server.get("/v1/models");
        assertEquals(502, models.statusCode(), models.body());

        assertTheBytesAfterAnUnreadableAnswerNeverReachAnotherCall("te-gzip-close", "HTTP/1.1 200 OK\r\n"
                + "Content-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n" + coded, "transfer coding");
        assertEquals(0.0, server.scrape().value("llm_requests_in_flight", "model", "m-te"), "every call ended");
    }

    /**
     * An upstream that sends its answer's head and then breaks off before any byte of the body, or sends nothing
     * more until the read timeout: nothing of that answer has reached the client, which got its connection closed
     * without any answer. It gets the proxy's 502 {@code upstream_unreachable} or 504 {@code upstream_timeout} in the
     * OpenAI error shape, saying what is recorded, as when no head came at all; the call is recorded once.
     */
    @Test
    void anAnswerThatBreaksOffBeforeItsFirstBodyByteGetsTheProxysErrorNotAClosedConnection() throws IOException {
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")));
        String broken = rawCall("head-then-close", chat("m-req", ""));
        assertTrue(broken.startsWith("HTTP/1.1 502"), broken);
        assertTrue(broken.contains("\"code\":\"upstream_unreachable\""), broken);
        ANSWERS.add((KeepsOpen) out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n")));
        String stalled = rawCall("head-then-stall", chat("m-req", ",\"stream\":true"));
        assertTrue(stalled.startsWith("HTTP/1.1 504"), stalled);
        assertTrue(stalled.contains("\"code\":\"upstream_timeout\""), stalled);

        JsonNode closed = server.awaitSession("head-then-close", 1).get("requests").get(0);
        assertEquals("server_error", closed.get("error_type").asText(), closed.toString());
        assertTrue(broken.contains(closed.get("error").asText()), "the client is told what is recorded: " + broken);
        JsonNode timedOut = server.awaitSession("head-then-stall", 1).get("requests").get(0);
        assertEquals("timeout", timedOut.get("error_type").asText(), timedOut.toString());
        assertEquals(0.0, server.scrape().value("llm_requests_in_flight", "model", "m-req"), "every call ended");
    }

    /**
     * Header fields the upstream names in its {@code Connection} header belong to its hop (RFC 9110 §7.6.1), as the
     * client's named in its own are not forwarded: they are not passed on to the client, on a chat completion and
     * on a route only forwarded.
     */
    @Test
    void headerFieldsTheUpstreamNamesInItsConnectionHeaderAreNotPassedOn() throws IOException {
        String completion = "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"m-up\",\"choices\":[]}";
        String head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close, X-Hop-Secret\r\n"
                + "X-Hop-Secret: internal-route-7\r\nX-Kept: yes\r\nContent-Length: " + completion.length() + "\r\n\r\n";
        ANSWERS.add(out -> out.write(ascii(head + completion)));
        String got = rawCall("connection-named", chat("m-req", ""));
        assertTrue(got.startsWith("HTTP/1.1 200") && got.endsWith(completion), got);
        assertTrue(got.contains("X-Kept: yes"), got);
        assertFalse(got.toLowerCase(java.util.Locale.ROOT).contains("x-hop-secret"), got);
        ANSWERS.add(out -> out.write(ascii(head + completion)));
        HttpResponse<String> forwarded = server.post("/v1/embeddings", "{\"model\":\"e\",\"input\":\"x\"}");
        assertEquals(completion, forwarded.body());
        assertTrue(forwarded.headers().firstValue("x-hop-secret").isEmpty(), forwarded.headers().toString());
    }

    /**
     * An upstream that answers a chat completion 204 No Content, plain or streamed: an answer with no body by its
     * status (RFC 9110 §15.3.5), not one cut at the close. The client gets the 204, where it got its connection closed
     * without any answer, and the call is recorded as answered, without usage, where it was recorded as cut.
     */
    @Test
    void aNoContentAnswerIsPassedOnAndRecordedAsAnsweredNotAsCut() throws IOException {
        for (String extra : new String[] {"", ",\"stream\":true"}) {
            ANSWERS.add(out -> out.write(ascii("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")));
            String got = rawCall("no-content", chat("m-req", extra));
            assertTrue(got.startsWith("HTTP/1.1 204"), "the upstream's 204: " + got);
        }
        JsonNode s = server.awaitSession("no-content", 2);
        assertEquals(2, s.get("successful_requests").asLong(), s.toString());
        assertEquals(0.0, server.scrape().value("llm_requests_in_flight", "model", "m-req"), "every call ended");
    }

    /**
     * A 304 Not Modified (to a conditional {@code GET /v1/models}) or a 204 has no body whatever its headers say (RFC
     * 9110 §15.3.5, §15.4.5), and a 304 may carry the {@code Content-Length} a 200 would have had and a
     * {@code Transfer-Encoding} (RFC 9112 §6.1). The proxy read a body by those headers, or until the close when
     * there were none: from an upstream that keeps its connection open, the client waited the read timeout for a 504,
     * and a 304 or 204 declaring {@code gzip, chunked} got 502. It is passed on at once with its headers, never read,
     * and a connection whose answer framed a body the upstream may have sent is never lent to another call.
     */
    @Test
    void aNotModifiedOrNoContentAnswerIsPassedOnAtOnceWhateverItsFramingAndNeverLeavesABodyToTheNextCall()
            throws IOException {
        ANSWERS.add((KeepsAlive) out -> out.write(ascii("HTTP/1.1 304 Not Modified\r\nETag: \"models-1\"\r\n\r\n")));
        HttpResponse<String> models = server.get("/v1/models", "If-None-Match", "\"models-1\"");
        assertEquals(304, models.statusCode(), models.body());
        assertEquals("\"models-1\"", models.headers().firstValue("etag").orElse(null), models.headers().toString());
        String list = "{\"object\":\"list\",\"data\":[]}";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + list.length() + "\r\nConnection: close\r\n\r\n" + list)));
        assertEquals(list, server.get("/v1/models").body(), "the connection, or a new one, serves the next call");

        for (String head : new String[] {"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
                "HTTP/1.1 304 Not Modified\r\nContent-Type: application/json\r\nContent-Length: 61\r\n\r\n",
                "HTTP/1.1 204 No Content\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"}) {
            assertTheBytesAfterAnAnswerNeverReachAnotherCall("bodiless", head, head.startsWith("HTTP/1.1 304") ? 304 : 204);
        }
        JsonNode s = server.awaitSession("bodiless", 4);
        assertEquals(1, s.get("successful_requests").asLong(), "the 204 is answered, each 304 a 3xx: " + s);
        assertEquals(0.0, server.scrape().value("llm_requests_in_flight", "model", "m-req"), "every call ended");
    }

    /**
     * A chunked stream that declares and sends trailer fields after its last chunk (RFC 9112 §7.1.2), on a connection
     * the upstream keeps open: the HTTP client reads the body to its last chunk and leaves the trailer fields unread
     * in the connection, so that the next call lent that connection read them as its answer's status line and got a
     * 502. The call is passed on and recorded as answered, and the next call gets its own answer.
     */
    @Test
    void aStreamWithTrailerFieldsNeverLeavesThemToTheNextCallOnItsConnection() throws IOException {
        String usage = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m-up\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}";
        ANSWERS.add((KeepsOpen) out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                + "Transfer-Encoding: chunked\r\nTrailer: X-Request-Cost\r\n\r\n" + chunk("data: " + CHUNK + "\n\n")
                + chunk("data: " + usage + "\n\n") + chunk("data: [DONE]\n\n") + "0\r\nX-Request-Cost: 12\r\n\r\n")));
        String completion = "{\"id\":\"c2\",\"object\":\"chat.completion\",\"model\":\"m-up\",\"choices\":[]}";
        ANSWERS.add(out -> out.write(ascii("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + completion.length() + "\r\nConnection: close\r\n\r\n" + completion)));

        String streamed = rawCall("trailers", chat("m-req", ",\"stream\":true"));
        assertTrue(streamed.startsWith("HTTP/1.1 200") && streamed.contains(CHUNK) && streamed.contains("[DONE]"), streamed);
        HttpResponse<String> next = server.post("/v1/chat/completions", chat("m-req", ""), "x-session-id", "trailers-next");
        assertEquals(200, next.statusCode(), next.body());
        assertEquals(completion, next.body(), "the next call's own answer");
        JsonNode s = server.awaitSession("trailers", 1);
        assertEquals(1, s.get("successful_requests").asLong(), s.toString());
        assertEquals(8, s.get("total_tokens").asLong(), s.toString());
    }

    @Test
    void anInterimAnswerGets502AndItsConnectionIsNeverReused() throws IOException {
        assertTheBytesAfterAnUnreadableAnswerNeverReachAnotherCall("interim",
                "HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n", "an interim answer (103)");
    }
}
