package dev.llmmetrics.server;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.session.SessionStore;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
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
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * The monitoring bundle proven against the real thing: a real {@code prometheus} (Debian's package) scrapes
 * the real server running demo traffic, with the shipped configuration and rules; then every PromQL
 * expression the bundle ships (every dashboard panel target and query variable, every recording and alert
 * rule) is evaluated through Prometheus' HTTP API and must succeed, and (except alerts) return data.
 * The server runs as docker-compose.yml runs it: the sample price table and the OpenTelemetry GenAI instruments
 * on, so the cost, streaming and {@code gen_ai_*} series are there too. Also: {@code promtool check metrics} on a
 * live scrape and {@code prometheus/check.sh}.
 *
 * <p>Nothing is skipped: a missing {@code prometheus} or {@code promtool} fails the test ({@code bin/test}
 * installs them).
 */
class PrometheusBundleTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** Scrape and rule evaluation interval of the test's Prometheus. */
    private static final String INTERVAL = "1s";
    /** Grafana's built-in variables as the test substitutes them; $__rate_interval is at least 4 scrape intervals. */
    private static final Map<String, String> GRAFANA_BUILTINS = Map.of(
            "__rate_interval", "20s",
            "__interval", "5s",
            "__interval_ms", "5000",
            "__range", "1m",
            "__range_s", "60",
            "__range_ms", "60000");
    /** $name, ${name}, ${name:format}, [[name]], [[name:format]]. */
    private static final Pattern GRAFANA_VARIABLE =
            Pattern.compile("\\$\\{(\\w+)(?::[^}]*)?}|\\[\\[(\\w+)(?::[^]]*)?]]|\\$(\\w+)");
    private static final Pattern LABEL_VALUES =
            Pattern.compile("^\\s*label_values\\(\\s*(?:(.+?)\\s*,\\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\\s*\\)\\s*$", Pattern.DOTALL);
    private static final Pattern QUERY_RESULT = Pattern.compile("^\\s*query_result\\((.*)\\)\\s*$", Pattern.DOTALL);
    private static final Duration DATA_TIMEOUT = Duration.ofSeconds(60);
    /** Series the server registers on first use, which the demo's traffic creates in its first seconds. */
    private static final List<String> FIRST_USE_SERIES = List.of("llm_time_to_first_token_seconds_count",
            "llm_time_per_output_token_seconds_count", "llm_cost_usd_total", "llm_unpriced_requests_total",
            "llm_cached_tokens_total", "llm_session_cost_usd_total", "gen_ai_client_operation_time_to_first_chunk_seconds_count",
            "llm_score_count", "llm_session_score_count");
    private static final Duration RULES_TIMEOUT = Duration.ofSeconds(15);

    private static final Path ROOT = repoRoot();

    private static String prometheusBinary;
    private static String promtoolBinary;
    private static Main.Running server;
    private static Process prometheus;
    private static Path workDir;
    private static Path prometheusLog;
    private static String prometheusBase;
    /** The session the drill-down dashboard is evaluated for. */
    private static String session;
    private static String sessionDescription;

    @BeforeAll
    static void startServerAndPrometheus() throws Exception {
        prometheusBinary = executable("prometheus");
        promtoolBinary = executable("promtool");

        server = Main.start(Config.just(ConfigSources.create(Map.of("server.port", "0", "server.host", "127.0.0.1",
                        "prices.path", "sample", "meters.otel.genai", "true", "store.max.records", "40"))),
                true, 0.05);

        postScoredSession();
        workDir = Files.createTempDirectory("llm-metrics-prometheus-");
        Path configFile = workDir.resolve("prometheus.yml");
        Files.writeString(configFile, testConfig(Files.readString(ROOT.resolve("prometheus/prometheus.yml")),
                "127.0.0.1:" + server.port()));
        copyTree(ROOT.resolve("prometheus/rules"), workDir.resolve("rules"));
        prometheusLog = workDir.resolve("prometheus.log");

        int port = freePort();
        prometheusBase = "http://127.0.0.1:" + port;
        prometheus = new ProcessBuilder(prometheusBinary,
                "--config.file=" + configFile,
                "--storage.tsdb.path=" + workDir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port,
                "--log.level=info")
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(prometheusLog.toFile())
                .start();

        long started = System.nanoTime();
        printingLogOnFailure(() -> {
            await("Prometheus ready on " + prometheusBase).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                    .ignoreExceptionsInstanceOf(IOException.class) // connection refused until it listens
                    .until(() -> {
                        if (!prometheus.isAlive()) {
                            fail("prometheus exited with " + prometheus.exitValue() + ":\n" + Files.readString(prometheusLog));
                        }
                        return HTTP.send(HttpRequest.newBuilder(URI.create(prometheusBase + "/-/ready")).build(),
                                HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
                    });
            awaitData();
        });
        System.out.printf("Prometheus %s scraping the server on port %d; data ready after %d ms; session %s%n",
                prometheusBase, server.port(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), sessionDescription);
    }

    @AfterAll
    static void stopEverything() throws Exception {
        try {
            if (prometheus != null) {
                prometheus.destroy();
                if (!prometheus.waitFor(10, TimeUnit.SECONDS)) {
                    prometheus.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        } finally {
            if (server != null) {
                server.stop();
            }
            if (workDir != null) {
                Tools.deleteTree(workDir);
            }
        }
    }

    /**
     * Waits until Prometheus scrapes the server, enough scrapes happened for rates and the demo recorded failures
     * and tool calls, and picks the session; then, a little longer, until every rule evaluated cleanly and every
     * recording rule recorded data.
     */
    private static void awaitData() {
        List<Rule> rules = rules();
        await("Prometheus to have scraped failures, tool calls and enough samples for rates")
                .atMost(DATA_TIMEOUT).pollInterval(Duration.ofMillis(500))
                .untilAsserted(() -> {
                    JsonNode targets = api("/api/v1/targets").path("activeTargets");
                    JsonNode target = null;
                    for (JsonNode t : targets) {
                        if ("llm-metrics".equals(t.path("labels").path("job").asText())) {
                            target = t;
                        }
                    }
                    assertTrue(target != null, "no active target of job llm-metrics: " + targets);
                    assertEquals("up", target.path("health").asText(),
                            "target " + target.path("scrapeUrl").asText() + " lastError: " + target.path("lastError").asText());
                    assertTrue(scalar("max(count_over_time(llm_requests_total[1m]))") >= 5, "fewer than 5 scrapes so far");
                    assertTrue(scalar("sum(llm_requests_total{outcome=\"failure\"})") > 0, "no failures recorded yet");
                    assertTrue(scalar("sum(llm_session_tool_call_requests_total)") > 0, "no tool calls recorded yet");
                    // Series registered on first use: streamed, priced, unpriced and cached requests.
                    for (String name : FIRST_USE_SERIES) {
                        assertTrue(scalar("max(count_over_time(" + name + "[1m]))") >= 3, "no series of " + name + " scraped 3 times yet");
                    }

                    session = pickSession();
                });
        // The rules get a little longer; if they never become healthy or never record, the tests below say
        // which ones instead of the whole class failing here.
        try {
            await("every rule to evaluate cleanly and every recording rule to record")
                    .atMost(RULES_TIMEOUT).pollInterval(Duration.ofMillis(500))
                    .untilAsserted(() -> {
                        assertEquals(List.of(), unhealthyRules(), "rules not (yet) evaluated cleanly");
                        for (Rule rule : rules) {
                            if (rule.record() != null) {
                                assertFalse(query(rule.selector()).path("result").isEmpty(),
                                        "recording rule " + rule.selector() + " has recorded nothing yet");
                            }
                        }
                    });
        } catch (ConditionTimeoutException e) {
            System.out.println("Rules still not all healthy and recording; the tests will report which: " + e.getMessage());
        }
    }

    /** Rules Prometheus reports with a health other than ok, with their last error. */
    private static List<String> unhealthyRules() throws Exception {
        List<String> unhealthy = new ArrayList<>();
        for (JsonNode group : api("/api/v1/rules").path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                if (!"ok".equals(rule.path("health").asText())) {
                    unhealthy.add(rule.path("name").asText() + ": " + rule.path("health").asText() + " "
                            + rule.path("lastError").asText());
                }
            }
        }
        return unhealthy;
    }

    /**
     * A session id from a live scrape that Prometheus has at least 3 samples of within $__rate_interval
     * (so rates over it exist); one with failures, tool calls and scores (every drill-down panel then has data) when
     * there is one, else the busiest.
     */
    private static String pickSession() throws Exception {
        PrometheusText scrape = PrometheusText.parse(scrapeServer());
        Map<String, Double> requests = new LinkedHashMap<>();
        Map<String, Double> failures = new LinkedHashMap<>();
        Map<String, Double> toolCalls = new LinkedHashMap<>();
        Map<String, Double> scores = new LinkedHashMap<>();
        for (PrometheusText.Sample s : scrape.samples()) {
            String id = s.labels().get("session");
            if (id == null) {
                continue;
            }
            switch (s.name()) {
                case "llm_session_requests_total" -> {
                    requests.merge(id, s.value(), Double::sum);
                    if ("failure".equals(s.labels().get("outcome"))) {
                        failures.merge(id, s.value(), Double::sum);
                    }
                }
                case "llm_session_tool_call_requests_total" -> toolCalls.merge(id, s.value(), Double::sum);
                case "llm_session_score_count" -> scores.merge(id, s.value(), Double::sum);
                default -> {
                }
            }
        }
        assertFalse(requests.isEmpty(), "the scrape has no llm_session_requests_total series");
        String window = GRAFANA_BUILTINS.get("__rate_interval");
        Set<String> inPrometheus = sessions("min by (session) (count_over_time(llm_session_requests_total[" + window + "])) >= 3");
        Set<String> active = sessions("sum by (session) (increase(llm_session_requests_total[" + window + "])) > 0");
        String picked = requests.keySet().stream()
                .filter(inPrometheus::contains)
                .max(Comparator.<String>comparingInt(id -> failures.getOrDefault(id, 0.0) > 0
                                && toolCalls.getOrDefault(id, 0.0) > 0 && scores.getOrDefault(id, 0.0) > 0 ? 1 : 0)
                        .thenComparingInt(id -> active.contains(id) ? 1 : 0)
                        .thenComparingDouble(id -> requests.getOrDefault(id, 0.0)))
                .orElseThrow(() -> new AssertionError("no session of the scrape has 3 samples in Prometheus yet"));
        sessionDescription = String.format("%s (%.0f requests, %.0f failures, %.0f tool-call requests, %.0f scores, %s)",
                picked, requests.get(picked), failures.getOrDefault(picked, 0.0), toolCalls.getOrDefault(picked, 0.0),
                scores.getOrDefault(picked, 0.0),
                active.contains(picked) ? "active" : "idle for " + window);
        return picked;
    }

    /** The session labels of a query's result. */
    private static Set<String> sessions(String expr) throws Exception {
        Set<String> ids = new LinkedHashSet<>();
        for (JsonNode r : query(expr).path("result")) {
            ids.add(r.path("metric").path("session").asText());
        }
        return ids;
    }

    @Test
    void prometheusLoadsAndEvaluatesEveryShippedRule() throws Exception {
        printingLogOnFailure(() -> {
            Map<String, Integer> expected = new LinkedHashMap<>();
            for (Rule rule : rules()) {
                expected.merge(rule.group(), 1, Integer::sum);
            }
            Map<String, Integer> loaded = new LinkedHashMap<>();
            for (JsonNode group : api("/api/v1/rules").path("groups")) {
                loaded.put(group.path("name").asText(), group.path("rules").size());
            }
            assertEquals(expected, loaded, "rule groups (name → rule count) loaded by Prometheus through rule_files");
            assertEquals(List.of(), unhealthyRules(), "rules Prometheus could not evaluate");
        });
    }

    @Test
    void everyDashboardAndRuleExpressionEvaluatesWithData() throws Exception {
        printingLogOnFailure(() -> {
            List<Expression> expressions = new ArrayList<>();
            expressions.addAll(dashboardExpressions());
            int fromDashboards = expressions.size();
            for (Rule rule : rules()) {
                expressions.add(new Expression(rule.where(), rule.expr(), rule.record() != null ? Kind.RECORDING_RULE : Kind.ALERT_RULE));
            }
            assertTrue(fromDashboards > 0, "no dashboard expressions found in grafana/dashboards");

            long started = System.nanoTime();
            List<String> failures = new ArrayList<>();
            Map<Kind, Integer> counts = new LinkedHashMap<>();
            Set<String> read = new TreeSet<>();
            for (Expression e : expressions) {
                counts.merge(e.kind(), 1, Integer::sum);
                String problem = evaluate(e, read);
                if (problem != null) {
                    failures.add(e.where() + "\n    expr: " + e.expr().replace("\n", "\n          ") + "\n    " + problem);
                }
            }
            System.out.printf("Evaluated %d expressions %s against Prometheus in %d ms (session %s)%n", expressions.size(),
                    counts, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), sessionDescription);
            System.out.printf("They read %d metrics: %s%n", read.size(), read);
            if (!failures.isEmpty()) {
                fail(failures.size() + " of " + expressions.size() + " bundle expressions failed against the real server:\n"
                        + String.join("\n", failures));
            }
        });
    }

    @Test
    void everyRecordingRuleRecordsItsSeries() throws Exception {
        printingLogOnFailure(() -> {
            List<String> failures = new ArrayList<>();
            int checked = 0;
            for (Rule rule : rules()) {
                if (rule.record() == null) {
                    continue;
                }
                checked++;
                JsonNode data = query(rule.selector());
                if (data.path("result").isEmpty()) {
                    failures.add(rule.where() + ": no series named " + rule.selector());
                }
                for (JsonNode series : data.path("result")) {
                    String name = series.path("metric").path("__name__").asText();
                    if (!rule.record().equals(name)) {
                        failures.add(rule.where() + ": series " + series.path("metric") + " is not named " + rule.record());
                    }
                }
            }
            assertTrue(checked > 0, "no recording rules in prometheus/rules");
            assertEquals(List.of(), failures, "recording rules without their recorded series");
        });
    }

    /**
     * The cost, streaming and OpenTelemetry GenAI series reach Prometheus with the labels their dashboards and
     * the conventions expect: cost for the models the sample table prices, unpriced requests for the others,
     * {@code gen_ai.provider.name} from the table, both token types, failures with an {@code error.type}.
     */
    @Test
    void theCostStreamingAndGenAiSeriesReachPrometheus() throws Exception {
        printingLogOnFailure(() -> {
            PriceTable sample = PriceTable.sample();
            Set<String> models = labelValues("llm_requests_total{outcome=\"success\"}", "model");
            Set<String> priced = new TreeSet<>();
            Set<String> unpriced = new TreeSet<>();
            for (String model : models) {
                (sample.price(model).isPresent() ? priced : unpriced).add(model);
            }
            assertFalse(priced.isEmpty() || unpriced.isEmpty(),
                    "the demo should call models with and without a sample price; it called " + models);

            assertEquals(priced, labelValues("llm_cost_usd_total > 0", "model"), "models with a cost");
            assertEquals(unpriced, labelValues("llm_unpriced_requests_total > 0", "model"), "models with unpriced requests");
            assertEquals(models, labelValues("llm_time_to_first_token_seconds_bucket", "model"),
                    "models with a time-to-first-token histogram (the demo streams every model)");
            assertEquals(models, labelValues("llm_time_per_output_token_seconds_bucket", "model"),
                    "models with a time-per-output-token histogram");

            String chat = "{gen_ai_operation_name=\"chat\"}";
            assertEquals(models, labelValues("gen_ai_client_operation_duration_seconds_bucket" + chat, "gen_ai_request_model"),
                    "gen_ai.request.model of gen_ai.client.operation.duration");
            assertEquals(models, labelValues("gen_ai_client_operation_time_to_first_chunk_seconds_bucket" + chat,
                    "gen_ai_request_model"), "gen_ai.request.model of gen_ai.client.operation.time_to_first_chunk");
            assertEquals(models, labelValues("gen_ai_client_operation_time_per_output_chunk_seconds_bucket" + chat,
                    "gen_ai_request_model"), "gen_ai.request.model of gen_ai.client.operation.time_per_output_chunk");
            for (String type : List.of("input", "output")) {
                assertEquals(models, labelValues("gen_ai_client_token_usage_bucket{gen_ai_operation_name=\"chat\",gen_ai_token_type=\""
                        + type + "\"}", "gen_ai_request_model"), "models of gen_ai.client.token.usage, gen_ai.token.type " + type);
            }
            assertEquals(Set.of("input", "output"), labelValues("gen_ai_client_token_usage_bucket", "gen_ai_token_type"),
                    "gen_ai.token.type values");

            Map<String, String> expectedProviders = new TreeMap<>();
            for (String model : models) {
                String provider = sample.price(model).map(ModelPrice::provider).orElse(null);
                expectedProviders.put(model, provider == null ? "_OTHER" : provider);
            }
            Map<String, String> providers = new TreeMap<>();
            for (JsonNode r : query("count by (gen_ai_request_model, gen_ai_provider_name) "
                    + "(gen_ai_client_operation_duration_seconds_count" + chat + ")").path("result")) {
                String model = r.path("metric").path("gen_ai_request_model").asText();
                String provider = r.path("metric").path("gen_ai_provider_name").asText("");
                assertNull(providers.put(model, provider), "model " + model + " under two providers");
            }
            assertEquals(expectedProviders, providers, "gen_ai.provider.name by model, from the price table, else _OTHER");

            Set<String> errorTypes = labelValues("gen_ai_client_operation_duration_seconds_count{error_type!=\"\"}", "error_type");
            assertFalse(errorTypes.isEmpty(), "no failed operation with an error.type, though the demo's failures were recorded");
            assertTrue(Set.of("rate_limit", "timeout", "_OTHER", "invalid_request").containsAll(errorTypes),
                    "error.type is the failure's error type: " + errorTypes);
            Set<String> ourTypes = labelValues("llm_request_errors_total", "error_type");
            assertFalse(ourTypes.isEmpty(), "no llm_request_errors_total, though the demo's failures were recorded");
            assertTrue(Set.of("rate_limit", "timeout", "_OTHER", "invalid_request").containsAll(ourTypes), ourTypes.toString());

            // The GenAI token histogram counts the same completed requests as llm_tokens, up to the events
            // recorded between the two meters when Prometheus scraped.
            Map<String, Double> ours = valuesBy("sum by (model) (llm_tokens_count{type=\"prompt\"})", "model");
            Map<String, Double> theirs = valuesBy("sum by (gen_ai_request_model) "
                    + "(gen_ai_client_token_usage_count{gen_ai_token_type=\"input\"})", "gen_ai_request_model");
            assertEquals(ours.keySet(), theirs.keySet(), "models of llm_tokens and gen_ai_client_token_usage");
            ours.forEach((model, count) -> assertTrue(Math.abs(count - theirs.get(model)) <= Math.max(8, 0.02 * count),
                    "model " + model + ": " + count + " prompt token observations, " + theirs.get(model) + " GenAI input ones"));
        });
    }

    // --- A scored session, posted beside the demo traffic -------------------------------------------------

    private static final String SCORED = "scored-session";

    /**
     * Posts 42 calls of {@link #SCORED} (the server keeps 40 records a session) and their scores: one before the
     * last call, one after it, one of the first call (no longer retained once the others came), one of the
     * session, and names past the bound of score names, which the demo's three names and these share.
     */
    private static void postScoredSession() throws Exception {
        post(scored("c-42", "quality", "0.25")); // before its call, in a request of its own
        StringBuilder ndjson = new StringBuilder();
        for (int i = 1; i <= 42; i++) {
            ndjson.append("{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"" + SCORED + "\",\"model\":\"judge-me\","
                    + "\"duration_ms\":100,\"time_to_first_token_ms\":40,\"prompt_tokens\":10,\"completion_tokens\":5,"
                    + "\"correlation_id\":\"c-" + i
                    + "\",\"attributes\":{\"feature\":\"search\"}}\n");
        }
        ndjson.append(scored("c-42", "quality", "0.35")).append('\n'); // after it
        ndjson.append(scored("c-41", "thumbs", "false")).append('\n');
        ndjson.append(scored("c-1", "quality", "0.3")).append('\n'); // its record is no longer retained
        ndjson.append(scored(null, "session_rating", "2")).append('\n');
        for (int i = 0; i < SessionStore.MAX_SCORE_NAMES; i++) {
            ndjson.append(scored("c-41", "extra_" + i, "1")).append('\n'); // the last ones past the bound
        }
        post(ndjson.toString());
    }

    private static void post(String ndjson) throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                        + "/events")).header("Content-Type", "application/x-ndjson")
                .POST(HttpRequest.BodyPublishers.ofString(ndjson)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(202, response.statusCode(), response.body());
    }

    private static String scored(String correlationId, String name, String value) {
        return "{\"type\":\"LLM_REQUEST_SCORED\",\"session_id\":\"" + SCORED + "\","
                + (correlationId == null ? "" : "\"correlation_id\":\"" + correlationId + "\",")
                + "\"name\":\"" + name + "\",\"value\":" + value + "}";
    }

    @Test
    void aScoredSessionReadsBackInTheJsonTheScrapeAndPrometheusAndItsLowQualityRaisesTheAlert() throws Exception {
        printingLogOnFailure(() -> {
            JsonNode session = JSON.readTree(get("http://127.0.0.1:" + server.port() + "/events/metrics/session/" + SCORED).body());
            JsonNode requests = session.path("requests");
            assertEquals(40, requests.size(), "the records the server keeps");
            assertEquals("c-3", requests.get(0).path("correlation_id").asText(), "c-1 and c-2 are no longer retained");
            assertEquals("search", requests.get(0).path("attributes").path("feature").asText());
            assertEquals(0, requests.get(0).path("scores").size());
            JsonNode last = requests.get(39).path("scores");
            assertEquals(2, last.size(), last.toString());
            assertEquals(0.25, last.get(0).path("value").asDouble(), "the score that came before its call");
            assertEquals(0.35, last.get(1).path("value").asDouble());
            JsonNode previous = requests.get(38).path("scores");
            assertEquals("thumbs", previous.get(0).path("name").asText());
            assertEquals(0.0, previous.get(0).path("value").asDouble(), "false is 0");
            Map<String, JsonNode> summary = new HashMap<>();
            session.path("scores").forEach(s -> summary.put(s.path("name").asText(), s));
            assertEquals(3, summary.get("quality").path("count").asLong(), "before, after, and of a request no longer kept");
            assertEquals(0.3, summary.get("quality").path("mean").asDouble(), 1e-9);
            assertEquals(0.25, summary.get("quality").path("min").asDouble());
            assertEquals(1, summary.get("session_rating").path("count").asLong());
            assertEquals(SessionStore.MAX_SCORE_NAMES + 1, summary.size(), "the session's names up to the bound, then _other");
            assertEquals(3, summary.get(SessionStore.OTHER_SCORE_NAME).path("count").asLong());

            PrometheusText scrape = PrometheusText.parse(scrapeServer());
            assertEquals(1, scrape.value("llm_score_count", "model", "judge-me", "name", "quality"),
                    "the score after its call, under the call's model");
            assertEquals(2, scrape.value("llm_score_count", "model", "_unknown", "name", "quality"),
                    "the score before its call and the one of a request no longer kept");
            assertTrue(scrape.has("llm_score_count", "model", "judge-me", "name", SessionStore.OTHER_SCORE_NAME),
                    "names past the bound share _other");
            assertEquals(3, scrape.value("llm_session_score_count", "session", SCORED, "name", "quality"));
            assertEquals(0.9, scrape.value("llm_session_score_sum", "session", SCORED, "name", "quality"), 1e-9);

            // The overview's panel query, as Grafana sends it, over what Prometheus scraped.
            String panel = dashboardExpressions().stream().map(Expression::expr).filter(e -> e.contains("llm_score_sum"))
                    .findFirst().orElseThrow(() -> new AssertionError("no panel reads llm_score_sum"));
            String panelQuery = substitute(panel.replace("[$__rate_interval]", "[1h]"), new ArrayList<>());
            await("Prometheus to have the scored session's scores").atMost(DATA_TIMEOUT).pollInterval(Duration.ofMillis(500))
                    .untilAsserted(() -> assertEquals(0.3, scalar("llm_session_score_sum{session=\"" + SCORED
                            + "\",name=\"quality\"} / llm_session_score_count{session=\"" + SCORED + "\",name=\"quality\"}"), 1e-9));
            Map<String, Double> means = new HashMap<>();
            for (JsonNode r : query(panelQuery).path("result")) {
                means.put(r.path("metric").path("model").asText() + "/" + r.path("metric").path("name").asText(),
                        Double.parseDouble(r.path("value").get(1).asText()));
            }
            assertTrue(means.containsKey("gpt-4o/quality") && means.containsKey("claude-sonnet-4/quality"),
                    "the demo's judged models: " + means);
            assertTrue(means.containsKey("judge-me/quality"), "the scored session's model: " + means);

            // The shipped alert over the same data: quiet at its level (0.7) for the demo's good models, and firing for
            // every model with enough quality scores once the level is above every mean.
            Rule alert = rules().stream().filter(r -> "LlmQualityScoreLow".equals(r.alert())).findFirst().orElseThrow();
            Set<String> firing = labelValues(alert.expr().replace("name:llm_score_alert_level:value",
                    "label_replace(vector(1.01), \"name\", \"quality\", \"\", \"\")"), "model");
            assertTrue(firing.containsAll(Set.of("gpt-4o", "claude-sonnet-4")), "firing at level 1.01: " + firing);
            assertFalse(firing.contains("judge-me"), "one quality score under its model is below the five the alert asks for");
            Set<String> atShippedLevel = labelValues(alert.expr(), "model");
            assertFalse(atShippedLevel.contains("gpt-4o") || atShippedLevel.contains("claude-sonnet-4"),
                    "the demo's good models (means about 0.86 and 0.88) stay quiet at 0.7: " + atShippedLevel);
            assertEquals(List.of(0.7), valuesBy("name:llm_score_alert_level:value", "name").values().stream().toList());
        });
    }

    @Test
    void aLiveScrapePassesPromtoolCheckMetrics() throws Exception {
        String body = scrapeServer();
        for (String name : List.of("llm_requests_total", "llm_cost_usd_total", "llm_unpriced_requests_total",
                "llm_cached_tokens_total", "llm_session_cost_usd_total", "llm_time_to_first_token_seconds_bucket",
                "llm_time_per_output_token_seconds_bucket", "gen_ai_client_operation_duration_seconds_bucket",
                "gen_ai_client_token_usage_bucket", "gen_ai_client_operation_time_to_first_chunk_seconds_bucket",
                "gen_ai_client_operation_time_per_output_chunk_seconds_bucket")) {
            assertTrue(body.contains("\n" + name + "{"), "the scrape promtool checks has no " + name);
        }
        Result result = run(List.of(promtoolBinary, "check", "metrics"), body, Duration.ofSeconds(30));
        assertTrue(result.exitCode() == 0 && result.output().isBlank(),
                "promtool check metrics complained about the server's scrape (exit " + result.exitCode() + "):\n"
                        + result.output());
    }

    @Test
    void prometheusCheckShPasses() throws Exception {
        Path script = ROOT.resolve("prometheus/check.sh");
        assertTrue(Files.isRegularFile(script), script + " is missing");
        ProcessBuilder pb = new ProcessBuilder("bash", script.toString()).directory(ROOT.toFile());
        pb.environment().put("PROMTOOL", promtoolBinary);
        Result result = run(pb, null, Duration.ofSeconds(60));
        assertEquals(0, result.exitCode(), "prometheus/check.sh failed:\n" + result.output());
        assertTrue(result.output().contains("prometheus/check.sh: OK"), "no OK line from check.sh:\n" + result.output());
    }

    // --- Expressions ------------------------------------------------------------------------------------

    enum Kind { PANEL, VARIABLE, RECORDING_RULE, ALERT_RULE }

    record Expression(String where, String expr, Kind kind) {
    }

    /** A rule of prometheus/rules/*.yml: exactly one of record and alert is set. */
    record Rule(String file, String group, String record, String alert, String expr, Map<String, String> labels) {

        String where() {
            return "rule " + (record != null ? "record " + record + labels : "alert " + alert)
                    + " (" + file + ", group " + group + ")";
        }

        /** The recorded series: the record name with the rule's labels as matchers. */
        String selector() {
            if (labels.isEmpty()) {
                return record;
            }
            List<String> matchers = new ArrayList<>();
            labels.forEach((k, v) -> matchers.add(k + "=\"" + v.replace("\\", "\\\\").replace("\"", "\\\"") + "\""));
            return record + "{" + String.join(",", matchers) + "}";
        }
    }

    /** Evaluates one expression, adding the metrics it reads to {@code read}; returns what is wrong with it, or null. */
    private static String evaluate(Expression e, Set<String> read) throws Exception {
        String expr = e.expr();
        String labelToCheck = null;
        if (e.kind() == Kind.VARIABLE) {
            Matcher labelValues = LABEL_VALUES.matcher(expr);
            Matcher queryResult = QUERY_RESULT.matcher(expr);
            if (labelValues.matches()) {
                labelToCheck = labelValues.group(2);
                String metric = labelValues.group(1) != null ? labelValues.group(1) : "{" + labelToCheck + "!=\"\"}";
                expr = "count by (" + labelToCheck + ") (" + metric + ")";
            } else if (queryResult.matches()) {
                expr = queryResult.group(1);
            } else {
                return "unsupported variable query (expected label_values(...) or query_result(...))";
            }
        }
        List<String> unknown = new ArrayList<>();
        expr = substitute(expr, unknown);
        if (!unknown.isEmpty()) {
            return "unknown Grafana variables " + unknown;
        }
        // "x or vector(0)" and alerts return something (or, for alerts, rightly nothing) even when x names a
        // metric that does not exist: every metric an expression reads must be one Prometheus has.
        Set<String> missing = new LinkedHashSet<>(metricNames(expr));
        read.addAll(missing);
        missing.removeAll(knownMetricNames());
        if (!missing.isEmpty()) {
            return "reads metrics Prometheus does not have: " + missing + "\n    evaluated: " + expr;
        }
        HttpResponse<String> response = get(prometheusBase + "/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8));
        JsonNode body;
        try {
            body = JSON.readTree(response.body());
        } catch (IOException notJson) {
            return "HTTP " + response.statusCode() + ": " + response.body();
        }
        if (response.statusCode() != 200 || !"success".equals(body.path("status").asText())) {
            return "error (HTTP " + response.statusCode() + ", " + body.path("errorType").asText() + "): "
                    + body.path("error").asText() + "\n    evaluated: " + expr;
        }
        if (body.has("warnings")) {
            return "warnings: " + body.path("warnings") + "\n    evaluated: " + expr;
        }
        if (e.kind() == Kind.ALERT_RULE) {
            return null; // No series is the healthy answer.
        }
        JsonNode data = body.path("data");
        String type = data.path("resultType").asText();
        if (type.equals("vector") || type.equals("matrix")) {
            if (data.path("result").isEmpty()) {
                return "empty result\n    evaluated: " + expr;
            }
            boolean allNaN = true;
            for (JsonNode series : data.path("result")) {
                allNaN &= type.equals("vector") && "NaN".equals(series.path("value").path(1).asText());
            }
            if (allNaN) {
                System.out.println("Note: only NaN from " + e.where() + ": " + expr.replace("\n", " "));
            }
            if (labelToCheck != null) {
                for (JsonNode series : data.path("result")) {
                    if (series.path("metric").path(labelToCheck).asText().isEmpty()) {
                        return "a series without label " + labelToCheck + ": " + series + "\n    evaluated: " + expr;
                    }
                }
            }
        }
        return null;
    }

    /** Replaces Grafana variables as a user with every model selected and the picked session would see them. */
    private static String substitute(String expr, List<String> unknown) {
        return substitute(expr, session, unknown);
    }

    /** {@code expr} with Grafana's variables replaced: every model, {@code session}, the built-in intervals. */
    static String substitute(String expr, String session, List<String> unknown) {
        Matcher m = GRAFANA_VARIABLE.matcher(expr);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2) : m.group(3);
            String value = switch (name) {
                case "model" -> ".*";
                case "session" -> session;
                default -> GRAFANA_BUILTINS.get(name);
            };
            if (value == null) {
                unknown.add(m.group());
                value = m.group();
            }
            m.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static final Pattern STRING_LITERAL = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`");
    private static final Pattern BRACES_OR_BRACKETS = Pattern.compile("\\{[^}]*}|\\[[^]]*]");
    private static final Pattern LABEL_LIST =
            Pattern.compile("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
    private static final Pattern IDENTIFIER = Pattern.compile("(?<![\\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*+)(?!\\s*\\()");
    private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "by", "without", "on", "ignoring",
            "group_left", "group_right", "offset", "bool", "atan2", "NaN", "Inf", "nan", "inf", "start", "end");
    private static Set<String> knownMetricNames;

    /**
     * The metric names an expression's vector selectors read: identifiers outside strings, label matchers,
     * ranges and label lists that are neither functions nor keywords. A heuristic, made for the bundle's
     * expressions.
     */
    static Set<String> metricNames(String expr) {
        String s = STRING_LITERAL.matcher(expr).replaceAll("\"\"");
        s = BRACES_OR_BRACKETS.matcher(s).replaceAll(" ");
        s = LABEL_LIST.matcher(s).replaceAll(" ");
        Set<String> names = new LinkedHashSet<>();
        Matcher m = IDENTIFIER.matcher(s);
        while (m.find()) {
            if (!KEYWORDS.contains(m.group(1))) {
                names.add(m.group(1));
            }
        }
        return names;
    }

    /** The metric names Prometheus holds (scraped and recorded), read once. */
    private static synchronized Set<String> knownMetricNames() throws Exception {
        if (knownMetricNames == null) {
            Set<String> names = new LinkedHashSet<>();
            api("/api/v1/label/__name__/values").forEach(n -> names.add(n.asText()));
            knownMetricNames = names;
        }
        return knownMetricNames;
    }

    /** Every panel target's expr (rows and collapsed rows included) and query variable of every dashboard. */
    static List<Expression> dashboardExpressions() throws IOException {
        List<Expression> expressions = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(ROOT.resolve("grafana/dashboards"))) {
            files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        for (Path file : files) {
            JsonNode dashboard = JSON.readTree(file.toFile());
            if (dashboard.has("dashboard") && !dashboard.has("panels")) {
                dashboard = dashboard.path("dashboard");
            }
            String title = "dashboard '" + dashboard.path("title").asText(file.getFileName().toString()) + "' ("
                    + file.getFileName() + ")";
            List<JsonNode> panels = new ArrayList<>();
            collectPanels(dashboard.path("panels"), panels);
            for (JsonNode row : dashboard.path("rows")) { // pre-schema-16 layout
                collectPanels(row.path("panels"), panels);
            }
            for (JsonNode panel : panels) {
                for (JsonNode target : panel.path("targets")) {
                    String expr = target.path("expr").asText("");
                    if (!expr.isBlank()) {
                        expressions.add(new Expression(title + " / panel " + panel.path("id") + " '" + panel.path("title").asText()
                                + "' / target " + target.path("refId").asText(), expr, Kind.PANEL));
                    }
                }
            }
            for (JsonNode variable : dashboard.path("templating").path("list")) {
                if (!"query".equals(variable.path("type").asText())) {
                    continue;
                }
                JsonNode query = variable.path("query");
                String text = query.isObject() ? query.path("query").asText("") : query.asText("");
                if (text.isBlank()) {
                    text = variable.path("definition").asText("");
                }
                String where = title + " / variable $" + variable.path("name").asText();
                expressions.add(new Expression(where, text.isBlank() ? "<no query>" : text, Kind.VARIABLE));
            }
        }
        return expressions;
    }

    private static void collectPanels(JsonNode list, List<JsonNode> into) {
        for (JsonNode panel : list) {
            into.add(panel);
            collectPanels(panel.path("panels"), into);
        }
    }

    /** Every rule of prometheus/rules/*.yml. */
    @SuppressWarnings("unchecked")
    static List<Rule> rules() {
        List<Rule> rules = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(ROOT.resolve("prometheus/rules"))) {
            files = s.filter(p -> p.toString().endsWith(".yml") || p.toString().endsWith(".yaml")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (Path file : files) {
            Map<String, Object> doc;
            try {
                doc = new Yaml().load(Files.readString(file));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            for (Map<String, Object> group : (List<Map<String, Object>>) doc.get("groups")) {
                for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
                    Map<String, String> labels = new LinkedHashMap<>();
                    if (rule.get("labels") instanceof Map<?, ?> l) {
                        l.forEach((k, v) -> labels.put(String.valueOf(k), String.valueOf(v)));
                    }
                    rules.add(new Rule(file.getFileName().toString(), String.valueOf(group.get("name")),
                            (String) rule.get("record"), (String) rule.get("alert"), String.valueOf(rule.get("expr")),
                            rule.get("record") != null ? labels : Map.of()));
                }
            }
        }
        assertFalse(rules.isEmpty(), "no rules in prometheus/rules");
        return rules;
    }

    // --- The test's Prometheus configuration -------------------------------------------------------------

    /**
     * The shipped configuration with every scrape and evaluation interval at {@value #INTERVAL} and the
     * {@code llm-metrics} job's compose target replaced by {@code target}; fails if any of it is not there.
     */
    @SuppressWarnings("unchecked")
    static String testConfig(String shipped, String target) {
        Map<String, Object> config = new Yaml().load(shipped);
        Map<String, Object> global = (Map<String, Object>) config.get("global");
        assertTrue(global != null && global.containsKey("scrape_interval") && global.containsKey("evaluation_interval"),
                "prometheus.yml: no global scrape_interval and evaluation_interval to rewrite");
        global.put("scrape_interval", INTERVAL);
        global.put("evaluation_interval", INTERVAL);
        global.put("scrape_timeout", INTERVAL);

        Object ruleFiles = config.get("rule_files");
        assertTrue(ruleFiles instanceof List<?> l && l.contains("rules/*.yml"),
                "prometheus.yml: rule_files does not load rules/*.yml: " + ruleFiles);

        int replaced = 0;
        boolean job = false;
        for (Map<String, Object> scrape : (List<Map<String, Object>>) config.get("scrape_configs")) {
            if (!"llm-metrics".equals(scrape.get("job_name"))) {
                continue;
            }
            job = true;
            scrape.put("scrape_interval", INTERVAL);
            scrape.put("scrape_timeout", INTERVAL);
            for (Map<String, Object> statics : (List<Map<String, Object>>) scrape.getOrDefault("static_configs", List.of())) {
                List<Object> targets = new ArrayList<>((List<Object>) statics.get("targets"));
                for (int i = 0; i < targets.size(); i++) {
                    if ("llm-metrics:8001".equals(targets.get(i))) {
                        targets.set(i, target);
                        replaced++;
                    }
                }
                statics.put("targets", targets);
            }
        }
        assertTrue(job, "prometheus.yml: no scrape job llm-metrics");
        assertEquals(1, replaced, "prometheus.yml: the llm-metrics job should have the one target llm-metrics:8001");

        DumperOptions options = new DumperOptions();
        options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        return new Yaml(options).dump(config);
    }

    // --- Prometheus and server access --------------------------------------------------------------------

    private static JsonNode api(String path) throws Exception {
        HttpResponse<String> response = get(prometheusBase + path);
        JsonNode body = JSON.readTree(response.body());
        assertEquals("success", body.path("status").asText(), path + " → HTTP " + response.statusCode() + " " + response.body());
        return body.path("data");
    }

    /** The data of an instant query; fails on an error. */
    private static JsonNode query(String expr) throws Exception {
        return api("/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8));
    }

    /** The values of {@code label} in the result of an instant query. */
    private static Set<String> labelValues(String expr, String label) throws Exception {
        Set<String> values = new TreeSet<>();
        for (JsonNode r : query(expr).path("result")) {
            values.add(r.path("metric").path(label).asText());
        }
        return values;
    }

    /** An instant query's values by one label. */
    private static Map<String, Double> valuesBy(String expr, String label) throws Exception {
        Map<String, Double> values = new HashMap<>();
        for (JsonNode r : query(expr).path("result")) {
            values.put(r.path("metric").path(label).asText(), Double.parseDouble(r.path("value").get(1).asText()));
        }
        return values;
    }

    /** The value of a one-element instant vector; NaN if empty. */
    private static double scalar(String expr) throws Exception {
        JsonNode result = query(expr).path("result");
        return result.isEmpty() ? Double.NaN : Double.parseDouble(result.get(0).path("value").get(1).asText());
    }

    private static String scrapeServer() throws Exception {
        HttpResponse<String> response = get("http://127.0.0.1:" + server.port() + "/metrics");
        assertEquals(200, response.statusCode(), "GET /metrics: " + response.body());
        return response.body();
    }

    private static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(15)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    // --- Processes and files -----------------------------------------------------------------------------

    private record Result(int exitCode, String output) {
    }

    private static Result run(List<String> command, String stdin, Duration timeout) throws Exception {
        return run(new ProcessBuilder(command), stdin, timeout);
    }

    /** Runs a process with stdout and stderr merged; kills it and fails after {@code timeout}. */
    private static Result run(ProcessBuilder pb, String stdin, Duration timeout) throws Exception {
        Process process = pb.redirectErrorStream(true).start();
        CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
            try (InputStream in = process.getInputStream()) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        try (OutputStream in = process.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        }
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            fail(pb.command() + " did not finish within " + timeout + "; output so far:\n" + output.getNow(""));
        }
        return new Result(process.exitValue(), output.get(10, TimeUnit.SECONDS));
    }

    private static String executable(String name) {
        return Tools.executable(name, "This test runs the real Prometheus: bin/test installs Debian's 'prometheus' package, which provides both prometheus and promtool (apt-get install prometheus).");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** Runs {@code body}; on any failure prints Prometheus' log first (to the test's output file) and rethrows. */
    private static void printingLogOnFailure(Executable body) throws Exception {
        try {
            body.execute();
        } catch (Throwable t) {
            printPrometheusLog();
            if (t instanceof Exception e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(t);
        }
    }

    private static void printPrometheusLog() {
        if (prometheusLog == null || !Files.exists(prometheusLog)) {
            return;
        }
        try {
            System.out.println("----- prometheus log (" + prometheusLog + ") -----");
            System.out.println(Files.readString(prometheusLog));
            System.out.println("----- end of prometheus log -----");
        } catch (IOException e) {
            System.out.println("cannot read " + prometheusLog + ": " + e);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        assertTrue(Files.isDirectory(from), from + " is missing");
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path dest = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    Files.copy(p, dest);
                }
            }
        }
    }

    private static Path repoRoot() {
        return Tools.repoRoot();
    }
}
