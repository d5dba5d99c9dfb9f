package dev.llmmetrics.server;

import dev.llmmetrics.LlmMetricsConfig;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.InvalidEventException;
import dev.llmmetrics.meter.LlmMeterBinder;
import dev.llmmetrics.server.proxy.ProxySettings;
import dev.llmmetrics.session.InMemorySessionStore;
import dev.llmmetrics.session.SessionStoreFactory;
import dev.llmmetrics.session.redis.RedisSessionStore;
import dev.llmmetrics.session.sqlite.SqliteSessionStore;
import io.helidon.config.Config;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Maps the server's configuration keys (system properties, environment variables, application.yaml) to its
 * settings. The defaults are not here: an absent key leaves the value of {@link LlmMetricsConfig#DEFAULTS} or
 * {@link HttpSettings}.
 */
final class Settings {

    private Settings() {
    }

    /**
     * The Java names the bounds' checks use ({@link LlmMetricsConfig}, {@link HttpSettings}), by the key and
     * environment variable a user sets, so that a refused value is named as the user wrote it.
     */
    private static final Map<String, String> KEYS_BY_FIELD = Map.ofEntries(
            Map.entry("maxSessions", "store.max.sessions"),
            Map.entry("maxRecordsPerSession", "store.max.records"),
            Map.entry("sessionIdleTimeout", "store.idle.timeout"),
            Map.entry("maxMeteredSessions", "meters.max.sessions"),
            Map.entry("maxModels", "meters.max.models"),
            Map.entry("maxStoreBytes", "store.max.bytes"),
            Map.entry("eventTypeIdleTimeout", "bus.type.idle.timeout"),
            Map.entry("maxMeteredPairs", "meters.max.pairs"),
            Map.entry("maxModelsPerSession", "meters.max.session.models"),
            Map.entry("maxEventTypes", "bus.max.types"),
            Map.entry("maxBodyBytes", "ingest.max.body.bytes"),
            Map.entry("maxBatch", "ingest.max.batch"),
            Map.entry("dedupeMaxIds", "ingest.dedupe.max.ids"),
            Map.entry("dedupeWindow", "ingest.dedupe.window"),
            Map.entry("headerTimeout", "http.header.timeout"),
            Map.entry("bodyTimeout", "http.body.timeout"),
            Map.entry("writeTimeout", "http.write.timeout"),
            Map.entry("maxConnections", "http.max.connections"),
            Map.entry("maxConcurrentRequests", "http.max.concurrent.requests"),
            Map.entry("maxConcurrentScrapes", "http.max.concurrent.scrapes"));

    private static final Pattern FIELD = Pattern.compile("\\b(" + String.join("|", KEYS_BY_FIELD.keySet()) + ")\\b");

    /** {@code key} as a message names a setting: the key, then its environment variable in parentheses. */
    static String named(String key) {
        return key + " (" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_') + ")";
    }

    /** {@code e} with each Java name of a bound replaced by its key and environment variable. */
    private static IllegalArgumentException namedByKeys(IllegalArgumentException e) {
        String message = FIELD.matcher(String.valueOf(e.getMessage())).replaceAll(m -> {
            String key = KEYS_BY_FIELD.get(m.group(1));
            return Matcher.quoteReplacement(named(key));
        });
        return new IllegalArgumentException(message, e);
    }

    /** The library's bounds: each key that is set replaces its default in {@link LlmMetricsConfig#builder()}. */
    static LlmMetricsConfig library(Config config) {
        try {
            return libraryBounds(config);
        } catch (IllegalArgumentException e) {
            throw namedByKeys(e);
        }
    }

    private static LlmMetricsConfig libraryBounds(Config config) {
        LlmMetricsConfig.Builder builder = LlmMetricsConfig.builder();
        config.get("store.max.sessions").asInt().ifPresent(builder::maxSessions);
        config.get("store.max.records").asInt().ifPresent(builder::maxRecordsPerSession);
        config.get("store.idle.timeout").as(Duration.class).ifPresent(builder::sessionIdleTimeout);
        config.get("meters.max.sessions").asInt().ifPresent(builder::maxMeteredSessions);
        config.get("meters.max.models").asInt().ifPresent(builder::maxModels);
        config.get("store.max.bytes").asLong().ifPresent(builder::maxStoreBytes);
        config.get("bus.type.idle.timeout").as(Duration.class).ifPresent(builder::eventTypeIdleTimeout);
        config.get("meters.max.pairs").asInt().ifPresent(builder::maxMeteredPairs);
        config.get("meters.max.session.models").asInt().ifPresent(builder::maxModelsPerSession);
        config.get("bus.max.types").asInt().ifPresent(builder::maxEventTypes);
        return builder.build();
    }

    /** The value of {@code prices.path} that names the example table shipped in the jar. */
    static final String SAMPLE_PRICES = "sample";

    /**
     * The price table at {@code prices.path}: a JSON file, or {@value #SAMPLE_PRICES} for the example shipped
     * in the jar; without the key, none (every request unpriced), or the example in demo mode.
     *
     * @throws IllegalArgumentException if the file cannot be read or is not a valid price table
     */
    static PriceTable prices(Config config, boolean demo) {
        Optional<String> path = config.get("prices.path").asString().asOptional().map(String::trim).filter(p -> !p.isEmpty());
        if (path.isEmpty()) {
            return demo ? PriceTable.sample() : PriceTable.EMPTY;
        }
        if (path.get().equals(SAMPLE_PRICES)) {
            return PriceTable.sample();
        }
        // Named by its absolute path: a relative one is read from the working directory, which a launcher sets.
        Path file = Path.of(path.get()).toAbsolutePath();
        try {
            return PriceTable.load(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("cannot read the price table " + file + " named by " + named("prices.path") + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException("cannot read the price table " + file + " named by " + named("prices.path") + ": permission denied", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the price table " + file + " named by " + named("prices.path") + ": "
                    + Objects.requireNonNullElse(e.getMessage(), "read failed"), e);
        } catch (IllegalArgumentException e) {
            // a table that reads but is not valid names its file and why, not yet the setting
            throw new IllegalArgumentException(named("prices.path") + ": " + e.getMessage(), e);
        }
    }

    /** Whether to register the OpenTelemetry GenAI semantic-convention instruments too ({@code meters.otel.genai}). */
    static boolean genAiConventions(Config config) {
        return flag(config, "meters.otel.genai", HttpSettings.DEFAULT_GENAI_CONVENTIONS);
    }

    /**
     * Most GenAI histograms over every model label ({@code meters.otel.max.series}).
     *
     * @throws IllegalArgumentException when it is not a positive whole number
     */
    static int genAiMaxHistograms(Config config) {
        int max = config.get("meters.otel.max.series").asInt().orElse(LlmMeterBinder.DEFAULT_GENAI_MAX_HISTOGRAMS);
        if (max < 1) {
            throw new IllegalArgumentException(named("meters.otel.max.series") + " must be positive, was " + max);
        }
        return max;
    }

    /**
     * The {@code gen_ai.provider.name} of events that name no provider, of models the price table gives none
     * ({@code meters.otel.provider}); {@code null} when not set.
     *
     * @throws IllegalArgumentException when it is not a provider name
     */
    static @Nullable String genAiProvider(Config config) {
        String provider = config.get("meters.otel.provider").asString().orElse(null);
        if (provider == null) {
            return null;
        }
        try {
            return Event.requireValidProvider(provider);
        } catch (InvalidEventException e) {
            throw new IllegalArgumentException(named("meters.otel.provider") + ": " + e.getMessage(), e);
        }
    }

    static HttpSettings http(Config config) {
        try {
            return httpSettings(config);
        } catch (IllegalArgumentException e) {
            throw namedByKeys(e);
        }
    }

    private static HttpSettings httpSettings(Config config) {
        return new HttpSettings(secret(config, "llm.metrics.auth.token"), secret(config, "llm.metrics.scrape.token"),
                config.get("ingest.max.body.bytes").asInt().orElse(HttpSettings.DEFAULT_MAX_BODY_BYTES),
                config.get("ingest.max.batch").asInt().orElse(HttpSettings.DEFAULT_MAX_BATCH),
                config.get("ingest.dedupe.window").as(Duration.class).orElse(HttpSettings.DEFAULT_DEDUPE_WINDOW),
                config.get("ingest.dedupe.max.ids").asInt().orElse(HttpSettings.DEFAULT_DEDUPE_MAX_IDS),
                new HttpSettings.Connections(
                        config.get("http.header.timeout").as(Duration.class).orElse(HttpSettings.Connections.DEFAULT_HEADER_TIMEOUT),
                        config.get("http.body.timeout").as(Duration.class).orElse(HttpSettings.Connections.DEFAULT_BODY_TIMEOUT),
                        config.get("http.write.timeout").as(Duration.class).orElse(HttpSettings.Connections.DEFAULT_WRITE_TIMEOUT),
                        config.get("http.max.connections").asInt().orElse(HttpSettings.Connections.DEFAULT_MAX_CONNECTIONS),
                        config.get("http.max.concurrent.requests").asInt()
                                .orElse(HttpSettings.Connections.DEFAULT_MAX_CONCURRENT_REQUESTS),
                        config.get("http.max.concurrent.scrapes").asInt()
                                .orElse(HttpSettings.Connections.DEFAULT_MAX_CONCURRENT_SCRAPES)),
                allowedHosts(config.get("http.allowed.hosts").asString().orElse("")),
                flag(config, "http.scrape.gzip", HttpSettings.DEFAULT_SCRAPE_GZIP));
    }

    /**
     * The comma-separated host names of {@code http.allowed.hosts}, trimmed, in lower case, without a final dot;
     * empty entries are skipped.
     *
     * @throws IllegalArgumentException naming the first entry that is neither a host name
     *                                  ({@link HttpSettings#hostName}) nor {@code *}
     */
    static Set<String> allowedHosts(String names) {
        Set<String> hosts = new LinkedHashSet<>();
        for (String name : names.split(",")) {
            String written = name.strip();
            if (written.isEmpty()) {
                continue;
            }
            // the root's dot names the same host
            String host = written.endsWith(".") ? written.substring(0, written.length() - 1) : written;
            // checked before the lower case, which maps a few non-ASCII letters (the Kelvin sign) to ASCII ones
            if (!host.equals(HttpSettings.ANY_HOST) && !HttpSettings.hostName(host)) {
                throw new IllegalArgumentException(named("http.allowed.hosts") + " must be host names without a port,"
                        + " separated by commas, or * alone for any name (no patterns): " + EventJson.quoted(written)
                        + " is not one (a host name is labels of letters, digits, '-' and '_' joined by single dots, each"
                        + " 1 to 63 characters and neither starting nor ending with '-', 253 characters in all)");
            }
            hosts.add(host.toLowerCase(Locale.ROOT));
        }
        return hosts;
    }

    /** The keys {@link #proxy} reads beside {@code proxy.upstream.url}, which mean something only with it. */
    private static final List<String> PROXY_KEYS = List.of("proxy.upstream.key", "proxy.access.token", "proxy.session.header",
            "proxy.session.fallback", "proxy.max.body.bytes", "proxy.max.concurrent", "proxy.connect.timeout",
            "proxy.read.timeout", "proxy.stream.usage");

    /**
     * The metering proxy's settings, when {@code proxy.upstream.url} names an upstream; none otherwise (the proxy
     * is off).
     *
     * @throws IllegalArgumentException if the URL or a bound is not valid, or if another {@code proxy.*} key is
     *                                  set while the proxy is off: its value would be ignored without a word (an
     *                                  access token believed to guard a proxy that is not there, say)
     */
    static Optional<ProxySettings> proxy(Config config) {
        Optional<String> url = nonBlank(config, "proxy.upstream.url");
        if (url.isEmpty()) {
            List<String> set = PROXY_KEYS.stream().filter(key -> nonBlank(config, key).isPresent()).map(Settings::named).toList();
            if (!set.isEmpty()) {
                String keys = set.size() == 1 ? set.get(0) + " is"
                        : String.join(", ", set.subList(0, set.size() - 1)) + " and " + set.get(set.size() - 1) + " are";
                throw new IllegalArgumentException(keys + " set but the proxy is off until proxy.upstream.url"
                        + " (PROXY_UPSTREAM_URL) is set");
            }
            return Optional.empty();
        }
        URI upstream;
        try {
            upstream = new URI(url.get());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("proxy.upstream.url (PROXY_UPSTREAM_URL) is not a URL: " + e.getReason());
        }
        return Optional.of(new ProxySettings(upstream, secret(config, "proxy.upstream.key"),
                secret(config, "proxy.access.token"),
                config.get("proxy.session.header").asString().orElse(ProxySettings.DEFAULT_SESSION_HEADER),
                fallbackSession(config),
                config.get("proxy.max.body.bytes").asInt().orElse(ProxySettings.DEFAULT_MAX_BODY_BYTES),
                config.get("proxy.max.concurrent").asInt().orElse(ProxySettings.DEFAULT_MAX_CONCURRENT),
                config.get("proxy.connect.timeout").as(Duration.class).orElse(ProxySettings.DEFAULT_CONNECT_TIMEOUT),
                config.get("proxy.read.timeout").as(Duration.class).orElse(ProxySettings.DEFAULT_READ_TIMEOUT),
                flag(config, "proxy.stream.usage", true)));
    }

    /**
     * {@code proxy.session.fallback}, checked as a session id: one the events refuse (longer than 256 characters,
     * say) started the server, then got every proxied request without the session header a 400 blaming that header.
     */
    private static String fallbackSession(Config config) {
        String fallback = config.get("proxy.session.fallback").asString().orElse(ProxySettings.DEFAULT_FALLBACK_SESSION);
        if (fallback.isBlank()) {
            return fallback; // ProxySettings refuses it, naming both session settings
        }
        try {
            return Event.requireValidId(named("proxy.session.fallback"), fallback);
        } catch (InvalidEventException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** {@code store.backend}: where the sessions are kept, {@code memory}, {@code sqlite} or {@code redis}. */
    static String storeBackend(Config config) {
        return config.get("store.backend").asString().asOptional().map(b -> b.trim().toLowerCase(Locale.ROOT))
                .filter(b -> !b.isEmpty()).orElse(HttpSettings.DEFAULT_STORE_BACKEND);
    }

    /**
     * The session store {@code store.backend} selects: in memory, durable in the SQLite file at
     * {@code store.sqlite.path}, or shared by replicas in the Redis at {@code store.redis.url}, each command
     * bounded by {@code store.redis.timeout}.
     *
     * @throws IllegalArgumentException for another backend, a backend without its location, a location without
     *                                  its backend, or the removed journal's {@code store.journal.path}
     */
    static SessionStoreFactory store(Config config) {
        if (config.get("store.journal.path").asString().asOptional().filter(p -> !p.isBlank()).isPresent()) {
            throw new IllegalArgumentException("store.journal.path (STORE_JOURNAL_PATH) is no longer read: durable mode "
                    + "is store.backend=sqlite with store.sqlite.path (STORE_BACKEND, STORE_SQLITE_PATH); see docs/configuration.md");
        }
        Optional<String> path = nonBlank(config, "store.sqlite.path");
        Optional<String> url = nonBlank(config, "store.redis.url");
        String backend = storeBackend(config);
        if (path.isPresent() && !backend.equals("sqlite")) {
            throw new IllegalArgumentException("store.sqlite.path is set but store.backend is " + backend + ": set "
                    + "store.backend=sqlite (STORE_BACKEND) to keep the sessions in " + path.get());
        }
        if (url.isPresent() && !backend.equals("redis")) {
            throw new IllegalArgumentException("store.redis.url is set but store.backend is " + backend + ": set "
                    + "store.backend=redis (STORE_BACKEND) to keep the sessions in Redis");
        }
        return switch (backend) {
            case "memory" -> InMemorySessionStore.factory();
            case "sqlite" -> SqliteSessionStore.at(Path.of(path.orElseThrow(() -> new IllegalArgumentException(
                    "store.backend=sqlite needs store.sqlite.path (STORE_SQLITE_PATH), the database file"))));
            case "redis" -> redis(config, url.orElseThrow(() -> new IllegalArgumentException(
                    "store.backend=redis needs store.redis.url (STORE_REDIS_URL), redis://host:port")));
            default -> throw new IllegalArgumentException("store.backend (STORE_BACKEND) must be memory, sqlite or redis, was " + backend);
        };
    }

    /**
     * The Redis store at {@code url}, its refusals naming {@code store.redis.url} and {@code store.redis.timeout}:
     * the store checks both, the timeout first under the key's name.
     */
    private static SessionStoreFactory redis(Config config, String url) {
        Duration timeout = RedisSessionStore.requireValidTimeout(named("store.redis.timeout"),
                config.get("store.redis.timeout").as(Duration.class).orElse(RedisSessionStore.DEFAULT_TIMEOUT));
        try {
            return RedisSessionStore.at(url, timeout);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(named("store.redis.url") + ": " + e.getMessage(), e);
        }
    }

    private static Optional<String> nonBlank(Config config, String key) {
        return config.get(key).asString().asOptional().map(String::trim).filter(v -> !v.isEmpty());
    }

    /**
     * How long requests in progress may take to finish on SIGTERM ({@code server.shutdown-grace-period}).
     *
     * @throws IllegalArgumentException when negative or longer than {@link HttpSettings.Connections#MAX_TIMEOUT}: a
     *                                  longer one would overflow the drain's nanoseconds in the shutdown hook, which
     *                                  would then skip the orderly stop (the store left open, its log not folded)
     */
    static Duration shutdownGrace(Config config) {
        Duration grace = config.get("server.shutdown-grace-period").as(Duration.class).orElse(HttpSettings.DEFAULT_SHUTDOWN_GRACE);
        if (grace.isNegative() || grace.compareTo(HttpSettings.Connections.MAX_TIMEOUT) > 0) {
            throw new IllegalArgumentException(named("server.shutdown-grace-period") + " must be from PT0S to "
                    + HttpSettings.Connections.MAX_TIMEOUT + ", was " + grace);
        }
        return grace;
    }

    /** Whether to write the per-request log lines ({@code llm.metrics.request.log}). */
    static boolean requestLog(Config config) {
        return flag(config, "llm.metrics.request.log", HttpSettings.DEFAULT_REQUEST_LOG);
    }

    /**
     * A switch: {@code true} or {@code false}, in any case; its default when absent. Anything else stops the
     * start, where Helidon's own reading takes {@code yes} or {@code 1} silently as false.
     */
    static boolean flag(Config config, String key, boolean absent) {
        Optional<String> value = config.get(key).asString().asOptional().map(String::trim).filter(v -> !v.isEmpty());
        if (value.isEmpty()) {
            return absent;
        }
        if (value.get().equalsIgnoreCase("true") || value.get().equalsIgnoreCase("false")) {
            return Boolean.parseBoolean(value.get());
        }
        throw new IllegalArgumentException(named(key) + " must be true or false, not '" + value.get() + "'");
    }

    /**
     * Refuses the Helidon keys the server sets itself: {@code server.protocols} would add a second HTTP/1.1
     * protocol beside the one that enforces the header timeout.
     *
     * @throws IllegalArgumentException if one is set
     */
    static void refuseUnsupported(Config config) {
        if (config.get("server.protocols").exists()) {
            throw new IllegalArgumentException("server.protocols is not supported: the server sets up HTTP/1.1 itself "
                    + "(see the http.* settings)");
        }
    }

    /** The host to bind: {@code server.host} if set, else {@link HttpSettings#defaultHost()}. */
    static String host(Config config, HttpSettings http) {
        String host = nonBlank(config, "server.host").orElse(http.defaultHost());
        // Helidon's own refusal ("Failed to get address from host") names neither the key nor the variable
        if (new InetSocketAddress(host, 0).isUnresolved()) {
            throw new IllegalArgumentException(named("server.host") + " must be an address or a name of this host, was '"
                    + host + "', which does not resolve");
        }
        return host;
    }

    /** Whether {@code server.host} is set; blank counts as not set, as for the other settings. */
    static boolean hostConfigured(Config config) {
        return nonBlank(config, "server.host").isPresent();
    }

    /**
     * A token or key, trimmed; none when blank.
     *
     * @throws IllegalArgumentException naming the key, not the value, if it holds a character no header value carries:
     *                                  the server reads header values as ASCII, so no request could present it
     */
    private static Optional<String> secret(Config config, String key) {
        Optional<String> secret = config.get(key).asString().asOptional().map(String::trim).filter(s -> !s.isEmpty());
        if (secret.isPresent() && !secret.get().chars().allMatch(c -> c == '\t' || (c >= 0x20 && c <= 0x7e))) {
            throw new IllegalArgumentException(named(key) + " holds a character an HTTP header cannot carry (only printable"
                    + " ASCII and tabs can be sent: an accented letter, a curly quote or an invisible character that came"
                    + " with a copy is not), so no client could present it");
        }
        return secret;
    }
}
