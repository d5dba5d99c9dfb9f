package dev.llmmetrics.meter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MockClock;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The per-model request figures: recorded by many threads at once without losing a count, and shown on a Prometheus
 * registry exactly as Micrometer's timers, summaries and counters with the same buckets would show them.
 */
class ModelFiguresTest {

    private static final String OPEN_METRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    /** Durations on, around and past the bucket bounds (10 ms doubling to 81.92 s), in milliseconds. */
    private static final long[] DURATIONS_MS = {0, 1, 10, 11, 20, 640, 641, 81_920, 81_921, 3_600_000};
    /** Token counts on, around and past the bucket bounds (powers of four to 4^13). */
    private static final int[] TOKENS = {0, 1, 2, 4, 5, 1_024, 1_025, 67_108_864, 67_108_865, Integer.MAX_VALUE};

    /** The lines of the families the figures show, in both text formats. */
    private static final Pattern PER_MODEL = Pattern.compile("(# [A-Z]+ )?(llm_request_duration_seconds|llm_tokens"
            + "|llm_requests|llm_tool_call_requests|llm_cost_usd|llm_unpriced_requests)(_bucket|_count|_sum|_max|_total)?[ {].*");

    @Test
    void aPrometheusScrapeShowsTheDistributionsAndCountersAsMicrometersOwnMetersWithTheSameBucketsWould() {
        MockClock clock = new MockClock();
        PrometheusMeterRegistry ours = prometheus(clock);
        PrometheusMeterRegistry micrometers = prometheus(clock);
        try (LlmMetrics metrics = LlmMetrics.builder(ours).build()) {
            for (int i = 0; i < DURATIONS_MS.length; i++) {
                for (String model : List.of("gpt-4o", "claude")) {
                    LlmRequestCompleted completed = LlmRequestCompleted.builder("s" + i, model)
                            .durationMs(DURATIONS_MS[i]).promptTokens(TOKENS[i]).completionTokens(TOKENS[TOKENS.length - 1 - i])
                            .hasToolCalls(i % 3 == 0).costUsd(i % 2 == 0 ? 0.25 * i : null).build();
                    metrics.bus().publish(completed);
                    micrometers(micrometers, completed);
                }
                LlmRequestFailed failed = LlmRequestFailed.builder("s" + i, "gpt-4o").error("boom")
                        .durationMs(i % 4 == 0 ? null : DURATIONS_MS[i]).build();
                metrics.bus().publish(failed);
                micrometers(micrometers, failed);
            }
            metrics.bus().publish(LlmRequestCompleted.builder("no-usage", "claude").durationMs(5).build());
            micrometers(micrometers, LlmRequestCompleted.builder("no-usage", "claude").durationMs(5).build());

            assertSameFamilies(micrometers, ours, "at once");
            clock.add(Duration.ofSeconds(15));
            assertSameFamilies(micrometers, ours, "the maxima 15 s on");
            clock.add(Duration.ofSeconds(85));
            assertSameFamilies(micrometers, ours, "the maxima 100 s on");
            clock.add(Duration.ofSeconds(70));
            assertSameFamilies(micrometers, ours, "the maxima 170 s on");
            clock.add(Duration.ofSeconds(20));
            assertSameFamilies(micrometers, ours, "the maxima gone 190 s on");
            assertTrue(ours.scrape().contains("llm_request_duration_seconds_max{app=\"llm\",model=\"gpt-4o\",outcome=\"success\"} 0.0\n"),
                    "a maximum three minutes old is gone");
        }
    }

    @Test
    void theMaximaDecayAsMicrometersDoFromTheModelsFirstEventAtAnyTimeOfTheMinute() {
        MockClock clock = new MockClock();
        clock.add(Duration.ofSeconds(50));
        PrometheusMeterRegistry ours = prometheus(clock);
        PrometheusMeterRegistry micrometers = prometheus(clock);
        try (LlmMetrics metrics = LlmMetrics.builder(ours).build()) {
            LlmRequestCompleted completed = LlmRequestCompleted.builder("s", "m").durationMs(15).promptTokens(3)
                    .completionTokens(7).build();
            metrics.bus().publish(completed);
            micrometers(micrometers, completed);
            for (int seconds = 0; seconds <= 200; seconds += 10) {
                assertSameFamilies(micrometers, ours, seconds + " s after the first event, 50 s into a minute");
                clock.add(Duration.ofSeconds(10));
            }
        }
    }

    @Test
    void anotherRegistryGetsFunctionTimersAndCountersWithCumulativeBucketsAndTheLastMinutesMaximum() {
        MockClock clock = new MockClock();
        SimpleMeterRegistry simple = new SimpleMeterRegistry(io.micrometer.core.instrument.simple.SimpleConfig.DEFAULT, clock);
        try (LlmMetrics metrics = LlmMetrics.builder(simple).build()) {
            metrics.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(15).promptTokens(3).completionTokens(70)
                    .build());
            metrics.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(1_500).promptTokens(4).completionTokens(2)
                    .build());
            metrics.bus().publish(LlmRequestFailed.builder("s", "m").error("boom").durationMs(30L).build());

            var success = simple.get(MeterNames.REQUEST_DURATION).tags("model", "m", "outcome", "success").functionTimer();
            assertEquals(2, success.count());
            assertEquals(1.515, success.totalTime(TimeUnit.SECONDS), 1e-12);
            assertEquals(1.5, simple.get(MeterNames.REQUEST_DURATION + ".max").tags("model", "m", "outcome", "success")
                    .timeGauge().value(TimeUnit.SECONDS), 1e-12);
            assertEquals(0, bucket(simple, MeterNames.REQUEST_DURATION, "outcome", "success", "0.01"));
            assertEquals(1, bucket(simple, MeterNames.REQUEST_DURATION, "outcome", "success", "0.02"));
            assertEquals(1, bucket(simple, MeterNames.REQUEST_DURATION, "outcome", "success", "1.28"));
            assertEquals(2, bucket(simple, MeterNames.REQUEST_DURATION, "outcome", "success", "2.56"));
            assertEquals(2, bucket(simple, MeterNames.REQUEST_DURATION, "outcome", "success", "+Inf"));
            assertEquals(1, bucket(simple, MeterNames.REQUEST_DURATION, "outcome", "failure", "+Inf"));
            assertEquals(2, simple.get(MeterNames.TOKENS + ".count").tags("model", "m", "type", "prompt").functionCounter().count());
            assertEquals(7, simple.get(MeterNames.TOKENS + ".sum").tags("model", "m", "type", "prompt").functionCounter().count());
            assertEquals(70, simple.get(MeterNames.TOKENS + ".max").tags("model", "m", "type", "completion").gauge().value());
            assertEquals(0, bucket(simple, MeterNames.TOKENS, "type", "prompt", "1"));
            assertEquals(2, bucket(simple, MeterNames.TOKENS, "type", "prompt", "4"));

            clock.add(Duration.ofSeconds(110));
            assertEquals(70, simple.get(MeterNames.TOKENS + ".max").tags("model", "m", "type", "completion").gauge().value(),
                    "a maximum under two minutes old stays");
            clock.add(Duration.ofSeconds(70));
            assertEquals(0, simple.get(MeterNames.TOKENS + ".max").tags("model", "m", "type", "completion").gauge().value(),
                    "a maximum three minutes old is gone");
            assertEquals(2, simple.get(MeterNames.TOKENS + ".count").tags("model", "m", "type", "prompt").functionCounter().count(),
                    "the counts stay");
        }
    }

    @Test
    void aCompositeOverAPrometheusAndAnotherRegistryShowsEachTheFiguresInItsOwnForm() {
        PrometheusMeterRegistry prometheus = prometheus(new MockClock());
        SimpleMeterRegistry simple = new SimpleMeterRegistry();
        try (LlmMetrics metrics = LlmMetrics.builder(new CompositeMeterRegistry().add(prometheus).add(simple)).build()) {
            metrics.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(15).promptTokens(3).completionTokens(7)
                    .build());
            assertTrue(prometheus.scrape().contains(
                    "llm_request_duration_seconds_bucket{app=\"llm\",model=\"m\",outcome=\"success\",le=\"0.02\"} 1"));
            assertEquals(1, simple.get(MeterNames.REQUEST_DURATION).tags("model", "m", "outcome", "success").functionTimer().count());
            assertEquals(1, simple.get(MeterNames.REQUESTS).tags("model", "m", "outcome", "success").functionCounter().count());
        }
    }

    @Test
    void theNextLlmMetricsOnAPrometheusRegistryCountsOnInTheDistributionsOfTheLastOne() {
        PrometheusMeterRegistry prometheus = prometheus(new MockClock());
        try (LlmMetrics first = LlmMetrics.builder(prometheus).build()) {
            first.bus().publish(LlmRequestCompleted.builder("a", "m").durationMs(15).build());
        }
        try (LlmMetrics second = LlmMetrics.builder(prometheus).build()) {
            second.bus().publish(LlmRequestCompleted.builder("b", "m").durationMs(15).build());
            String scrape = prometheus.scrape();
            assertTrue(scrape.contains("llm_request_duration_seconds_count{app=\"llm\",model=\"m\",outcome=\"success\"} 2"),
                    scrape);
            assertTrue(scrape.contains("llm_requests_total{app=\"llm\",model=\"m\",outcome=\"success\"} 2.0"), scrape);
        }
    }

    @Test
    void theNextLlmMetricsOnARegistryWhoseMetersWereClearedShowsTheFiguresAgain() {
        SimpleMeterRegistry simple = new SimpleMeterRegistry();
        try (LlmMetrics first = LlmMetrics.builder(simple).build()) {
            first.bus().publish(LlmRequestCompleted.builder("a", "m").durationMs(15).costUsd(0.5).build());
            first.bus().publish(LlmRequestCompleted.builder("a", "m").durationMs(15).build());
        }
        simple.clear();
        try (LlmMetrics second = LlmMetrics.builder(simple).build()) {
            second.bus().publish(LlmRequestCompleted.builder("b", "m").durationMs(15).build());
            assertEquals(3, simple.get(MeterNames.REQUESTS).tags("model", "m", "outcome", "success").functionCounter()
                    .count());
            assertEquals(3, simple.get(MeterNames.REQUEST_DURATION).tags("model", "m", "outcome", "success")
                    .functionTimer().count());
            assertEquals(0.5, simple.get(MeterNames.COST).tags("model", "m").functionCounter().count(), 1e-12,
                    "the cost counter, shown before the clearing, again though no event has a cost since");
            assertEquals(2, simple.get(MeterNames.UNPRICED_REQUESTS).tags("model", "m").functionCounter().count());
        }
    }

    /**
     * A value's bucket, found by arithmetic on the bounds' shape, is the first bound at or above it, as a search over
     * the bounds the series declare finds it: on, around and between every bound, and past the last.
     */
    @Test
    void theBucketFoundByArithmeticIsTheFirstDeclaredBoundAtOrAboveTheValue() {
        long[] durations = java.util.Arrays.stream(MeterNames.DURATION_BUCKETS).mapToLong(Duration::toNanos).toArray();
        long[] tokens = java.util.Arrays.stream(MeterNames.TOKEN_BUCKETS).mapToLong(b -> (long) b).toArray();
        SplittableRandom random = new SplittableRandom(12);
        for (long[] bounds : List.of(durations, tokens)) {
            List<Long> values = new ArrayList<>(List.of(0L, 1L, 2L, 3L, Long.MAX_VALUE, Long.MAX_VALUE - 1));
            for (long bound : bounds) {
                values.addAll(List.of(bound - 1, bound, bound + 1, bound * 3 / 2, bound * 2 - 1));
            }
            for (int i = 0; i < 100_000; i++) {
                values.add(random.nextLong(bounds[bounds.length - 1] * 4));
            }
            for (long value : values) {
                int found = bounds == durations ? ModelFigures.durationBucket(value) : ModelFigures.tokenBucket(value);
                assertEquals(firstAtOrAbove(bounds, value), found, "bucket of " + value);
            }
        }
    }

    /** The index of the first of {@code bounds} at or above {@code value}, {@code bounds.length} past them all. */
    private static int firstAtOrAbove(long[] bounds, long value) {
        for (int i = 0; i < bounds.length; i++) {
            if (bounds[i] >= value) {
                return i;
            }
        }
        return bounds.length;
    }

    @Test
    void threadsRecordingAtOnceLoseNoCountAndAReaderNeverSeesACountFall() throws Exception {
        ModelFigures figures = new ModelFigures(0);
        int threads = 8;
        int perThread = 200_000;
        CountDownLatch start = new CountDownLatch(1);
        AtomicBoolean done = new AtomicBoolean();
        List<Thread> writers = new ArrayList<>();
        long[] expectedSum = new long[threads];
        for (int t = 0; t < threads; t++) {
            int index = t;
            writers.add(Thread.ofPlatform().start(() -> {
                SplittableRandom random = new SplittableRandom(index);
                await(start);
                for (int i = 0; i < perThread; i++) {
                    long tokens = random.nextInt(100_000);
                    expectedSum[index] += tokens;
                    if (i % 2 == 0) {
                        figures.completed(tokens * 1_000, tokens, tokens, true, 0.5, 0);
                    } else {
                        figures.completed(tokens * 1_000, tokens, tokens, false, -1, 0);
                    }
                }
            }));
        }
        List<String> falls = new ArrayList<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            await(start);
            long last = 0;
            while (!done.get()) {
                ModelFigures.Distribution d = figures.snapshot(ModelFigures.PROMPT_TOKENS, 0);
                if (d.count() < last) {
                    falls.add(d.count() + " after " + last);
                }
                last = d.count();
            }
        });
        start.countDown();
        for (Thread writer : writers) {
            writer.join();
        }
        done.set(true);
        reader.join();

        long total = (long) threads * perThread;
        long sum = java.util.Arrays.stream(expectedSum).sum();
        assertEquals(List.of(), falls);
        assertEquals(total, figures.successes());
        assertEquals(total / 2, figures.toolCallRequests());
        assertEquals(total / 2, figures.unpricedRequests());
        assertEquals(total / 2 * 0.5, figures.costUsd(), 1e-6);
        assertEquals(total, figures.count(ModelFigures.PROMPT_TOKENS));
        assertEquals(sum, figures.total(ModelFigures.PROMPT_TOKENS), 0);
        assertEquals(sum * 1_000, figures.total(ModelFigures.SUCCESS_DURATION), 0);
        assertEquals(total, figures.snapshot(ModelFigures.COMPLETION_TOKENS, 0).cumulativeCount(14));
    }

    @Test
    void commonTagsNamedAsADistributionsOwnLabelsGiveWayToThemAsOnMicrometersMeters() {
        MockClock clock = new MockClock();
        PrometheusMeterRegistry ours = prometheus(clock);
        PrometheusMeterRegistry micrometers = prometheus(clock);
        for (PrometheusMeterRegistry registry : List.of(ours, micrometers)) {
            registry.config().commonTags("type", "service", "outcome", "batch");
        }
        try (LlmMetrics metrics = LlmMetrics.builder(ours).build()) {
            LlmRequestCompleted completed = LlmRequestCompleted.builder("s", "m").durationMs(15).promptTokens(3)
                    .completionTokens(7).costUsd(0.5).build();
            metrics.bus().publish(completed);
            micrometers(micrometers, completed);
            LlmRequestFailed failed = LlmRequestFailed.builder("s", "m").error("boom").durationMs(30L).build();
            metrics.bus().publish(failed);
            micrometers(micrometers, failed);

            assertSameFamilies(micrometers, ours, "with common tags type and outcome");
        }
    }

    @Test
    void theDistributionsTakeTheCommonTagsARegistryGivesAfterItsMetersWereCleared() {
        MockClock clock = new MockClock();
        PrometheusMeterRegistry ours = prometheus(clock);
        PrometheusMeterRegistry micrometers = prometheus(clock);
        LlmRequestCompleted completed = LlmRequestCompleted.builder("s", "m").durationMs(15).promptTokens(3)
                .completionTokens(7).build();
        try (LlmMetrics first = LlmMetrics.builder(ours).build()) {
            first.bus().publish(completed);
            ours.scrape();
        }
        ours.clear();
        for (PrometheusMeterRegistry registry : List.of(ours, micrometers)) {
            registry.config().commonTags("region", "eu");
        }
        try (LlmMetrics second = LlmMetrics.builder(ours).build()) {
            second.bus().publish(completed);
            micrometers(micrometers, completed);
            micrometers(micrometers, completed);
            assertSameFamilies(micrometers, ours, "the meters cleared, then a common tag added");
        }
    }

    @Test
    void theDistributionsKeepTheCommonTagsWhenAMeterFilterDeniesTheToolCallCounter() {
        MockClock clock = new MockClock();
        PrometheusMeterRegistry ours = prometheus(clock);
        ours.config().meterFilter(MeterFilter.denyNameStartsWith(MeterNames.TOOL_CALL_REQUESTS));
        try (LlmMetrics metrics = LlmMetrics.builder(ours).build()) {
            metrics.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(15).promptTokens(3)
                    .completionTokens(7).build());
            String scrape = ours.scrape();
            assertTrue(scrape.contains("llm_request_duration_seconds_count{app=\"llm\",model=\"m\",outcome=\"success\"} 1"),
                    scrape);
            assertTrue(scrape.contains("llm_tokens_count{app=\"llm\",model=\"m\",type=\"prompt\"} 1"), scrape);
        }
    }

    @Test
    void aDurationSumPastTheRangeOfALongOfNanosecondsStaysPositiveAsMicrometersTimerDoes() {
        ModelFigures figures = new ModelFigures(0);
        long day = TimeUnit.DAYS.toNanos(1);
        int events = 110_000; // past Long.MAX_VALUE nanoseconds of durations in all: about 106,752 days
        for (int i = 0; i < events; i++) {
            figures.completed(day, 1, 1, false, -1, 0);
            figures.failed(day, 0);
        }
        double expected = (double) events * day;
        assertEquals(expected, figures.total(ModelFigures.SUCCESS_DURATION), expected * 1e-12);
        assertEquals(expected, figures.total(ModelFigures.FAILURE_DURATION), expected * 1e-12);
        assertEquals(expected, figures.snapshot(ModelFigures.SUCCESS_DURATION, 0).sum(), expected * 1e-12);
    }

    private static PrometheusMeterRegistry prometheus(MockClock clock) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT, new PrometheusRegistry(), clock);
        registry.config().commonTags("app", "llm");
        return registry;
    }

    /** Records {@code event} as Micrometer's meters with the buckets the per-model series have would. */
    private static void micrometers(PrometheusMeterRegistry registry, LlmRequestCompleted e) {
        Counter.builder(MeterNames.REQUESTS).description("LLM requests finished, by model and outcome")
                .tags("model", e.model(), "outcome", "success").register(registry).increment();
        Counter.builder(MeterNames.REQUESTS).description("LLM requests finished, by model and outcome")
                .tags("model", e.model(), "outcome", "failure").register(registry);
        Counter tools = Counter.builder(MeterNames.TOOL_CALL_REQUESTS)
                .description("Completed LLM requests whose response asked for tool calls, by model")
                .tag("model", e.model()).register(registry);
        if (e.hasToolCalls()) {
            tools.increment();
        }
        if (e.costUsd() != null) {
            Counter.builder(MeterNames.COST).description("What the completed LLM requests cost in US dollars, as the "
                            + "provider reported it or else by the price table, by model; requests of unknown cost are not "
                            + "in it, see llm_unpriced_requests_total")
                    .tag("model", e.model()).register(registry).increment(e.costUsd());
        } else {
            Counter.builder(MeterNames.UNPRICED_REQUESTS).description("Completed LLM requests of unknown cost: no cost "
                            + "reported, and no price for the model or no token usage in the response")
                    .tag("model", e.model()).register(registry).increment();
        }
        duration(registry, e.model(), "success").record(e.durationMs(), TimeUnit.MILLISECONDS);
        duration(registry, e.model(), "failure");
        DistributionSummary prompt = tokens(registry, e.model(), "prompt");
        DistributionSummary completion = tokens(registry, e.model(), "completion");
        if (e.hasUsage()) {
            prompt.record(e.promptTokens());
            completion.record(e.completionTokens());
        }
    }

    private static void micrometers(PrometheusMeterRegistry registry, LlmRequestFailed e) {
        Counter.builder(MeterNames.REQUESTS).description("LLM requests finished, by model and outcome")
                .tags("model", e.model(), "outcome", "failure").register(registry).increment();
        Timer failure = duration(registry, e.model(), "failure");
        if (e.hasDuration()) {
            failure.record(e.durationMs(), TimeUnit.MILLISECONDS);
        }
    }

    private static Timer duration(PrometheusMeterRegistry registry, String model, String outcome) {
        return Timer.builder(MeterNames.REQUEST_DURATION).description(RegistryFigures.DURATION_HELP)
                .tags("model", model, "outcome", outcome).serviceLevelObjectives(MeterNames.DURATION_BUCKETS)
                .register(registry);
    }

    private static DistributionSummary tokens(PrometheusMeterRegistry registry, String model, String type) {
        return DistributionSummary.builder(MeterNames.TOKENS).description(RegistryFigures.TOKENS_HELP)
                .baseUnit(MeterNames.UNIT_TOKENS).tags("model", model, "type", type)
                .serviceLevelObjectives(MeterNames.TOKEN_BUCKETS).register(registry);
    }

    /** The per-model families of both registries are the same lines, in both text formats. */
    private static void assertSameFamilies(PrometheusMeterRegistry expected, PrometheusMeterRegistry actual, String when) {
        for (String format : new String[] {"text/plain; version=0.0.4; charset=utf-8", OPEN_METRICS}) {
            assertEquals(families(expected.scrape(format)), families(actual.scrape(format)), when + ", " + format);
        }
    }

    private static String families(String scrape) {
        return scrape.lines().filter(line -> PER_MODEL.matcher(line).matches()).sorted()
                .collect(Collectors.joining("\n"));
    }

    private static double bucket(SimpleMeterRegistry registry, String name, String key, String value, String le) {
        return registry.get(name + ".histogram").tags("model", "m", key, value, "le", le).functionCounter().count();
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
