package dev.llmmetrics.bench;

import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.session.sqlite.SqliteSessionStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Time from launching the server on a SQLite store that holds a long history to its first answer with a
 * session's data, against the same launch on an empty store.
 *
 * <p>The history is written through the library, as the server writes it: {@code --events} events (default
 * 1 000 000) in batches of 100, each call a STARTED and a COMPLETED (one in 25 a FAILED) with an event id,
 * spread over as many sessions as the default bounds keep (10 000 sessions of 100 records), so that the file
 * is what a full server leaves behind. Then the server jar is launched {@code --runs} times
 * ({@code java $BENCH_SERVER_JAVA_OPTS -jar JAR}, as {@code bin/llm-metrics} runs it), and each launch is timed until
 * {@code GET /events/metrics/session/{id}} answers 200 with the session's records.
 *
 * <pre>
 * bin/bench restart [--events 1000000] [--runs 5]
 * </pre>
 */
public final class RestartBenchmark {

    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");
    private static final int SESSIONS = 10_000;
    private static final String[] MODELS = {"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-pro", "llama-3.3-70b"};

    private RestartBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        long events = 1_000_000;
        int runs = 5;
        Path jar = null;
        Path dir = Path.of("target/bench-build/restart");
        String javaOpts = System.getenv().getOrDefault("BENCH_SERVER_JAVA_OPTS", "");
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--events" -> events = Long.parseLong(args[i + 1]);
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--jar" -> jar = Path.of(args[i + 1]);
                case "--dir" -> dir = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (jar == null || !Files.isRegularFile(jar)) {
            throw new IllegalArgumentException("--jar must name the server jar, was " + jar);
        }
        Files.createDirectories(dir);
        // A history is written once per event count and kept: written under a temporary name, renamed when whole.
        Path full = dir.resolve("history-" + events + ".db");
        Path empty = dir.resolve("empty.db");
        Fixtures.requestLog("WARNING");
        String probe = "restart-session-%05d".formatted((int) ((events / 2 - 1) % SESSIONS));
        if (!Files.exists(full)) {
            Path writing = dir.resolve("history-" + events + ".db.writing");
            delete(writing);
            long started = System.nanoTime();
            fill(writing, events);
            Files.move(writing, full);
            System.out.printf("history: %,d events written in %.1f s%n", events, (System.nanoTime() - started) / 1e9);
        }
        System.out.printf("history: %,d events, file %s of %,d bytes%n", events, full, Files.size(full));
        delete(empty);
        fill(empty, 0);
        System.out.printf("launch: java %s -jar %s (machine: %d cores, load %s)%n", javaOpts, jar,
                Runtime.getRuntime().availableProcessors(), Files.readString(Path.of("/proc/loadavg")).strip());
        List<Double> emptyMs = new ArrayList<>();
        List<Double> fullMs = new ArrayList<>();
        for (int run = 0; run < runs; run++) {
            emptyMs.add(launch(jar, javaOpts, empty, null));
            fullMs.add(launch(jar, javaOpts, full, probe));
            System.out.printf("run %d: empty store %.0f ms, %,d events of history %.0f ms%n", run + 1,
                    emptyMs.getLast(), events, fullMs.getLast());
        }
        System.out.printf("RESULT empty_median_ms=%.0f history_median_ms=%.0f history_cost_ms=%.0f%n", median(emptyMs),
                median(fullMs), median(fullMs) - median(emptyMs));
    }

    private static void delete(Path file) throws IOException {
        for (String suffix : new String[] {"", "-wal", "-shm", ".lock"}) {
            Files.deleteIfExists(file.resolveSibling(file.getFileName() + suffix));
        }
    }

    /** Writes {@code events} events through the library into a new store at {@code file}, closed when it returns. */
    private static void fill(Path file, long events) {
        Random random = new Random(11);
        try (LlmMetrics metrics = LlmMetrics.builder(new SimpleMeterRegistry())
                .store(SqliteSessionStore.at(file, SqliteSessionStore.Durability.PROCESS_CRASH)).build()) {
            List<Event> batch = new ArrayList<>(100);
            long written = 0;
            long call = 0;
            Instant start = Instant.now().minus(Duration.ofHours(1));
            while (written < events) {
                int s = (int) (call % SESSIONS);
                String session = "restart-session-%05d".formatted(s);
                String model = MODELS[s % MODELS.length];
                String id = "call-" + call;
                Instant at = start.plusMillis(call / 1000);
                batch.add(LlmRequestStarted.builder(session, model).correlationId(id).eventId(id + "-s")
                        .messagesCount(1 + random.nextInt(12)).toolsCount(random.nextInt(4)).timestamp(at).build());
                if (call % 25 == 24) {
                    batch.add(LlmRequestFailed.builder(session, model).error("TimeoutException: read timed out")
                            .correlationId(id).eventId(id + "-f").durationMs((long) random.nextInt(30_000))
                            .timestamp(at).build());
                } else {
                    int prompt = 50 + random.nextInt(3950);
                    int completion = 10 + random.nextInt(1490);
                    batch.add(LlmRequestCompleted.builder(session, model).durationMs(200 + random.nextInt(11_800))
                            .promptTokens(prompt).completionTokens(completion).totalTokens(prompt + completion)
                            .hasToolCalls(random.nextInt(4) == 0).correlationId(id).eventId(id + "-c").timestamp(at)
                            .build());
                }
                written += 2;
                call++;
                if (batch.size() >= 100 || written >= events) {
                    metrics.bus().publishAll(batch);
                    batch.clear();
                }
            }
        }
    }

    /**
     * Launches the server on {@code file} and returns the milliseconds until it answers: the session
     * {@code probe} with its records, or, when {@code null}, its health route.
     */
    private static double launch(Path jar, String javaOpts, Path file, String probe) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        for (String option : javaOpts.trim().split("\\s+")) {
            if (!option.isEmpty()) {
                command.add(option);
            }
        }
        command.addAll(List.of("-jar", jar.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(java.util.Map.of("SERVER_HOST", "127.0.0.1", "SERVER_PORT", "0",
                "STORE_BACKEND", "sqlite", "STORE_SQLITE_PATH", file.toAbsolutePath().toString()));
        builder.environment().remove("LLM_METRICS_AUTH_TOKEN");
        HttpClient client = HttpClient.newHttpClient();
        long launched = System.nanoTime();
        Process server = builder.start();
        try {
            CompletableFuture<Integer> port = new CompletableFuture<>();
            Thread.ofPlatform().daemon().start(() -> readPort(server, port));
            int p = port.get(60, TimeUnit.SECONDS);
            URI uri = URI.create("http://127.0.0.1:" + p + (probe == null ? "/health" : "/events/metrics/session/" + probe));
            while (true) {
                HttpResponse<String> response = client.send(HttpRequest.newBuilder(uri).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200 && (probe == null || response.body().contains("\"requests\""))) {
                    return (System.nanoTime() - launched) / 1e6;
                }
                if (System.nanoTime() - launched > TimeUnit.SECONDS.toNanos(60)) {
                    throw new IllegalStateException("no answer within 60 s: " + response.statusCode() + " " + response.body());
                }
                Thread.sleep(5);
            }
        } finally {
            server.destroy();
            server.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static void readPort(Process server, CompletableFuture<Integer> port) {
        try (BufferedReader log = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            StringBuilder seen = new StringBuilder();
            while ((line = log.readLine()) != null) {
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    port.complete(Integer.parseInt(m.group(1)));
                } else if (!port.isDone()) {
                    seen.append(line).append('\n');
                }
            }
            port.completeExceptionally(new IllegalStateException("the server exited before listening:\n" + seen));
        } catch (IOException e) {
            port.completeExceptionally(e);
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
