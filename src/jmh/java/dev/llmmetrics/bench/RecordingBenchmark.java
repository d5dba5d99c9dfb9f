package dev.llmmetrics.bench;

import dev.llmmetrics.CoarseClock;
import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.LlmMetricsConfig;
import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestStarted;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * Cost of recording one event: published on the {@link EventBus}, recorded by the session store (the bus's
 * recorder) and delivered to the per-model Micrometer meters (a {@link PrometheusMeterRegistry}, as the
 * server uses), against three peers on the same pre-built events: the {@link LongAdderFloor}, a
 * {@link NaiveMicrometerRecorder} and an {@link OpenTelemetryRecorder}.
 *
 * <p>State: {@value #SESSIONS} live sessions across five models, each with {@value #RECORDS_PER_SESSION}
 * requests, under the default bounds (10 000 sessions in the store). The existing-session benchmarks rotate
 * over {@code hotSessions} (1 000) sessions, the most recently active, as on a busy server; the events are
 * built in setup (random session among the hot ones, random numbers) so that only publish and apply are
 * measured. {@code firstEventOfNewSession} publishes a COMPLETED event for a session the store does not
 * know: it creates the session and its first (session, model) pair and, amortised, pays for evicting the
 * least recently active sessions (the store is full in steady state).
 *
 * <p>{@code clock=system} is the library's default (system clocks); {@code clock=coarse} the server's
 * configuration ({@code CoarseClock} for the library and the registry). Run with {@code -t 1} and
 * {@code -t 2}; add {@code -prof gc} for the bytes allocated per operation. {@code -p requestLog=INFO} shows
 * the cost of the per-request log lines (logger {@code dev.llmmetrics.requests}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@State(Scope.Benchmark)
public class RecordingBenchmark {

    static final int SESSIONS = 10_000;
    static final int RECORDS_PER_SESSION = 10;
    /** Pre-built events per kind; a power of two. */
    static final int EVENTS = 1 << 14;
    static final int MASK = EVENTS - 1;
    /** Fresh-session events per thread; more than the store holds, so a recycled id is long evicted. */
    static final int NEW_SESSION_EVENTS = 1 << 16;

    /** Level of the {@code dev.llmmetrics.requests} logger: WARNING (silent) or INFO (the lines written). */
    @Param({"WARNING"})
    public String requestLog;

    /**
     * How many sessions (the most recently active) the existing-session events rotate over, at random. 1 000
     * is a busy server; 100 keeps the touched state in the CPU caches. At most 2 000, the default number of
     * sessions with per-session series, which the naive and OpenTelemetry peers hold.
     */
    @Param({"1000"})
    public int hotSessions;

    /**
     * Records kept per session ({@code store.max.records}), 1 000 by default, as the server runs. Each completed
     * event writes one into its session's ring; at that bound the hot sessions' rings do not fit in the CPU
     * caches, so the write misses. A small bound shows the cost of the figures without that miss.
     */
    @Param({"1000"})
    public int maxRecords;

    /**
     * The clocks: {@code system}, the library's default ({@code InstantSource.system()} for the library,
     * Micrometer's {@code Clock.SYSTEM} for the registry), or {@code coarse}, the server's configuration
     * ({@code CoarseClock.system()} for both, as {@code server.Main} wires them).
     */
    @Param({"system", "coarse"})
    public String clock;

    PrometheusMeterRegistry registry;
    LlmMetrics metrics;
    EventBus bus;
    String[] sessionIds;
    /** Completed and started events of the hot sessions, and for each its hot-session and model index. */
    LlmRequestCompleted[] completed;
    LlmRequestStarted[] started;
    int[] hotIndex;
    int[] modelIndex;

    @Setup(Level.Trial)
    public void setUp() {
        Fixtures.requestLog(requestLog);
        registry = registry(clock);
        LlmMetrics.Builder builder = LlmMetrics.builder(registry)
                .config(LlmMetricsConfig.builder().maxRecordsPerSession(maxRecords).build());
        if (clock.equals("coarse")) {
            builder.clock(CoarseClock.system());
        }
        metrics = builder.build();
        bus = metrics.bus();
        sessionIds = Fixtures.sessionIds(SESSIONS, 42);
        Random random = new Random(7);
        // Oldest first: the hot sessions (the last hotSessions ids) end up the most recently active.
        for (int r = 0; r < RECORDS_PER_SESSION; r++) {
            for (int i = 0; i < SESSIONS; i++) {
                String model = Fixtures.modelOf(i);
                bus.publish(Fixtures.started(sessionIds[i], model, random));
                bus.publish(Fixtures.completed(sessionIds[i], model, random));
            }
        }
        completed = new LlmRequestCompleted[EVENTS];
        started = new LlmRequestStarted[EVENTS];
        hotIndex = new int[EVENTS];
        modelIndex = new int[EVENTS];
        check(hotSessions >= 1 && hotSessions <= 2_000, "hotSessions must be 1 to 2000");
        for (int k = 0; k < EVENTS; k++) {
            int h = random.nextInt(hotSessions);
            int i = SESSIONS - hotSessions + h;
            hotIndex[k] = h;
            modelIndex[k] = Math.floorMod(i, Fixtures.MODELS.length);
            completed[k] = Fixtures.completed(sessionIds[i], Fixtures.modelOf(i), random);
            started[k] = Fixtures.started(sessionIds[i], Fixtures.modelOf(i), random);
        }
        check(metrics.store().sessionCount() == SESSIONS, "store should hold " + SESSIONS + " sessions");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        metrics.close();
        registry.close();
    }

    /** Each thread's position in the event arrays; threads start far apart. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;

        @Setup(Level.Trial)
        public void setUp(ThreadParams thread) {
            next = thread.getThreadIndex() * (EVENTS / 2 + 7);
        }
    }

    /** Per thread, COMPLETED events of sessions nobody has seen (ids prefixed by the thread index). */
    @State(Scope.Thread)
    public static class NewSessions {
        LlmRequestCompleted[] events;
        int next;

        @Setup(Level.Trial)
        public void setUp(ThreadParams thread) {
            Random random = new Random(1_000 + thread.getThreadIndex());
            String[] ids = Fixtures.sessionIds(NEW_SESSION_EVENTS, 99 + thread.getThreadIndex());
            events = new LlmRequestCompleted[NEW_SESSION_EVENTS];
            for (int k = 0; k < NEW_SESSION_EVENTS; k++) {
                events[k] = Fixtures.completed(thread.getThreadIndex() + "-" + ids[k], Fixtures.modelOf(k), random);
            }
        }
    }

    /** The floor's cells, one row per hot session. */
    @State(Scope.Benchmark)
    public static class Floor {
        LongAdderFloor floor;

        @Setup(Level.Trial)
        public void setUp(RecordingBenchmark b) {
            floor = new LongAdderFloor(b.hotSessions, Fixtures.MODELS.length);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            check(floor.sum() > 0, "the floor recorded nothing");
        }
    }

    /** The naive peer, on its own registry holding the same 2 000 metered sessions' meters as ours. */
    @State(Scope.Benchmark)
    public static class Naive {
        PrometheusMeterRegistry registry;
        NaiveMicrometerRecorder recorder;

        @Setup(Level.Trial)
        public void setUp(RecordingBenchmark b) {
            registry = registry(b.clock);
            recorder = new NaiveMicrometerRecorder(registry);
            Random random = new Random(11);
            for (int i = SESSIONS - 2_000; i < SESSIONS; i++) {
                recorder.completed(Fixtures.completed(b.sessionIds[i], Fixtures.modelOf(i), random));
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            registry.close();
        }
    }

    /** The OpenTelemetry peer, holding the same 2 000 sessions' series. */
    @State(Scope.Benchmark)
    public static class Otel {
        OpenTelemetryRecorder recorder;

        @Setup(Level.Trial)
        public void setUp(RecordingBenchmark b) {
            recorder = new OpenTelemetryRecorder();
            Random random = new Random(11);
            for (int i = SESSIONS - 2_000; i < SESSIONS; i++) {
                recorder.completed(Fixtures.completed(b.sessionIds[i], Fixtures.modelOf(i), random));
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            check(!recorder.collect().isEmpty(), "the OpenTelemetry reader collected nothing");
            recorder.close();
        }
    }

    /** Ours: a COMPLETED event of an existing, metered session. */
    @Benchmark
    public void completedExistingSession(Cursor c) {
        bus.publish(completed[c.next++ & MASK]);
    }

    /** Ours: a STARTED event of an existing session (per-model in-flight, messages, tools; store touch). */
    @Benchmark
    public void startedExistingSession(Cursor c) {
        bus.publish(started[c.next++ & MASK]);
    }

    /** Ours: the first event of a new session, a COMPLETED one (creates the session and its pair). */
    @Benchmark
    public void firstEventOfNewSession(NewSessions s) {
        bus.publish(s.events[s.next++ & (NEW_SESSION_EVENTS - 1)]);
    }

    /** Floor: {@value LongAdderFloor#UPDATES} LongAdder updates for the same COMPLETED events. */
    @Benchmark
    public void longAdderFloor(Floor f, Cursor c) {
        int k = c.next++ & MASK;
        f.floor.completed(completed[k], hotIndex[k], modelIndex[k]);
    }

    /** Peer: the same meters through the builders and register(..) on every event. */
    @Benchmark
    public void naiveMicrometer(Naive n, Cursor c) {
        n.recorder.completed(completed[c.next++ & MASK]);
    }

    /** Peer: OpenTelemetry SDK GenAI histograms with the same attributes. */
    @Benchmark
    public void openTelemetry(Otel o, Cursor c) {
        o.recorder.completed(completed[c.next++ & MASK]);
    }

    /** A Prometheus registry on the system clock ({@code system}) or on the server's coarse clock ({@code coarse}). */
    static PrometheusMeterRegistry registry(String clock) {
        return switch (clock) {
            case "system" -> new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            case "coarse" -> new PrometheusMeterRegistry(PrometheusConfig.DEFAULT, new PrometheusRegistry(),
                    CoarseClock.system());
            default -> throw new IllegalArgumentException("clock must be system or coarse: " + clock);
        };
    }

    static void check(boolean condition, String message) {
        if (!condition) {
            throw new IllegalStateException(message);
        }
    }
}
