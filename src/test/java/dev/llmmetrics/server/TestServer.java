package dev.llmmetrics.server;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import java.io.IOException;
import java.io.UncheckedIOException;
import dev.llmmetrics.session.redis.RedisProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/** The real server on a free loopback port, and an HTTP client speaking to it. */
final class TestServer implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    private final Main.Running running;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;

    private TestServer(Map<String, String> settings, boolean demo) {
        this(settings, demo, 0.05);
    }

    private TestServer(Map<String, String> settings, boolean demo, double demoTimeScale) {
        Map<String, String> config = new HashMap<>(Map.of("server.port", "0", "server.host", "127.0.0.1"));
        config.putAll(settings);
        running = Main.start(Config.just(ConfigSources.create(config)), demo, demoTimeScale);
        base = "http://127.0.0.1:" + running.port();
    }

    static TestServer start() {
        return new TestServer(Map.of(), false);
    }

    static TestServer start(Map<String, String> settings) {
        return new TestServer(settings, false);
    }

    /**
     * {@code settings} with the sessions on {@code backend}: {@code memory}, {@code sqlite} (a file in {@code dir})
     * or {@code redis} (at {@code redis}, which the caller started and closes).
     */
    static Map<String, String> onStore(String backend, Path dir, @Nullable RedisProcess redis,
                                       Map<String, String> settings) {
        Map<String, String> config = new HashMap<>(settings);
        config.put("store.backend", backend);
        switch (backend) {
            case "sqlite" -> config.put("store.sqlite.path", dir.resolve("sessions.db").toString());
            case "redis" -> config.put("store.redis.url", Objects.requireNonNull(redis, "redis").url());
            default -> {
                // in memory: nothing more to say
            }
        }
        return config;
    }

    static TestServer startWithDemo() {
        return new TestServer(Map.of(), true);
    }

    static TestServer startWithDemo(Map<String, String> settings) {
        return new TestServer(settings, true);
    }

    /** The demo with its simulated latencies multiplied by {@code timeScale}, for tests that need many calls. */
    static TestServer startWithDemo(double timeScale) {
        return new TestServer(Map.of(), true, timeScale);
    }

    Main.Running running() {
        return running;
    }

    URI uri(String path) {
        return URI.create(base + path);
    }

    /** Sends {@code request} built on this server's address. */
    HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return client.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    HttpResponse<String> get(String path, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).GET();
        return send(headers.length == 0 ? b : b.headers(headers));
    }

    /** A GET whose body is kept as its bytes, as sent (a compressed one is not decompressed). */
    HttpResponse<byte[]> getBytes(String path, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).GET().timeout(Duration.ofSeconds(30));
        try {
            return client.send((headers.length == 0 ? b : b.headers(headers)).build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    HttpResponse<String> delete(String path, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).DELETE();
        return send(headers.length == 0 ? b : b.headers(headers));
    }

    HttpResponse<String> post(String path, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body));
        if (!hasContentType(headers)) {
            b.header("Content-Type", "application/json");
        }
        return send(headers.length == 0 ? b : b.headers(headers));
    }

    /** Posts events as a JSON array and checks they were accepted. */
    void postEvents(String jsonArray, String... headers) {
        HttpResponse<String> response = post("/events", jsonArray, headers);
        if (response.statusCode() != 202) {
            throw new AssertionError("events not accepted: " + response.statusCode() + " " + response.body());
        }
    }

    /** The session's JSON once it shows {@code requests} requests, waiting up to 10 s for them to be recorded. */
    JsonNode awaitSession(String id, int requests) {
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            HttpResponse<String> r = get("/events/metrics/session/" + id);
            return r.statusCode() == 200 && json(r).get("total_requests").asLong() == requests;
        });
        return json(get("/events/metrics/session/" + id));
    }

    static JsonNode json(HttpResponse<String> response) {
        try {
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + response.body(), e);
        }
    }

    PrometheusText scrape() {
        return PrometheusText.parse(get("/metrics").body());
    }

    private static boolean hasContentType(String[] headers) {
        for (int i = 0; i + 1 < headers.length; i += 2) {
            if (headers[i].equalsIgnoreCase("Content-Type")) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        running.stop();
    }
}
