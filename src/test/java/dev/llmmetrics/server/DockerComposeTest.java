package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.llmmetrics.cost.PriceTable;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.config.EnvironmentVariables;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * docker-compose.yml is valid for the real {@code docker-compose} (Debian's package; no Docker daemon
 * needed) and wires the bundle: the three services, their published ports, the mounted configuration,
 * and its safe defaults (a token from {@code .env} required, ports on loopback). A missing
 * {@code docker-compose} fails the test; {@code bin/test} installs it.
 */
class DockerComposeTest {

    private static final Path ROOT = repoRoot();
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    /** What a user's {@code .env} holds after the README's first step. */
    private static final String ENV_FILE = "LLM_METRICS_TOKEN=0123456789abcdef\n";

    @Test
    void composeFileIsValid() throws Exception {
        Tools.Finished result = compose(ENV_FILE, "config", "-q");
        assertEquals(0, result.exitCode(), "docker-compose -f docker-compose.yml config -q failed:\n" + result.toString());
    }

    /** Without a token in .env the bundle does not start, and says what to do. */
    @Test
    void withoutATokenInDotEnvComposeRefusesAndSaysWhatToSet() throws Exception {
        Tools.Finished result = compose("", "config", "-q");
        assertTrue(result.exitCode() != 0, "docker-compose config without LLM_METRICS_TOKEN should fail:\n" + result.toString());
        assertTrue(result.stderr().contains("set LLM_METRICS_TOKEN in a .env file beside docker-compose.yml (see the README)"),
                "the first-run message:\n" + result.toString());
    }

    /** The token of .env is the server's auth token: ingestion, session reads and DELETE need it. */
    @Test
    @SuppressWarnings("unchecked")
    void theTokenOfDotEnvProtectsTheEventsRoutes() throws Exception {
        Map<String, Object> server = (Map<String, Object>) services(ENV_FILE).get("llm-metrics");
        Map<String, Object> environment = (Map<String, Object>) server.getOrDefault("environment", Map.of());
        assertEquals("0123456789abcdef", String.valueOf(environment.get("LLM_METRICS_AUTH_TOKEN")), "environment: " + environment);
    }

    /**
     * Grafana's admin signs in with the token of .env, not with the image's default admin/admin: with BIND_ADDRESS
     * publishing port 3000 beyond loopback, anyone reaching it could otherwise sign in as admin (Grafana offers to
     * skip changing that password) and add data sources, read every dashboard, change the provisioned ones' copies.
     */
    @Test
    @SuppressWarnings("unchecked")
    void grafanasAdminPasswordIsTheTokenOfDotEnvNotTheDefault() throws Exception {
        Map<String, Object> grafana = (Map<String, Object>) services(ENV_FILE + "BIND_ADDRESS=0.0.0.0\n").get("grafana");
        Map<String, Object> environment = (Map<String, Object>) grafana.getOrDefault("environment", Map.of());
        assertEquals("0123456789abcdef", String.valueOf(environment.get("GF_SECURITY_ADMIN_PASSWORD")), "environment: " + environment);
    }

    /** Published ports listen on the host's loopback unless BIND_ADDRESS in .env says otherwise. */
    @Test
    @SuppressWarnings("unchecked")
    void portsArePublishedOnLoopbackUnlessBindAddressIsSet() throws Exception {
        for (String service : List.of("llm-metrics", "prometheus", "grafana")) {
            assertEquals(Set.of("127.0.0.1"), hostAddresses((Map<String, Object>) services(ENV_FILE).get(service)), service);
            assertEquals(Set.of("0.0.0.0"), hostAddresses((Map<String, Object>) services(ENV_FILE + "BIND_ADDRESS=0.0.0.0\n").get(service)),
                    service + " with BIND_ADDRESS=0.0.0.0");
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theThreeServicesPublishTheirPorts() throws Exception {
        Map<String, Object> services = services(ENV_FILE);
        assertEquals(Set.of("llm-metrics", "prometheus", "grafana"), services.keySet(), "services of docker-compose.yml");
        Map<String, Integer> expected = new LinkedHashMap<>();
        expected.put("llm-metrics", 8001);
        expected.put("prometheus", 9090);
        expected.put("grafana", 3000);
        List<String> problems = new ArrayList<>();
        expected.forEach((service, port) -> {
            Set<String> published = publishedPorts((Map<String, Object>) services.get(service));
            if (!published.contains(port + "->" + port)) {
                problems.add(service + " publishes " + published + ", expected " + port + "->" + port);
            }
        });
        assertEquals(List.of(), problems, "published ports");
    }

    /** The server listens where Prometheus scrapes it, on every interface, with demo traffic. */
    @Test
    @SuppressWarnings("unchecked")
    void theServerIsReachableWherePrometheusScrapesIt() throws Exception {
        Map<String, Object> server = (Map<String, Object>) services(ENV_FILE).get("llm-metrics");
        Map<String, Object> environment = (Map<String, Object>) server.getOrDefault("environment", Map.of());
        assertEquals("0.0.0.0", String.valueOf(environment.get("SERVER_HOST")),
                "without SERVER_HOST=0.0.0.0 the server listens on the container's loopback only");
        assertEquals("8001", String.valueOf(environment.get("SERVER_PORT")), "SERVER_PORT");
        assertTrue(String.valueOf(server.get("command")).contains("--demo"), "the bundle's server runs --demo: " + server.get("command"));
        Map<String, Object> prometheusYml = new Yaml().load(Files.readString(ROOT.resolve("prometheus/prometheus.yml")));
        List<Object> targets = new ArrayList<>();
        for (Map<String, Object> job : (List<Map<String, Object>>) prometheusYml.get("scrape_configs")) {
            if ("llm-metrics".equals(job.get("job_name"))) {
                for (Map<String, Object> statics : (List<Map<String, Object>>) job.getOrDefault("static_configs", List.of())) {
                    targets.addAll((List<Object>) statics.getOrDefault("targets", List.of()));
                }
            }
        }
        assertEquals(List.of("llm-metrics:8001"), targets,
                "prometheus/prometheus.yml job llm-metrics should scrape the compose service llm-metrics on its port 8001");
    }

    /**
     * The bundle's server costs requests with the sample price table and also registers the OpenTelemetry
     * GenAI instruments: its compose environment, mapped to configuration keys the way the server's Helidon
     * config maps environment variables (PRICES_PATH → prices.path), asks for both.
     */
    @Test
    @SuppressWarnings("unchecked")
    void theServerCostsWithTheSamplePricesAndExportsTheGenAiInstruments() throws Exception {
        Map<String, Object> server = (Map<String, Object>) services(ENV_FILE).get("llm-metrics");
        Map<String, String> environment = new LinkedHashMap<>();
        ((Map<String, Object>) server.getOrDefault("environment", Map.of()))
                .forEach((name, value) -> environment.put(name, String.valueOf(value)));
        Config config = Config.just(ConfigSources.create(EnvironmentVariables.expand(environment)));

        // Not in demo mode: the environment itself, not --demo's default, has to ask for the sample table.
        PriceTable prices = Settings.prices(config, false);
        assertTrue(prices.example() && !prices.isEmpty(),
                "the compose environment " + environment + " does not select the sample price table (PRICES_PATH=sample)");
        assertTrue(Settings.genAiConventions(config),
                "the compose environment " + environment + " does not turn on the GenAI instruments (METERS_OTEL_GENAI=true)");
    }

    /** Prometheus reads the shipped config and rules where the config's relative rule_files point. */
    @Test
    @SuppressWarnings("unchecked")
    void prometheusMountsTheShippedConfigurationAndRules() throws Exception {
        Map<String, String> mounts = new LinkedHashMap<>();
        for (Object volume : (List<Object>) ((Map<String, Object>) services(ENV_FILE).get("prometheus")).getOrDefault("volumes", List.of())) {
            if (volume instanceof Map<?, ?> longSyntax) {
                mounts.put(String.valueOf(longSyntax.get("target")), String.valueOf(longSyntax.get("source")));
            } else {
                String[] parts = String.valueOf(volume).split(":");
                mounts.put(parts.length > 1 ? parts[1] : parts[0], parts[0]);
            }
        }
        assertEquals(ROOT.resolve("prometheus/prometheus.yml").toString(), mounts.get("/etc/prometheus/prometheus.yml"),
                "prometheus volumes: " + mounts);
        assertEquals(ROOT.resolve("prometheus/rules").toString(), mounts.get("/etc/prometheus/rules"),
                "prometheus volumes: " + mounts);
    }

    /**
     * docker-compose.replicas.yml over docker-compose.yml: a Redis with every acknowledged batch synced, two
     * replicas of the server sharing it by exactly the documented settings, each on its own loopback port, and
     * one Prometheus job scraping both with the shipped rules; its Prometheus file is the shipped one but for
     * the targets.
     */
    @Test
    @SuppressWarnings("unchecked")
    void theReplicasOverrideRunsTwoServersOnOneRedisBehindOneScrapeJob() throws Exception {
        List<String> files = List.of("docker-compose.yml", "docker-compose.replicas.yml");
        Tools.Finished valid = compose(files, ENV_FILE, "config", "-q");
        assertEquals(0, valid.exitCode(), "docker-compose config -q with the replicas override failed:\n" + valid.toString());
        Tools.Finished result = compose(files, ENV_FILE, "config");
        assertEquals(0, result.exitCode(), result.toString());
        Map<String, Object> services = (Map<String, Object>) ((Map<String, Object>) new Yaml().load(result.stdout())).get("services");
        assertEquals(Set.of("llm-metrics", "llm-metrics-2", "redis", "prometheus", "grafana"), services.keySet());

        String redisCommand = String.join(" ", (List<String>) ((Map<String, Object>) services.get("redis")).get("command"));
        assertTrue(redisCommand.contains("--appendonly yes") && redisCommand.contains("--appendfsync always"), redisCommand);
        for (String replica : List.of("llm-metrics", "llm-metrics-2")) {
            Map<String, Object> service = (Map<String, Object>) services.get(replica);
            Map<String, String> environment = new LinkedHashMap<>();
            ((Map<String, Object>) service.get("environment")).forEach((k, v) -> environment.put(k, String.valueOf(v)));
            assertEquals("redis", environment.get("STORE_BACKEND"), replica);
            assertEquals("redis://redis:6379", environment.get("STORE_REDIS_URL"), replica);
            assertEquals("0123456789abcdef", environment.get("LLM_METRICS_AUTH_TOKEN"), replica);
            Config config = Config.just(ConfigSources.create(EnvironmentVariables.expand(environment)));
            assertEquals("redis", Settings.storeBackend(config));
            assertEquals("redis://redis:6379", config.get("store.redis.url").asString().get());
            Settings.store(config); // a valid Redis URL
            assertEquals(Set.of("127.0.0.1"), hostAddresses(service), replica);
        }
        assertEquals(Set.of("8001->8001"), publishedPorts((Map<String, Object>) services.get("llm-metrics")));
        assertEquals(Set.of("8002->8001"), publishedPorts((Map<String, Object>) services.get("llm-metrics-2")));

        List<String> mounts = (List<String>) ((Map<String, Object>) services.get("prometheus")).get("volumes");
        assertTrue(mounts.contains(ROOT.resolve("prometheus/prometheus-replicas.yml") + ":/etc/prometheus/prometheus.yml:ro"), "" + mounts);
        assertTrue(mounts.contains(ROOT.resolve("prometheus/rules") + ":/etc/prometheus/rules:ro"), "" + mounts);

        Map<String, Object> single = new Yaml().load(Files.readString(ROOT.resolve("prometheus/prometheus.yml")));
        Map<String, Object> replicas = new Yaml().load(Files.readString(ROOT.resolve("prometheus/prometheus-replicas.yml")));
        List<Map<String, Object>> jobs = (List<Map<String, Object>>) replicas.get("scrape_configs");
        assertEquals(1, jobs.size(), "one scrape job for both replicas");
        List<Map<String, Object>> statics = (List<Map<String, Object>>) jobs.get(0).get("static_configs");
        assertEquals(List.of("llm-metrics:8001", "llm-metrics-2:8001"), statics.get(0).get("targets"));
        statics.get(0).put("targets", List.of("llm-metrics:8001"));
        assertEquals(single, replicas, "prometheus-replicas.yml is prometheus.yml with a second target");
    }

    // --- Helpers -----------------------------------------------------------------------------------------

    /** The services of {@code docker-compose config} with {@code dotEnv} as the .env file: the file as docker-compose resolves it. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> services(String dotEnv) throws Exception {
        Tools.Finished result = compose(dotEnv, "config");
        assertEquals(0, result.exitCode(), "docker-compose -f docker-compose.yml config failed:\n" + result.toString());
        Map<String, Object> config = new Yaml().load(result.stdout());
        assertTrue(config != null && config.get("services") instanceof Map, "no services in:\n" + result.stdout());
        return (Map<String, Object>) config.get("services");
    }

    /** "published->target" for each port, from the long form docker-compose config prints or the short form. */
    @SuppressWarnings("unchecked")
    private static Set<String> publishedPorts(Map<String, Object> service) {
        Set<String> ports = new LinkedHashSet<>();
        for (Object port : (List<Object>) service.getOrDefault("ports", List.of())) {
            if (port instanceof Map<?, ?> longSyntax) {
                ports.add(longSyntax.get("published") + "->" + longSyntax.get("target"));
            } else {
                String[] parts = String.valueOf(port).replaceAll("/(tcp|udp)$", "").split(":");
                ports.add(parts.length == 1 ? parts[0] + "->" + parts[0]
                        : parts[parts.length - 2] + "->" + parts[parts.length - 1]);
            }
        }
        return ports;
    }

    /** The host addresses the service's ports are published on. */
    @SuppressWarnings("unchecked")
    private static Set<String> hostAddresses(Map<String, Object> service) {
        Set<String> hosts = new LinkedHashSet<>();
        for (Object port : (List<Object>) service.getOrDefault("ports", List.of())) {
            if (port instanceof Map<?, ?> longSyntax) {
                hosts.add(String.valueOf(longSyntax.get("host_ip")));
            } else {
                String[] parts = String.valueOf(port).split(":");
                hosts.add(parts.length == 3 ? parts[0] : "0.0.0.0");
            }
        }
        return hosts;
    }

    /** Runs docker-compose on docker-compose.yml with {@code dotEnv} as its .env file, and none of the bundle's variables inherited. */
    private static Tools.Finished compose(String dotEnv, String... args) throws Exception {
        return compose(List.of("docker-compose.yml"), dotEnv, args);
    }

    /** Runs docker-compose on {@code files}, each over the one before, with {@code dotEnv} as its .env file. */
    private static Tools.Finished compose(List<String> files, String dotEnv, String... args) throws Exception {
        Path envFile = Files.createTempFile("compose", ".env");
        Files.writeString(envFile, dotEnv);
        try {
            List<String> command = new ArrayList<>(List.of(executable("docker-compose")));
            for (String file : files) {
                command.addAll(List.of("-f", file));
            }
            command.addAll(List.of("--env-file", envFile.toString()));
            command.addAll(List.of(args));
            ProcessBuilder builder = new ProcessBuilder(command).directory(ROOT.toFile());
            builder.environment().keySet().removeAll(List.of("LLM_METRICS_TOKEN", "BIND_ADDRESS"));
            return Tools.finish(command, builder.start(), TIMEOUT);
        } finally {
            Files.delete(envFile);
        }
    }

    private static String executable(String name) {
        return Tools.executable(name, "This test validates docker-compose.yml with the real tool: bin/test installs Debian's 'docker-compose' package (apt-get install docker-compose).");
    }

    private static Path repoRoot() {
        String basedir = System.getProperty("basedir");
        Path root = (basedir != null && !basedir.isBlank() ? Path.of(basedir) : Path.of("")).toAbsolutePath();
        if (!Files.isRegularFile(root.resolve("pom.xml"))) {
            throw new IllegalStateException("not the repository root (no pom.xml): " + root);
        }
        try {
            return root.toRealPath(); // docker-compose prints bind mounts from the real working directory
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
