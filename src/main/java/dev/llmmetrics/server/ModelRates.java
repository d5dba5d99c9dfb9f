package dev.llmmetrics.server;

import dev.llmmetrics.meter.MeterNames;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBucket;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Per-model rates over a recent window (requests per second, error ratio, p50 and p95 latency, tokens per
 * second), computed from the per-model meters the way Prometheus's {@code rate()} and
 * {@code histogram_quantile()} would compute them from the scrape.
 *
 * <p>Every {@link #PERIOD} a daemon thread snapshots each model's cumulative meters into a ring covering
 * {@link #MAX_WINDOW}. An answer compares a snapshot taken at that moment with the oldest sample of the
 * window: the differences are what happened in between. The figures are read from the registry's scrape, as
 * Prometheus reads them: {@code llm_requests}, {@code llm_tokens} and the latency histogram
 * {@code llm_request_duration_seconds}, both outcomes together, as the Grafana dashboards read it.
 *
 * <p>The Prometheus registry keeps cumulative bucket counts since start, which the differences rely on. The
 * requests in flight are the session store's count at the answer, not a difference: a model with requests in
 * flight and no meters in this process (started through another replica sharing the store) is listed too.
 */
final class ModelRates implements AutoCloseable {

    /** How often the meters are sampled. */
    static final Duration PERIOD = Duration.ofSeconds(5);

    /** The longest window an answer covers. */
    static final Duration MAX_WINDOW = Duration.ofMinutes(5);

    /** The shortest window an answer covers: two sampling periods. */
    static final Duration MIN_WINDOW = PERIOD.multipliedBy(2);

    private static final Logger LOG = System.getLogger(ModelRates.class.getName());

    /** The latency histogram's family, as the scrape names it. */
    private static final String DURATION = "llm_request_duration_seconds";

    /** The families read, as the scrape names them: requests by outcome, latency, tokens. */
    private static final Set<String> FAMILIES = Set.of("llm_requests", DURATION, "llm_tokens");

    /** Samples kept: enough that the oldest is at least {@link #MAX_WINDOW} old. */
    private static final int CAPACITY = (int) (MAX_WINDOW.toNanos() / PERIOD.toNanos()) + 2;

    private final PrometheusMeterRegistry registry;
    private final LongSupplier nanoTime;
    private final Supplier<Map<String, Long>> inFlight;
    private final ArrayDeque<Sample> samples = new ArrayDeque<>(CAPACITY);
    private volatile double[] sharedBounds = new double[0];
    private ScheduledExecutorService sampler;

    /**
     * @param registry the registry holding the per-model meters
     * @param nanoTime a monotonic clock in nanoseconds ({@code System::nanoTime} in the server)
     * @param inFlight the requests in flight of every model label that has some (the session store's)
     */
    ModelRates(PrometheusMeterRegistry registry, LongSupplier nanoTime, Supplier<Map<String, Long>> inFlight) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
        this.inFlight = Objects.requireNonNull(inFlight, "inFlight");
    }

    /** Takes a first sample now and starts sampling every {@link #PERIOD} on a daemon thread. */
    synchronized void start() {
        if (sampler != null) {
            throw new IllegalStateException("already started");
        }
        sample(); // on the caller's thread: whatever happens after start() is inside every window
        sampler = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("llm-metrics-model-sampler").daemon(true).factory());
        sampler.scheduleAtFixedRate(this::sampleQuietly, PERIOD.toMillis(), PERIOD.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Stops sampling. */
    @Override
    public synchronized void close() {
        if (sampler != null) {
            sampler.shutdownNow();
        }
    }

    /** Snapshots the meters into the ring, dropping the oldest sample once it is full. */
    void sample() {
        Sample sample = snapshot();
        synchronized (samples) {
            if (samples.size() == CAPACITY) {
                samples.removeFirst();
            }
            samples.addLast(sample);
        }
    }

    private void sampleQuietly() {
        try {
            sample();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Sampling the model meters failed; trying again at the next period", e);
        }
    }

    /**
     * The rates of every model over the last {@code window}: from the oldest sample no older than the
     * window (or, when none is, the newest sample) to now. Before any sample, every rate is {@code null}.
     */
    Window rates(Duration window) {
        Sample now = snapshot();
        Map<String, Long> flying = inFlight.get();
        Sample base = base(now.nanos, window);
        double seconds = base == null ? 0 : (now.nanos - base.nanos) / 1e9;
        TreeMap<String, Rate> models = new TreeMap<>();
        for (Map.Entry<String, Counts> e : now.models.entrySet()) {
            Counts then = base == null ? null : base.models.getOrDefault(e.getKey(), Counts.ZERO);
            models.put(e.getKey(), rate(e.getKey(), e.getValue(), then, seconds, flying.getOrDefault(e.getKey(), 0L)));
        }
        // A model with requests in flight and no meters here had no request through this process in the window.
        flying.forEach((model, count) -> models.computeIfAbsent(model,
                m -> rate(m, Counts.ZERO, base == null ? null : Counts.ZERO, seconds, count)));
        return new Window(window.toSeconds(), round(seconds, 3), new ArrayList<>(models.values()));
    }

    private Sample base(long nowNanos, Duration window) {
        long windowNanos = window.toNanos();
        Sample older = null;
        synchronized (samples) {
            for (Sample s : samples) { // oldest first
                long age = nowNanos - s.nanos;
                if (age > 0 && age <= windowNanos) {
                    return s;
                }
                if (age > 0) {
                    older = s;
                }
            }
        }
        return older;
    }

    private static Rate rate(String model, Counts now, Counts then, double seconds, long inFlight) {
        if (then == null || seconds <= 0) {
            return new Rate(model, null, null, null, null, null, null, null, null, inFlight);
        }
        long successes = Math.max(0, now.successes - then.successes);
        long failures = Math.max(0, now.failures - then.failures);
        long requests = successes + failures;
        long tokens = Math.max(0, Math.round(now.tokens - then.tokens));
        double[] bounds = now.bounds;
        long[] buckets = new long[bounds.length];
        for (int i = 0; i < bounds.length; i++) {
            buckets[i] = Math.max(0, now.buckets[i] - then.bucket(bounds[i]));
        }
        long observed = Math.max(0, now.durations - then.durations);
        Double p50 = quantile(0.5, bounds, buckets, observed);
        Double p95 = quantile(0.95, bounds, buckets, observed);
        return new Rate(model, requests, failures, round(requests / seconds, 3),
                requests == 0 ? null : round((double) failures / requests, 4),
                p50 == null ? null : round(p50 * 1000, 1), p95 == null ? null : round(p95 * 1000, 1),
                tokens, round(tokens / seconds, 2), inFlight);
    }

    /**
     * The {@code q}-quantile of a histogram, as Prometheus's {@code histogram_quantile} computes it: find
     * the bucket holding the rank {@code q * count} and interpolate linearly inside it, from the previous
     * bound (0 for the first bucket) to its own. A rank in the open-ended bucket above the last bound
     * answers the last bound.
     *
     * @param bounds     the buckets' upper bounds, increasing
     * @param cumulative observations at or below each bound (made non-decreasing here, as Prometheus does)
     * @param count      all observations, those above the last bound included
     * @return the quantile, or {@code null} without observations
     */
    static Double quantile(double q, double[] bounds, long[] cumulative, long count) {
        if (q < 0 || q > 1) {
            throw new IllegalArgumentException("q must be between 0 and 1, was " + q);
        }
        if (bounds.length != cumulative.length) {
            throw new IllegalArgumentException("one count per bound");
        }
        long[] counts = cumulative.clone();
        for (int i = 1; i < counts.length; i++) {
            counts[i] = Math.max(counts[i], counts[i - 1]);
        }
        long total = Math.max(count, counts.length == 0 ? 0 : counts[counts.length - 1]);
        if (total == 0) {
            return null;
        }
        double rank = q * total;
        for (int i = 0; i < bounds.length; i++) {
            if (counts[i] >= rank && counts[i] > 0) {
                long below = i == 0 ? 0 : counts[i - 1];
                double lower = i == 0 ? 0 : bounds[i - 1];
                return lower + (bounds[i] - lower) * ((rank - below) / (counts[i] - below));
            }
        }
        return bounds.length == 0 ? null : bounds[bounds.length - 1];
    }

    private Sample snapshot() {
        Map<String, MutableCounts> models = new TreeMap<>();
        long nanos = nanoTime.getAsLong();
        for (MetricSnapshot family : registry.getPrometheusRegistry().scrape(FAMILIES::contains)) {
            read(family, models);
        }
        Map<String, Counts> frozen = new TreeMap<>();
        for (Map.Entry<String, MutableCounts> e : models.entrySet()) {
            Counts counts = e.getValue().freeze(sharedBounds);
            sharedBounds = counts.bounds; // every model has the same buckets: one array for all samples
            frozen.put(e.getKey(), counts);
        }
        return new Sample(nanos, frozen);
    }

    private static void read(MetricSnapshot family, Map<String, MutableCounts> models) {
        for (DataPointSnapshot point : family.getDataPoints()) {
            String model = point.getLabels().get(MeterNames.TAG_MODEL);
            if (model == null) {
                continue;
            }
            MutableCounts m = models.computeIfAbsent(model, k -> new MutableCounts());
            switch (point) {
                case CounterDataPointSnapshot requests -> {
                    if (MeterNames.OUTCOME_FAILURE.equals(point.getLabels().get(MeterNames.TAG_OUTCOME))) {
                        m.failures += (long) requests.getValue();
                    } else {
                        m.successes += (long) requests.getValue();
                    }
                }
                case HistogramDataPointSnapshot histogram when family.getMetadata().getName().equals(DURATION) ->
                        m.addDurations(histogram);
                case HistogramDataPointSnapshot tokens -> m.tokens += tokens.getSum();
                default -> {
                    // Not a sample this view reads.
                }
            }
        }
    }

    private static double round(double value, int decimals) {
        double scale = Math.pow(10, decimals);
        return Math.round(value * scale) / scale;
    }

    /**
     * The answer of {@code GET /events/metrics/models}.
     *
     * @param windowSeconds  the window asked for
     * @param coveredSeconds the time the rates actually cover (0 before the first sample)
     * @param models         one entry per model label, in label order
     */
    record Window(long windowSeconds, double coveredSeconds, List<Rate> models) {
        Window {
            models = List.copyOf(models);
        }
    }

    /**
     * One model over the window; every field but {@code model} and {@code inFlight} is {@code null} when
     * nothing covers it yet, and the error ratio and latencies are {@code null} without requests.
     *
     * @param model             the model label
     * @param requests          requests finished in the window
     * @param failedRequests    of which failed
     * @param requestsPerSecond finished requests per second
     * @param errorRatio        failed over finished, 0 to 1
     * @param p50LatencyMs      median duration, milliseconds (interpolated inside the GenAI buckets)
     * @param p95LatencyMs      95th percentile duration, milliseconds
     * @param tokens            prompt and completion tokens of the completed requests in the window
     * @param tokensPerSecond   those tokens per second
     * @param inFlight          requests in flight now
     */
    record Rate(String model, Long requests, Long failedRequests, Double requestsPerSecond, Double errorRatio,
                Double p50LatencyMs, Double p95LatencyMs, Long tokens, Double tokensPerSecond, long inFlight) {
        Rate {
            Objects.requireNonNull(model, "model");
        }
    }

    /** The meters of every model at one instant. */
    private record Sample(long nanos, Map<String, Counts> models) {
    }

    /**
     * One model's cumulative figures at one instant: latency bucket counts at each bound (seconds), both
     * outcomes summed, with {@code durations} the number of latency observations.
     */
    private record Counts(long successes, long failures, double tokens, long durations, double[] bounds,
                          long[] buckets) {

        static final Counts ZERO = new Counts(0, 0, 0, 0, new double[0], new long[0]);

        long bucket(double bound) {
            int i = Arrays.binarySearch(bounds, bound);
            return i >= 0 ? buckets[i] : 0;
        }
    }

    private static final class MutableCounts {
        long successes;
        long failures;
        double tokens;
        long durations;
        final TreeMap<Double, Long> buckets = new TreeMap<>();

        /** Adds a latency histogram's count and its cumulative count at each finite bound. */
        void addDurations(HistogramDataPointSnapshot histogram) {
            durations += histogram.getCount();
            long cumulative = 0;
            for (ClassicHistogramBucket bucket : histogram.getClassicBuckets()) {
                cumulative += bucket.getCount();
                if (Double.isFinite(bucket.getUpperBound())) {
                    buckets.merge(bucket.getUpperBound(), cumulative, Long::sum);
                }
            }
        }

        /** The figures, with {@code shared} as the bounds when they are equal to them. */
        Counts freeze(double[] shared) {
            double[] bounds = new double[buckets.size()];
            long[] counts = new long[buckets.size()];
            Iterator<Map.Entry<Double, Long>> it = buckets.entrySet().iterator();
            for (int i = 0; it.hasNext(); i++) {
                Map.Entry<Double, Long> e = it.next();
                bounds[i] = e.getKey();
                counts[i] = e.getValue();
            }
            return new Counts(successes, failures, tokens, durations, Arrays.equals(bounds, shared) ? shared : bounds,
                    counts);
        }
    }
}
