package dev.llmmetrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.event.RecordingFailedException;
import dev.llmmetrics.meter.MeterNames;
import dev.llmmetrics.session.sqlite.SqliteSessionStore;
import dev.llmmetrics.track.Usage;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
        assertEquals(1.0, successes(registry));
    }

    @Test
    void aRegistryTakesOneLlmMetricsAtATimeSoTheGaugesShowTheOneThatRecords() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        LlmMetrics first = LlmMetrics.builder(registry).build();
        first.bus().publish(LlmRequestCompleted.builder("a", "gpt-4o").durationMs(5).build());

        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> LlmMetrics.builder(registry).build());
        assertTrue(refused.getMessage().contains("one registry takes one LlmMetrics at a time"), refused.getMessage());

        first.close();
        LlmMetrics second = LlmMetrics.builder(registry).build();
        second.bus().publish(LlmRequestCompleted.builder("b", "gpt-4o").durationMs(5).build());
        second.bus().publish(LlmRequestCompleted.builder("c", "gpt-4o").durationMs(5).build());
        second.bus().publish(LlmRequestStarted.builder("c", "gpt-4o").build());

        assertEquals(2.0, registry.get(MeterNames.SESSIONS_ACTIVE).gauge().value(), "the second one's sessions");
        assertEquals(1.0, registry.get(MeterNames.REQUESTS_IN_FLIGHT).tags(MeterNames.TAG_MODEL, "gpt-4o").gauge().value(),
                "the second one's call in flight");
        assertEquals(3.0, successes(registry), "the counters go on from what the first counted");
        second.close();
    }

    @Test
    void aCompositeRegistryOverARegistryAnotherLlmMetricsHoldsIsRefusedSoNoneOfItsCountersCountTwice() {
        SimpleMeterRegistry shared = new SimpleMeterRegistry();
        LlmMetrics first = LlmMetrics.builder(new CompositeMeterRegistry().add(shared)).build();
        first.bus().publish(LlmRequestCompleted.builder("a", "gpt-4o").durationMs(5).build());

        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> LlmMetrics.builder(new CompositeMeterRegistry().add(shared)).build(),
                "a second composite over the registry the first one's meters are on");
        assertTrue(refused.getMessage().contains("one registry takes one LlmMetrics at a time"), refused.getMessage());
        assertThrows(IllegalStateException.class, () -> LlmMetrics.builder(
                new CompositeMeterRegistry().add(new CompositeMeterRegistry().add(shared))).build(), "nested one deeper");
        assertEquals(1.0, successes(shared));

        first.close();
        SimpleMeterRegistry direct = new SimpleMeterRegistry();
        try (LlmMetrics held = LlmMetrics.builder(direct).build()) {
            assertThrows(IllegalStateException.class,
                    () -> LlmMetrics.builder(new CompositeMeterRegistry().add(direct)).build(),
                    "a composite over a registry another LlmMetrics is bound to directly");
        }
        try (LlmMetrics second = LlmMetrics.builder(new CompositeMeterRegistry().add(shared)).build()) {
            second.bus().publish(LlmRequestCompleted.builder("b", "gpt-4o").durationMs(5).build());
            assertEquals(1.0, shared.get(MeterNames.SESSIONS_ACTIVE).gauge().value(), "the second one's sessions, once the first closed");
            assertEquals(2.0, successes(shared));
        }
    }

    @Test
    void aRefusedBuildClosesTheStoreItOpenedSoItsFileIsFreeAgain(@TempDir Path dir) {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Path file = dir.resolve("sessions.db");
        try (LlmMetrics first = LlmMetrics.builder(registry).build()) {
            assertThrows(IllegalStateException.class,
                    () -> LlmMetrics.builder(registry).store(SqliteSessionStore.at(file)).build());
        }
        try (LlmMetrics durable = LlmMetrics.builder(new SimpleMeterRegistry()).store(SqliteSessionStore.at(file)).build()) {
            durable.bus().publish(LlmRequestCompleted.builder("d", "gpt-4o").durationMs(5).build());
            assertEquals(1, durable.store().session("d").orElseThrow().totalRequests());
        }
    }

    @Test
    void aReaderWhoseCloseFailsLeavesTheRestClosedSoTheStoreAndTheGaugesStillGo() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        LlmMetrics metrics = LlmMetrics.builder(registry).build();
        int[] closes = new int[1];
        metrics.addReader(() -> {
            throw new IllegalStateException("a reader that cannot close");
        });
        metrics.addReader(() -> closes[0]++);
        metrics.close();

        assertEquals(1, closes[0], "the reader after the failing one is closed too");
        assertThrows(RecordingFailedException.class,
                () -> metrics.bus().publish(LlmRequestCompleted.builder("s", "gpt-4o").durationMs(5).build()));
        assertTrue(registry.find(MeterNames.SESSIONS_ACTIVE).gauge() == null, "the gauges left the registry");
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> metrics.addReader(() -> { }));
        assertTrue(refused.getMessage().contains("closed"), refused.getMessage());
        metrics.close(); // again: nothing happens
        assertEquals(1, closes[0], "closed once");
    }

    private static double successes(SimpleMeterRegistry registry) {
        return registry.get(MeterNames.REQUESTS)
                .tags(MeterNames.TAG_MODEL, "gpt-4o", MeterNames.TAG_OUTCOME, MeterNames.OUTCOME_SUCCESS).functionCounter().count();
    }
}
