package dev.llmmetrics.server;

import dev.llmmetrics.CoarseClock;
import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.LlmMetricsConfig;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.server.proxy.ProxySettings;
import dev.llmmetrics.session.redis.RedisSessionStore;
import dev.llmmetrics.session.sqlite.SqliteSessionStore;
import io.helidon.config.Config;
import io.helidon.config.ConfigMappingException;
import io.helidon.logging.common.LogConfig;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The llm-metrics server: wires the library, the Prometheus registry and the HTTP routes, then starts
 * Helidon. {@code --demo} also starts simulated traffic.
 */
public final class Main {

    private static final Logger LOG = System.getLogger(Main.class.getName());

    /**
     * The logger of the per-request lines (named in {@code dev.llmmetrics.session.RequestLog}), held here so
     * that the level {@link #start} sets is not lost with a collected logger.
     */
    private static final java.util.logging.Logger REQUEST_LOG = java.util.logging.Logger.getLogger("dev.llmmetrics.requests");

    private static final String USAGE = "bin/llm-metrics [--demo]  (or java -jar llm-metrics.jar [--demo])";

    /** Helidon's message of a value its type cannot read: the value, then the key. */
    private static final Pattern UNREADABLE =
            Pattern.compile("^Mapping of value '(.*)' stored under key '([^']+)' has failed");

    private Main() {
    }

    /** Starts the server; {@code --demo} adds simulated traffic. Stops gracefully on SIGTERM. */
    public static void main(String[] args) {
        List<String> arguments = Arrays.asList(args);
        if (arguments.contains("--help") || arguments.contains("-h")) {
            System.out.println("Usage: " + USAGE + "\nConfiguration: application.yaml keys, "
                    + "or environment variables such as SERVER_PORT, SERVER_HOST, LLM_METRICS_AUTH_TOKEN (see docs/configuration.md).");
            return;
        }
        for (String argument : arguments) {
            if (!argument.equals("--demo")) {
                System.err.println("Unknown argument " + argument + "; usage: " + USAGE);
                System.exit(2);
            }
        }
        LogConfig.configureRuntime();
        try {
            start(Config.create(), arguments.contains("--demo"), 1.0);
        } catch (IllegalArgumentException e) {
            System.err.println("llm-metrics cannot start: " + e.getMessage());
            System.exit(2);
        } catch (ConfigMappingException e) {
            System.err.println("llm-metrics cannot start: " + unreadableSetting(e));
            System.exit(2);
        }
    }

    /**
     * One line for a setting whose value its type cannot read (say {@code INGEST_DEDUPE_WINDOW=10m}, or digits
     * past what it holds): the key, its environment variable, the value and the form expected, in place of
     * Helidon's stack trace.
     */
    static String unreadableSetting(ConfigMappingException e) {
        Matcher m = UNREADABLE.matcher(String.valueOf(e.getMessage()));
        if (!m.find()) {
            return String.valueOf(e.getMessage());
        }
        String expected = "a value of another form";
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof DateTimeParseException) {
                expected = "an ISO-8601 duration such as PT30S (30 seconds), PT10M or PT1H";
                break;
            }
            if (cause instanceof NumberFormatException) {
                if (m.group(1).matches("[+-]?[0-9]+")) {
                    // digits alone that its type cannot hold: "a whole number" would be no answer
                    return Settings.named(m.group(2)) + " must be a whole number it can hold, not '" + m.group(1)
                            + "', which is out of its range (see docs/configuration.md)";
                }
                expected = "a whole number, without a unit";
                break;
            }
        }
        return Settings.named(m.group(2)) + " must be " + expected + ", not '" + m.group(1)
                + "' (see docs/configuration.md)";
    }

    /**
     * Starts everything from {@code config}; the returned handle stops it.
     *
     * @param demo          whether to run simulated traffic
     * @param demoTimeScale multiplies the simulated latencies
     */
    static Running start(Config config, boolean demo, double demoTimeScale) {
        Settings.refuseUnsupported(config);
        String portText = config.get("server.port").asString().orElse("0");
        if (!portText.matches("[0-9]{1,5}") || Integer.parseInt(portText) > 65_535) {
            // Checked before anything is opened: Helidon would refuse it with a stack trace (or take -1 as any port).
            throw new IllegalArgumentException("server.port (SERVER_PORT) must be a port number from 1 to 65535, or 0"
                    + " for any free one, not '" + portText + "'");
        }
        int port = Integer.parseInt(portText);
        if (Settings.requestLog(config)) {
            REQUEST_LOG.setLevel(java.util.logging.Level.INFO);
        }
        LlmMetricsConfig libraryConfig = Settings.library(config);
        PriceTable prices = Settings.prices(config, demo);
        HttpSettings httpSettings = Settings.http(config);
        String host = Settings.host(config, httpSettings);
        Duration grace = Settings.shutdownGrace(config); // refused before anything listens
        Optional<ProxySettings> proxy = Settings.proxy(config); // and before the store is opened

        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT, new PrometheusRegistry(),
                CoarseClock.system());
        // Two JVM meters break Prometheus naming rules (promtool check metrics flags them): a "_count" gauge
        // and a counter in nanoseconds. process_cpu_usage and system_cpu_usage cover the same ground.
        registry.config().meterFilter(MeterFilter.deny(id -> id.getName().equals("system.cpu.count")
                || id.getName().equals("process.cpu.time")));
        new ClassLoaderMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        JvmGcMetrics gcMetrics = new JvmGcMetrics();
        gcMetrics.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);

        if (Settings.storeBackend(config).equals("sqlite")) {
            SqliteSessionStore.loadNativeLibrary();
        }
        LlmMetrics metrics = LlmMetrics.builder(registry).config(libraryConfig).prices(prices).clock(CoarseClock.system())
                .dedupe(httpSettings.dedupeWindow(), httpSettings.dedupeMaxIds())
                .store(Settings.store(config))
                .semanticConventions(Settings.genAiConventions(config))
                .genAiMaxHistograms(Settings.genAiMaxHistograms(config))
                .defaultProvider(Settings.genAiProvider(config)).build();

        HttpApi api = new HttpApi(metrics, registry, httpSettings, proxy);
        WebServerConfig.Builder server = WebServer.builder()
                .config(config.get("server"))
                .host(host)
                .routing(api::routing);
        api.listener(server);
        String refused = whyNotListen(host, port);
        WebServer webServer = refused == null ? server.build().start() : null;
        if (webServer == null || !webServer.isRunning()) {
            // Refused by the probe, or taken by the time Helidon bound it (or refused for another reason Helidon has logged).
            api.close();
            metrics.close();
            gcMetrics.close();
            String where = (host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
            throw new IllegalArgumentException("cannot listen on " + where + " " + (refused == null
                    ? "(the port is in use or not allowed); set SERVER_PORT to a free port" : refused));
        }

        LOG.log(Level.INFO, "llm-metrics listening on http://{0}:{1} (scrape at /metrics)", host, String.valueOf(webServer.port()));
        if (metrics.store() instanceof SqliteSessionStore sqlite) {
            LOG.log(Level.INFO, "Sessions kept in the SQLite file {0} (synchronous=FULL): {1} held", sqlite.file(),
                    String.valueOf(sqlite.sessionCount()));
        }
        if (metrics.store() instanceof RedisSessionStore redis) {
            LOG.log(Level.INFO, "Sessions shared in Redis at {0} ({1})", redis.endpoint(),
                    redis.notReadyBecause().map(because -> "not ready: " + because + "; /health/ready answers 503 "
                            + "until it is").orElse("connected"));
        }
        if (httpSettings.authToken().isEmpty()) {
            LOG.log(Level.WARNING, "LLM_METRICS_AUTH_TOKEN is not set: the /events endpoints accept requests without "
                    + "x-internal-auth" + (Settings.hostConfigured(config) ? "" : "; listening on loopback only (set SERVER_HOST to change)"));
        }
        proxy.ifPresent(p -> LOG.log(Level.INFO, "Metering proxy: /v1/chat/completions, /v1/embeddings and /v1/models "
                + "forwarded to {0}{1}", p.upstream(), p.accessToken().isPresent() ? "" : " (no proxy.access.token: open to "
                + "every client that reaches the port)"));
        if (prices.example()) {
            LOG.log(Level.WARNING, "Costing with an EXAMPLE price table (prices as of {0}); set prices.path "
                    + "(PRICES_PATH) to a table of your own prices", prices.asOf());
        } else if (prices.isEmpty()) {
            LOG.log(Level.INFO, "No price table (prices.path): costs are not computed, llm_unpriced_requests_total "
                    + "counts the completed requests");
        }
        DemoTraffic traffic = demo ? new DemoTraffic(metrics.tracker(), metrics.bus(), 8, demoTimeScale) : null;
        Running running = new Running(webServer, api, grace, metrics, traffic, gcMetrics, registry);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("llm-metrics-shutdown").unstarted(running::stop));
        return running;
    }

    /**
     * Why {@code host:port} cannot be listened on now, in parentheses, then what to change; {@code null} when it
     * can, or when the web server is better placed to say why not. Tried before the server binds it so that the
     * common cases (a port in use, a port below 1024 without privileges, an address this host does not have)
     * get one line instead of the web server's stack trace. Port 0 is always free.
     */
    private static @Nullable String whyNotListen(String host, int port) {
        if (port == 0) {
            return null;
        }
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true); // as the web server binds: a closed connection's TIME_WAIT does not count
            probe.bind(new InetSocketAddress(host, port));
            return null;
        } catch (BindException e) {
            String why = String.valueOf(e.getMessage());
            if (why.contains("in use")) {
                return "(the port is in use); set SERVER_PORT to a free port";
            }
            if (why.contains("ermission")) {
                return "(permission denied: a port below 1024 needs privileges); set SERVER_PORT to 1024 or more";
            }
            // Most likely an address this host does not have; the system's message may be in another language.
            return "(" + why + "); set SERVER_HOST to an address of this host (0.0.0.0 for all of them), or SERVER_PORT"
                    + " to a free port";
        } catch (IOException | IllegalArgumentException e) {
            return null; // not a port in use: the web server reports it
        }
    }

    /** A started server and what it owns. */
    record Running(WebServer server, HttpApi api, Duration grace, LlmMetrics metrics, DemoTraffic traffic,
                   JvmGcMetrics gcMetrics, PrometheusMeterRegistry registry) {

        int port() {
            return server.port();
        }

        /**
         * Stops the demo, lets the requests in progress finish (new ones get 503) within the grace period,
         * then stops the server and the library.
         */
        synchronized void stop() {
            if (traffic != null) {
                traffic.close();
            }
            if (server.isRunning()) {
                if (!api.drain(grace)) {
                    LOG.log(Level.WARNING, "Requests still in progress after the {0} grace period; stopping anyway", grace);
                }
                server.stop();
            }
            api.close();
            metrics.close(); // the session store with it: a durable one applies what was queued, then closes
            gcMetrics.close();
        }
    }
}
