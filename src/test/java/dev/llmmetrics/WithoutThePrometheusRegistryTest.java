package dev.llmmetrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.meter.MeterNames;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The Prometheus registry is optional: with it and the Prometheus client off the class path, the library records
 * into another Micrometer registry, and never loads the one class that renders for Prometheus.
 */
class WithoutThePrometheusRegistryTest {

    @Test
    void theLibraryRecordsIntoAnotherRegistryWithThePrometheusRegistryOffTheClassPath() throws Exception {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<URL> urls = new ArrayList<>();
        for (String entry : classPath.split(File.pathSeparator)) {
            String name = Path.of(entry).getFileName().toString();
            if (!name.startsWith("micrometer-registry-prometheus") && !name.startsWith("prometheus-metrics")) {
                urls.add(Path.of(entry).toUri().toURL());
            }
        }
        try (URLClassLoader loader = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader())) {
            assertThrows(ClassNotFoundException.class,
                    () -> loader.loadClass("io.micrometer.prometheusmetrics.PrometheusMeterRegistry"));
            Object recorded = loader.loadClass(Probe.class.getName()).getMethod("run").invoke(null);
            assertEquals("2 successes, 1 failure, 2 durations of 1.5 s, 7 prompt tokens", recorded);
        }
    }

    /** Runs in the class loader without the Prometheus registry. */
    public static final class Probe {

        private Probe() {
        }

        public static String run() {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            try (LlmMetrics metrics = LlmMetrics.builder(registry).build()) {
                metrics.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(500).promptTokens(3)
                        .completionTokens(4).build());
                metrics.bus().publish(LlmRequestCompleted.builder("s", "m").durationMs(1_000).promptTokens(4)
                        .completionTokens(4).build());
                metrics.bus().publish(LlmRequestFailed.builder("s", "m").error("boom").build());
                return (long) registry.get(MeterNames.REQUESTS).tags("model", "m", "outcome", "success").functionCounter().count()
                        + " successes, "
                        + (long) registry.get(MeterNames.REQUESTS).tags("model", "m", "outcome", "failure").functionCounter().count()
                        + " failure, "
                        + (long) registry.get(MeterNames.REQUEST_DURATION).tags("outcome", "success").functionTimer().count()
                        + " durations of "
                        + registry.get(MeterNames.REQUEST_DURATION).tags("outcome", "success").functionTimer().totalTime(TimeUnit.SECONDS)
                        + " s, "
                        + (long) registry.get(MeterNames.TOKENS + ".sum").tags("type", "prompt").functionCounter().count()
                        + " prompt tokens";
            }
        }
    }
}
