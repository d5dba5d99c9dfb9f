package dev.llmmetrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.event.InvalidEventException;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.session.SessionStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** What the builders of the library refuse, and how they name it. */
class LlmMetricsBuilderTest {

    @Test
    void timeoutsPastWhatMillisecondsCountAreRefusedByName() {
        IllegalArgumentException idle = assertThrows(IllegalArgumentException.class,
                () -> LlmMetricsConfig.builder().sessionIdleTimeout(Duration.ofSeconds(Long.MAX_VALUE)).build());
        assertTrue(idle.getMessage().startsWith("sessionIdleTimeout must be from 1 ms to "), idle.getMessage());
        IllegalArgumentException types = assertThrows(IllegalArgumentException.class,
                () -> LlmMetricsConfig.builder().eventTypeIdleTimeout(Duration.ofNanos(1)).build());
        assertTrue(types.getMessage().startsWith("eventTypeIdleTimeout must be from 1 ms to "), types.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LlmMetrics.builder(new SimpleMeterRegistry())
                .dedupe(Duration.ofDays(Long.MAX_VALUE / 86_400), 10).build());

        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        LlmMetrics longest = LlmMetrics.builder(registry)
                .config(LlmMetricsConfig.builder().sessionIdleTimeout(Duration.ofMillis(Long.MAX_VALUE)).build()).build();
        longest.bus().publish(LlmRequestCompleted.builder("kept", "gpt-4o").durationMs(5).build());
        longest.store().evictIdle();
        assertEquals(1, longest.store().sessionCount(), "a session is not idle past a timeout that long");
        longest.close();
    }

    @Test
    void aDedupeBoundThatIsNotPositiveIsRefusedByTheSetterNamingTheArgumentAndTheValue() {
        LlmMetrics.Builder builder = LlmMetrics.builder(new SimpleMeterRegistry());
        assertRefused("dedupe maxIds must be positive, was -1", () -> builder.dedupe(Duration.ofMinutes(1), -1));
        assertRefused("dedupe maxIds must be positive, was 0", () -> builder.dedupe(Duration.ofMinutes(1), 0));
        assertRefused("dedupe window must be from 1 ms to " + Long.MAX_VALUE + " ms, was PT0S",
                () -> builder.dedupe(Duration.ZERO, 10));
        assertRefused("dedupe window must be from 1 ms to " + Long.MAX_VALUE + " ms, was PT-1S",
                () -> builder.dedupe(Duration.ofSeconds(-1), 10));
        assertRefused("dedupe window must be from 1 ms to " + Long.MAX_VALUE + " ms, was PT0.000999999S",
                () -> builder.dedupe(Duration.ofNanos(999_999), 10));
        assertEquals("dedupe window", assertThrows(NullPointerException.class, () -> builder.dedupe(null, 10)).getMessage());

        LlmMetrics metrics = builder.dedupe(Duration.ofMillis(1), 1).build();
        metrics.close();
    }

    /** Each setter of {@link LlmMetricsConfig.Builder} refuses a value no configuration could take, before build(). */
    @Test
    void everyConfigSetterRefusesABadValueItselfNamingIt() {
        String ms = " must be from 1 ms to " + Long.MAX_VALUE + " ms, was ";
        assertConfigRefused("maxSessions must be positive, was 0", b -> b.maxSessions(0));
        assertConfigRefused("maxRecordsPerSession must be positive, was -1", b -> b.maxRecordsPerSession(-1));
        assertConfigRefused("sessionIdleTimeout" + ms + "PT0S", b -> b.sessionIdleTimeout(Duration.ZERO));
        assertConfigRefused("maxMeteredSessions must be positive, was 0", b -> b.maxMeteredSessions(0));
        assertConfigRefused("maxModels must be from 1 to " + ModelCatalog.MAX_LABELS + ", was 0",
                b -> b.maxModels(0));
        assertConfigRefused("maxModels must be from 1 to " + ModelCatalog.MAX_LABELS + ", was "
                + (ModelCatalog.MAX_LABELS + 1), b -> b.maxModels(ModelCatalog.MAX_LABELS + 1));
        assertConfigRefused("maxEventTypes must be positive, was 0", b -> b.maxEventTypes(0));
        assertConfigRefused("eventTypeIdleTimeout" + ms + "PT-1S", b -> b.eventTypeIdleTimeout(Duration.ofSeconds(-1)));
        assertConfigRefused("maxStoreBytes must be at least 1 MiB, was 1048575", b -> b.maxStoreBytes((1 << 20) - 1));
        int least = (int) LlmMetricsConfig.pairsOfOneSession(1);
        assertConfigRefused("maxMeteredPairs must be at least " + least + ", the pairs one session with one model can have, was "
                + (least - 1), b -> b.maxMeteredPairs(least - 1));
        assertConfigRefused("maxModelsPerSession must be positive, was 0", b -> b.maxModelsPerSession(0));
        assertEquals("sessionIdleTimeout", assertThrows(NullPointerException.class,
                () -> LlmMetricsConfig.builder().sessionIdleTimeout(null)).getMessage());
        assertEquals("eventTypeIdleTimeout", assertThrows(NullPointerException.class,
                () -> LlmMetricsConfig.builder().eventTypeIdleTimeout(null)).getMessage());

        // What depends on two values is build()'s to refuse: the pairs must hold one session's, with its models.
        LlmMetricsConfig.Builder twoValues = LlmMetricsConfig.builder().maxMeteredPairs(least).maxModelsPerSession(2);
        IllegalArgumentException pairs = assertThrows(IllegalArgumentException.class, twoValues::build);
        assertTrue(pairs.getMessage().startsWith("maxMeteredPairs must be at least the pairs one session can have, "
                + LlmMetricsConfig.pairsOfOneSession(2)), pairs.getMessage());
        assertEquals(least, LlmMetricsConfig.builder().maxMeteredPairs(least).maxModelsPerSession(1).build().maxMeteredPairs());
    }

    @Test
    void thePairsOfOneSessionWithTheMostModelsAPositiveIntAllowsAreCountedWhole() {
        assertEquals((long) Integer.MAX_VALUE + 1 + SessionStore.MAX_SCORE_NAMES + 1,
                LlmMetricsConfig.pairsOfOneSession(Integer.MAX_VALUE));
    }

    private static void assertConfigRefused(String message, Function<LlmMetricsConfig.Builder, LlmMetricsConfig.Builder> setter) {
        assertRefused(message, () -> setter.apply(LlmMetricsConfig.builder()));
    }

    private static void assertRefused(String message, Executable setter) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, setter).getMessage());
    }

    @Test
    void aProviderIsRefusedUnlessNamedAsEventsNameProvidersSoNoOtherNameReachesTheGenAiLabel() {
        InvalidEventException byDefault = assertThrows(InvalidEventException.class,
                () -> LlmMetrics.builder(new SimpleMeterRegistry()).defaultProvider("Open AI"));
        assertEquals("provider", byDefault.field());
        assertThrows(InvalidEventException.class, () -> new ModelPrice("azure openai", 1, 1, 1));
        assertEquals("aws.bedrock", new ModelPrice("aws.bedrock", 1, 1, 1).provider());
    }
}
