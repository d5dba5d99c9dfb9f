package dev.llmmetrics;

import io.micrometer.core.instrument.Clock;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.locks.LockSupport;

/**
 * A wall clock read from a field that a daemon thread refreshes every millisecond, for the hot path.
 *
 * <p>Micrometer's decaying maximum and histogram rotation read {@link Clock#wallTime()} on every sample,
 * and the store dates each session's activity; none needs more than millisecond precision, and a field read
 * is cheaper than the system clock (docs/benchmarks.md). An opt-in, as the server uses it, since it keeps a
 * daemon thread; the library's default is the system clock. {@link #monotonicTime()} stays precise:
 * Micrometer's {@code Timer.Sample} measures with it.
 *
 * <pre>{@code
 * PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT,
 *         new PrometheusRegistry(), CoarseClock.system());
 * LlmMetrics metrics = LlmMetrics.builder(registry).clock(CoarseClock.system()).build();
 * }</pre>
 */
public final class CoarseClock implements Clock, InstantSource {

    private static final long TICK_NANOS = 1_000_000L;

    private static final class Holder {
        static final CoarseClock SYSTEM = new CoarseClock();
    }

    private volatile long wallMillis = System.currentTimeMillis();

    private CoarseClock() {
        Thread.ofPlatform().name("llm-metrics-coarse-clock").daemon(true).start(this::tick);
    }

    /** The process-wide instance; its thread starts on first use and lives as long as the JVM. */
    public static CoarseClock system() {
        return Holder.SYSTEM;
    }

    @Override
    public long wallTime() {
        return wallMillis;
    }

    @Override
    public long millis() {
        return wallMillis;
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(wallMillis);
    }

    @Override
    public long monotonicTime() {
        return System.nanoTime();
    }

    private void tick() {
        while (true) {
            LockSupport.parkNanos(TICK_NANOS);
            wallMillis = System.currentTimeMillis();
        }
    }
}
