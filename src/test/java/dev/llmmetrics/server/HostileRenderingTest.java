package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A session within every documented bound (records, attributes, store.max.bytes) read back through the API:
 * the store holds it, and answering it, many clients at once, must not take the server past its heap: each
 * answer is written as it is rendered. A heap of 256 MiB (-Xmx256m) and a store.max.bytes of 64 MiB, which the
 * session's 240 records at the attributes' bounds fit, counted in memory or in SQLite's pages; in memory
 * and in an SQLite file.
 */
class HostileRenderingTest {

    private static final long STORE_BYTES = 64L << 20;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "store.backend={0}")
    @ValueSource(strings = {"memory", "sqlite"})
    void concurrentReadsOfOneSessionWithinItsBoundsAreWholeAnswersNever500(String backend) throws Exception {
        List<String> env = new ArrayList<>(List.of("STORE_MAX_BYTES", String.valueOf(STORE_BYTES), "STORE_BACKEND", backend));
        if (backend.equals("sqlite")) {
            env.addAll(List.of("STORE_SQLITE_PATH", dir.resolve("sessions.db").toString()));
        }
        try (ChildServer server = ChildServer.mainWithJvmArgs(List.of("-Xmx256m", "--enable-native-access=ALL-UNNAMED"),
                env.toArray(String[]::new))) {
            HttpClient client = HttpClient.newHttpClient();
            // Attributes near their limits (limits.md): 64 per record, keys of 254 CJK characters, values of 1 020.
            StringBuilder attributes = new StringBuilder("{");
            for (int i = 0; i < 64; i++) {
                attributes.append(i == 0 ? "" : ",").append('"').append(String.format("k%03d", i))
                        .append("\u4e01".repeat(250)).append("\":\"").append("\u4e00".repeat(1_020)).append('"');
            }
            String attrs = attributes.append('}').toString();
            for (int r = 0; r < 60; r++) {
                StringBuilder batch = new StringBuilder("[");
                for (int j = 0; j < 4; j++) {
                    int k = r * 4 + j;
                    batch.append(j == 0 ? "" : ",").append("{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"big\",")
                            .append("\"model\":\"m\",\"duration_ms\":1,\"correlation_id\":\"c").append(k)
                            .append("\",\"attributes\":").append(attrs).append('}');
                }
                HttpResponse<String> posted = client.send(HttpRequest.newBuilder(URI.create(server.base() + "/events"))
                        .POST(HttpRequest.BodyPublishers.ofString(batch.append(']').toString())).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(202, posted.statusCode(), posted.body());
            }
            HttpRequest read = HttpRequest.newBuilder(URI.create(server.base() + "/events/metrics/session/big")).build();
            List<Integer> statuses = new ArrayList<>();
            Set<Integer> lengths = new HashSet<>();
            byte[] one = null;
            try (ExecutorService pool = Executors.newFixedThreadPool(6)) {
                for (int round = 0; round < 3; round++) {
                    List<Future<HttpResponse<byte[]>>> reads = new ArrayList<>();
                    for (int i = 0; i < 6; i++) {
                        reads.add(pool.submit(() -> client.send(read, HttpResponse.BodyHandlers.ofByteArray())));
                    }
                    for (Future<HttpResponse<byte[]>> f : reads) {
                        HttpResponse<byte[]> answer = f.get();
                        statuses.add(answer.statusCode());
                        lengths.add(answer.body().length);
                        one = answer.body();
                    }
                }
            }
            System.out.println("statuses of 18 concurrent reads: " + statuses);
            assertTrue(statuses.stream().allMatch(s -> s == 200),
                    "every read of a session the store holds within its bounds is 200, got " + statuses
                            + "; server log:\n" + server.log().lines().filter(l -> l.contains("OutOfMemoryError")
                                    || l.contains("SEVERE")).limit(6).reduce("", (a, b) -> a + b + "\n"));
            assertEquals(1, lengths.size(), "every read gives the whole answer: " + lengths);
            JsonNode session = TestServer.JSON.readTree(one);
            assertEquals(240, session.get("total_requests").asInt());
            assertEquals(240, session.get("requests").size());
            assertEquals(64, session.get("requests").get(239).get("attributes").size());
        }
    }
}
