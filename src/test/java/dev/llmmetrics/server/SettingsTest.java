package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmmetrics.LlmMetricsConfig;
import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.cost.PriceTable;
import dev.llmmetrics.server.proxy.ProxySettings;
import dev.llmmetrics.session.InMemorySessionStore;
import dev.llmmetrics.session.SessionStore;
import dev.llmmetrics.session.SessionStoreFactory;
import dev.llmmetrics.session.sqlite.SqliteSessionStore;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SettingsTest {

    private static Config config(Map<String, String> values) {
        return Config.just(ConfigSources.create(values));
    }

    @Test
    void withoutAnAuthTokenTheServerBindsToLoopbackUnlessAHostIsSet() {
        Config noToken = config(Map.of());
        assertEquals("127.0.0.1", Settings.host(noToken, Settings.http(noToken)));
        Config token = config(Map.of("llm.metrics.auth.token", "t"));
        assertEquals("0.0.0.0", Settings.host(token, Settings.http(token)));
        Config explicit = config(Map.of("server.host", "10.0.0.5"));
        assertEquals("10.0.0.5", Settings.host(explicit, Settings.http(explicit)));
    }

    /**
     * The server reads header values as ASCII, so a token with a character past it (an accented letter, a curly quote
     * or an invisible character that came with a copy) matched no request: every client got 401 from a server that
     * started as if guarded. It is refused at start, naming the setting and never echoing the token.
     */
    @Test
    void aTokenNoHeaderCanCarryIsRefusedAtStartWithoutEchoingIt() {
        for (String key : List.of("llm.metrics.auth.token", "llm.metrics.scrape.token")) {
            for (String token : List.of("t\u00f6k", "\u201ctok\u201d", "tok\u200b", "to\u0001k")) {
                String message = assertThrows(IllegalArgumentException.class,
                        () -> Settings.http(config(Map.of(key, token)))).getMessage();
                assertEquals(Settings.named(key) + " holds a character an HTTP header cannot carry (only printable ASCII"
                        + " and tabs can be sent: an accented letter, a curly quote or an invisible character that came"
                        + " with a copy is not), so no client could present it", message);
            }
        }
        String message = assertThrows(IllegalArgumentException.class, () -> Settings.proxy(config(Map.of(
                "proxy.upstream.url", "http://127.0.0.1:9", "proxy.access.token", "caf\u00e9")))).getMessage();
        assertTrue(message.startsWith("proxy.access.token (PROXY_ACCESS_TOKEN) holds a character"), message);
        assertEquals(Optional.of("a b~!"), Settings.http(config(Map.of("llm.metrics.auth.token", " a b~! "))).authToken());
        // A header value carries a tab between its characters, so a token may hold one.
        assertEquals(Optional.of("a\tb"), Settings.http(config(Map.of("llm.metrics.auth.token", "a\tb"))).authToken());
    }

    @Test
    void aHostThatDoesNotResolveIsRefusedNamingTheSettingAndABlankOneIsNotSet() {
        // Helidon refused it with "Failed to get address from host: ...", naming neither key nor variable
        Config unknown = config(Map.of("server.host", "no-such-host.invalid"));
        assertEquals("server.host (SERVER_HOST) must be an address or a name of this host, was 'no-such-host.invalid',"
                + " which does not resolve", assertThrows(IllegalArgumentException.class,
                        () -> Settings.host(unknown, Settings.http(unknown))).getMessage());
        // SERVER_HOST= listened on "http://:PORT": a blank value now means not set, as for every other setting
        Config blank = config(Map.of("server.host", " "));
        assertEquals("127.0.0.1", Settings.host(blank, Settings.http(blank)));
        assertFalse(Settings.hostConfigured(blank));
    }

    @Test
    void aShutdownGraceThatTheDrainCannotCountIsRefusedAtStartNotInTheShutdownHook() {
        // P1000000D started, then SIGTERM threw ArithmeticException from Duration.toNanos in the hook: no orderly stop
        assertEquals("server.shutdown-grace-period (SERVER_SHUTDOWN_GRACE_PERIOD) must be from PT0S to PT24H, was PT24000000H",
                assertThrows(IllegalArgumentException.class, () -> Settings.shutdownGrace(config(Map.of(
                        "server.shutdown-grace-period", "P1000000D")))).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Settings.shutdownGrace(config(Map.of(
                "server.shutdown-grace-period", "-PT1S"))));
        assertEquals(Duration.ofSeconds(10), Settings.shutdownGrace(config(Map.of())));
    }

    private static String libraryRefusal(String key, String value) {
        return assertThrows(IllegalArgumentException.class, () -> Settings.library(config(Map.of(key, value))))
                .getMessage();
    }

    private static String httpRefusal(String key, String value) {
        return assertThrows(IllegalArgumentException.class, () -> Settings.http(config(Map.of(key, value))))
                .getMessage();
    }

    @Test
    void aBoundOutOfItsRangeIsNamedByItsKeyAndEnvironmentVariableNotByAJavaField() {
        assertEquals("store.max.records (STORE_MAX_RECORDS) must be positive, was 0",
                libraryRefusal("store.max.records", "0"));
        assertEquals("store.max.sessions (STORE_MAX_SESSIONS) must be positive, was -1",
                libraryRefusal("store.max.sessions", "-1"));
        assertEquals("meters.max.models (METERS_MAX_MODELS) must be from 1 to 1022, was 0",
                libraryRefusal("meters.max.models", "0"));
        assertEquals("store.idle.timeout (STORE_IDLE_TIMEOUT) must be from 1 ms to 9223372036854775807 ms, was PT0S",
                libraryRefusal("store.idle.timeout", "PT0S"));
        assertEquals("store.max.bytes (STORE_MAX_BYTES) must be at least 1 MiB, was 5",
                libraryRefusal("store.max.bytes", "5"));
        assertEquals("meters.max.pairs (METERS_MAX_PAIRS) must be at least the pairs one session can have, 26 with"
                + " meters.max.session.models (METERS_MAX_SESSION_MODELS) 8, was 25", libraryRefusal("meters.max.pairs", "25"));
        assertEquals("ingest.dedupe.window (INGEST_DEDUPE_WINDOW) must be from 1 ms to 9223372036854775807 ms, was PT-1M",
                httpRefusal("ingest.dedupe.window", "-PT1M"));
        assertEquals("ingest.dedupe.window (INGEST_DEDUPE_WINDOW) must be from 1 ms to 9223372036854775807 ms, was"
                + " PT0.0001S", httpRefusal("ingest.dedupe.window", "PT0.0001S"));
        String timeouts = httpRefusal("http.header.timeout", "PT48H");
        assertTrue(timeouts.startsWith("http.header.timeout (HTTP_HEADER_TIMEOUT), http.body.timeout"
                + " (HTTP_BODY_TIMEOUT) and http.write.timeout (HTTP_WRITE_TIMEOUT) must be"), timeouts);
        String limits = httpRefusal("ingest.max.batch", "0");
        assertTrue(limits.contains("ingest.max.batch (INGEST_MAX_BATCH)"), limits);
        String connections = httpRefusal("http.max.connections", "0");
        assertTrue(connections.startsWith("http.max.connections (HTTP_MAX_CONNECTIONS), "), connections);
    }

    /**
     * More model labels than the catalog can keep would start a server that puts the models past its 1 024 numbered
     * names under {@code _other}, fewer labels than configured: the start is refused instead, naming the bound.
     */
    @Test
    void moreModelLabelsThanTheCatalogKeepsAreRefusedNotCappedSilently() {
        assertEquals("meters.max.models (METERS_MAX_MODELS) must be from 1 to 1022, was 1023",
                libraryRefusal("meters.max.models", "1023"));
        assertEquals("meters.max.models (METERS_MAX_MODELS) must be from 1 to 1022, was 2000",
                libraryRefusal("meters.max.models", "2000"));
        assertEquals(ModelCatalog.MAX_LABELS, Settings.library(config(Map.of("meters.max.models", "1022"))).maxModels());
    }

    @Test
    void aSwitchIsTrueOrFalseInAnyCaseAndAnythingElseIsRefusedNotTakenAsFalse() {
        assertTrue(Settings.requestLog(config(Map.of("llm.metrics.request.log", "TRUE"))));
        assertFalse(Settings.requestLog(config(Map.of("llm.metrics.request.log", "false"))));
        assertTrue(Settings.genAiConventions(config(Map.of("meters.otel.genai", "true"))));
        assertFalse(Settings.genAiConventions(config(Map.of())));
        assertEquals("llm.metrics.request.log (LLM_METRICS_REQUEST_LOG) must be true or false, not 'yes'",
                assertThrows(IllegalArgumentException.class,
                        () -> Settings.requestLog(config(Map.of("llm.metrics.request.log", "yes")))).getMessage());
        assertEquals("meters.otel.genai (METERS_OTEL_GENAI) must be true or false, not '1'",
                assertThrows(IllegalArgumentException.class,
                        () -> Settings.genAiConventions(config(Map.of("meters.otel.genai", "1")))).getMessage());
    }

    @Test
    void aPriceTableThatCannotBeReadIsNamedByItsAbsolutePathAndWhy(@TempDir Path dir) {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> Settings.prices(config(Map.of("prices.path", "no-such-prices.json")), false));
        assertEquals("cannot read the price table " + Path.of("no-such-prices.json").toAbsolutePath()
                + " named by prices.path (PRICES_PATH): no such file", missing.getMessage());
        IllegalArgumentException directory = assertThrows(IllegalArgumentException.class,
                () -> Settings.prices(config(Map.of("prices.path", dir.toString())), false));
        assertTrue(directory.getMessage().startsWith("cannot read the price table " + dir + " named by prices.path (PRICES_PATH): "),
                directory.getMessage());
        assertFalse(directory.getMessage().contains("Exception"), directory.getMessage());
    }

    @Test
    void theBundledApplicationYamlGivesTheDocumentedDefaults() {
        Config bundled = Config.create();
        assertEquals(8001, bundled.get("server.port").asInt().get());
        assertEquals(LlmMetricsConfig.DEFAULTS, Settings.library(bundled));
        HttpSettings http = Settings.http(bundled);
        assertEquals(HttpSettings.DEFAULT_MAX_BODY_BYTES, http.maxBodyBytes());
        assertEquals(HttpSettings.DEFAULT_MAX_BATCH, http.maxBatch());
        assertEquals(HttpSettings.DEFAULT_DEDUPE_WINDOW, http.dedupeWindow());
        assertEquals(HttpSettings.DEFAULT_DEDUPE_MAX_IDS, http.dedupeMaxIds());
        assertEquals("memory", Settings.storeBackend(bundled));
        assertEquals(HttpSettings.Connections.DEFAULTS, http.connections());
        assertEquals(HttpSettings.DEFAULT_REQUEST_LOG, Settings.requestLog(bundled));
    }

    @Test
    void theBundledApplicationYamlRestatesNoDefault() {
        Config yamlOnly = Config.just(ConfigSources.classpath("application.yaml"));
        Set<String> keys = new TreeSet<>();
        yamlOnly.traverse().filter(Config::isLeaf).forEach(node -> keys.add(node.key().toString()));
        assertEquals(Set.of("server.port"), keys, "application.yaml sets only what has no default in the code");
    }

    @Test
    void theSessionsAreKeptInMemoryUnlessSqliteIsSelectedWithItsFile(@TempDir Path dir) {
        SessionStoreFactory.Parameters parameters = new SessionStoreFactory.Parameters(10, 10, 2, 1 << 20,
                Duration.ofHours(1), Duration.ofMinutes(10), 100, InstantSource.system(),
                new ModelCatalog(PriceTable.EMPTY, 10));
        assertInstanceOf(InMemorySessionStore.class, Settings.store(config(Map.of())).create(parameters));
        assertInstanceOf(InMemorySessionStore.class, Settings.store(config(Map.of("store.backend", " Memory "))).create(parameters));
        Path file = dir.resolve("sessions.db");
        SessionStore sqlite = Settings.store(config(Map.of("store.backend", "sqlite", "store.sqlite.path", file.toString())))
                .create(parameters);
        try {
            assertEquals(file, assertInstanceOf(SqliteSessionStore.class, sqlite).file());
        } finally {
            ((SqliteSessionStore) sqlite).close();
        }
    }

    @Test
    void aStoreSelectionThatCannotMeanWhatItSaysIsRejectedAtStartNamingTheKeys() {
        assertEquals("store.backend=sqlite needs store.sqlite.path (STORE_SQLITE_PATH), the database file",
                assertThrows(IllegalArgumentException.class,
                        () -> Settings.store(config(Map.of("store.backend", "sqlite")))).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Settings.store(config(Map.of("store.sqlite.path", "x.db")))).getMessage()
                .startsWith("store.sqlite.path is set but store.backend is memory"));
        assertEquals("store.backend (STORE_BACKEND) must be memory, sqlite or redis, was postgres", assertThrows(IllegalArgumentException.class,
                () -> Settings.store(config(Map.of("store.backend", "postgres")))).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Settings.store(config(Map.of("store.journal.path", "/var/lib/journal")))).getMessage()
                .startsWith("store.journal.path (STORE_JOURNAL_PATH) is no longer read"));
    }

    @Test
    void aRedisTimeoutOrUrlThatCannotBeUsedIsRefusedNamingItsKeyNotThrownAsAnOverflow() {
        // P1000000D passed the positive check and then overflowed Duration.toNanos: a stack trace, exit code 1
        assertEquals("store.redis.timeout (STORE_REDIS_TIMEOUT) must be positive and at most PT24H, was PT24000000H",
                assertThrows(IllegalArgumentException.class, () -> Settings.store(config(Map.of("store.backend", "redis",
                        "store.redis.url", "redis://127.0.0.1:1", "store.redis.timeout", "P1000000D")))).getMessage());
        assertEquals("store.redis.timeout (STORE_REDIS_TIMEOUT) must be positive and at most PT24H, was PT0S",
                assertThrows(IllegalArgumentException.class, () -> Settings.store(config(Map.of("store.backend", "redis",
                        "store.redis.url", "redis://127.0.0.1:1", "store.redis.timeout", "PT0S")))).getMessage());
        assertEquals("store.redis.url (STORE_REDIS_URL): not a Redis URL (redis://host:port): http://127.0.0.1:6379",
                assertThrows(IllegalArgumentException.class, () -> Settings.store(config(Map.of("store.backend", "redis",
                        "store.redis.url", "http://127.0.0.1:6379")))).getMessage());
    }

    @Test
    void theProxysRefusalsNameTheirEnvironmentVariables() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Settings.proxy(config(Map.of(
                "proxy.upstream.url", "ftp://example.com/")))).getMessage()
                .startsWith("proxy.upstream.url (PROXY_UPSTREAM_URL) must be an http or https URL"));
        assertEquals("proxy.max.body.bytes (PROXY_MAX_BODY_BYTES) and proxy.max.concurrent (PROXY_MAX_CONCURRENT) must be"
                + " positive, were 0 and 64", assertThrows(IllegalArgumentException.class, () -> Settings.proxy(config(Map.of(
                        "proxy.upstream.url", "http://127.0.0.1:1/v1", "proxy.max.body.bytes", "0")))).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Settings.genAiProvider(config(Map.of(
                "meters.otel.provider", "a b")))).getMessage().startsWith("meters.otel.provider (METERS_OTEL_PROVIDER): "));
    }

    @Test
    void aProxyTimeoutPastADayIsRefusedAtStartNotAnsweredWith502OnEveryCall() {
        // P1000000D started, then every proxied call got 502 "timeout can't be negative" (int milliseconds wrapped)
        assertEquals("proxy.connect.timeout (PROXY_CONNECT_TIMEOUT) and proxy.read.timeout (PROXY_READ_TIMEOUT) must be"
                + " positive and at most PT24H, were PT10S and PT24000000H", assertThrows(IllegalArgumentException.class,
                        () -> Settings.proxy(config(Map.of("proxy.upstream.url", "http://127.0.0.1:1/v1",
                                "proxy.read.timeout", "P1000000D")))).getMessage());
    }

    @Test
    void aFallbackSessionTheEventsWouldRefuseIsRefusedAtStart() {
        // 300 characters started, then every proxied call without x-session-id got 400 invalid_session_id
        String message = assertThrows(IllegalArgumentException.class, () -> Settings.proxy(config(Map.of(
                "proxy.upstream.url", "http://127.0.0.1:1/v1", "proxy.session.fallback", "x".repeat(300))))).getMessage();
        assertTrue(message.startsWith("proxy.session.fallback (PROXY_SESSION_FALLBACK) must be at most 256 characters"), message);
    }

    @Test
    void aSessionHeaderNameNoRequestCouldCarryIsRefusedAtStart() {
        // "X Session" started, then every proxied call went to the fallback session without a word
        assertEquals("proxy.session.header (PROXY_SESSION_HEADER) must be a header name (letters, digits and"
                + " !#$%&'*+-.^_`|~), was 'x session'", assertThrows(IllegalArgumentException.class,
                        () -> Settings.proxy(config(Map.of("proxy.upstream.url", "http://127.0.0.1:1/v1",
                                "proxy.session.header", "X Session")))).getMessage());
    }

    @Test
    void aProxySettingWithoutTheUpstreamUrlIsRefusedAtStartNotIgnored() throws IOException {
        // PROXY_SESSION_HEADER='bad header' or PROXY_MAX_CONCURRENT=-5 without PROXY_UPSTREAM_URL started silently
        assertEquals("proxy.session.header (PROXY_SESSION_HEADER) is set but the proxy is off until proxy.upstream.url"
                + " (PROXY_UPSTREAM_URL) is set", assertThrows(IllegalArgumentException.class,
                        () -> Settings.proxy(config(Map.of("proxy.session.header", "bad header")))).getMessage());
        assertEquals("proxy.access.token (PROXY_ACCESS_TOKEN) and proxy.max.concurrent (PROXY_MAX_CONCURRENT) are set but the"
                + " proxy is off until proxy.upstream.url (PROXY_UPSTREAM_URL) is set", assertThrows(IllegalArgumentException.class,
                        () -> Settings.proxy(config(Map.of("proxy.upstream.url", " ", "proxy.max.concurrent", "-5",
                                "proxy.access.token", "t")))).getMessage());
        // every proxy key the configuration documents, the URL aside, is refused alone; a blank one is not set
        for (List<String> row : documentedConfigurationRows()) {
            String key = row.get(0);
            if (key.startsWith("proxy.") && !key.equals("proxy.upstream.url")) {
                String message = assertThrows(IllegalArgumentException.class, () -> Settings.proxy(config(Map.of(key, "x"))),
                        key).getMessage();
                assertTrue(message.startsWith(Settings.named(key) + " is set but the proxy is off"), message);
                assertEquals(Optional.empty(), Settings.proxy(config(Map.of(key, " "))));
            }
        }
    }

    @Test
    void theProxysStreamUsageSwitchRefusesYesRatherThanTakingItAsFalse() {
        // Helidon's asBoolean() read "yes" as false, silently turning off the usage the proxy asks for
        assertEquals("proxy.stream.usage (PROXY_STREAM_USAGE) must be true or false, not 'yes'",
                assertThrows(IllegalArgumentException.class, () -> Settings.proxy(config(Map.of(
                        "proxy.upstream.url", "http://127.0.0.1:1/v1", "proxy.stream.usage", "yes")))).getMessage());
        assertFalse(Settings.proxy(config(Map.of("proxy.upstream.url", "http://127.0.0.1:1/v1",
                "proxy.stream.usage", "FALSE"))).orElseThrow().streamUsage());
    }

    @Test
    void aHugeModelsPerSessionDoesNotOverflowPastTheBoundOnPairs() {
        // 2147483647 + 18 overflowed to a negative int, so meters.max.pairs 26 passed the check
        String message = assertThrows(IllegalArgumentException.class, () -> Settings.library(config(Map.of(
                "meters.max.session.models", "2147483647", "meters.max.pairs", "26")))).getMessage();
        assertTrue(message.startsWith("meters.max.pairs (METERS_MAX_PAIRS) must be at least the pairs one session can have,"
                + " 2147483665 with"), message);
    }

    /** The configuration table of docs/configuration.md: one row of cells (key, environment variable, default, meaning) per key. */
    private static List<List<String>> documentedConfigurationRows() throws IOException {
        String doc = Files.readString(Path.of("docs/configuration.md"));
        int table = doc.indexOf("| Key | Environment | Default | Meaning |");
        assertFalse(table < 0, "docs/configuration.md has its configuration table");
        return doc.substring(table).lines().skip(2).takeWhile(line -> line.startsWith("|"))
                .map(line -> List.of(line.substring(1, line.length() - 1).split("\\|")).stream()
                        .map(cell -> cell.strip().replace("`", "")).toList())
                .toList();
    }

    @Test
    void theConfigurationReferenceStatesTheDefaultsTheCodeApplies() throws IOException {
        Config empty = config(Map.of());
        LlmMetricsConfig library = Settings.library(empty);
        HttpSettings http = Settings.http(empty);
        Map<String, String> applied = new TreeMap<>(Map.ofEntries(
                Map.entry("server.port", Config.create().get("server.port").asString().get()),
                Map.entry("server.shutdown-grace-period", HttpSettings.DEFAULT_SHUTDOWN_GRACE.toString()),
                Map.entry("store.max.sessions", String.valueOf(library.maxSessions())),
                Map.entry("store.max.records", String.valueOf(library.maxRecordsPerSession())),
                Map.entry("store.idle.timeout", library.sessionIdleTimeout().toString()),
                Map.entry("meters.max.sessions", String.valueOf(library.maxMeteredSessions())),
                Map.entry("meters.max.models", String.valueOf(library.maxModels())),
                Map.entry("meters.max.pairs", String.valueOf(library.maxMeteredPairs())),
                Map.entry("meters.max.session.models", String.valueOf(library.maxModelsPerSession())),
                Map.entry("bus.max.types", String.valueOf(library.maxEventTypes())),
                Map.entry("bus.type.idle.timeout", library.eventTypeIdleTimeout().toString()),
                Map.entry("ingest.max.body.bytes", String.valueOf(http.maxBodyBytes())),
                Map.entry("ingest.max.batch", String.valueOf(http.maxBatch())),
                Map.entry("ingest.dedupe.window", http.dedupeWindow().toString()),
                Map.entry("ingest.dedupe.max.ids", String.valueOf(http.dedupeMaxIds())),
                Map.entry("store.backend", Settings.storeBackend(empty)),
                Map.entry("store.redis.timeout", dev.llmmetrics.session.redis.RedisSessionStore.DEFAULT_TIMEOUT.toString()),
                Map.entry("meters.otel.genai", String.valueOf(Settings.genAiConventions(empty))),
                Map.entry("meters.otel.max.series", String.valueOf(Settings.genAiMaxHistograms(empty))),
                Map.entry("http.header.timeout", http.connections().headerTimeout().toString()),
                Map.entry("http.body.timeout", http.connections().bodyTimeout().toString()),
                Map.entry("http.write.timeout", http.connections().writeTimeout().toString()),
                Map.entry("http.max.connections", String.valueOf(http.connections().maxConnections())),
                Map.entry("http.max.concurrent.requests", String.valueOf(http.connections().maxConcurrentRequests())),
                Map.entry("http.max.concurrent.scrapes", String.valueOf(http.connections().maxConcurrentScrapes())),
                Map.entry("http.scrape.gzip", String.valueOf(http.scrapeGzip())),
                Map.entry("llm.metrics.request.log", String.valueOf(Settings.requestLog(empty)))));
        ProxySettings proxy = Settings.proxy(config(Map.of("proxy.upstream.url", "http://127.0.0.1:1/v1"))).orElseThrow();
        applied.put("proxy.session.header", proxy.sessionHeader());
        applied.put("proxy.session.fallback", proxy.fallbackSession());
        applied.put("proxy.max.body.bytes", String.valueOf(proxy.maxBodyBytes()));
        applied.put("proxy.max.concurrent", String.valueOf(proxy.maxConcurrent()));
        applied.put("proxy.connect.timeout", proxy.connectTimeout().toString());
        applied.put("proxy.read.timeout", proxy.readTimeout().toString());
        applied.put("proxy.stream.usage", String.valueOf(proxy.streamUsage()));
        assertTrue(Settings.proxy(empty).isEmpty(), "the proxy is off unless proxy.upstream.url is set");
        Map<String, String> documented = new TreeMap<>();
        for (List<String> row : documentedConfigurationRows()) {
            String key = row.get(0);
            String documentedDefault = row.get(2);
            if (key.equals("store.max.bytes")) {
                assertEquals("a quarter of the maximum heap, at least 1048576 and at most 268435456", documentedDefault);
                assertEquals(Math.clamp(Runtime.getRuntime().maxMemory() / 4, 1048576L, 268435456L), library.maxStoreBytes());
            } else if (!key.equals("server.host") && !documentedDefault.startsWith("none")) {
                documented.put(key, documentedDefault);
            }
        }
        assertEquals(applied, documented);
    }

    @Test
    void everyVariableTheReadmesBoundsNameIsADocumentedSetting() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        int table = readme.indexOf("| Bound | Variable | Default | At the bound |");
        assertFalse(table < 0, "the README has its table of bounds");
        Set<String> documented = documentedConfigurationRows().stream().map(row -> row.get(1)).collect(Collectors.toSet());
        List<String> named = readme.substring(table).lines().skip(2).takeWhile(line -> line.startsWith("|"))
                .flatMap(line -> java.util.regex.Pattern.compile("`([A-Z][A-Z_]+)(=[a-z]+)?`").matcher(line.split("\\|")[2])
                        .results().map(m -> m.group(1)))
                .toList();
        assertTrue(named.size() >= 15, "the bounds name their variables: " + named);
        assertEquals(List.of(), named.stream().filter(variable -> !documented.contains(variable)).toList(),
                "variables of the README's bounds missing from docs/configuration.md");
    }

    /** A quantity as the README writes it: digits grouped by spaces, then perhaps a unit of bytes or of time. */
    private static final java.util.regex.Pattern QUANTITY = java.util.regex.Pattern.compile(
            "(\\d{1,3}(?: \\d{3})+|\\d+)(?: (KiB|MiB|GiB|ms|s|seconds?|minutes?|hours?)\\b)?");

    @Test
    void theReadmesBoundsStateTheDefaultsTheConfigurationReferenceGives() throws IOException {
        // The reference's defaults are the code's (theConfigurationReferenceStatesTheDefaultsTheCodeApplies); here
        // the README's table of bounds, written for people ("10 000", "1 MiB", "20 s"), is held to the reference.
        Map<String, String> reference = new TreeMap<>();
        for (List<String> row : documentedConfigurationRows()) {
            reference.put(row.get(1), row.get(2));
        }
        String readme = Files.readString(Path.of("README.md"));
        int table = readme.indexOf("| Bound | Variable | Default | At the bound |");
        assertFalse(table < 0, "the README has its table of bounds");
        List<String> compared = new ArrayList<>();
        for (String line : readme.substring(table).lines().skip(2).takeWhile(l -> l.startsWith("|")).toList()) {
            String[] cells = line.split("\\|");
            List<String> variables = java.util.regex.Pattern.compile("`([A-Z][A-Z_]+)`").matcher(cells[2]).results()
                    .map(m -> m.group(1)).toList();
            if (variables.isEmpty()) {
                continue; // a fixed bound: no setting to agree with
            }
            List<Object> stated = QUANTITY.matcher(cells[3]).results().map(m -> readmeQuantity(m.group(1), m.group(2))).toList();
            List<Object> expected = variables.stream().map(v -> referenceQuantity(reference.get(v), v)).toList();
            assertEquals(expected, stated, "the README's defaults of " + variables + ": " + cells[3].strip());
            compared.addAll(variables);
        }
        assertTrue(compared.size() >= 15, "bounds compared: " + compared);
    }

    private static Object readmeQuantity(String digits, String unit) {
        long n = Long.parseLong(digits.replace(" ", ""));
        if (unit == null) {
            return n;
        }
        return switch (unit) {
            case "KiB" -> n << 10;
            case "MiB" -> n << 20;
            case "GiB" -> n << 30;
            case "ms" -> Duration.ofMillis(n);
            case "s", "second", "seconds" -> Duration.ofSeconds(n);
            case "minute", "minutes" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
    }

    /** A default of docs/configuration.md: a duration, a number, or a sentence whose last number is the bound. */
    private static Object referenceQuantity(String documented, String variable) {
        assertTrue(documented != null, variable + " is in docs/configuration.md");
        if (documented.startsWith("PT")) {
            return Duration.parse(documented);
        }
        List<String> numbers = java.util.regex.Pattern.compile("\\d+").matcher(documented).results().map(m -> m.group()).toList();
        assertFalse(numbers.isEmpty(), variable + "'s default has no number: " + documented);
        return Long.parseLong(numbers.getLast());
    }

    /** Prints {@code key=value} for each key of its arguments as {@link Config#create()} reads it, as the server does. */
    static final class ReadKeys {
        public static void main(String[] keys) {
            Config config = Config.create();
            for (String key : keys) {
                System.out.println(key + "=" + config.get(key).asString().orElse("(not set)"));
            }
        }
    }

    @Test
    void everyDocumentedEnvironmentVariableSetsItsKeyAndIsTheOneItsRefusalsName() throws Exception {
        // In a child JVM with the variables set, read as Main reads them: Helidon's own lookup of a key among the
        // variables, which also finds SERVER_SHUTDOWN_GRACE_PERIOD for server.shutdown-grace-period, is the truth.
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), ReadKeys.class.getName()));
        Map<String, String> environment = new TreeMap<>();
        Map<String, String> expected = new TreeMap<>();
        for (List<String> row : documentedConfigurationRows()) {
            String key = row.get(0);
            String variable = row.get(1);
            assertFalse(variable.isEmpty(), key + " has no environment variable in docs/configuration.md");
            assertEquals(key + " (" + variable + ")", Settings.named(key), "a refusal names the documented variable");
            command.add(key);
            environment.put(variable, "set-by-" + variable);
            expected.put(key, "set-by-" + variable);
        }
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(environment);
        Process child = builder.start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), output);
        assertEquals(0, child.exitValue(), output);
        Map<String, String> read = new TreeMap<>();
        output.lines().filter(line -> line.contains("=")).forEach(line ->
                read.put(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1)));
        assertEquals(expected, read, "each key as the server reads it, with every documented variable set");
    }

    @Test
    void everyBoundIsReadFromItsKey() {
        Config c = config(Map.of("store.max.sessions", "7", "store.max.records", "8", "store.idle.timeout", "PT5M",
                "meters.max.sessions", "9", "meters.max.models", "10", "bus.max.types", "11",
                "ingest.max.body.bytes", "12", "ingest.max.batch", "13", "llm.metrics.scrape.token", " s "));
        assertEquals(LlmMetricsConfig.builder().maxSessions(7).maxRecordsPerSession(8).sessionIdleTimeout(Duration.ofMinutes(5))
                .maxMeteredSessions(9).maxModels(10).maxEventTypes(11).build(), Settings.library(c));
        assertEquals(LlmMetricsConfig.builder().maxStoreBytes(2097152).maxMeteredPairs(21).maxModelsPerSession(3).build(),
                Settings.library(config(Map.of("store.max.bytes", "2097152", "meters.max.pairs", "21",
                        "meters.max.session.models", "3"))));
        HttpSettings http = Settings.http(c);
        assertEquals(12, http.maxBodyBytes());
        assertEquals(13, http.maxBatch());
        assertEquals(Optional.of("s"), http.scrapeToken());
        assertEquals(Optional.empty(), http.authToken());
        Config more = config(Map.of("ingest.dedupe.window", "PT1M", "ingest.dedupe.max.ids", "14", "meters.otel.genai", "true",
                "llm.metrics.auth.token", "a", "meters.otel.max.series", "17"));
        assertEquals(Duration.ofMinutes(1), Settings.http(more).dedupeWindow());
        assertEquals(14, Settings.http(more).dedupeMaxIds());
        assertEquals(Optional.of("a"), Settings.http(more).authToken());
        assertEquals(true, Settings.genAiConventions(more));
        assertEquals(17, Settings.genAiMaxHistograms(more));
        Config connections = config(Map.of("http.header.timeout", "PT3S", "http.body.timeout", "PT4S", "http.write.timeout", "PT5S",
                "http.max.connections", "15", "http.max.concurrent.requests", "16", "http.max.concurrent.scrapes", "3",
                "llm.metrics.request.log", "true"));
        assertEquals(new HttpSettings.Connections(Duration.ofSeconds(3), Duration.ofSeconds(4), Duration.ofSeconds(5), 15, 16, 3),
                Settings.http(connections).connections());
        assertEquals(true, Settings.requestLog(connections));
        assertEquals(Set.of("a.example", "b.example"), Settings.http(config(Map.of("http.allowed.hosts", " A.example,,b.example ")))
                .allowedHosts());
        assertEquals(Set.of(), Settings.http(c).allowedHosts());
    }

    @Test
    void anAllowedHostNoHostHeaderCouldNameIsRefusedAtStartNamingIt() {
        // foo/bar, a..b and the like started, then never matched a request: the listed name did nothing, silently
        assertEquals("http.allowed.hosts (HTTP_ALLOWED_HOSTS) must be host names without a port, separated by commas, or *"
                + " alone for any name (no patterns): \"foo/bar\" is not one (a host name is labels of letters, digits, '-'"
                + " and '_' joined by single dots, each 1 to 63 characters and neither starting nor ending with '-', 253"
                + " characters in all)", httpRefusal("http.allowed.hosts", "metrics.example.com, foo/bar"));
        String longLabel = "a".repeat(64);
        String longName = String.join(".", "a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(62)); // 254
        for (String bad : List.of("a..b", "-x", "x-", "x_y z", "h\u00e9llo", "\u212Aey", ".", "a.b..", "*.example.com",
                "metrics.example.com:443", longLabel, longName)) {
            String message = httpRefusal("http.allowed.hosts", "ok.example," + bad);
            assertTrue(message.startsWith("http.allowed.hosts (HTTP_ALLOWED_HOSTS) must be host names"), message);
            assertTrue(message.contains(EventJson.quoted(bad.strip()) + " is not one"), bad + ": " + message);
        }
        String longest = longName.substring(1); // 253 characters, labels of 62 and 63
        assertEquals(Set.of("redis_1", "my-service", "a.b.c", "10.0.0.1", longLabel.substring(1), longest),
                Settings.http(config(Map.of("http.allowed.hosts", "redis_1, My-Service,a.b.c.,10.0.0.1,"
                        + longLabel.substring(1) + "," + longest))).allowedHosts());
        assertEquals(Set.of(HttpSettings.ANY_HOST), Settings.http(config(Map.of("http.allowed.hosts", " * "))).allowedHosts());
    }

    @Test
    void nonsensicalBoundsAreRejectedAtStartNamingTheSetting() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Settings.library(config(Map.of("store.max.sessions", "0"))));
        assertEquals("store.max.sessions (STORE_MAX_SESSIONS) must be positive, was 0", e.getMessage());
        assertEquals("meters.otel.max.series (METERS_OTEL_MAX_SERIES) must be positive, was 0", assertThrows(IllegalArgumentException.class,
                () -> Settings.genAiMaxHistograms(config(Map.of("meters.otel.max.series", "0")))).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Settings.http(config(Map.of("http.header.timeout", "PT0S"))));
        IllegalArgumentException endless = assertThrows(IllegalArgumentException.class,
                () -> Settings.http(config(Map.of("http.body.timeout", "PT2628000H"))));
        assertTrue(endless.getMessage().contains("at most PT24H"), endless.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Settings.http(config(Map.of("http.max.connections", "0"))));
        IllegalArgumentException port = assertThrows(IllegalArgumentException.class,
                () -> Settings.http(config(Map.of("http.allowed.hosts", "a.example, metrics.example.com:443"))));
        assertTrue(port.getMessage().startsWith("http.allowed.hosts (HTTP_ALLOWED_HOSTS) must be host names without a port"), port.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Settings.http(config(Map.of("http.allowed.hosts", "*.example.com"))));
        IllegalArgumentException protocols = assertThrows(IllegalArgumentException.class,
                () -> Settings.refuseUnsupported(config(Map.of("server.protocols.http_1_1.max-prologue-length", "100"))));
        assertTrue(protocols.getMessage().startsWith("server.protocols is not supported"), protocols.getMessage());
    }
}
