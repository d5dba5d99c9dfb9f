package dev.llmmetrics.server;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A JSON answer that fits Helidon's first write buffer goes out with a Content-Length, as {@link Json#send}
 * promises, the first read of a session (rendered as it is written) as much as a read from the kept copy.
 * Found by a hostile review: Jackson flushes once the value is written, and that flush makes Helidon send the
 * headers at once, chunked: every Json.send answer, and since a447ad9 the first read of every session.
 */
class JsonFramingTest {

    private TestServer server;

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void smallJsonAnswersHaveAContentLengthTheFirstTimeToo() {
        server = TestServer.start();
        server.postEvents("[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"framed\",\"model\":\"m\",\"duration_ms\":1}]");
        // Waited for through the list, so that the session itself is read here for the first time.
        await().atMost(Duration.ofSeconds(10)).until(() ->
                TestServer.json(server.get("/events/metrics/sessions")).get("total").asInt() == 1);
        assertFramed(server.get("/events/metrics/session/framed"), "first read of a session");
        assertFramed(server.get("/events/metrics/session/framed"), "second read of a session (kept copy)");
        assertFramed(server.get("/events/metrics/sessions"), "session list");
        assertFramed(server.get("/events/metrics/summaries"), "summaries");
    }

    private static void assertFramed(HttpResponse<String> response, String what) {
        assertEquals(200, response.statusCode(), what + ": " + response.body());
        Optional<String> length = response.headers().firstValue("content-length");
        assertTrue(length.isPresent(), what + " (" + response.body().length() + " bytes) has no Content-Length: "
                + response.headers().map());
        assertEquals(response.body().getBytes(StandardCharsets.UTF_8).length, Long.parseLong(length.get()), what);
    }
}
