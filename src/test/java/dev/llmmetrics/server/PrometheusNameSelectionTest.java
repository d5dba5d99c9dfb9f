package dev.llmmetrics.server;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The two-jobs configuration docs/endpoints.md shows under "Selecting families", run by a real {@code prometheus}
 * (Debian's package) against a server with demo traffic, priced, streamed and scored calls: each job's
 * {@code params: {'name[]': [...]}} gets it its families and no others, the per-session families in one job alone,
 * and the two jobs together hold every {@code llm_*} series of a full scrape. Nothing is skipped: a missing
 * {@code prometheus} fails the test.
 */
class PrometheusNameSelectionTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** Prometheus' own series on every target, beside the scraped ones. */
    private static final Set<String> SCRAPE_SERIES = Set.of("up", "scrape_duration_seconds", "scrape_samples_scraped",
            "scrape_samples_post_metric_relabeling", "scrape_series_added");
    private static final String MODELS_JOB = "llm-metrics";
    private static final String SESSIONS_JOB = "llm-metrics-sessions";

    @Test
    @SuppressWarnings("unchecked")
    void theDocumentedTwoJobsScrapeThePerModelAndThePerSessionFamiliesApartAndTogetherEveryOne() throws Exception {
        String prometheusBinary = Tools.executable("prometheus", "This test runs the real Prometheus: bin/test installs "
                + "Debian's 'prometheus' package (apt-get install prometheus).");
        Path workDir = Files.createTempDirectory("llm-metrics-name-selection-");
        Process prometheus = null;
        try (TestServer server = TestServer.startWithDemo(Map.of("prices.path", "sample"))) {
            server.postEvents(SessionEndpointsTest.seedSessionJson());
            server.postEvents("""
                    [{"type":"LLM_REQUEST_COMPLETED","session_id":"scored","model":"gpt-4","duration_ms":100,
                      "time_to_first_token_ms":40,"prompt_tokens":10,"completion_tokens":5,"cached_tokens":4,
                      "reasoning_tokens":2,"correlation_id":"c-1"},
                     {"type":"LLM_REQUEST_COMPLETED","session_id":"scored","model":"no-price","duration_ms":100},
                     {"type":"LLM_REQUEST_SCORED","session_id":"scored","correlation_id":"c-1","name":"quality","value":0.5}]""");
            Path config = workDir.resolve("prometheus.yml");
            Map<String, Object> documented = documentedConfig();
            List<String> documentedNames = new ArrayList<>();
            for (Map<String, Object> job : jobs(documented)) {
                documentedNames.addAll((List<String>) ((Map<String, Object>) job.get("params")).get("name[]"));
                job.put("scrape_interval", "1s");
                job.put("scrape_timeout", "1s");
                job.put("static_configs", List.of(Map.of("targets", List.of("127.0.0.1:" + server.running().port()))));
            }
            Files.writeString(config, new Yaml().dump(documented));
            Path log = workDir.resolve("prometheus.log");
            int port = freePort();
            String base = "http://127.0.0.1:" + port;
            prometheus = new ProcessBuilder(prometheusBinary, "--config.file=" + config,
                    "--storage.tsdb.path=" + workDir.resolve("data"), "--web.listen-address=127.0.0.1:" + port)
                    .directory(workDir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            Process running = prometheus;

            await("both jobs to hold every llm_* series of a full scrape").atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(500))
                    .ignoreExceptionsInstanceOf(IOException.class) // connection refused until it listens
                    .untilAsserted(() -> {
                        assertTrue(running.isAlive(), () -> "prometheus exited:\n" + read(log));
                        Set<String> models = names(base, MODELS_JOB);
                        Set<String> sessions = names(base, SESSIONS_JOB);
                        assertEquals(Set.of(), models.stream().filter(PrometheusNameSelectionTest::perSession)
                                .collect(Collectors.toSet()), "per-session series in the per-model job");
                        assertEquals(Set.of(), sessions.stream().filter(name -> !perSession(name))
                                .collect(Collectors.toSet()), "other series in the per-session job");
                        Set<String> missing = new TreeSet<>();
                        for (PrometheusText.Sample sample : server.scrape().samples()) {
                            if (sample.name().startsWith("llm_") && !models.contains(sample.name())
                                    && !sessions.contains(sample.name())) {
                                missing.add(sample.name());
                            }
                        }
                        assertEquals(Set.of(), missing, "llm_* series of a full scrape neither job holds");
                        assertTrue(sessions.contains("llm_session_score_count") && models.contains("llm_cost_usd_total")
                                        && models.contains("llm_time_to_first_token_seconds_count"),
                                "the scores', costs' and streams' series, which appear with their first call: " + models + sessions);
                    });
            assertEquals(Set.of(MODELS_JOB, SESSIONS_JOB), upJobs(base), "both targets up");
            for (String name : documentedNames) {
                assertTrue(server.get("/metrics?name%5B%5D=" + name).body().contains("# TYPE "),
                        "the documented name " + name + " selects a family");
            }
        } finally {
            if (prometheus != null) {
                prometheus.destroy();
                if (!prometheus.waitFor(10, TimeUnit.SECONDS)) {
                    prometheus.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
            Tools.deleteTree(workDir);
        }
    }

    /** Whether a series is one of the per-session families': {@code llm_session_*} but the overflow counter, and the metered gauge. */
    private static boolean perSession(String name) {
        return name.equals("llm_sessions_metered")
                || name.startsWith("llm_session_") && !name.startsWith("llm_session_model_overflows");
    }

    /** The YAML block of docs/endpoints.md's "Selecting families": two jobs, each with its {@code name[]}. */
    private static Map<String, Object> documentedConfig() throws IOException {
        String doc = Files.readString(Tools.repoRoot().resolve("docs/endpoints.md"));
        int section = doc.indexOf("### Selecting families");
        assertTrue(section >= 0, "docs/endpoints.md has its section Selecting families");
        int start = doc.indexOf("```yaml\n", section) + "```yaml\n".length();
        Map<String, Object> config = new Yaml().load(doc.substring(start, doc.indexOf("```", start)));
        assertEquals(List.of(MODELS_JOB, SESSIONS_JOB), jobs(config).stream().map(job -> job.get("job_name")).toList());
        for (Map<String, Object> job : jobs(config)) {
            assertTrue(job.get("params") instanceof Map<?, ?> params && params.get("name[]") instanceof List<?>,
                    "a list of name[] in " + job);
        }
        return config;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> jobs(Map<String, Object> config) {
        return (List<Map<String, Object>>) config.get("scrape_configs");
    }

    /** The names of the series Prometheus holds from {@code job}'s scrapes, its own scrape series aside. */
    private static Set<String> names(String base, String job) throws Exception {
        Set<String> names = new TreeSet<>();
        for (JsonNode series : query(base, "group by (__name__) ({job=\"" + job + "\"})")) {
            names.add(series.path("metric").path("__name__").asText());
        }
        names.removeAll(SCRAPE_SERIES);
        return names;
    }

    private static Set<String> upJobs(String base) throws Exception {
        Set<String> jobs = new TreeSet<>();
        for (JsonNode series : query(base, "up == 1")) {
            jobs.add(series.path("metric").path("job").asText());
        }
        return jobs;
    }

    private static JsonNode query(String base, String expr) throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
                        URI.create(base + "/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8)))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode body = JSON.readTree(response.body());
        assertEquals("success", body.path("status").asText(), expr + " → " + response.body());
        return body.path("data").path("result");
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
