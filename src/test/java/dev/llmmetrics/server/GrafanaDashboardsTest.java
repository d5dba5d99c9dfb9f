package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * The shipped Grafana dashboards are complete and consistent: identity, units, queries, datasource
 * references, unique panel ids, links between them, and the provisioning that loads them in
 * docker-compose.yml. {@link PrometheusBundleTest} proves their queries against a real Prometheus.
 */
class GrafanaDashboardsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path ROOT = repoRoot();
    private static final Path DASHBOARDS = ROOT.resolve("grafana/dashboards");
    /** Datasource uids a reference may use: the dashboard variable, or the provisioned datasource. */
    private static final Set<String> DATASOURCE_UIDS = Set.of("${datasource}", "$datasource", "prometheus");
    private static final Pattern DASHBOARD_LINK = Pattern.compile("/d/([A-Za-z0-9_-]+)(?:/[^?\"]*)?(?:\\?([^\"]*))?");

    @Test
    void everyDashboardIsComplete() throws IOException {
        Map<Path, JsonNode> dashboards = dashboards();
        List<String> problems = new ArrayList<>();
        Set<String> uids = new HashSet<>();
        for (Map.Entry<Path, JsonNode> entry : dashboards.entrySet()) {
            String file = entry.getKey().getFileName().toString();
            JsonNode d = entry.getValue();
            if (d.path("uid").asText("").isBlank()) {
                problems.add(file + ": no uid");
            } else if (!uids.add(d.path("uid").asText())) {
                problems.add(file + ": uid " + d.path("uid").asText() + " is used by another dashboard too");
            }
            if (d.path("title").asText("").isBlank()) {
                problems.add(file + ": no title");
            }
            if (!d.path("tags").isArray() || d.path("tags").isEmpty()) {
                problems.add(file + ": no tags");
            }
            if (!d.path("schemaVersion").isInt() || d.path("schemaVersion").asInt() < 39) {
                problems.add(file + ": schemaVersion " + d.path("schemaVersion") + ", expected >= 39");
            }
            if (!d.path("templating").path("list").isArray()) {
                problems.add(file + ": no templating.list");
            }
        }
        assertEquals(List.of(), problems, "dashboards missing their identity");
    }

    @Test
    void everyPanelHasAUnitAQueryAndThePrometheusDatasource() throws IOException {
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Map.Entry<Path, JsonNode> entry : dashboards().entrySet()) {
            String file = entry.getKey().getFileName().toString();
            for (JsonNode panel : panels(entry.getValue())) {
                if ("row".equals(panel.path("type").asText())) {
                    continue;
                }
                checked++;
                String where = file + " panel " + panel.path("id") + " '" + panel.path("title").asText() + "'";
                if (panel.path("fieldConfig").path("defaults").path("unit").asText("").isBlank()) {
                    problems.add(where + ": no fieldConfig.defaults.unit");
                }
                boolean hasExpr = false;
                for (JsonNode target : panel.path("targets")) {
                    hasExpr |= !target.path("expr").asText("").isBlank();
                }
                if (!hasExpr) {
                    problems.add(where + ": no target with an expr");
                }
                if (panel.path("datasource").isMissingNode() || panel.path("datasource").isNull()) {
                    problems.add(where + ": no datasource (it would ignore the dashboard's datasource variable)");
                } else {
                    checkDatasource(where, panel.path("datasource"), problems);
                }
                for (JsonNode target : panel.path("targets")) {
                    if (target.has("datasource")) {
                        checkDatasource(where + " target " + target.path("refId").asText(), target.path("datasource"), problems);
                    }
                }
            }
        }
        assertTrue(checked > 0, "no panels in " + DASHBOARDS);
        assertEquals(List.of(), problems, "panels that are incomplete or use another datasource");
    }

    @Test
    void templateVariablesUseThePrometheusDatasource() throws IOException {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<Path, JsonNode> entry : dashboards().entrySet()) {
            String file = entry.getKey().getFileName().toString();
            JsonNode datasourceVariable = null;
            for (JsonNode variable : entry.getValue().path("templating").path("list")) {
                String where = file + " variable $" + variable.path("name").asText();
                switch (variable.path("type").asText()) {
                    case "datasource" -> {
                        if ("datasource".equals(variable.path("name").asText())) {
                            datasourceVariable = variable;
                        }
                    }
                    case "query" -> {
                        if (variable.has("datasource")) {
                            checkDatasource(where, variable.path("datasource"), problems);
                        } else {
                            problems.add(where + ": no datasource");
                        }
                    }
                    default -> {
                    }
                }
            }
            if (datasourceVariable == null) {
                problems.add(file + ": no datasource variable named 'datasource'");
            } else if (!"prometheus".equals(datasourceVariable.path("query").asText())) {
                problems.add(file + ": the datasource variable lists " + datasourceVariable.path("query")
                        + " datasources, expected prometheus");
            }
        }
        assertEquals(List.of(), problems, "template variables");
    }

    @Test
    void panelIdsAreUniqueWithinADashboard() throws IOException {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<Path, JsonNode> entry : dashboards().entrySet()) {
            String file = entry.getKey().getFileName().toString();
            Map<Integer, String> seen = new LinkedHashMap<>();
            for (JsonNode panel : panels(entry.getValue())) {
                String title = panel.path("title").asText();
                if (!panel.path("id").canConvertToInt()) {
                    problems.add(file + " panel '" + title + "': no numeric id");
                    continue;
                }
                String previous = seen.put(panel.path("id").asInt(), title);
                if (previous != null) {
                    problems.add(file + ": panel id " + panel.path("id") + " used by '" + previous + "' and '" + title + "'");
                }
            }
        }
        assertEquals(List.of(), problems, "panel ids");
    }

    /**
     * Panels fit Grafana's 24-column grid and none covers another: neither the top-level ones (row headers
     * included) nor those inside a collapsed row, which also lie below their row.
     */
    @Test
    void panelsFitTheGridWithoutOverlapping() throws IOException {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<Path, JsonNode> entry : dashboards().entrySet()) {
            String file = entry.getKey().getFileName().toString();
            List<JsonNode> topLevel = new ArrayList<>();
            entry.getValue().path("panels").forEach(topLevel::add);
            checkLayout(file, topLevel, problems);
            for (JsonNode panel : topLevel) {
                if ("row".equals(panel.path("type").asText()) && panel.path("collapsed").asBoolean()) {
                    List<JsonNode> inRow = new ArrayList<>();
                    panel.path("panels").forEach(inRow::add);
                    checkLayout(file + " collapsed row '" + panel.path("title").asText() + "'", inRow, problems);
                    for (JsonNode p : inRow) {
                        if (p.path("gridPos").path("y").asInt() <= panel.path("gridPos").path("y").asInt()) {
                            problems.add(file + ": panel " + p.path("id") + " is not below its collapsed row " + panel.path("id"));
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), problems, "panel layout");
    }

    /**
     * The overview answers issue 7's questions (time to first token, time per output token, cost, unpriced
     * requests, cached tokens) and the session drill-down shows the session's cost, each in the unit of what it
     * reads; and every panel that reads only dollar counters shows dollars.
     */
    @Test
    void streamingAndCostPanelsShowTheirMetricsInTheirUnits() throws IOException {
        record Wanted(String file, String metric, String unit) {
        }
        List<Wanted> wanted = List.of(
                new Wanted("llm-overview.json", "llm_time_to_first_token_seconds_bucket", "s"),
                new Wanted("llm-overview.json", "llm_time_per_output_token_seconds_bucket", "s"),
                new Wanted("llm-overview.json", "llm_cost_usd_total", "currencyUSD"),
                new Wanted("llm-overview.json", "llm_unpriced_requests_total", "reqps"),
                new Wanted("llm-overview.json", "llm_cached_tokens_total", "percentunit"),
                new Wanted("llm-session.json", "llm_session_cost_usd_total", "currencyUSD"));
        Map<Path, JsonNode> dashboards = dashboards();
        List<String> problems = new ArrayList<>();
        for (Wanted w : wanted) {
            JsonNode dashboard = dashboards.get(DASHBOARDS.resolve(w.file()));
            if (dashboard == null) {
                problems.add(w.file() + " is missing");
                continue;
            }
            boolean found = false;
            for (JsonNode panel : panels(dashboard)) {
                found |= metricsRead(panel).contains(w.metric())
                        && w.unit().equals(panel.path("fieldConfig").path("defaults").path("unit").asText());
            }
            if (!found) {
                problems.add(w.file() + ": no panel reads " + w.metric() + " with unit " + w.unit());
            }
        }
        for (Map.Entry<Path, JsonNode> entry : dashboards.entrySet()) {
            for (JsonNode panel : panels(entry.getValue())) {
                Set<String> metrics = metricsRead(panel);
                String unit = panel.path("fieldConfig").path("defaults").path("unit").asText();
                if (!metrics.isEmpty() && metrics.stream().allMatch(m -> m.endsWith("_usd_total")) && !"currencyUSD".equals(unit)) {
                    problems.add(entry.getKey().getFileName() + " panel " + panel.path("id") + " '" + panel.path("title").asText()
                            + "' reads only " + metrics + " but has unit " + unit + ", not currencyUSD");
                }
            }
        }
        assertEquals(List.of(), problems, "streaming and cost panels");
    }

    /** Links to /d/<uid> point at a shipped dashboard, and their var-<name> parameters at its variables. */
    @Test
    void linksBetweenDashboardsResolve() throws IOException {
        Map<String, Set<String>> variablesByUid = new LinkedHashMap<>();
        Set<String> tags = new HashSet<>();
        for (JsonNode d : dashboards().values()) {
            Set<String> variables = new HashSet<>();
            d.path("templating").path("list").forEach(v -> variables.add(v.path("name").asText()));
            variablesByUid.put(d.path("uid").asText(), variables);
            d.path("tags").forEach(t -> tags.add(t.asText()));
        }
        List<String> problems = new ArrayList<>();
        for (Map.Entry<Path, JsonNode> entry : dashboards().entrySet()) {
            String file = entry.getKey().getFileName().toString();
            Matcher m = DASHBOARD_LINK.matcher(entry.getValue().toString());
            while (m.find()) {
                Set<String> variables = variablesByUid.get(m.group(1));
                if (variables == null) {
                    problems.add(file + ": link to unknown dashboard uid " + m.group(1) + " (" + m.group() + ")");
                    continue;
                }
                for (String param : m.group(2) == null ? new String[0] : m.group(2).split("&")) {
                    if (param.startsWith("var-")) {
                        String name = param.substring(4, param.contains("=") ? param.indexOf('=') : param.length());
                        if (!variables.contains(name)) {
                            problems.add(file + ": link sets var-" + name + " but dashboard " + m.group(1) + " has no such variable");
                        }
                    }
                }
            }
            for (JsonNode link : entry.getValue().path("links")) {
                if ("dashboards".equals(link.path("type").asText())) {
                    for (JsonNode tag : link.path("tags")) {
                        if (!tags.contains(tag.asText())) {
                            problems.add(file + ": dashboards link by tag '" + tag.asText() + "' that no dashboard has");
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), problems, "links between dashboards");
    }

    /** The dashboard provider reads the folder docker-compose.yml mounts grafana/dashboards at, and the datasource is the one the dashboards default to. */
    @Test
    @SuppressWarnings("unchecked")
    void provisioningLoadsTheDashboardsComposeMounts() throws IOException {
        Map<String, Object> compose = yaml(ROOT.resolve("docker-compose.yml"));
        Map<String, Object> grafana = (Map<String, Object>) ((Map<String, Object>) compose.get("services")).get("grafana");
        assertTrue(grafana != null, "docker-compose.yml has no grafana service");
        Map<String, String> mounts = new LinkedHashMap<>(); // container path -> normalised host path
        for (Object volume : (List<Object>) grafana.getOrDefault("volumes", List.of())) {
            String source;
            String target;
            if (volume instanceof Map<?, ?> longSyntax) {
                source = String.valueOf(longSyntax.get("source"));
                target = String.valueOf(longSyntax.get("target"));
            } else {
                String[] parts = String.valueOf(volume).split(":");
                source = parts[0];
                target = parts.length > 1 ? parts[1] : parts[0];
            }
            mounts.put(stripSlash(target), ROOT.resolve(source).normalize().toString());
        }

        String dashboardsDir = DASHBOARDS.normalize().toString();
        List<String> providerPaths = new ArrayList<>();
        for (Path file : files(ROOT.resolve("grafana/provisioning/dashboards"), ".yml", ".yaml")) {
            for (Map<String, Object> provider : (List<Map<String, Object>>) yaml(file).getOrDefault("providers", List.of())) {
                assertEquals("file", provider.get("type"), file + ": provider " + provider.get("name") + " type");
                String path = String.valueOf(((Map<String, Object>) provider.get("options")).get("path"));
                providerPaths.add(path);
                assertEquals(dashboardsDir, mounts.get(stripSlash(path)), file + ": provider path " + path
                        + " is not where docker-compose.yml mounts grafana/dashboards (grafana volumes: " + mounts + ")");
            }
        }
        assertFalse(providerPaths.isEmpty(), "no dashboard provider in grafana/provisioning/dashboards");
        assertEquals(ROOT.resolve("grafana/provisioning/dashboards").toString(),
                mounts.get("/etc/grafana/provisioning/dashboards"), "compose does not mount the dashboard provisioning");
        assertEquals(ROOT.resolve("grafana/provisioning/datasources").toString(),
                mounts.get("/etc/grafana/provisioning/datasources"), "compose does not mount the datasource provisioning");

        Object home = ((Map<String, Object>) grafana.getOrDefault("environment", Map.of()))
                .get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH");
        if (home != null) {
            Path homePath = Path.of(String.valueOf(home));
            String dir = stripSlash(homePath.getParent().toString());
            assertTrue(providerPaths.stream().map(GrafanaDashboardsTest::stripSlash).anyMatch(dir::equals),
                    "home dashboard " + home + " is outside the provisioned folder " + providerPaths);
            assertTrue(Files.isRegularFile(DASHBOARDS.resolve(homePath.getFileName().toString())),
                    "home dashboard " + home + " is not in grafana/dashboards");
        }

        List<Map<String, Object>> datasources = new ArrayList<>();
        for (Path file : files(ROOT.resolve("grafana/provisioning/datasources"), ".yml", ".yaml")) {
            datasources.addAll((List<Map<String, Object>>) yaml(file).getOrDefault("datasources", List.of()));
        }
        assertTrue(datasources.stream().anyMatch(ds -> "prometheus".equals(ds.get("uid")) && "prometheus".equals(ds.get("type"))
                        && Boolean.TRUE.equals(ds.get("isDefault"))),
                "no default provisioned datasource of type prometheus with uid prometheus: " + datasources);
    }

    // --- Helpers -----------------------------------------------------------------------------------------

    /**
     * Two replicas sharing one Redis store (docs/replicas.md, prometheus/prometheus-replicas.yml) each report
     * {@code llm_sessions_active} as the count the store holds: 5 sessions gave 5 on each replica's scrape, and
     * {@code sum(llm_sessions_active)} showed 10. Every panel reading it must show the store's 5, and a single
     * server's count as it is.
     */
    @Test
    void theSessionCountPanelsCountEachStoredSessionOnceOverTwoReplicasSharingOneStore() throws Exception {
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Map.Entry<Path, JsonNode> entry : dashboards().entrySet()) {
            for (JsonNode panel : panels(entry.getValue())) {
                for (JsonNode target : panel.path("targets")) {
                    String expr = target.path("expr").asText("");
                    if (!expr.contains("llm_sessions_active")) {
                        continue;
                    }
                    checked++;
                    String where = entry.getKey().getFileName() + " panel '" + panel.path("title").asText() + "' target "
                            + target.path("refId").asText();
                    Tools.Finished twoReplicas = promtoolExpects(expr, List.of(
                            Map.of("series", "llm_sessions_active{instance=\"replica-1:8001\",job=\"llm-metrics\"}", "values", "5x40"),
                            Map.of("series", "llm_sessions_active{instance=\"replica-2:8001\",job=\"llm-metrics\"}", "values", "5x40")),
                            List.of(Map.of("labels", "{}", "value", 5)));
                    if (twoReplicas.exitCode() != 0) {
                        problems.add(where + " over two replicas of one store holding 5 sessions:\n" + twoReplicas);
                    }
                    Tools.Finished oneServer = promtoolExpects(expr, List.of(
                            Map.of("series", "llm_sessions_active{instance=\"llm-metrics:8001\",job=\"llm-metrics\"}", "values", "7x40")),
                            List.of(Map.of("labels", "{}", "value", 7)));
                    if (oneServer.exitCode() != 0) {
                        problems.add(where + " over one server holding 7 sessions:\n" + oneServer);
                    }
                }
            }
        }
        assertTrue(checked >= 2, "expected the Active sessions and Sessions panels to read llm_sessions_active");
        assertEquals(List.of(), problems, "panels that count a stored session once per replica");
    }

    /**
     * The session drill-down answers "what did this session do in all?" from the per-session families: each one
     * docs/meters.md lists per session must be read by one of its panels. llm_session_score, a session's mean score by name,
     * was on the scrape and read by none.
     */
    @Test
    void everyPerSessionFamilyOnTheScrapeIsReadByTheSessionDrillDown() throws IOException {
        Set<String> families = new TreeSet<>();
        String meters = Files.readString(ROOT.resolve("docs/meters.md"));
        // The first table: per session and model (the global table lists llm_session_model_overflows_total, of no session)
        String perSession = meters.substring(0, meters.indexOf("\nPer model"));
        Matcher row = Pattern.compile("(?m)^\\| `(llm_session_[a-z_]+)` \\|").matcher(perSession);
        while (row.find()) {
            families.add(row.group(1));
        }
        assertTrue(families.size() >= 6, "the per-session families of docs/meters.md: " + families);
        Set<String> read = new TreeSet<>();
        for (JsonNode panel : panels(JSON.readTree(DASHBOARDS.resolve("llm-session.json").toFile()))) {
            for (String metric : metricsRead(panel)) {
                read.add(metric.replaceAll("_(sum|count|max)$", ""));
            }
        }
        Set<String> unread = new TreeSet<>(families);
        unread.removeAll(read);
        assertEquals(Set.of(), unread, "per-session families no panel of the session drill-down reads (it reads " + read + ")");
    }

    /**
     * Each replica is a JVM of its own, scraped by the one job of prometheus/prometheus-replicas.yml: the JVM memory
     * panel summed both replicas' heaps into one line labelled as the server's heap, and the CPU panel showed the
     * busier replica alone. Every panel reading the JVM's or the process's meters must show each instance apart.
     */
    @Test
    void theServerPanelsShowEachReplicaApart() throws Exception {
        List<Map<String, Object>> twoReplicas = new ArrayList<>();
        for (String instance : List.of("replica-1:8001", "replica-2:8001")) {
            String labels = "instance=\"" + instance + "\",job=\"llm-metrics\"";
            int scale = instance.startsWith("replica-1") ? 1 : 3;
            twoReplicas.add(series("jvm_memory_used_bytes{" + labels + ",area=\"heap\",id=\"G1 Eden Space\"}", (60 * scale) + "x40"));
            twoReplicas.add(series("jvm_memory_used_bytes{" + labels + ",area=\"heap\",id=\"G1 Old Gen\"}", (40 * scale) + "x40"));
            twoReplicas.add(series("jvm_memory_used_bytes{" + labels + ",area=\"nonheap\",id=\"Metaspace\"}", (10 * scale) + "x40"));
            twoReplicas.add(series("process_cpu_usage{" + labels + "}", (0.1 * scale) + "x40"));
        }
        Map<String, List<Map<String, Object>>> expected = Map.of(
                "jvm_memory_used_bytes", List.of(
                        sample("{instance=\"replica-1:8001\",area=\"heap\"}", 100), sample("{instance=\"replica-1:8001\",area=\"nonheap\"}", 10),
                        sample("{instance=\"replica-2:8001\",area=\"heap\"}", 300), sample("{instance=\"replica-2:8001\",area=\"nonheap\"}", 30)),
                "process_cpu_usage", List.of(sample("{instance=\"replica-1:8001\"}", 0.1), sample("{instance=\"replica-2:8001\"}", 0.3)));
        List<String> problems = new ArrayList<>();
        Set<String> read = new TreeSet<>();
        for (Map.Entry<Path, JsonNode> entry : dashboards().entrySet()) {
            for (JsonNode panel : panels(entry.getValue())) {
                for (JsonNode target : panel.path("targets")) {
                    String expr = target.path("expr").asText("");
                    Matcher meter = Pattern.compile("\\b(?:jvm|process|system)_[a-z0-9_]+").matcher(expr);
                    if (!meter.find()) {
                        continue;
                    }
                    read.add(meter.group());
                    Tools.Finished result = promtoolExpects("round(" + expr + ", 0.0001)", twoReplicas,
                            expected.getOrDefault(meter.group(), List.of()));
                    if (result.exitCode() != 0) {
                        problems.add(entry.getKey().getFileName() + " panel '" + panel.path("title").asText() + "' over two replicas:\n" + result);
                    }
                }
            }
        }
        assertEquals(expected.keySet(), read, "the JVM and process meters the dashboards read");
        assertEquals(List.of(), problems, "server panels that mix the replicas");
    }

    /**
     * A stat shows its one number in large type: on a server whose traffic stopped, a ratio of two rates that are 0
     * (or a quantile of empty buckets) is NaN, which Grafana shows as "NaN" unless the panel maps it, as the session
     * dashboard's stats do ("n/a"). The overview's Error ratio and Latency p95 showed "NaN" 20 minutes after the
     * last request. Each stat whose query gives NaN over such a server must map NaN to text.
     */
    @Test
    void aStatWhoseQueryIsNaNOnAServerWhoseTrafficStoppedSaysSoInWords() throws Exception {
        List<Map<String, Object>> stopped = new ArrayList<>();
        // Ten requests in the first 10 minutes, then none; evaluated at 30 minutes.
        String grew = "0+1x10 10x30";
        String flat = "0x40";
        stopped.add(Map.of("series", "llm_requests_total{model=\"m\",outcome=\"success\"}", "values", grew));
        stopped.add(Map.of("series", "llm_requests_total{model=\"m\",outcome=\"failure\"}", "values", flat));
        for (String le : List.of("0.64", "1.28", "2.56", "+Inf")) {
            stopped.add(Map.of("series", "llm_request_duration_seconds_bucket{model=\"m\",outcome=\"success\",le=\"" + le + "\"}",
                    "values", le.equals("0.64") ? flat : grew));
        }
        stopped.add(Map.of("series", "llm_request_duration_seconds_count{model=\"m\",outcome=\"success\"}", "values", grew));
        stopped.add(Map.of("series", "llm_request_duration_seconds_sum{model=\"m\",outcome=\"success\"}", "values", grew));
        stopped.add(Map.of("series", "llm_tokens_sum{model=\"m\",type=\"prompt\"}", "values", "0+100x10 1000x30"));
        stopped.add(Map.of("series", "llm_tokens_sum{model=\"m\",type=\"completion\"}", "values", "0+50x10 500x30"));
        stopped.add(Map.of("series", "llm_requests_in_flight{model=\"m\"}", "values", flat));
        stopped.add(Map.of("series", "llm_sessions_active", "values", "3x40"));
        stopped.add(Map.of("series", "llm_cost_usd_total{model=\"m\"}", "values", "0+0.5x10 5x30"));
        stopped.add(Map.of("series", "llm_unpriced_requests_total{model=\"m\"}", "values", flat));
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Map.Entry<Path, JsonNode> entry : dashboards().entrySet()) {
            for (JsonNode panel : panels(entry.getValue())) {
                if (!"stat".equals(panel.path("type").asText()) || mapsNaN(panel)) {
                    continue;
                }
                for (JsonNode target : panel.path("targets")) {
                    String expr = target.path("expr").asText("");
                    if (expr.isBlank() || expr.contains("$session") || expr.contains("${session")) {
                        continue;
                    }
                    checked++;
                    String e = "(" + expr + ")";
                    // NaN is the one value not equal to itself: the comparison keeps exactly the NaN samples.
                    Tools.Finished noNaN = promtoolExpects(e + " != " + e, stopped, List.of());
                    if (noNaN.exitCode() != 0) {
                        problems.add(entry.getKey().getFileName() + " stat '" + panel.path("title").asText()
                                + "' shows NaN 20 minutes after the last request, and maps no NaN to text:\n" + noNaN);
                    }
                }
            }
        }
        assertTrue(checked >= 6, "expected the overview's stats, found " + checked);
        assertEquals(List.of(), problems, "stats that would show \"NaN\" on a quiet server");
    }

    /**
     * A successful request without usage (a stream without usage, an API that reports none) is not observed by
     * llm_tokens, and the session JSON's average_tokens_per_request is over the requests with usage: 10 requests,
     * 5 of them with 3000 tokens, give 3000 there. The Tokens per request panel divided by every successful
     * request and showed 1500.
     */
    @Test
    void theTokensPerRequestPanelCountsTheRequestsThatReportedUsageAsTheSessionJsonDoes() throws Exception {
        List<Map<String, Object>> series = List.of(
                Map.of("series", "llm_requests_total{model=\"streamer\",outcome=\"success\"}", "values", "0+60x40"),
                Map.of("series", "llm_tokens_count{model=\"streamer\",type=\"prompt\"}", "values", "0+30x40"),
                Map.of("series", "llm_tokens_count{model=\"streamer\",type=\"completion\"}", "values", "0+30x40"),
                Map.of("series", "llm_tokens_sum{model=\"streamer\",type=\"prompt\"}", "values", "0+75000x40"),
                Map.of("series", "llm_tokens_sum{model=\"streamer\",type=\"completion\"}", "values", "0+15000x40"));
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Map.Entry<Path, JsonNode> entry : dashboards().entrySet()) {
            for (JsonNode panel : panels(entry.getValue())) {
                if (!"Tokens per request by model".equals(panel.path("title").asText())) {
                    continue;
                }
                for (JsonNode target : panel.path("targets")) {
                    checked++;
                    Tools.Finished result = promtoolExpects("round(" + target.path("expr").asText() + ", 0.0001)", series,
                            List.of(Map.of("labels", "{model=\"streamer\"}", "value", 3000)));
                    if (result.exitCode() != 0) {
                        problems.add(entry.getKey().getFileName() + " target " + target.path("refId").asText() + ":\n" + result);
                    }
                }
            }
        }
        assertEquals(1, checked, "expected one target in the overview's Tokens per request by model");
        assertEquals(List.of(), problems, "Tokens per request by model, half of the requests without usage");
    }

    /**
     * Sessions of one request each (a stateless API's calls), half of them answered with tool calls: each session's
     * per-session counters begin at their first value, which rate() cannot see, and so the tool-call share read
     * from them was NaN (0/0) while the model served 2 requests a second, half with tool calls. The overview's
     * panel and the recording rule must show 0.5, and 0 for a model whose requests never asked for tools.
     */
    @Test
    void theToolCallShareCountsEveryRequestHoweverShortItsSession() throws Exception {
        List<Map<String, Object>> series = new ArrayList<>();
        series.add(Map.of("series", "llm_requests_total{model=\"m\",outcome=\"success\"}", "values", "0+120x40"));
        series.add(Map.of("series", "llm_tool_call_requests_total{model=\"m\"}", "values", "0+60x40"));
        series.add(Map.of("series", "llm_requests_total{model=\"plain\",outcome=\"success\"}", "values", "0+10x40"));
        series.add(Map.of("series", "llm_tool_call_requests_total{model=\"plain\"}", "values", "0x40"));
        for (int i = 0; i < 40; i++) {
            // One session a minute on the scrape, each with its one request (and its tool call, one in two).
            String session = "session=\"s" + i + "\",model=\"m\"";
            series.add(Map.of("series", "llm_session_requests_total{" + session + ",outcome=\"success\"}", "values", "1x40"));
            if (i % 2 == 0) {
                series.add(Map.of("series", "llm_session_tool_call_requests_total{" + session + "}", "values", "1x40"));
            }
        }
        List<Map<String, Object>> expected = List.of(Map.of("labels", "{model=\"m\"}", "value", 0.5),
                Map.of("labels", "{model=\"plain\"}", "value", 0));
        List<String> exprs = new ArrayList<>();
        for (JsonNode dashboard : dashboards().values()) {
            for (JsonNode panel : panels(dashboard)) {
                if ("Tool-call share by model".equals(panel.path("title").asText())) {
                    panel.path("targets").forEach(target -> exprs.add(target.path("expr").asText()));
                }
            }
        }
        Map<String, Object> rules = new Yaml().load(Files.readString(ROOT.resolve("prometheus/rules/llm-metrics-recording.yml")));
        for (Object group : (List<?>) rules.get("groups")) {
            for (Object rule : (List<?>) ((Map<?, ?>) group).get("rules")) {
                Object record = ((Map<?, ?>) rule).get("record");
                if (record != null && record.toString().contains("tool_call")) {
                    exprs.add(((Map<?, ?>) rule).get("expr").toString());
                }
            }
        }
        assertEquals(2, exprs.size(), "expected the overview's Tool-call share panel and its recording rule: " + exprs);
        List<String> problems = new ArrayList<>();
        for (String expr : exprs) {
            Tools.Finished result = promtoolExpects("round(" + expr + ", 0.0001)", series, expected);
            if (result.exitCode() != 0) {
                problems.add(expr + ":\n" + result);
            }
        }
        assertEquals(List.of(), problems, "tool-call shares that lose the requests of short sessions");
    }

    /**
     * A counter appears with its first value: a model's llm_requests_total with its first request, its cost and
     * unpriced counters with its first costed or unpriced one. increase() cannot see that value, so the panels of
     * the dashboard's range built on it alone missed a model's first requests, and all of a model seen once: the
     * Unpriced requests in range stat showed 0 while LlmUnpricedModel fired for that model. Each of them must count
     * a counter that was not there at the range's start by its value, one that was by its increase.
     */
    @Test
    void theInRangePanelsCountWhatACounterWasBornWith() throws Exception {
        // 30 minutes into the 1-hour range: every counter was born in it, "rare" and "local" with one request each.
        List<Map<String, Object>> young = List.of(
                series("llm_requests_total{model=\"steady\",outcome=\"success\"}", "0+1x40"),
                series("llm_requests_total{model=\"steady\",outcome=\"failure\"}", "0x40"),
                series("llm_cost_usd_total{model=\"steady\"}", "0+0.5x40"),
                series("llm_requests_total{model=\"rare\",outcome=\"success\"}", "_x10 1x30"),
                series("llm_requests_total{model=\"rare\",outcome=\"failure\"}", "_x10 0x30"),
                series("llm_cost_usd_total{model=\"rare\"}", "_x10 0.25x30"),
                series("llm_requests_total{model=\"local\",outcome=\"success\"}", "_x10 1x30"),
                series("llm_requests_total{model=\"local\",outcome=\"failure\"}", "_x10 0x30"),
                series("llm_unpriced_requests_total{model=\"local\"}", "_x10 1x30"));
        Map<String, List<Map<String, Object>>> youngExpected = Map.of(
                "Requests in range by model", List.of(sample("{model=\"steady\"}", 30), sample("{model=\"rare\"}", 1),
                        sample("{model=\"local\"}", 1)),
                "Cost in range", List.of(sample("{}", 15.25)),
                "Cost in range by model", List.of(sample("{model=\"steady\"}", 15), sample("{model=\"rare\"}", 0.25)),
                "Unpriced requests in range", List.of(sample("{}", 1)));
        // 90 minutes in: "steady" and "local" were there before the range, "local" with one more request in it;
        // "rare" was born in it, at 70 minutes.
        List<Map<String, Object>> old = List.of(
                series("llm_requests_total{model=\"steady\",outcome=\"success\"}", "0+1x100"),
                series("llm_requests_total{model=\"steady\",outcome=\"failure\"}", "0x100"),
                series("llm_cost_usd_total{model=\"steady\"}", "0+0.5x100"),
                series("llm_requests_total{model=\"rare\",outcome=\"success\"}", "_x70 1x30"),
                series("llm_requests_total{model=\"rare\",outcome=\"failure\"}", "_x70 0x30"),
                series("llm_cost_usd_total{model=\"rare\"}", "_x70 0.25x30"),
                series("llm_requests_total{model=\"local\",outcome=\"success\"}", "_x10 1x70 2x20"),
                series("llm_requests_total{model=\"local\",outcome=\"failure\"}", "_x10 0x90"),
                series("llm_unpriced_requests_total{model=\"local\"}", "_x10 1x70 2x20"));
        Map<String, List<Map<String, Object>>> oldExpected = Map.of(
                "Requests in range by model", List.of(sample("{model=\"steady\"}", 60), sample("{model=\"rare\"}", 1),
                        sample("{model=\"local\"}", 1)),
                "Cost in range", List.of(sample("{}", 30.25)),
                "Cost in range by model", List.of(sample("{model=\"steady\"}", 30), sample("{model=\"rare\"}", 0.25)),
                "Unpriced requests in range", List.of(sample("{}", 1)));
        Map<String, String> problems = rangePanelProblems(young, youngExpected, "30m");
        assertEquals(new TreeSet<>(youngExpected.keySet()), problems.keySet(), "the panels that total the dashboard's range");
        rangePanelProblems(old, oldExpected, "90m").forEach((title, problem) -> problems.merge(title, problem, String::concat));
        problems.values().removeIf(String::isEmpty);
        assertEquals(Map.of(), problems, "range totals that miss what a counter was born with");
    }

    /**
     * A replica that started and stopped within the range (scaled up, then down; a container recreated under another
     * address): its counters were born in the range and are gone at its end. The range totals count them by the
     * most they reached, beside the increase of a replica there throughout.
     */
    @Test
    void theInRangePanelsCountACounterBornAndGoneWithinTheRange() throws Exception {
        // 90 minutes in, the range from 30 to 90: replica "a" throughout, replica "b" from 40 to 60 minutes only.
        List<Map<String, Object>> series = List.of(
                series("llm_requests_total{instance=\"a\",model=\"steady\",outcome=\"success\"}", "0+1x100"),
                series("llm_requests_total{instance=\"a\",model=\"steady\",outcome=\"failure\"}", "0x100"),
                series("llm_cost_usd_total{instance=\"a\",model=\"steady\"}", "0+0.5x100"),
                series("llm_requests_total{instance=\"b\",model=\"steady\",outcome=\"success\"}", "_x40 5+1x20"),
                series("llm_requests_total{instance=\"b\",model=\"steady\",outcome=\"failure\"}", "_x40 0x20"),
                series("llm_cost_usd_total{instance=\"b\",model=\"steady\"}", "_x40 1+0.5x20"),
                series("llm_unpriced_requests_total{instance=\"b\",model=\"steady\"}", "_x40 2+1x20"));
        Map<String, List<Map<String, Object>>> expected = Map.of(
                "Requests in range by model", List.of(sample("{model=\"steady\"}", 60 + 25)),
                "Cost in range", List.of(sample("{}", 30 + 11)),
                "Cost in range by model", List.of(sample("{model=\"steady\"}", 30 + 11)),
                "Unpriced requests in range", List.of(sample("{}", 22)));
        Map<String, String> problems = new TreeMap<>(rangePanelProblems(series, expected, "90m"));
        problems.values().removeIf(String::isEmpty);
        assertEquals(Map.of(), problems, "range totals that miss a counter gone before the range's end");
    }

    /**
     * Every panel target that totals the dashboard's range ({@code $__range}), evaluated by promtool over
     * {@code series} at {@code evalTime} against {@code expected} by panel title (no series where a title has
     * none): by title, what promtool said of each failing target, empty where all passed.
     */
    private static Map<String, String> rangePanelProblems(List<Map<String, Object>> series,
                                                          Map<String, List<Map<String, Object>>> expected,
                                                          String evalTime) throws Exception {
        Map<String, String> problems = new TreeMap<>();
        for (JsonNode dashboard : dashboards().values()) {
            for (JsonNode panel : panels(dashboard)) {
                for (JsonNode target : panel.path("targets")) {
                    String expr = target.path("expr").asText("");
                    if (!expr.contains("$__range")) {
                        continue;
                    }
                    String title = panel.path("title").asText();
                    Tools.Finished at = promtoolExpects("round(" + expr + ", 0.0001)", series,
                            expected.getOrDefault(title, List.of()), evalTime);
                    problems.merge(title, at.exitCode() == 0 ? "" : "at " + evalTime + ":\n" + at + "\n", String::concat);
                }
            }
        }
        return problems;
    }

    private static Map<String, Object> series(String series, String values) {
        return Map.of("series", series, "values", values);
    }

    private static Map<String, Object> sample(String labels, double value) {
        return Map.of("labels", labels, "value", value);
    }

    /**
     * Session ids may hold quotes, backslashes, apostrophes and any Unicode (docs/limits.md). Grafana 11 puts a
     * single-value variable written {@code $session} into a Prometheus query escaping only backslashes (doubled)
     * and apostrophes ({@code \\'}), as its Prometheus datasource's prometheusRegularEscape does, so
     * {@code session="$session"} with the id {@code q"uote} was a parse error and {@code it's} matched no series:
     * the drill-down was empty for those sessions. Every session panel must show a session with such an id as it
     * shows one named {@code plain} with the same series.
     */
    @Test
    void everySessionPanelShowsASessionWhoseIdHasQuotesBackslashesOrApostrophesAsAnyOther() throws Exception {
        List<String> ids = List.of("q\"uote", "back\\slash", "it's", "tr\\\"icky\\n", "uni-é漢字🙂 {a=\"b\"}");
        List<String> problems = new ArrayList<>();
        int checked = targetsLosingAValue("session", ids, GrafanaDashboardsTest::asGrafanaSends, sessionSeries(ids), problems);
        assertTrue(checked >= 10, "expected the session drill-down's queries, found " + checked);
        assertEquals(List.of(), problems, "session panels that lose a session for the characters of its id");
    }

    /**
     * Runs every dashboard target that reads the variable {@code name} with each of {@code values} in it, as
     * {@code query} writes it, and with {@code plain}, over {@code series}: each value whose outcome differs from
     * plain's is a problem. Returns how many targets read the variable.
     */
    private static int targetsLosingAValue(String name, List<String> values, BiFunction<String, String, String> query,
                                           List<Map<String, Object>> series, List<String> problems) throws Exception {
        int checked = 0;
        for (Map.Entry<Path, JsonNode> entry : dashboards().entrySet()) {
            for (JsonNode panel : panels(entry.getValue())) {
                for (JsonNode target : panel.path("targets")) {
                    String expr = target.path("expr").asText("");
                    if (!expr.contains("$" + name) && !expr.contains("${" + name)) {
                        continue;
                    }
                    checked++;
                    String plain = promtoolOutcome(query.apply(expr, "plain"), series);
                    for (String value : values) {
                        String outcome = promtoolOutcome(query.apply(expr, value), series);
                        if (!outcome.equals(plain)) {
                            problems.add(entry.getKey().getFileName() + " panel '" + panel.path("title").asText() + "' target "
                                    + target.path("refId").asText() + ", " + name + " " + value + ": " + outcome
                                    + " where plain gives " + plain);
                        }
                    }
                }
            }
        }
        return checked;
    }

    /**
     * The query Grafana 11's Prometheus datasource sends for a single-value variable {@code session} (neither multi
     * nor include-all): {@code $session} and {@code ${session}} escaped by its prometheusRegularEscape (backslashes
     * doubled, an apostrophe as backslash, backslash, apostrophe), {@code ${session:raw}} as it is.
     */
    private static String asGrafanaSends(String expr, String session) {
        String escaped = session.replace("\\", "\\\\").replace("'", "\\\\'");
        return expr.replace("${session:raw}", session).replace("${session}", escaped).replace("$session", escaped);
    }

    /** The same series for a session {@code plain} and for each of {@code ids}. */
    private static List<Map<String, Object>> sessionSeries(List<String> ids) {
        List<Map<String, Object>> series = new ArrayList<>();
        List<String> sessions = new ArrayList<>(ids);
        sessions.add("plain");
        for (String session : sessions) {
            String s = "session=\"" + session.replace("\\", "\\\\").replace("\"", "\\\"") + "\",model=\"m\"";
            series.add(Map.of("series", "llm_session_requests_total{" + s + ",outcome=\"success\"}", "values", "0+2x40"));
            series.add(Map.of("series", "llm_session_requests_total{" + s + ",outcome=\"failure\"}", "values", "0+1x40"));
            series.add(Map.of("series", "llm_session_tokens_sum{" + s + ",type=\"prompt\"}", "values", "0+300x40"));
            series.add(Map.of("series", "llm_session_tokens_sum{" + s + ",type=\"completion\"}", "values", "0+100x40"));
            series.add(Map.of("series", "llm_session_request_duration_seconds_sum{" + s + "}", "values", "0+3x40"));
            series.add(Map.of("series", "llm_session_request_duration_seconds_count{" + s + "}", "values", "0+2x40"));
            series.add(Map.of("series", "llm_session_request_duration_seconds_max{" + s + "}", "values", "2x40"));
            series.add(Map.of("series", "llm_session_tool_call_requests_total{" + s + "}", "values", "0+1x40"));
            series.add(Map.of("series", "llm_session_cost_usd_total{" + s + "}", "values", "0+0.25x40"));
            String scored = "session=\"" + session.replace("\\", "\\\\").replace("\"", "\\\"") + "\",name=\"quality\"";
            series.add(Map.of("series", "llm_session_score_sum{" + scored + "}", "values", "0+0.8x40"));
            series.add(Map.of("series", "llm_session_score_count{" + scored + "}", "values", "0+1x40"));
        }
        return series;
    }

    /** What promtool found for {@code expr}: "empty", the samples it got, or its error. */
    private static String promtoolOutcome(String expr, List<Map<String, Object>> series) throws Exception {
        Tools.Finished result = promtoolExpects(expr, series, List.of());
        if (result.exitCode() == 0) {
            return "empty";
        }
        String out = result.stdout() + result.stderr();
        int got = out.indexOf("got:");
        if (got < 0) {
            return "error: " + out.strip();
        }
        int end = out.indexOf('\n', got);
        return out.substring(got, end < 0 ? out.length() : end).strip();
    }

    /**
     * Model names follow the rules of ids: quotes, apostrophes, backslashes and regex characters are fine. Grafana
     * 11 puts the overview's multi-value {@code $model} into a query through its prometheusSpecialRegexEscape,
     * which escapes regex characters, backslashes and apostrophes but not double quotes, so
     * {@code model=~"$model"} with the model {@code m"od\el} selected was a parse error on every panel. Every
     * panel must count the series of a model so named, selected alone, as it counts those of one named
     * {@code plain}, with every model's series there.
     */
    @Test
    void everyOverviewPanelShowsAModelWhoseNameHasQuotesBackslashesOrRegexCharactersAsAnyOther() throws Exception {
        List<String> models = List.of("m\"od\\el", "it's", "llama-3.1-70b", "a|b (x)*", "uni-é漢字🙂");
        List<String> all = new ArrayList<>(models);
        all.add("plain");
        List<String> problems = new ArrayList<>();
        int checked = targetsLosingAValue("model", models, (expr, model) -> "count(" + asGrafanaSendsModel(expr, model) + ")",
                modelSeries(all), problems);
        assertTrue(checked >= 30, "expected the overview's queries, found " + checked);
        assertEquals(List.of(), problems, "overview panels that lose a model for the characters of its name");
    }

    /**
     * The query Grafana 11 sends with one model selected in the multi-value, include-all variable {@code model}:
     * {@code $model} and {@code ${model}} through its Prometheus datasource's prometheusSpecialRegexEscape
     * (backslashes as four, each of $^*{}[]'+?.()| behind two), {@code ${model:regex}} through its regex format
     * (its escapeStringForRegex: each of ([{}])\|*+-.?<>#&^$ behind one).
     */
    private static String asGrafanaSendsModel(String expr, String model) {
        String special = model.replace("\\", "\\\\\\\\").replaceAll("([$^*{}\\[\\]'+?.()|])", "\\\\\\\\$1");
        String regex = model.replaceAll("([(\\[{}\\])\\\\|*+\\-.?<>#&^$])", "\\\\$1");
        return expr.replace("${model:regex}", regex).replace("${model}", special).replace("$model", special);
    }

    /** Series of every metric the overview reads by model, the same for each of {@code models}. */
    private static List<Map<String, Object>> modelSeries(List<String> models) {
        List<Map<String, Object>> series = new ArrayList<>();
        for (String model : models) {
            String m = "model=\"" + model.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
            for (String outcome : List.of("success", "failure")) {
                series.add(Map.of("series", "llm_requests_total{" + m + ",outcome=\"" + outcome + "\"}", "values", "0+6x40"));
                series.add(Map.of("series", "llm_session_requests_total{session=\"s\"," + m + ",outcome=\"" + outcome + "\"}",
                        "values", "0+6x40"));
                for (String le : List.of("1.28", "2.56", "+Inf")) {
                    series.add(Map.of("series", "llm_request_duration_seconds_bucket{" + m + ",outcome=\"" + outcome + "\",le=\"" + le + "\"}",
                            "values", "0+6x40"));
                }
                series.add(Map.of("series", "llm_request_duration_seconds_count{" + m + ",outcome=\"" + outcome + "\"}", "values", "0+6x40"));
                series.add(Map.of("series", "llm_request_duration_seconds_sum{" + m + ",outcome=\"" + outcome + "\"}", "values", "0+9x40"));
            }
            series.add(Map.of("series", "llm_request_errors_total{" + m + ",error_type=\"timeout\"}", "values", "0+6x40"));
            for (String type : List.of("prompt", "completion")) {
                series.add(Map.of("series", "llm_tokens_sum{" + m + ",type=\"" + type + "\"}", "values", "0+600x40"));
                series.add(Map.of("series", "llm_tokens_count{" + m + ",type=\"" + type + "\"}", "values", "0+6x40"));
                series.add(Map.of("series", "llm_session_tokens_sum{session=\"s\"," + m + ",type=\"" + type + "\"}", "values", "0+600x40"));
                for (String le : List.of("64", "256", "+Inf")) {
                    series.add(Map.of("series", "llm_tokens_bucket{" + m + ",type=\"" + type + "\",le=\"" + le + "\"}", "values", "0+6x40"));
                }
            }
            for (String histogram : List.of("llm_time_to_first_token_seconds", "llm_time_per_output_token_seconds")) {
                for (String le : List.of("0.01", "0.02", "+Inf")) {
                    series.add(Map.of("series", histogram + "_bucket{" + m + ",le=\"" + le + "\"}", "values", "0+6x40"));
                }
            }
            for (String counter : List.of("llm_cost_usd_total", "llm_unpriced_requests_total", "llm_cached_tokens_total",
                    "llm_request_messages_count", "llm_request_messages_sum", "llm_request_tools_count", "llm_request_tools_sum")) {
                series.add(Map.of("series", counter + "{" + m + "}", "values", "0+6x40"));
            }
            series.add(Map.of("series", "llm_session_tool_call_requests_total{session=\"s\"," + m + "}", "values", "0+3x40"));
            series.add(Map.of("series", "llm_tool_call_requests_total{" + m + "}", "values", "0+3x40"));
            series.add(Map.of("series", "llm_requests_in_flight{" + m + "}", "values", "2x40"));
            series.add(Map.of("series", "llm_score_sum{" + m + ",name=\"quality\"}", "values", "0+3x40"));
            series.add(Map.of("series", "llm_score_count{" + m + ",name=\"quality\"}", "values", "0+6x40"));
        }
        return series;
    }

    /** Whether the panel maps NaN to text (a value mapping of the special value "nan"). */
    private static boolean mapsNaN(JsonNode panel) {
        for (JsonNode mapping : panel.path("fieldConfig").path("defaults").path("mappings")) {
            if ("special".equals(mapping.path("type").asText()) && "nan".equals(mapping.path("options").path("match").asText())
                    && !mapping.path("options").path("result").path("text").asText("").isBlank()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs {@code promtool test rules} on one expression of a dashboard, Grafana's variables given as a 1-minute
     * rate interval, a 1-hour range and every model, over {@code series} sampled each minute and evaluated at 30
     * minutes; exit code 0 when the result is {@code expected}.
     */
    private static Tools.Finished promtoolExpects(String dashboardExpr, List<Map<String, Object>> series,
                                                  List<Map<String, Object>> expected) throws Exception {
        return promtoolExpects(dashboardExpr, series, expected, "30m");
    }

    /** As {@link #promtoolExpects(String, List, List)}, evaluated at {@code evalTime} (such as {@code 90m}). */
    private static Tools.Finished promtoolExpects(String dashboardExpr, List<Map<String, Object>> series,
                                                  List<Map<String, Object>> expected, String evalTime) throws Exception {
        String expr = dashboardExpr.replace("$__rate_interval", "1m").replace("$__range", "1h")
                .replaceAll("\\$\\{model(?::\\w+)?}|\\$model\\b", ".*");
        Map<String, Object> test = new LinkedHashMap<>();
        test.put("interval", "1m");
        test.put("input_series", series);
        test.put("promql_expr_test", List.of(Map.of("expr", expr, "eval_time", evalTime, "exp_samples", expected)));
        Map<String, Object> file = new LinkedHashMap<>();
        file.put("evaluation_interval", "1m");
        file.put("tests", List.of(test));
        DumperOptions options = new DumperOptions();
        options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        Path dir = Files.createTempDirectory("dashboard-promtool");
        try {
            Path yml = dir.resolve("test.yml");
            Files.writeString(yml, new Yaml(options).dump(file));
            List<String> command = List.of(Tools.executable("promtool",
                    "bin/test installs Debian's 'prometheus' package, which provides promtool (apt-get install prometheus)."),
                    "test", "rules", yml.toString());
            return Tools.finish(command, new ProcessBuilder(command).start(), Duration.ofSeconds(60));
        } finally {
            Tools.deleteTree(dir);
        }
    }

    private static void checkDatasource(String where, JsonNode ref, List<String> problems) {
        String uid = ref.isObject() ? ref.path("uid").asText("") : ref.asText("");
        if (!DATASOURCE_UIDS.contains(uid)) {
            problems.add(where + ": datasource " + ref + " is neither ${datasource} nor uid prometheus");
        }
        if (ref.isObject() && ref.has("type") && !"prometheus".equals(ref.path("type").asText())) {
            problems.add(where + ": datasource type " + ref.path("type") + ", expected prometheus");
        }
    }

    private static final Pattern METRIC = Pattern.compile("\\b(?:llm|gen_ai)_[a-z0-9_]+");

    /** The llm_* and gen_ai_* metric names a panel's targets mention. */
    private static Set<String> metricsRead(JsonNode panel) {
        Set<String> metrics = new HashSet<>();
        for (JsonNode target : panel.path("targets")) {
            Matcher m = METRIC.matcher(target.path("expr").asText(""));
            while (m.find()) {
                metrics.add(m.group());
            }
        }
        return metrics;
    }

    /** Each panel inside the 24 columns with a positive size, and no two of them covering the same cell. */
    private static void checkLayout(String where, List<JsonNode> panels, List<String> problems) {
        for (int i = 0; i < panels.size(); i++) {
            JsonNode a = panels.get(i).path("gridPos");
            String nameA = "panel " + panels.get(i).path("id") + " '" + panels.get(i).path("title").asText() + "'";
            if (!a.path("x").isInt() || !a.path("y").isInt() || !a.path("w").isInt() || !a.path("h").isInt()) {
                problems.add(where + ": " + nameA + " has no complete gridPos: " + a);
                continue;
            }
            if (a.path("x").asInt() < 0 || a.path("y").asInt() < 0 || a.path("w").asInt() <= 0 || a.path("h").asInt() <= 0
                    || a.path("x").asInt() + a.path("w").asInt() > 24) {
                problems.add(where + ": " + nameA + " is outside the 24-column grid: " + a);
            }
            for (int j = i + 1; j < panels.size(); j++) {
                JsonNode b = panels.get(j).path("gridPos");
                boolean apart = a.path("x").asInt() + a.path("w").asInt() <= b.path("x").asInt()
                        || b.path("x").asInt() + b.path("w").asInt() <= a.path("x").asInt()
                        || a.path("y").asInt() + a.path("h").asInt() <= b.path("y").asInt()
                        || b.path("y").asInt() + b.path("h").asInt() <= a.path("y").asInt();
                if (!apart) {
                    problems.add(where + ": " + nameA + " " + a + " overlaps panel " + panels.get(j).path("id") + " '"
                            + panels.get(j).path("title").asText() + "' " + b);
                }
            }
        }
    }

    /** Every panel, nested ones in (collapsed) rows included. */
    private static List<JsonNode> panels(JsonNode dashboard) {
        List<JsonNode> panels = new ArrayList<>();
        collect(dashboard.path("panels"), panels);
        for (JsonNode row : dashboard.path("rows")) {
            collect(row.path("panels"), panels);
        }
        return panels;
    }

    private static void collect(JsonNode list, List<JsonNode> into) {
        for (JsonNode panel : list) {
            into.add(panel);
            collect(panel.path("panels"), into);
        }
    }

    private static Map<Path, JsonNode> dashboards() throws IOException {
        Map<Path, JsonNode> dashboards = new LinkedHashMap<>();
        for (Path file : files(DASHBOARDS, ".json")) {
            JsonNode d = JSON.readTree(file.toFile());
            dashboards.put(file, d.has("dashboard") && !d.has("panels") ? d.path("dashboard") : d);
        }
        assertFalse(dashboards.isEmpty(), "no dashboards in " + DASHBOARDS);
        return dashboards;
    }

    private static List<Path> files(Path dir, String... suffixes) throws IOException {
        assertTrue(Files.isDirectory(dir), dir + " is missing");
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> Stream.of(suffixes).anyMatch(p.toString()::endsWith)).sorted().toList();
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> yaml(Path file) {
        try {
            Map<String, Object> doc = new Yaml().load(Files.readString(file));
            assertTrue(doc != null, file + " is empty");
            return doc;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String stripSlash(String path) {
        return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }

    private static Path repoRoot() {
        return Tools.repoRoot();
    }
}
