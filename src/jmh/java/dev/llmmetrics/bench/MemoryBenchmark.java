package dev.llmmetrics.bench;

import com.sun.management.HotSpotDiagnosticMXBean;
import dev.llmmetrics.CoarseClock;
import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.LlmMetricsConfig;
import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.prometheus.SessionSeries;
import dev.llmmetrics.session.InMemorySessionStore;
import dev.llmmetrics.session.PairFigures;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import javax.management.ObjectName;

/**
 * Retained heap after GC: per stored request record, per session in the store, per metered (session,
 * model) with its meters, then a churn run of many distinct sessions under the default bounds.
 *
 * <p>Each figure is a difference of live heap (the total of the JVM's class histogram, taken after a full
 * collection) divided by the count that made it, so it includes every map entry, array slot and string the
 * structure keeps. The churn run reports the live heap and the heap used after {@code System.gc()}. Session ids are 36-character UUID strings made on the fly, as they arrive from
 * producers; model names are fresh {@code String}s per event, as the HTTP ingestion produces them (the
 * in-process tracker passes the caller's constant instead: the "shared model strings" line shows that case).
 *
 * <pre>
 * java -Xmx3g -XX:+UseParallelGC -cp ... dev.llmmetrics.bench.MemoryBenchmark [--sessions 100000]
 *     [--records 64] [--churn 1000000] [--report-every 100000]
 * </pre>
 */
public final class MemoryBenchmark {

    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();
    private static final Duration IDLE = Duration.ofHours(1);

    private MemoryBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int sessions = 100_000;
        int records = 64;
        int churn = 1_000_000;
        int every = 100_000;
        boolean histogram = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--sessions" -> sessions = Integer.parseInt(args[++i]);
                case "--records" -> records = Integer.parseInt(args[++i]);
                case "--churn" -> churn = Integer.parseInt(args[++i]);
                case "--report-every" -> every = Integer.parseInt(args[++i]);
                case "--histogram" -> histogram = true;
                default -> {
                    System.err.println("usage: MemoryBenchmark [--sessions N] [--records R (ring bound, >= 50)]"
                            + " [--churn N (0 skips)] [--report-every N] [--histogram]\n"
                            + "--sessions 0 skips the retained-size figures; --histogram prints the classes whose"
                            + " live bytes grew most between the first and the last churn report");
                    System.exit(2);
                }
            }
        }
        if (records < 50) {
            throw new IllegalArgumentException("--records must be at least 50");
        }
        Fixtures.requestLog("WARNING");
        printJvm();

        if (sessions > 0) {
            System.out.printf("%n== Retained heap with %,d sessions ==%n", sessions);
            warmUp(sessions);
            long storeOnly = perSessionInStore(sessions, false);
            perSessionInStore(sessions, true);
            perRecord(sessions, records, false);
            perRecord(sessions, records, true);
            perMeteredPair(sessions, storeOnly);
        }
        if (churn > 0) {
            churn(churn, every, histogram);
        }
    }

    /**
     * Records the first figure's events into a store thrown away, so that what the JVM makes once (classes
     * loaded, code compiled, the JDK's caches) is not counted per session by the first figure.
     */
    private static void warmUp(int sessions) {
        oneCallPerSession(sessions, false);
    }

    /** A bare store of the default ring bound holding one COMPLETED for each of {@code sessions} sessions. */
    private static InMemorySessionStore oneCallPerSession(int sessions, boolean sharedModels) {
        InMemorySessionStore store = InMemorySessionStore.builder().maxSessions(sessions).maxRecordsPerSession(1_000).idleTimeout(IDLE).build();
        Ids ids = new Ids(1);
        Random random = new Random(3);
        for (int i = 0; i < sessions; i++) {
            store.record(event(ids.next(), i, random, sharedModels));
        }
        check(store.sessionCount() == sessions, "store lost sessions");
        return store;
    }

    /** One COMPLETED per session into a bare store: the session's state, id, map entry and first record. */
    private static long perSessionInStore(int sessions, boolean sharedModels) throws Exception {
        long before = liveBytes();
        InMemorySessionStore store = oneCallPerSession(sessions, sharedModels);
        long after = liveBytes();
        long perSession = (after - before) / sessions;
        System.out.printf("per session in the store (1 record, default ring bound%s): %,d B   [target <= 512 B]%n",
                sharedModels ? ", shared model strings" : "", perSession);
        Reference.reachabilityFence(store);
        return perSession;
    }

    /**
     * Sessions of a store whose ring bound is {@code bound}, grown from 1 to 50 records (the ring's growth as
     * under the default bound of 1 000: capacity 63 at 50 records) and then to the bound (capacity = bound);
     * {@code priced}: every model has a price, so every record has a cost, as with a price table.
     */
    private static void perRecord(int sessions, int bound, boolean priced) throws Exception {
        InMemorySessionStore.Builder builder = InMemorySessionStore.builder().maxSessions(sessions)
                .maxRecordsPerSession(bound).idleTimeout(IDLE);
        if (priced) {
            PriceTable.Builder prices = PriceTable.builder();
            for (String model : Fixtures.MODELS) {
                prices.model(model, new ModelPrice(null, 2_500_000, 1_250_000, 10_000_000));
            }
            builder.catalog(new ModelCatalog(prices.build(), ModelCatalog.MAX_NUMBERED));
        }
        InMemorySessionStore store = builder.build();
        String kind = priced ? ", priced" : "";
        Random random = new Random(5);
        fill(store, sessions, 1, random);
        long one = liveBytes();
        fill(store, sessions, 49, random);
        long fifty = liveBytes();
        fill(store, sessions, bound - 50, random);
        long full = liveBytes();
        check(store.session(new Ids(2).next()).orElseThrow().requests().size() == bound, "ring not full");
        System.out.printf(Locale.ROOT, "per stored request record%s, ring at its bound (%d records):      %.1f B   [target <= 48 B]%n",
                kind, bound, (double) (full - one) / ((long) sessions * (bound - 1)));
        System.out.printf(Locale.ROOT, "per stored request record%s, 50 records under growth (capacity 63): %.1f B%n",
                kind, (double) (fifty - one) / ((long) sessions * 49));
        Reference.reachabilityFence(store);
    }

    private static void fill(InMemorySessionStore store, int sessions, int perSession, Random random) {
        for (int r = 0; r < perSession; r++) {
            Ids ids = new Ids(2);
            for (int i = 0; i < sessions; i++) {
                store.record(event(ids.next(), i, random, false));
            }
        }
    }

    /**
     * The whole library over a Prometheus registry with room for every session in the store and in the
     * meters: one COMPLETED per session, so one metered (session, model) each, then one scrape.
     */
    private static void perMeteredPair(int sessions, long storeOnlyPerSession) throws Exception, IOException {
        long before = liveBytes();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT, new io.prometheus.metrics.model.registry.PrometheusRegistry(), dev.llmmetrics.CoarseClock.system());
        LlmMetrics metrics = LlmMetrics.builder(registry)
                .config(LlmMetricsConfig.builder().maxSessions(sessions).maxMeteredSessions(sessions).build())
                .build();
        new SessionSeries(metrics.sessionFigures(), sessions, Integer.MAX_VALUE).register(registry);
        EventBus bus = metrics.bus();
        Ids ids = new Ids(3);
        Random random = new Random(7);
        long start = System.nanoTime();
        for (int i = 0; i < sessions; i++) {
            bus.publish(event(ids.next(), i, random, false));
        }
        long publishNanos = System.nanoTime() - start;
        registry.scrape(OutputStream.nullOutputStream(), "");
        long after = liveBytes();
        check(metrics.store().sessionCount() == sessions, "store lost sessions");
        long perPair = (after - before) / sessions;
        System.out.printf("per metered (session, model), the whole library:  %,d B%n", perPair);
        System.out.printf("per metered (session, model), beyond the bare store: %,d B   [target <= 4096 B]%n",
                perPair - storeOnlyPerSession);
        System.out.printf("  (%,d meters in the registry; first events took %,d ns each on average)%n",
                registry.getMeters().size(), publishNanos / sessions);
        metrics.close();
        registry.close();
        Reference.reachabilityFence(metrics);
    }

    /** Distinct sessions under the default bounds: STARTED then COMPLETED each; heap after GC every {@code every}. */
    private static void churn(int total, int every, boolean histogram) throws Exception {
        System.out.printf("%n== Churn: %,d distinct sessions, default bounds (%s) ==%n", total, LlmMetricsConfig.DEFAULTS);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT, new io.prometheus.metrics.model.registry.PrometheusRegistry(), dev.llmmetrics.CoarseClock.system());
        LlmMetrics metrics = LlmMetrics.builder(registry).build();
        SessionSeries.of(metrics).register(registry);
        EventBus bus = metrics.bus();
        Ids ids = new Ids(4);
        Random random = new Random(9);
        System.out.printf("%12s %14s %14s %10s %10s %10s %10s%n", "sessions", "live MiB", "heap used MiB",
                "in store", "metered", "meters", "elapsed s");
        List<Long> readings = new ArrayList<>();
        Map<String, Long> firstHistogram = null;
        Map<String, Long> lastHistogram = null;
        long start = System.nanoTime();
        for (int i = 1; i <= total; i++) {
            String id = ids.next();
            String model = fresh(Fixtures.modelOf(i));
            bus.publish(Fixtures.started(id, model, random));
            bus.publish(Fixtures.completed(id, model, random));
            if (i % every == 0) {
                long elapsed = System.nanoTime() - start;
                long used = usedAfterGc();
                long live = liveBytes();
                readings.add(live);
                if (histogram) {
                    lastHistogram = liveHistogram();
                    if (firstHistogram == null) {
                        firstHistogram = lastHistogram;
                    }
                }
                System.out.printf(Locale.ROOT, "%,12d %14.1f %14.1f %,10d %,10d %,10d %10.1f%n", i, live / 1048576.0,
                        used / 1048576.0,
                        metrics.store().sessionCount(), meteredSessions(metrics),
                        registry.getMeters().size(), elapsed / 1e9);
            }
        }
        if (readings.size() >= 2) {
            long first = readings.getFirst();
            long min = readings.stream().mapToLong(Long::longValue).min().orElseThrow();
            long max = readings.stream().mapToLong(Long::longValue).max().orElseThrow();
            long last = readings.getLast();
            boolean flat = max - min <= Math.max(4L << 20, first / 20);
            System.out.printf(Locale.ROOT, "live heap: first %.1f MiB, last %.1f MiB, spread %.1f MiB -> %s"
                            + " (flat = spread within max(4 MiB, 5 %% of the first))%n",
                    first / 1048576.0, last / 1048576.0, (max - min) / 1048576.0, flat ? "FLAT" : "GROWING");
        }
        if (firstHistogram != null && lastHistogram != firstHistogram) {
            System.out.println("classes whose live bytes grew most between the first and the last report:");
            Map<String, Long> first = firstHistogram;
            lastHistogram.entrySet().stream()
                    .map(e -> Map.entry(e.getKey(), e.getValue() - first.getOrDefault(e.getKey(), 0L)))
                    .filter(e -> e.getValue() > 0)
                    .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                    .limit(15)
                    .forEach(e -> System.out.printf("%,14d B  %s%n", e.getValue(), e.getKey()));
        }
        metrics.close();
        registry.close();
    }

    /** Sessions with per-session series on a scrape now: those of the pairs SessionSeries would write. */
    private static long meteredSessions(LlmMetrics metrics) {
        return metrics.sessionFigures()
                .mostRecentPairs(metrics.config().maxMeteredSessions(), metrics.config().maxMeteredPairs())
                .stream().map(PairFigures::sessionId).distinct().count();
    }

    /**
     * Bytes of all live objects: the total of the JVM's class histogram ({@code GC.class_histogram}), which
     * collects first and then walks the heap. Exact, unlike the heap's "used" after GC, which also counts
     * dead space a collector chose not to compact (the Parallel collector's dense prefix, for one).
     */
    static long liveBytes() throws Exception {
        for (String line : classHistogram().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3 && f[0].equals("Total")) {
                return Long.parseLong(f[2]);
            }
        }
        throw new IllegalStateException("no Total line in the class histogram");
    }

    private static String classHistogram() throws Exception {
        return (String) ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                new Object[] {new String[0]}, new String[] {String[].class.getName()});
    }

    /** Live bytes per class, from the JVM's class histogram (which collects first). */
    private static Map<String, Long> liveHistogram() throws Exception {
        String text = classHistogram();
        Map<String, Long> bytes = new HashMap<>();
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[0].endsWith(":")) {
                bytes.merge(f[3], Long.parseLong(f[2]), Long::sum);
            }
        }
        return bytes;
    }

    private static LlmRequestCompleted event(String sessionId, int i, Random random, boolean sharedModels) {
        String model = sharedModels ? Fixtures.modelOf(i) : fresh(Fixtures.modelOf(i));
        return Fixtures.completed(sessionId, model, random);
    }

    /** A new String with its own bytes, as a JSON decoder makes it ({@code new String(s)} would share the bytes). */
    private static String fresh(String s) {
        return new String(s.toCharArray());
    }

    /**
     * Heap used after full collections: at least three, until two readings agree within 64 KiB, the lowest
     * reading. (Run with the Parallel collector: with Serial on JDK 25 a structure that just became unreachable
     * sometimes survives one or two explicit collections, which made single readings wrong by its size.)
     */
    static long usedAfterGc() throws InterruptedException {
        long previous = -1;
        long lowest = Long.MAX_VALUE;
        for (int i = 0; i < 20; i++) {
            System.gc();
            Thread.sleep(20);
            long used = MEMORY.getHeapMemoryUsage().getUsed();
            lowest = Math.min(lowest, used);
            if (i >= 2 && Math.abs(used - previous) <= 64 * 1024) {
                break;
            }
            previous = used;
        }
        return lowest;
    }

    private static void printJvm() {
        HotSpotDiagnosticMXBean hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        List<String> collectors = new ArrayList<>();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            collectors.add(gc.getName());
        }
        System.out.printf("JVM: %s %s, max heap %,d MiB, GC %s, UseCompressedOops=%s, UseCompactObjectHeaders=%s%n",
                System.getProperty("java.vm.name"), System.getProperty("java.runtime.version"),
                Runtime.getRuntime().maxMemory() >> 20, collectors, option(hotspot, "UseCompressedOops"),
                option(hotspot, "UseCompactObjectHeaders"));
    }

    private static String option(HotSpotDiagnosticMXBean hotspot, String name) {
        try {
            return hotspot.getVMOption(name).getValue();
        } catch (IllegalArgumentException unknown) {
            return "n/a";
        }
    }

    private static void check(boolean condition, String message) {
        if (!condition) {
            throw new IllegalStateException(message);
        }
    }

    /** A deterministic stream of fresh UUID-shaped ids; the same seed gives equal (not identical) strings. */
    private static final class Ids {
        private final Random random;

        Ids(long seed) {
            random = new Random(seed);
        }

        String next() {
            return new UUID(random.nextLong(), random.nextLong()).toString();
        }
    }
}
