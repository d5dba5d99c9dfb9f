package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.llmmetrics.LlmMetricsConfig;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

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

    @Test
    void theBundledApplicationYamlGivesTheDocumentedDefaults() {
        Config bundled = Config.create();
        assertEquals(8001, bundled.get("server.port").asInt().get());
        assertEquals(LlmMetricsConfig.DEFAULTS, Settings.library(bundled));
        HttpSettings http = Settings.http(bundled);
        assertEquals(HttpSettings.DEFAULT_MAX_BODY_BYTES, http.maxBodyBytes());
        assertEquals(HttpSettings.DEFAULT_MAX_BATCH, http.maxBatch());
    }

    @Test
    void everyBoundIsReadFromItsKey() {
        Config c = config(Map.of("store.max.sessions", "7", "store.max.records", "8", "store.idle.timeout", "PT5M",
                "meters.max.sessions", "9", "meters.max.models", "10", "bus.max.types", "11",
                "ingest.max.body.bytes", "12", "ingest.max.batch", "13", "llm.metrics.scrape.token", " s "));
        assertEquals(new LlmMetricsConfig(7, 8, Duration.ofMinutes(5), 9, 10, 11), Settings.library(c));
        HttpSettings http = Settings.http(c);
        assertEquals(12, http.maxBodyBytes());
        assertEquals(13, http.maxBatch());
        assertEquals(Optional.of("s"), http.scrapeToken());
        assertEquals(Optional.empty(), http.authToken());
    }

    @Test
    void nonsensicalBoundsAreRejectedAtStartNamingTheSetting() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Settings.library(config(Map.of("store.max.sessions", "0"))));
        assertEquals("maxSessions must be positive, was 0", e.getMessage());
    }
}
