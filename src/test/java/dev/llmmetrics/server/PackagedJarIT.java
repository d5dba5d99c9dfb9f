package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** What {@code mvn package} produced runs with {@code java -jar}: the server, with demo traffic, answering on its port. */
class PackagedJarIT {

    @Test
    void javaDashJarStartsTheServerWithDemoTrafficAndSigtermStopsIt() throws Exception {
        Path jar = Path.of("target", "llm-metrics.jar");
        assertTrue(Files.isRegularFile(jar), "mvn package builds " + jar);
        try (var libs = Files.list(Path.of("target", "libs"))) {
            List<String> names = libs.map(p -> p.getFileName().toString()).toList();
            assertEquals(List.of(), names.stream().filter(name -> name.startsWith("langchain4j-")).toList(),
                    "the LangChain4j adapter's dependencies stay out of the server");
            // The Redis client's logging facade comes with its bridge to java.util.logging, the server's logging.
            assertEquals(names.stream().anyMatch(name -> name.startsWith("slf4j-api-")),
                    names.stream().anyMatch(name -> name.startsWith("slf4j-jdk14-")), "slf4j-api with its provider: " + names);
        }
        ChildServer child = ChildServer.jar(jar, List.of("--demo"));
        Process process = child.process;
        List<String> output = child.output;
        try {
            String base = child.base();
            HttpClient client = HttpClient.newHttpClient();
            HttpResponse<String> health = client.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode());
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
                String scrape = client.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                return PrometheusText.parse(scrape).sum("llm_requests_total") > 0;
            });
        } finally {
            process.destroy();
            assertTrue(process.waitFor(20, TimeUnit.SECONDS), () -> "did not stop; output: " + output);
        }
        assertEquals(143, process.exitValue(), () -> String.join("\n", output));
    }
}
