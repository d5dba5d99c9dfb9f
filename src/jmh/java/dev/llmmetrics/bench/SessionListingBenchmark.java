package dev.llmmetrics.bench;

import dev.llmmetrics.session.InMemorySessionStore;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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
 * The in-memory store's session listing, {@code sessionIds(offset, limit)}: what {@code GET
 * /events/metrics/sessions} and the web view's table (the 100 most recent) ask of it, over {@code sessions}
 * sessions (10 000 is the default bound), each last active at its own millisecond, recorded in random order.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class SessionListingBenchmark {

    @Param({"10000"})
    public int sessions;

    @Param({"0"})
    public int offset;

    @Param({"100"})
    public int limit;

    InMemorySessionStore store;

    @Setup(Level.Trial)
    public void setUp() {
        AtomicLong millis = new AtomicLong(Fixtures.T0.toEpochMilli());
        InstantSource clock = () -> Instant.ofEpochMilli(millis.get());
        store = InMemorySessionStore.builder().maxSessions(sessions).maxRecordsPerSession(1_000)
                .idleTimeout(Duration.ofDays(1)).clock(clock).build();
        String[] ids = Fixtures.sessionIds(sessions, 17);
        Random random = new Random(5);
        for (String id : ids) {
            millis.set(Fixtures.T0.toEpochMilli() + random.nextInt(sessions * 10));
            store.record(Fixtures.completed(id, Fixtures.modelOf(0), random));
        }
        if (store.sessionCount() != sessions) {
            throw new IllegalStateException("the store should hold " + sessions + " sessions");
        }
    }

    /** One page of ids, most recently active first. */
    @Benchmark
    public List<String> sessionIds() {
        return store.sessionIds(offset, limit);
    }
}
