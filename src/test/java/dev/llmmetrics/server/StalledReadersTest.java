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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
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
    /** How a chunked answer ends: its last data chunk's line end and the last chunk. */
    private static final String LAST_CHUNK = "\r\n0\r\n\r\n";

    /**
     * Sessions whose per-session series make a scrape of about 21 MB: 2 000 sessions with 256-character ids, two
     * models of 200 characters each.
     */
    private static void fill(TestServer server) {
        fill(server, 2_000);
    }

    /** {@code sessions} sessions as {@link #fill(TestServer)} makes them, a multiple of 250: about 10 KB of scrape each. */
    private static void fill(TestServer server, int sessions) {
        String pad = "x".repeat(256);
        for (int first = 0; first < sessions; first += 250) {
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

    /**
     * A client reading a large scrape steadily, at one and a half times the least pace the write timeout guarantees
     * ({@link HttpApi#PROGRESS_BYTES} per timeout: about 295 KB/s at 2 s), reads it whole; one that reads a part and
     * then stops is cut. Both sockets keep the buffer sizes the kernel gives them, as curl's do.
     */
    @Test
    void aClientReadingALargeAnswerSteadilyAtTheGuaranteedPaceReadsItWholeAndOneThatStopsIsCut() throws Exception {
        Duration timeout = Duration.ofSeconds(2);
        try (TestServer server = TestServer.start(Map.of("llm.metrics.auth.token", TOKEN, "http.write.timeout", timeout.toString()))) {
            fill(server, 1_000);
            long size = scrapeBytes(server);
            long pace = HttpApi.PROGRESS_BYTES * 3L / 2 * 1000 / timeout.toMillis(); // bytes a second
            int port = server.running().port();
            try (Socket steady = request(port, "/metrics"); Socket stopping = request(port, "/metrics")) {
                byte[] start = new byte[256 * 1024];
                stopping.setSoTimeout(10_000);
                stopping.getInputStream().readNBytes(start, 0, start.length); // then it reads nothing more

                Paced steadily = readPaced(steady, pace);
                String text = new String(steadily.bytes(), StandardCharsets.ISO_8859_1);
                assertTrue(steadily.failure() == null && text.endsWith(LAST_CHUNK), "the steady reader got "
                        + steadily.bytes().length + " of about " + size + " bytes in " + steadily.seconds() + " s ("
                        + (steadily.failure() == null ? "closed" : steadily.failure()) + ")");
                assertTrue(text.startsWith("HTTP/1.1 200 "), text.substring(0, Math.min(200, text.length())));
                assertTrue(text.length() > size, text.length() + " bytes, the scrape's " + size + " and the framing");

                String rest = readUntilClosed(stopping, 10_000);
                assertTrue(rest != null, "the stopped reader's connection was closed");
                assertTrue(start.length + rest.length() < size, "the stopped reader's answer was cut: "
                        + (start.length + rest.length()) + " of " + size + " bytes");
            }
        }
    }

    /**
     * A kept session JSON of nearly a megabyte (the largest kept, {@link SessionService#RENDERED_BYTES_EACH}, sent again
     * from memory) goes out in pieces too, so a client reading it steadily at the pace the write timeout guarantees
     * reads it whole: sent as one write, the client would have to read all of it within the timeout.
     */
    @Test
    void aKeptSessionOfNearlyAMegabyteReadSteadilyAtTheGuaranteedPaceIsReadWhole() throws Exception {
        Duration timeout = Duration.ofSeconds(2);
        try (TestServer server = TestServer.start(Map.of("llm.metrics.auth.token", TOKEN, "http.write.timeout", timeout.toString()))) {
            String error = "x".repeat(1_000); // a store keeps 1 024 characters of an error
            for (int batch = 0; batch < 2; batch++) {
                StringBuilder events = new StringBuilder("[");
                for (int i = 0; i < 350; i++) {
                    events.append(i == 0 ? "" : ",").append("{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":\"large\",")
                            .append("\"model\":\"m\",\"duration_ms\":5,\"error\":\"").append(error).append("\"}");
                }
                server.postEvents(events.append(']').toString(), "x-internal-auth", TOKEN);
            }
            HttpResponse<String> first = server.get("/events/metrics/session/large", "x-internal-auth", TOKEN);
            assertEquals(200, first.statusCode(), first.body());
            assertTrue(first.headers().firstValue("ETag").isPresent(), "a session the store tags, so its JSON is kept");
            int length = first.body().getBytes(StandardCharsets.UTF_8).length;
            assertTrue(length > 900_000 && length <= SessionService.RENDERED_BYTES_EACH, length + " bytes, kept whole");
            long pace = HttpApi.PROGRESS_BYTES * 3L / 2 * 1000 / timeout.toMillis();
            try (Socket socket = request(server.running().port(), "/events/metrics/session/large")) {
                Paced read = readPaced(socket, pace);
                String text = new String(read.bytes(), StandardCharsets.UTF_8);
                int body = text.indexOf("\r\n\r\n") + 4;
                assertTrue(read.failure() == null && body > 4 && text.length() - body == length, "the reader got "
                        + read.bytes().length + " bytes of a " + length + "-byte session in " + read.seconds() + " s ("
                        + (read.failure() == null ? "closed" : read.failure()) + ")");
                assertTrue(text.startsWith("HTTP/1.1 200 "), text.substring(0, Math.min(200, text.length())));
                assertEquals(first.body(), text.substring(body));
            }
        }
    }

    /**
     * Sends {@code GET path} on a connection with the kernel's own buffer sizes, asking the server to close it after
     * the answer.
     */
    private static Socket request(int port, String path) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                + "x-internal-auth: " + TOKEN + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        return socket;
    }

    /** What a paced reader read until the connection ended, and how it ended: {@code null} at its end, else the failure. */
    private record Paced(byte[] bytes, double seconds, @Nullable String failure) {
    }

    /**
     * Reads {@code socket} until the server closes it, at {@code pace} bytes a second: after each read it sleeps until
     * the time at which the pace would have read what was read, so that a late wake-up is made up for, as a client
     * reading at a steady rate does.
     */
    private static Paced readPaced(Socket socket, long pace) throws IOException, InterruptedException {
        long began = System.nanoTime();
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        socket.setSoTimeout(10_000);
        byte[] buffer = new byte[16 * 1024];
        String failure = null;
        try {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                received.write(buffer, 0, n);
                long wait = began + received.size() * 1_000_000_000L / pace - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
            }
        } catch (IOException e) {
            failure = e.toString(); // reset, or nothing for 10 s
        }
        return new Paced(received.toByteArray(), (System.nanoTime() - began) / 1e9, failure);
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
