package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A declared Content-Length is a claim, not bytes: the server allocates for what arrives. It used to size the
 * body's buffer by the header, so that with {@code ingest.max.body.bytes} at 2147483647 one header got an
 * OutOfMemoryError ("Requested array size exceeds VM limit") and a 500, and a smaller bound let each request
 * claim that many bytes of heap for a body it never sent.
 */
class DeclaredBodyLengthTest {

    @Test
    void aLargeDeclaredLengthWithAFewBytesIsAnsweredAsATruncatedBodyNotA500() throws Exception {
        try (TestServer server = TestServer.start(Map.of("ingest.max.body.bytes", "2147483647"));
                Socket socket = new Socket("127.0.0.1", server.running().port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 2147483647\r\n\r\n{").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            socket.shutdownOutput();
            InputStream in = socket.getInputStream();
            String status = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
            assertTrue(status.startsWith("HTTP/1.1 4"), "a client error, not a 500: " + status);
        }
    }
}
