package dev.llmmetrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.event.InvalidEventException;
import dev.llmmetrics.event.LlmRequestCompleted;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;

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
    void aProviderIsRefusedUnlessNamedAsEventsNameProvidersSoNoOtherNameReachesTheGenAiLabel() {
        InvalidEventException byDefault = assertThrows(InvalidEventException.class,
                () -> LlmMetrics.builder(new SimpleMeterRegistry()).defaultProvider("Open AI"));
        assertEquals("provider", byDefault.field());
        assertThrows(InvalidEventException.class, () -> new ModelPrice("azure openai", 1, 1, 1));
        assertEquals("aws.bedrock", new ModelPrice("aws.bedrock", 1, 1, 1).provider());
    }
}
