package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A client that resets its connection while the server writes its answer: the server's log says so at most in one
 * line below a warning, with no stack trace, and the server serves on.
 */
class ClientResetTest {

    private final CapturedLog capture = new CapturedLog();
    private final List<LogRecord> logged = capture.records();
    private final Logger root = Logger.getLogger("");
    /** The answers' writer, whose line for a closed client is at FINE (System.Logger's DEBUG). */
    private final Logger answers = Logger.getLogger(Json.class.getName());
    private final TestServer server;

    ClientResetTest() {
        root.addHandler(capture);
        answers.setLevel(Level.FINE);
        server = TestServer.start();
    }

    @AfterEach
    void stop() {
        server.close();
        root.removeHandler(capture);
        answers.setLevel(null);
    }

    @Test
    void aClientResettingItsConnectionDuringALargeSessionAnswerLeavesNoWarningNorStackTrace() throws Exception {
        // A session whose JSON (about 10 MB: 160 records of 64 attributes of 1 000 characters) is far larger than what
        // the sockets buffer, so that the server is still writing it when the client resets its connection.
        StringBuilder attributes = new StringBuilder("{");
        for (int i = 0; i < 64; i++) {
            attributes.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"").append("v".repeat(1_000)).append('"');
        }
        String attrs = attributes.append('}').toString();
        for (int r = 0; r < 40; r++) {
            StringBuilder batch = new StringBuilder("[");
            for (int j = 0; j < 4; j++) {
                batch.append(j == 0 ? "" : ",").append("{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"big\",")
                        .append("\"model\":\"m\",\"duration_ms\":1,\"correlation_id\":\"c").append(r * 4 + j)
                        .append("\",\"attributes\":").append(attrs).append('}');
            }
            HttpResponse<String> posted = server.post("/events", batch.append(']').toString());
            assertEquals(202, posted.statusCode(), posted.body());
        }
        logged.clear();
        for (int i = 0; i < 3; i++) {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", server.running().port()), 5_000);
                socket.setReceiveBufferSize(4096);
                OutputStream out = socket.getOutputStream();
                out.write("GET /events/metrics/session/big HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = socket.getInputStream();
                byte[] start = in.readNBytes(12);
                assertEquals("HTTP/1.1 200", new String(start, StandardCharsets.US_ASCII));
                socket.setSoLinger(true, 0); // closing now sends a reset, with most of the answer unread
            }
        }
        // The server learns of each reset on its next write; then it is done with the connection.
        Thread.sleep(1_500);
        assertEquals(200, server.get("/health").statusCode());
        List<LogRecord> closed = logged.stream().filter(r -> r.getLoggerName().equals(answers.getName())).toList();
        assertEquals(3, closed.size(), "one line for each reset: " + closed.stream().map(LogRecord::getMessage).toList());
        for (LogRecord record : logged) {
            String line = record.getLevel() + " " + record.getLoggerName() + ": " + record.getMessage() + " " + record.getThrown();
            assertTrue(record.getLevel().intValue() < Level.WARNING.intValue(), "logged at warning or above: " + line);
            assertTrue(record.getThrown() == null || record.getLevel().intValue() < Level.INFO.intValue(),
                    "logged with a stack trace: " + line);
        }
    }
}
