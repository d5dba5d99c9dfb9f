package dev.llmmetrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.RecordingFailedException;
import dev.llmmetrics.meter.MeterNames;
import dev.llmmetrics.track.Usage;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class LlmMetricsCloseTest {

    @Test
    void afterCloseEventsAreRefusedSoTheStoreAndTheMetersKeepAgreeingAndTrackedCallsGoOn() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        LlmMetrics metrics = LlmMetrics.builder(registry).build();
        metrics.tracker().call("s", "gpt-4o").track(() -> "first", reply -> Usage.of(3, 4, false));
        metrics.close();

        String answer = metrics.tracker().call("s", "gpt-4o").track(() -> "after", reply -> Usage.of(3, 4, false));
        assertEquals("after", answer, "the call a tracker measures goes on once its metrics are closed");
        assertThrows(RecordingFailedException.class,
                () -> metrics.bus().publish(LlmRequestCompleted.builder("s", "gpt-4o").durationMs(5).build()));
        metrics.close(); // again: nothing happens

        assertEquals(1, metrics.store().session("s").orElseThrow().totalRequests());
        assertEquals(1.0, registry.get(MeterNames.REQUESTS).tags(MeterNames.TAG_MODEL, "gpt-4o", MeterNames.TAG_OUTCOME, MeterNames.OUTCOME_SUCCESS)
                .counter().count());
    }
}
