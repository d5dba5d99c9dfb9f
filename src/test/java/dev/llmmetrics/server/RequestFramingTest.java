package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Request smuggling (RFC 9112 section 6.3): a request whose body length is ambiguous is refused with a JSON
 * 400 and its connection closed, so that what follows it on the connection, a smuggled request, is never
 * read as a request, let alone answered or applied.
 */
class RequestFramingTest {

    private static TestServer server;

    /** A request that records session "smuggled" if it is ever served. */
    private static final String SMUGGLED_EVENT = "{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"smuggled\",\"model\":\"m\"}";
    private static final String SMUGGLED = "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            + "Content-Length: " + SMUGGLED_EVENT.length() + "\r\n\r\n" + SMUGGLED_EVENT;

    @BeforeAll
    static void start() {
        server = TestServer.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** Writes {@code request} on a connection left open for writing, and reads all the server sends until it closes. */
    private static String exchange(String request) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", server.running().port()), 5_000);
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[4096];
            try {
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    received.write(buffer, 0, n);
                }
            } catch (SocketException e) {
                // reset after the answer: closed too
            }
            return received.toString(StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void ambiguousBodyLengthsAreA400ThatClosesTheConnectionSoTheSmuggledRequestIsNeverServed() throws IOException {
        String head = "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";
        String chunkedThenSmuggled = "0\r\n\r\n" + SMUGGLED;
        List<String> attacks = List.of(
                // CL.TE and TE.CL: a front end reading one header, this server the other.
                head + "Content-Length: " + chunkedThenSmuggled.length() + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedThenSmuggled,
                head + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" + chunkedThenSmuggled,
                // Two lengths, on two lines or in one.
                head + "Content-Length: 0\r\nContent-Length: " + SMUGGLED.length() + "\r\n\r\n" + SMUGGLED,
                head + "Content-Length: 0, " + SMUGGLED.length() + "\r\n\r\n" + SMUGGLED,
                // Codings other than chunked alone: the length cannot be known.
                head + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunkedThenSmuggled,
                head + "Transfer-Encoding: chunked, identity\r\n\r\n" + chunkedThenSmuggled,
                head + "Transfer-Encoding: identity\r\n\r\n" + SMUGGLED,
                head + "Transfer-Encoding: xchunked\r\n\r\n" + chunkedThenSmuggled,
                head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedThenSmuggled);
        for (String attack : attacks) {
            String received = exchange(attack);
            String context = HostileSupport.abbreviate(attack) + " -> " + HostileSupport.abbreviate(received);
            assertTrue(received.startsWith("HTTP/1.1 400 "), context);
            assertEquals(1, received.split("HTTP/1\\.1 ", -1).length - 1, "exactly one answer: " + context);
            assertTrue(received.toLowerCase().contains("\r\nconnection: close\r\n"), context);
            JsonNode error = TestServer.JSON.readTree(received.substring(received.indexOf("\r\n\r\n") + 4));
            assertEquals("invalid_framing", error.get("error").asText(), context);
        }
        assertFalse(server.get("/events/metrics/sessions").body().contains("smuggled"), "a smuggled request was served");
    }

    @Test
    void chunkExtensionsAndTrailerFieldsWhichHelidonDoesNotReadAreA400ThatClosesTheConnection() throws IOException {
        // RFC 9112 section 7.1 asks a recipient to ignore them; Helidon refuses them (limits.md). The answer must
        // then close the connection, as for any broken chunked body: where Helidon stopped reading is unknown.
        String event = SMUGGLED_EVENT.replace("smuggled", "chunked");
        String head = "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n";
        String size = Integer.toHexString(event.length());
        List<String> bodies = List.of(
                size + ";foo=bar\r\n" + event + "\r\n0\r\n\r\n",
                size + "\r\n" + event + "\r\n0;foo=bar\r\n\r\n",
                size + "\r\n" + event + "\r\n0\r\nX-Trailer: 1\r\n\r\n",
                size + "\r\n" + event + "\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n",
                size + "\r\n" + event + "\r\n0\r\nX-Trailer: 1\r\n");      // the smuggled request as the next field line
        for (String body : bodies) {
            JsonNode error = malformedBodyAlone(head + body + SMUGGLED);
            assertEquals("the body could not be read as its headers declare it (chunked; chunk extensions and trailer "
                    + "fields are not supported)", error.get("detail").asText(), body);
        }
        String sessions = server.get("/events/metrics/sessions").body();
        assertFalse(sessions.contains("smuggled"), "a smuggled request was served");
        assertFalse(sessions.contains("chunked"), "a refused body was applied");
    }

    @Test
    void aChunkSizeWithASignOrAChunkWhoseDataDoesNotEndInCrlfIsA400ThatClosesTheConnectionAndAppliesNothing()
            throws IOException {
        String event = SMUGGLED_EVENT.replace("smuggled", "lenient");
        String head = "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n";
        String size = Integer.toHexString(event.length());
        List<String> bodies = List.of(
                "+" + size + "\r\n" + event + "\r\n0\r\n\r\n",
                size + "\r\n" + event + "XX0\r\n\r\n",                   // two bytes skipped unread as the CRLF
                size + "\r\n" + event + "\r\n+0\r\n\r\n",
                "1\r\n" + event.charAt(0) + "\n\r" + Integer.toHexString(event.length() - 1) + "\r\n"
                        + event.substring(1) + "\r\n0\r\n\r\n");
        for (String body : bodies) {
            malformedBodyAlone(head + body + SMUGGLED);
        }
        String sessions = server.get("/events/metrics/sessions").body();
        assertFalse(sessions.contains("smuggled"), "a smuggled request was served");
        assertFalse(sessions.contains("lenient"), "a malformed chunked body was applied");
        // the control: sizes with leading zeros are hex digits alone, and the body is two requests' worth of bytes
        String received = exchange(head + "00" + size + "\r\n" + event + "\r\n0000\r\n\r\n" + SMUGGLED.replace(
                "smuggled", "after-chunks").replace("Content-Type", "Connection: close\r\nContent-Type"));
        assertTrue(received.startsWith("HTTP/1.1 202 "), HostileSupport.abbreviate(received));
        assertEquals(2, received.split("HTTP/1\\.1 ", -1).length - 1, HostileSupport.abbreviate(received));
    }

    @Test
    void aWellFramedRequestIsFollowedByTheNextOnTheSameConnection() throws IOException {
        // The control: the same bytes, framed once, are two requests on one connection.
        String first = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
        String event = SMUGGLED_EVENT.replace("smuggled", "pipelined");
        String received = exchange(first + "POST /events HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + event.length() + "\r\n\r\n" + event);
        assertEquals(2, received.split("HTTP/1\\.1 ", -1).length - 1, received);
        assertTrue(received.contains("HTTP/1.1 202 "), received);
        assertTrue(server.get("/events/metrics/sessions").body().contains("pipelined"));
    }

    /**
     * Sends {@code request} and asserts that it got one answer, 400 {@code malformed_body}, with the connection
     * closed, so that nothing sent after the body was served; returns the answer's JSON.
     */
    private JsonNode malformedBodyAlone(String request) throws IOException {
        String received = exchange(request);
        String context = HostileSupport.abbreviate(request) + " -> " + HostileSupport.abbreviate(received);
        assertTrue(received.startsWith("HTTP/1.1 400 "), context);
        assertEquals(1, received.split("HTTP/1\\.1 ", -1).length - 1, "exactly one answer: " + context);
        assertTrue(received.toLowerCase().contains("\r\nconnection: close\r\n"), context);
        JsonNode error = TestServer.JSON.readTree(received.substring(received.indexOf("\r\n\r\n") + 4));
        assertEquals("malformed_body", error.get("error").asText(), context);
        return error;
    }
}
