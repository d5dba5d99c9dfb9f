package dev.llmmetrics.bench;

import dev.llmmetrics.CoarseClock;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
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
 * One record on a Prometheus-registry meter of the kinds the collector uses, one thread, picked at random
 * among {@code meters} meters of each kind: 1 keeps everything in cache, 1 000 is the per-session meters of
 * 1 000 active sessions (each record then touches memory no other recent record touched): where the
 * per-event cost of {@code RecordingBenchmark.completedExistingSession} goes. {@code buffer1} variants
 * set {@code distributionStatisticBufferLength(1)}: Micrometer's {@code _max} (TimeWindowMax) then updates
 * one slot per record instead of three (the default), at the price of a max over the last expiry window
 * (2 minutes) instead of a sliding one. {@code twoLongAdders} is what a count+sum without max costs
 * (a FunctionTimer or FunctionCounter over our own cells would record that and read it at scrape time).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@State(Scope.Benchmark)
public class MeterRecordBenchmark {

    static final int PICKS = 1 << 14;

    @Param({"1", "1000"})
    public int meters;

    PrometheusMeterRegistry registry;
    Counter[] counter;
    Timer[] timer;
    Timer[] timerBuffer1;
    DistributionSummary[] summarySlo;
    DistributionSummary[] summarySloBuffer1;
    LongAdder[] count;
    LongAdder[] sum;
    int[] picks;
    long[] values;
    int next;

    @Setup(Level.Trial)
    public void setUp() {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT, new io.prometheus.metrics.model.registry.PrometheusRegistry(), dev.llmmetrics.CoarseClock.system());
        double[] buckets = new double[14];
        for (int i = 0; i < 14; i++) {
            buckets[i] = Math.pow(4, i);
        }
        counter = new Counter[meters];
        timer = new Timer[meters];
        timerBuffer1 = new Timer[meters];
        summarySlo = new DistributionSummary[meters];
        summarySloBuffer1 = new DistributionSummary[meters];
        count = new LongAdder[meters];
        sum = new LongAdder[meters];
        for (int m = 0; m < meters; m++) {
            String i = Integer.toString(m);
            counter[m] = Counter.builder("c").tag("i", i).register(registry);
            timer[m] = Timer.builder("t").tags("k", "default", "i", i).register(registry);
            timerBuffer1[m] = Timer.builder("t").tags("k", "buffer1", "i", i).distributionStatisticBufferLength(1)
                    .register(registry);
            summarySlo[m] = DistributionSummary.builder("s").tags("k", "default", "i", i).serviceLevelObjectives(buckets)
                    .register(registry);
            summarySloBuffer1[m] = DistributionSummary.builder("s").tags("k", "buffer1", "i", i)
                    .serviceLevelObjectives(buckets).distributionStatisticBufferLength(1).register(registry);
            count[m] = new LongAdder();
            sum[m] = new LongAdder();
        }
        Random random = new Random(1);
        picks = new int[PICKS];
        values = new long[PICKS];
        for (int k = 0; k < PICKS; k++) {
            picks[k] = random.nextInt(meters);
            values[k] = 50 + random.nextInt(4_000);
        }
    }

    @Benchmark
    public void counterIncrement() {
        int k = next++ & (PICKS - 1);
        counter[picks[k]].increment();
    }

    @Benchmark
    public void timerRecord() {
        int k = next++ & (PICKS - 1);
        timer[picks[k]].record(values[k], TimeUnit.MILLISECONDS);
    }

    @Benchmark
    public void timerRecordBuffer1() {
        int k = next++ & (PICKS - 1);
        timerBuffer1[picks[k]].record(values[k], TimeUnit.MILLISECONDS);
    }

    @Benchmark
    public void summaryWithSloRecord() {
        int k = next++ & (PICKS - 1);
        summarySlo[picks[k]].record(values[k]);
    }

    @Benchmark
    public void summaryWithSloRecordBuffer1() {
        int k = next++ & (PICKS - 1);
        summarySloBuffer1[picks[k]].record(values[k]);
    }

    @Benchmark
    public void twoLongAdders() {
        int k = next++ & (PICKS - 1);
        int m = picks[k];
        count[m].increment();
        sum[m].add(values[k]);
    }
}
