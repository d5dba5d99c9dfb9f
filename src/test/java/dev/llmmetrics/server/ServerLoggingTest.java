package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server's own output, as a child process writes it to a pipe: no per-request lines unless
 * {@code LLM_METRICS_REQUEST_LOG=true}, and no terminal escape codes. And the launcher script hands
 * {@code JAVA_OPTS} to java.
 */
class ServerLoggingTest {

    private static final String EVENTS = "[{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"logged\",\"model\":\"m\"},"
            + "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"logged\",\"model\":\"m\",\"duration_ms\":5,"
            + "\"prompt_tokens\":1,\"completion_tokens\":2}]";

    private static void post(ChildServer child) throws IOException, InterruptedException {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(child.base() + "/events"))
                .POST(HttpRequest.BodyPublishers.ofString(EVENTS)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(202, response.statusCode(), response.body());
    }

    private static void assertNoEscapeCodes(ChildServer child) {
        assertFalse(child.log().contains("\u001b"), "an escape code in the output:\n" + child.log());
    }

    @Test
    void requestLinesAreOffByDefaultAndTheOutputHoldsNoEscapeCodes() throws Exception {
        try (ChildServer child = ChildServer.main()) {
            post(child);
            // The request lines, if any, are written before the answer; the server ends, and its output with it.
            child.process.destroy();
            assertTrue(child.process.waitFor(20, TimeUnit.SECONDS));
            Thread.sleep(200);
            assertFalse(child.log().contains("LLM request"), child.log());
            assertNoEscapeCodes(child);
        }
    }

    @Test
    void oneSettingTurnsTheRequestLinesOn() throws Exception {
        try (ChildServer child = ChildServer.main("LLM_METRICS_REQUEST_LOG", "true")) {
            post(child);
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> child.log().contains(
                    "INFO dev.llmmetrics.requests: LLM request completed for session logged: 5ms, 3 tokens"));
            assertTrue(child.log().contains("INFO dev.llmmetrics.requests: LLM request started for session logged"), child.log());
            assertNoEscapeCodes(child);
        }
    }

    /**
     * A first start, from sources without a jar: the launcher says it is building and how long that takes,
     * Maven's progress shows, and nothing of it (or of the server after it) carries an escape code.
     */
    @Test
    void theFirstStartSaysItIsBuildingShowsMavensProgressAndHoldsNoEscapeCodes(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("bin"));
        for (String file : List.of("bin/llm-metrics", "bin/find-java.sh", "pom.xml")) {
            Files.copy(Path.of(file), dir.resolve(file));
        }
        copyTree(Path.of("src/main"), dir.resolve("src/main"));
        ProcessBuilder launcher = new ProcessBuilder("bash", dir.resolve("bin/llm-metrics").toString()).redirectErrorStream(true);
        launcher.environment().put("SERVER_PORT", "0");
        launcher.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process process = launcher.start();
        StringBuilder output = new StringBuilder();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (var in = process.inputReader(StandardCharsets.UTF_8)) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    synchronized (output) {
                        output.append(line).append('\n');
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
        });
        try {
            Awaitility.await().atMost(Duration.ofMinutes(5)).until(() -> {
                synchronized (output) {
                    return output.indexOf("llm-metrics listening on http://") >= 0 || !process.isAlive();
                }
            });
        } finally {
            process.destroy();
            assertTrue(process.waitFor(20, TimeUnit.SECONDS));
            reader.join(Duration.ofSeconds(5));
        }
        String log;
        synchronized (output) {
            log = output.toString();
        }
        assertTrue(log.startsWith("Building llm-metrics (first run takes about a minute)"), log);
        assertTrue(log.contains(":compile (default-compile)") && log.contains("[INFO] BUILD SUCCESS"), "Maven's progress:\n" + log);
        assertFalse(log.contains("testCompile") && !log.contains("Not compiling test sources"), "the tests are not compiled:\n" + log);
        assertTrue(log.contains("llm-metrics listening on http://"), log);
        assertFalse(log.contains("\u001b"), "an escape code in the output:\n" + log);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (var paths = Files.walk(from)) {
            for (Path path : (Iterable<Path>) paths::iterator) {
                Path target = to.resolve(from.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(path, target);
                }
            }
        }
    }

    @Test
    void theLauncherPassesJavaOptsToJava(@TempDir Path dir) throws Exception {
        // The launcher and its helper in a copy of the project's layout, with a jar newer than the sources (so
        // nothing is built) and a stand-in JDK whose java prints the arguments it gets.
        Files.createDirectories(dir.resolve("bin"));
        Files.copy(Path.of("bin/llm-metrics"), dir.resolve("bin/llm-metrics"));
        Files.copy(Path.of("bin/find-java.sh"), dir.resolve("bin/find-java.sh"));
        Files.createDirectories(dir.resolve("src/main"));
        Files.writeString(dir.resolve("pom.xml"), "");
        FileTime older = FileTime.from(Instant.now().minusSeconds(3600));
        Files.setLastModifiedTime(dir.resolve("pom.xml"), older);
        Files.setLastModifiedTime(dir.resolve("src/main"), older);
        Files.createDirectories(dir.resolve("target"));
        Files.writeString(dir.resolve("target/llm-metrics.jar"), "");
        Path jdk = Files.createDirectories(dir.resolve("jdk/bin"));
        Files.writeString(jdk.resolve("java"), """
                #!/bin/sh
                case "$*" in *-XshowSettings:properties*) echo "    java.specification.version = 21" >&2; exit 0;; esac
                for argument in "$@"; do echo "$argument"; done
                """);
        Files.writeString(jdk.resolve("javac"), "#!/bin/sh\n");
        for (Path tool : List.of(jdk.resolve("java"), jdk.resolve("javac"))) {
            Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        ProcessBuilder launcher = new ProcessBuilder("bash", dir.resolve("bin/llm-metrics").toString(), "--demo")
                .redirectErrorStream(true);
        launcher.environment().put("JAVA_HOME", dir.resolve("jdk").toString());
        launcher.environment().put("JAVA_OPTS", "-Xmx64m -Dllm.metrics.request.log=true");
        Process process = launcher.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(30, TimeUnit.SECONDS));
        // The class data sharing archive's options first, so that JAVA_OPTS can override them (-Xshare:off).
        assertEquals(List.of("-XX:+AutoCreateSharedArchive", "-XX:SharedArchiveFile=target/llm-metrics.jsa",
                        "-Xlog:cds*=off", "-Xmx64m", "-Dllm.metrics.request.log=true", "-jar", "target/llm-metrics.jar",
                        "--demo"),
                output.lines().toList(), output);
    }
}
