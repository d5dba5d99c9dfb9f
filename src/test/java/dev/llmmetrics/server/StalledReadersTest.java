package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Clients that send a request and never read its answer, on the real server: a scrape of a few megabytes fills
 * the socket's buffers and its write blocks. Past the write timeout the connection is closed and its request
 * slot freed; past the scrape cap a further scrape gets 503 at once, so that stalled scrapes hold at most that
 * many scrapes' memory.
 */
class StalledReadersTest {

    private static final String TOKEN = "t";
    /** Small, so that the answer fills it at once; set before connecting, so that the window is small too. */
    private static final int RECEIVE_BUFFER = 4096;

    /**
     * Sessions whose per-session series make a scrape of about 12 MB: 2 000 sessions with 256-character ids, two
     * models of 200 characters each.
     */
    private static void fill(TestServer server) {
        String pad = "x".repeat(256);
        for (int first = 0; first < 2_000; first += 250) {
            StringBuilder batch = new StringBuilder("[");
            for (int s = first; s < first + 250; s++) {
                String session = (s + "-" + pad).substring(0, 256);
                for (int m = 0; m < 2; m++) {
                    String model = (m + "-" + pad).substring(0, 200);
                    batch.append(batch.length() > 1 ? "," : "").append("{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"")
                            .append(session).append("\",\"model\":\"").append(model)
                            .append("\",\"duration_ms\":5,\"prompt_tokens\":1,\"completion_tokens\":2}");
                }
            }
            server.postEvents(batch.append(']').toString(), "x-internal-auth", TOKEN);
        }
    }

    /** Sends {@code GET path} on a connection with a small receive buffer, and never reads. */
    private static Socket stall(int port, String path) throws IOException {
        Socket socket = new Socket();
        socket.setReceiveBufferSize(RECEIVE_BUFFER);
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nx-internal-auth: " + TOKEN + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        return socket;
    }

    /**
     * Reads what the server sent until it closed the connection; {@code null} if it is still open, the answer
     * read whole, after {@code timeoutMs} without a byte.
     */
    private static String readUntilClosed(Socket socket, int timeoutMs) throws IOException {
        socket.setSoTimeout(timeoutMs);
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[64 * 1024];
        try {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                received.write(buffer, 0, n);
            }
        } catch (SocketTimeoutException e) {
            return null;
        } catch (SocketException e) {
            // reset: closed as well
        }
        return received.toString(StandardCharsets.ISO_8859_1);
    }

    private static long scrapeBytes(TestServer server) {
        HttpResponse<String> scrape = server.get("/metrics");
        assertEquals(200, scrape.statusCode());
        return scrape.body().getBytes(StandardCharsets.UTF_8).length;
    }

    @Test
    void aClientThatStopsReadingItsAnswerIsClosedAfterTheWriteTimeoutAndItsRequestSlotFreed() throws Exception {
        try (TestServer server = TestServer.start(Map.of("llm.metrics.auth.token", TOKEN, "http.write.timeout", "PT1S",
                "http.max.concurrent.requests", "3", "http.max.concurrent.scrapes", "3"))) {
            fill(server);
            long size = scrapeBytes(server);
            assertTrue(size > 8_000_000, "a scrape larger than the socket buffers: " + size + " bytes");
            int port = server.running().port();
            List<Socket> stalled = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    stalled.add(stall(port, "/metrics"));
                }
                Thread.sleep(300);
                // The three stalled scrapes hold every request slot.
                assertEquals(503, server.get("/health").statusCode(), "the stalled scrapes hold the slots");
                Thread.sleep(2_500); // past the write timeout, and its sweep
                HttpResponse<String> health = server.get("/health");
                assertEquals(200, health.statusCode(), "a slot is free again: " + health.body());
                HttpResponse<String> events = server.post("/events", "[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"after\","
                        + "\"model\":\"m\",\"duration_ms\":5,\"prompt_tokens\":1,\"completion_tokens\":2}]", "x-internal-auth", TOKEN);
                assertEquals(202, events.statusCode(), events.body());
                for (Socket socket : stalled) {
                    String received = readUntilClosed(socket, 5_000);
                    assertTrue(received != null, "the stalled connection was closed");
                    assertTrue(received.startsWith("HTTP/1.1 200 "), received.substring(0, Math.min(200, received.length())));
                    assertTrue(received.length() < size, "the answer was cut: " + received.length() + " of " + size + " bytes");
                    assertFalse(received.endsWith("\r\n0\r\n\r\n"), "no last chunk");
                }
            } finally {
                for (Socket socket : stalled) {
                    socket.close();
                }
            }
        }
    }

    @Test
    void scrapesPastTheCapGet503AtOnceWhileStalledOnesHoldOnlyTheirShareOfTheHeap() throws Exception {
        try (TestServer server = TestServer.start(Map.of("llm.metrics.auth.token", TOKEN, "http.write.timeout", "PT60S",
                "http.max.concurrent.scrapes", "2"))) {
            fill(server);
            long size = scrapeBytes(server);
            int port = server.running().port();
            long before = usedHeapAfterGc();
            List<Socket> stalled = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    stalled.add(stall(port, "/metrics"));
                }
                Thread.sleep(300);
                long start = System.nanoTime();
                HttpResponse<String> refused = server.get("/metrics");
                long tookMs = (System.nanoTime() - start) / 1_000_000;
                assertEquals(503, refused.statusCode(), refused.body());
                assertEquals("overloaded", TestServer.json(refused).get("error").asText(), refused.body());
                assertEquals("1", refused.headers().firstValue("Retry-After").orElse(""));
                assertTrue(tookMs < 2_000, "refused at once, in " + tookMs + " ms");
                assertEquals(200, server.get("/health").statusCode());
                assertEquals(200, server.get("/events/metrics/sessions?limit=1", "x-internal-auth", TOKEN).statusCode());
                // More clients that stop reading: each is refused, its small answer sent whole.
                List<Socket> more = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    more.add(stall(port, "/metrics"));
                }
                stalled.addAll(more);
                Thread.sleep(1_000);
                long held = usedHeapAfterGc() - before;
                for (Socket socket : more) {
                    socket.setSoTimeout(5_000);
                    HostileSupport.RawResponse answer = HostileSupport.readResponse(socket.getInputStream(), false);
                    assertEquals(503, answer.status(), answer.toString());
                }
                // Two scrapes' worth at most, whatever the number of stalled clients (a scrape of this size holds
                // a few megabytes until written; 22 of them held about 22 times that).
                assertTrue(held < 24L << 20, "the stalled scrapes hold " + held + " bytes of heap");
            } finally {
                for (Socket socket : stalled) {
                    socket.close();
                }
            }
            assertEquals(200, server.get("/metrics").statusCode(), "scrapes are served again once the stalled ones are gone");
        }
    }

    /**
     * The write timeout counts a write that waits for its client, not the proxy's wait for the upstream's next
     * bytes: a stream that pauses three times longer than the timeout between two chunks reaches its client whole.
     */
    @Test
    void aStreamedProxyAnswerThatPausesLongerThanTheWriteTimeoutIsRelayedWhole() {
        try (FakeOpenAi upstream = new FakeOpenAi()) {
            Map<String, String> settings = new java.util.HashMap<>(FakeOpenAi.proxyTo(upstream));
            settings.put("http.write.timeout", "PT0.2S");
            try (TestServer server = TestServer.start(settings)) {
                HttpResponse<String> answer = server.post("/v1/chat/completions",
                        "{\"model\":\"fake-slow\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
                assertEquals(200, answer.statusCode(), answer.body());
                assertTrue(answer.body().endsWith("data: [DONE]\n\n"), answer.body());
                assertEquals(FakeOpenAi.stream("fake-slow", false).split("\n\n").length, answer.body().split("\n\n").length,
                        answer.body());
            }
        }
    }

    /** The heap in use after a full collection, as near as the collector lets one tell. */
    private static long usedHeapAfterGc() throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
            used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return used;
    }
}
