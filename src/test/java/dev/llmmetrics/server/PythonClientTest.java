package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Python client, {@code clients/python/llm_metrics.py}, proven by its own pytest suite
 * ({@code clients/python/test_llm_metrics.py}) against the real server started here with an auth token:
 * events arriving exactly from dict and SDK-object responses, streaming, failures, and the server down,
 * slow, answering 503, losing an answer, coming back. The suite runs in a {@code python3} that can import
 * pytest (Debian's {@code /usr/bin/python3}, else one on the PATH); when there is none the test fails, never
 * skips: {@code bin/test} installs Debian's {@code python3-pytest}. pytest's output is printed, with the
 * suite's timings and figures.
 */
class PythonClientTest {

    private static final String TOKEN = "python-client-test-token";
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration SUITE_TIMEOUT = Duration.ofMinutes(3);
    private static final Pattern SUMMARY = Pattern.compile("=*\\s*(\\d+ passed[^\\n]*?) in [0-9.]+s");

    @Test
    void thePytestSuitePassesAgainstTheRealServer() throws Exception {
        Path root = Tools.repoRoot();
        String python = pythonWithPytest(root);
        try (TestServer server = TestServer.start(Map.of("llm.metrics.auth.token", TOKEN))) {
            List<String> command = List.of(python, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                    "--durations=0", "-rfEs", "clients/python");
            ProcessBuilder builder = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true);
            Map<String, String> env = builder.environment();
            env.keySet().removeIf(name -> name.startsWith("LLM_METRICS_") || name.startsWith("PYTEST_"));
            env.remove("PYTHONPATH");
            env.put("LLM_METRICS_URL", server.uri("").toString());
            env.put("LLM_METRICS_AUTH_TOKEN", TOKEN);
            env.put("PYTHONDONTWRITEBYTECODE", "1");
            env.put("PYTHONUNBUFFERED", "1");
            Path log = Files.createTempFile("llm-metrics-pytest", ".log");
            try {
                builder.redirectOutput(log.toFile());
                long start = System.nanoTime();
                Process process = builder.start();
                process.getOutputStream().close();
                boolean finished = process.waitFor(SUITE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                if (!finished) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
                String output = Files.readString(log, StandardCharsets.UTF_8);
                System.out.printf("%s (%s, %.1f s):%n%s%n", String.join(" ", command), python,
                        (System.nanoTime() - start) / 1e9, output);
                if (!finished) {
                    fail("pytest did not finish within " + SUITE_TIMEOUT + ":\n" + output);
                }
                assertEquals(0, process.exitValue(), "pytest failed (exit " + process.exitValue() + "):\n" + output);
                Matcher summary = SUMMARY.matcher(output);
                assertTrue(summary.find(), "no pytest summary in:\n" + output);
                String counts = summary.group(1);
                assertTrue(counts.matches("\\d+ passed"), "every test passes, none skipped or deselected: " + counts);
            } finally {
                Files.deleteIfExists(log);
            }
        }
    }

    /**
     * The first {@code python3} that can import pytest: Debian's /usr/bin/python3 (where bin/test installs
     * python3-pytest), then those on the PATH in order (a pyenv or virtualenv one with its own pytest).
     */
    private static String pythonWithPytest(Path root) throws InterruptedException {
        Set<Path> candidates = new LinkedHashSet<>();
        candidates.add(Path.of("/usr/bin/python3"));
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isBlank()) {
                candidates.add(Path.of(dir, "python3"));
            }
        }
        List<String> tried = new ArrayList<>();
        for (Path candidate : candidates) {
            if (!Files.isRegularFile(candidate) || !Files.isExecutable(candidate)) {
                continue;
            }
            try {
                Process probe = new ProcessBuilder(candidate.toString(), "-c", "import pytest")
                        .directory(root.toFile()).redirectErrorStream(true).start();
                probe.getOutputStream().close();
                byte[] output = probe.getInputStream().readAllBytes();
                if (!probe.waitFor(PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    probe.destroyForcibly();
                    tried.add(candidate + " (did not answer)");
                } else if (probe.exitValue() == 0) {
                    return candidate.toString();
                } else {
                    String said = new String(output, StandardCharsets.UTF_8).strip();
                    tried.add(candidate + " (" + said.substring(said.lastIndexOf('\n') + 1) + ")");
                }
            } catch (IOException e) {
                tried.add(candidate + " (" + e.getMessage() + ")");
            }
        }
        if (tried.isEmpty()) {
            return fail("python3 is not installed (looked on the PATH and in /usr/bin). The Python client's tests need"
                    + " it with pytest: bin/test installs Debian's 'python3-pytest' (apt-get install python3-pytest).");
        }
        return fail("no python3 can import pytest: tried " + String.join(", ", tried) + ". bin/test installs"
                + " Debian's 'python3-pytest' (apt-get install python3-pytest).");
    }
}
