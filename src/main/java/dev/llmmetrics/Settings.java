package dev.llmmetrics;

import dev.llmmetrics.config.LlmMetricsConfig;
import dev.llmmetrics.http.HttpSettings;
import io.helidon.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** Reads the server's settings from Helidon config (application.yaml, then environment, then system properties). */
final class Settings {

    private Settings() {
    }

    static LlmMetricsConfig library(Config config) {
        LlmMetricsConfig d = LlmMetricsConfig.DEFAULTS;
        return LlmMetricsConfig.builder()
                .maxSessions(config.get("store.max.sessions").asInt().orElse(d.maxSessions()))
                .maxRecordsPerSession(config.get("store.max.records").asInt().orElse(d.maxRecordsPerSession()))
                .sessionIdleTimeout(config.get("store.idle.timeout").as(Duration.class).orElse(d.sessionIdleTimeout()))
                .maxMeteredSessions(config.get("meters.max.sessions").asInt().orElse(d.maxMeteredSessions()))
                .maxModels(config.get("meters.max.models").asInt().orElse(d.maxModels()))
                .maxEventTypes(config.get("bus.max.types").asInt().orElse(d.maxEventTypes()))
                .build();
    }

    static HttpSettings http(Config config) {
        return new HttpSettings(secret(config, "llm.metrics.auth.token"), secret(config, "llm.metrics.scrape.token"),
                config.get("ingest.max.body.bytes").asInt().orElse(HttpSettings.DEFAULT_MAX_BODY_BYTES),
                config.get("ingest.max.batch").asInt().orElse(HttpSettings.DEFAULT_MAX_BATCH),
                config.get("ingest.dedupe.window").as(Duration.class).orElse(HttpSettings.DEFAULT_DEDUPE_WINDOW),
                config.get("ingest.dedupe.max.ids").asInt().orElse(HttpSettings.DEFAULT_DEDUPE_MAX_IDS),
                config.get("store.journal.path").asString().asOptional().filter(p -> !p.isBlank())
                        .map(p -> new HttpSettings.JournalSettings(Path.of(p),
                                config.get("store.journal.segment.bytes").asLong().orElse(16L << 20),
                                config.get("store.journal.commit.delay").as(Duration.class).orElse(Duration.ofMillis(2)),
                                config.get("store.journal.compact.interval").as(Duration.class).orElse(Duration.ofSeconds(30)))));
    }

    /** The host to bind: {@code server.host} if set; else every interface with an auth token, loopback without. */
    static String host(Config config, HttpSettings http) {
        return config.get("server.host").asString()
                .orElse(http.authToken().isPresent() ? "0.0.0.0" : "127.0.0.1");
    }

    static boolean hostConfigured(Config config) {
        return config.get("server.host").asString().isPresent();
    }

    private static Optional<String> secret(Config config, String key) {
        return config.get(key).asString().asOptional().map(String::trim).filter(s -> !s.isEmpty());
    }
}
