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
