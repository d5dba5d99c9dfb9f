package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Dockerfile's run stage records the server's classes in a class data sharing archive while the image is
 * built, and its entry point starts the server on that archive. There is no Docker engine here, so the stage's
 * RUN steps are carried out with this JDK in a directory standing for {@code /app}, on the jar {@code mvn package}
 * made, with the stage's ENV; the one that creates the image's user is left out, since it would change this
 * machine's users.
 */
class DockerRunStageIT {

    private static final Path ROOT = Tools.repoRoot();

    @Test
    void theRunStageRecordsTheServersClassesAndItsEntryPointStartsOnThem(@TempDir Path dir) throws Exception {
        Path app = Files.createDirectories(dir.resolve("app"));
        Files.copy(ROOT.resolve("target/llm-metrics.jar"), app.resolve("llm-metrics.jar"));
        Path libs = Files.createDirectories(app.resolve("libs"));
        try (Stream<Path> jars = Files.list(ROOT.resolve("target/libs"))) {
            for (Path jar : (Iterable<Path>) jars::iterator) {
                Files.copy(jar, libs.resolve(jar.getFileName()));
            }
        }
        String javaBin = Path.of(System.getProperty("java.home"), "bin").toString();
        List<String> stage = runStage();
        String training = stage.stream().filter(s -> s.startsWith("RUN ") && s.contains("ArchiveClassesAtExit"))
                .findFirst().orElseThrow(() -> new AssertionError("the run stage records an archive: " + stage));
        Map<String, String> env = stageEnvironment(stage);

        // A server that cannot start fails the step, with its output, and leaves no archive.
        Tools.Finished failed = carryOut(training, app, javaBin, env, Map.of("STORE_BACKEND", "sqlite"));
        assertNotEquals(0, failed.exitCode(), failed.toString());
        assertTrue(failed.stdout().contains("llm-metrics cannot start"), failed.toString());
        assertFalse(Files.exists(app.resolve("llm-metrics.jsa")),
                "no archive of a server that did not start");

        Tools.Finished finished = carryOut(training, app, javaBin, env, Map.of());
        assertEquals(0, finished.exitCode(), training + "\n" + finished);
        Path archive = app.resolve("llm-metrics.jsa");
        assertTrue(Files.size(archive) > 1 << 20, "an archive of the server's classes: " + Files.size(archive) + " bytes");

        List<String> entryPoint = entryPoint();
        assertEquals("java", entryPoint.get(0), "the entry point runs java: " + entryPoint);
        List<String> command = new ArrayList<>();
        command.add(Path.of(javaBin, "java").toString());
        command.add("-Xshare:on"); // fails the start, rather than going on without it, when the archive cannot be mapped
        entryPoint.subList(1, entryPoint.size()).forEach(word -> command.add(word.replace("/app/", app + "/")));
        try (ChildServer server = ChildServer.command(command)) {
            HttpResponse<String> health = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create(server.base() + "/health")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode(), server.log());
        }
    }

    /** Carries out one RUN step with the stage's environment, {@code extra} on top, in the directory standing for /app. */
    private static Tools.Finished carryOut(String step, Path app, String javaBin, Map<String, String> env,
                                           Map<String, String> extra) throws Exception {
        List<String> command = List.of("sh", "-c", step.substring(4).replace("/app/", app + "/"));
        ProcessBuilder run = new ProcessBuilder(command).directory(app.toFile());
        run.environment().remove("LLM_METRICS_AUTH_TOKEN");
        run.environment().putAll(env);
        run.environment().putAll(extra);
        run.environment().put("PATH", javaBin + ":" + System.getenv("PATH"));
        return Tools.finish(command, run.start(), Duration.ofMinutes(3));
    }

    /** The variables the stage's ENV instructions set, as Docker sets them for its RUN steps. */
    private static Map<String, String> stageEnvironment(List<String> stage) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String step : stage) {
            if (step.startsWith("ENV ")) {
                for (String pair : step.substring(4).strip().split("\\s+")) {
                    int eq = pair.indexOf('=');
                    assertTrue(eq > 0, "ENV in the key=value form: " + step);
                    env.put(pair.substring(0, eq), pair.substring(eq + 1));
                }
            }
        }
        return env;
    }

    /** The run stage's instructions (after the last FROM), continuation lines joined, comments left out. */
    private static List<String> runStage() throws Exception {
        List<String> lines = Files.readAllLines(ROOT.resolve("Dockerfile"));
        int lastFrom = 0;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith("FROM ")) {
                lastFrom = i;
            }
        }
        List<String> steps = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : lines.subList(lastFrom + 1, lines.size())) {
            if (line.startsWith("#") || line.isBlank() && current.isEmpty()) {
                continue;
            }
            boolean continues = line.endsWith("\\");
            current.append(continues ? line.substring(0, line.length() - 1) : line).append(' ');
            if (!continues) {
                steps.add(current.toString().strip());
                current.setLength(0);
            }
        }
        return steps;
    }

    private static List<String> entryPoint() throws Exception {
        String step = runStage().stream().filter(s -> s.startsWith("ENTRYPOINT ")).reduce((a, b) -> b).orElseThrow();
        return new ObjectMapper().readValue(step.substring("ENTRYPOINT ".length()), new TypeReference<>() {
        });
    }
}
