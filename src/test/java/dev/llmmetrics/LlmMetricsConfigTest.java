package dev.llmmetrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class LlmMetricsConfigTest {

    /** Run in a child JVM: prints the default store bound, then records a call with the defaults. */
    public static void main(String[] args) {
        System.out.println("maxStoreBytes=" + LlmMetricsConfig.DEFAULTS.maxStoreBytes());
        try (LlmMetrics metrics = LlmMetrics.builder(new SimpleMeterRegistry()).build()) {
            metrics.tracker().call("s", "gpt-4o").start().fail("boom");
            System.out.println("requests=" + metrics.store().session("s").orElseThrow().totalRequests());
        }
    }

    @Test
    void onAHeapUnderFourMebibytesTheDefaultStoreBoundIsItsLeastAndTheLibraryStillStarts() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(List.of(java, "-Xmx4m", "-XX:+UseSerialGC", "-Djava.util.logging.config.file=/dev/null",
                "-cp", libraryClassPath(), LlmMetricsConfigTest.class.getName()))
                .redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), output);
        assertEquals(0, child.exitValue(), "a quarter of the heap is under the 1 MiB the store needs at least:\n" + output);
        assertTrue(output.contains("maxStoreBytes=" + (1 << 20) + "\n") && output.contains("requests=1"), output);
    }

    /** The library's classes and its required dependencies alone: the whole test class path fills a heap this small. */
    private static String libraryClassPath() {
        return Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> entry.endsWith("classes") || Stream.of("micrometer-core", "micrometer-commons",
                        "micrometer-observation", "HdrHistogram", "LatencyUtils", "jackson-", "jspecify")
                        .anyMatch(Path.of(entry).getFileName().toString()::startsWith))
                .collect(Collectors.joining(File.pathSeparator));
    }
}
