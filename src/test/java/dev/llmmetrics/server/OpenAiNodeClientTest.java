package dev.llmmetrics.server;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The official {@code openai} npm package, installed from the npm registry by {@code npm ci} from the lock file
 * under {@code src/test/node/openai-proxy}, pointed at the metering proxy in front of a fake upstream: the
 * script compares what the client gets through the proxy with what it gets from the upstream directly, and
 * this test the session JSON and the scrape with the calls the script made. Fails, never skips, when Node or
 * the package cannot be had.
 */
class OpenAiNodeClientTest {

    private static final String SESSION = "node-openai-client";

    @Test
    void theOpenAiNpmClientGetsWhatTheUpstreamSentAndEveryCallIsRecorded() throws Exception {
        Path project = Tools.repoRoot().resolve("target/openai-node");
        Files.createDirectories(project);
        Path sources = Tools.repoRoot().resolve("src/test/node/openai-proxy");
        for (String file : List.of("package.json", "package-lock.json", "proxy-client.mjs")) {
            Files.copy(sources.resolve(file), project.resolve(file), StandardCopyOption.REPLACE_EXISTING);
        }
        String npm = Tools.executable("npm", "Install Node.js 20+ with npm (Debian: nodejs npm).");
        String node = Tools.executable("node", "Install Node.js 20+ (Debian: nodejs).");
        run(project, Duration.ofMinutes(5), npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts");

        try (FakeOpenAi upstream = new FakeOpenAi(); TestServer server = TestServer.start(FakeOpenAi.proxyTo(upstream))) {
            int cancelledBefore = upstream.cancelled.get();
            run(project, Duration.ofMinutes(2), node, "proxy-client.mjs", "PROXY_BASE_URL=" + server.uri("/v1"),
                    "UPSTREAM_BASE_URL=" + upstream.baseUrl(), "SESSION_ID=" + SESSION);

            await().atMost(Duration.ofSeconds(10)).until(() -> upstream.cancelled.get() == cancelledBefore + 1);
            // plain ×2, stream ×2, tools, 429, 500, slow, the stream the client left
            await().atMost(Duration.ofSeconds(10)).until(() -> server.get("/events/metrics/session/" + SESSION)
                    .statusCode() == 200 && TestServer.json(server.get("/events/metrics/session/" + SESSION))
                    .get("total_requests").asLong() == 9);
            JsonNode s = TestServer.json(server.get("/events/metrics/session/" + SESSION));
            assertEquals(6, s.get("successful_requests").asLong());
            assertEquals(3, s.get("failed_requests").asLong());
            assertEquals(2 * 120 + 2 * 50 + 80 + 50, s.get("total_prompt_tokens").asLong());
            assertEquals(2 * 45 + 2 * 7 + 30 + 7, s.get("total_completion_tokens").asLong());
            assertEquals(2 * 100 + 2 * 10 + 10, s.get("total_cached_tokens").asLong());
            assertEquals(2 * 20 + 2 * 2 + 2, s.get("total_reasoning_tokens").asLong());
            assertEquals(1, s.get("requests_with_tools").asLong());
            List<String> errors = new ArrayList<>();
            for (JsonNode record : s.get("requests")) {
                if (!record.get("success").asBoolean()) {
                    errors.add(record.get("error_type").asText());
                }
                if (record.get("model").asText().equals("fake-slow")) {
                    assertTrue(record.get("time_to_first_token_ms").asLong() >= FakeOpenAi.SLOW_FIRST_TOKEN.toMillis());
                }
            }
            assertEquals(List.of("rate_limit", "server_error", "cancelled"), errors);

            PrometheusText scrape = server.scrape();
            assertEquals(2, scrape.value("llm_session_requests_total", "session", SESSION, "model", "fake-plain",
                    "outcome", "success"));
            assertEquals(1, scrape.value("llm_session_requests_total", "session", SESSION, "model", "fake-endless",
                    "outcome", "failure"));
            assertEquals(2 * 7, scrape.value("llm_session_tokens_sum", "session", SESSION, "model", "fake-stream",
                    "type", "completion"));
            assertEquals(2 * 10 + 10, scrape.value("llm_cached_tokens_total", "model", "fake-stream")
                    + scrape.value("llm_cached_tokens_total", "model", "fake-slow"));
            assertEquals(3, scrape.value("llm_time_to_first_token_seconds_count", "model", "fake-stream")
                    + scrape.value("llm_time_to_first_token_seconds_count", "model", "fake-slow"));
        }
    }

    private static void run(Path directory, Duration timeout, String... commandAndEnv) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        ProcessBuilder builder = new ProcessBuilder().directory(directory.toFile()).redirectErrorStream(true);
        for (String part : commandAndEnv) {
            int eq = part.indexOf('=');
            if (eq > 0 && part.substring(0, eq).matches("[A-Z_]+")) {
                builder.environment().put(part.substring(0, eq), part.substring(eq + 1));
            } else {
                command.add(part);
            }
        }
        Path log = Files.createTempFile(directory, "run", ".log");
        Process process = builder.command(command).redirectOutput(log.toFile()).start();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish within " + timeout + ":\n"
                    + Files.readString(log, StandardCharsets.UTF_8));
        }
        assertEquals(0, process.exitValue(), () -> String.join(" ", command) + " failed:\n" + readQuietly(log));
    }

    private static String readQuietly(Path log) {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

}
