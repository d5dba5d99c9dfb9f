package dev.llmmetrics.server;

import dev.llmmetrics.bench.Fixtures;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.session.InMemorySessionStore;
import dev.llmmetrics.session.SessionMetrics;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The work behind {@code GET /events/metrics/session/{id}} without HTTP: the store's snapshot of a session
 * with {@code records} request records, and the snapshot serialized by the server's {@code Json.MAPPER}
 * (in package {@code dev.llmmetrics.server} to reach it). Explains the HTTP run's session-JSON versus
 * bare-route ratio.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class SessionJsonBenchmark {

    @Param({"50"})
    public int records;

    InMemorySessionStore store;
    String id;
    SessionMetrics snapshot;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        store = InMemorySessionStore.builder().maxSessions(10_000).maxRecordsPerSession(1_000).idleTimeout(Duration.ofHours(1)).build();
        id = Fixtures.sessionIds(1, 5)[0];
        Random random = new Random(3);
        for (int i = 0; i < records; i++) {
            if (i % 25 == 24) {
                store.record(LlmRequestFailed.builder(id, "gpt-4o").error("TimeoutException: read timed out")
                        .timestamp(Fixtures.T0).durationMs(30_000L).build());
            } else {
                store.record(Fixtures.completed(id, i % 3 == 0 ? "gpt-4o-mini" : "gpt-4o", random));
            }
        }
        snapshot = store.session(id).orElseThrow();
        System.out.printf("%nsession JSON with %d records: %d bytes%n", records, Json.MAPPER.writeValueAsBytes(snapshot).length);
    }

    /** The consistent snapshot taken under the session's monitor. */
    @Benchmark
    public SessionMetrics snapshot() {
        return store.session(id).orElseThrow();
    }

    /** Serializing a snapshot taken in advance. */
    @Benchmark
    public byte[] serialize() throws Exception {
        return Json.MAPPER.writeValueAsBytes(snapshot);
    }

    /** Both, as the route does. */
    @Benchmark
    public byte[] snapshotAndSerialize() throws Exception {
        return Json.MAPPER.writeValueAsBytes(store.session(id).orElseThrow());
    }
}
