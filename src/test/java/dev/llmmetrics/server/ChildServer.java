package dev.llmmetrics.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The server in a child JVM, found by the port its first INFO line announces; its output is kept. */
final class ChildServer implements AutoCloseable {

    static final Pattern LISTENING = Pattern.compile("INFO dev\\.llmmetrics\\.server\\.Main: llm-metrics listening on http://127\\.0\\.0\\.1:(\\d+) ");

    final Process process;
    final List<String> output = new CopyOnWriteArrayList<>();
    final int port;

    private ChildServer(List<String> command, String... env) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("LLM_METRICS_AUTH_TOKEN");
        builder.environment().put("SERVER_PORT", "0");
        for (int i = 0; i < env.length; i += 2) {
            builder.environment().put(env[i], env[i + 1]);
        }
        process = builder.start();
        CompletableFuture<Integer> announced = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    output.add(line);
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        announced.complete(Integer.parseInt(m.group(1)));
                    }
                }
            } catch (IOException ignored) {
                // the process ended
            }
            announced.completeExceptionally(new IllegalStateException("the server ended before listening"));
        });
        try {
            port = announced.get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
            process.destroyForcibly();
            throw new AssertionError("no listening line; output:\n" + String.join("\n", output), e);
        }
    }

    /** Main from the test's class path, with the shipped logging configuration and {@code env} on top of SERVER_PORT=0. */
    static ChildServer main(String... env) throws IOException, InterruptedException {
        return new ChildServer(List.of(java(), "-cp", System.getProperty("java.class.path"),
                "-Djava.util.logging.config.file=src/main/resources/logging.properties", "dev.llmmetrics.server.Main"), env);
    }

    /** Main as {@link #main}, its JVM started with {@code jvmArgs} (a heap bound, say). */
    static ChildServer mainWithJvmArgs(List<String> jvmArgs, String... env) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(java()));
        command.addAll(jvmArgs);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"),
                "-Djava.util.logging.config.file=src/main/resources/logging.properties", "dev.llmmetrics.server.Main"));
        return new ChildServer(command, env);
    }

    /** {@code command} as it is (its first word the {@code java} to run), with {@code env} on top of SERVER_PORT=0. */
    static ChildServer command(List<String> command, String... env) throws IOException, InterruptedException {
        return new ChildServer(command, env);
    }

    /** {@code java -jar jar args...}. */
    static ChildServer jar(Path jar, List<String> args, String... env) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(java(), "-jar", jar.toString()));
        command.addAll(args);
        return new ChildServer(command, env);
    }

    /** How a server that should not start ended: its exit code and all it printed. */
    record Exited(int code, String output) {
    }

    /**
     * Main from the test's class path, with the shipped logging configuration, {@code jvmArgs} and {@code env}
     * on top of SERVER_PORT=0, run to its end; fails the test if it is still running after a minute.
     */
    static Exited mainToExit(List<String> jvmArgs, String... env) throws Exception {
        List<String> command = new ArrayList<>(List.of(java()));
        command.addAll(jvmArgs);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"),
                "-Djava.util.logging.config.file=src/main/resources/logging.properties", "dev.llmmetrics.server.Main"));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("LLM_METRICS_AUTH_TOKEN");
        builder.environment().put("SERVER_PORT", "0");
        for (int i = 0; i < env.length; i += 2) {
            builder.environment().put(env[i], env[i + 1]);
        }
        Process process = builder.start();
        CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(output unreadable: " + e + ")";
            }
        });
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("the server did not end: " + output.get(10, TimeUnit.SECONDS));
        }
        return new Exited(process.exitValue(), output.get(10, TimeUnit.SECONDS));
    }

    String base() {
        return "http://127.0.0.1:" + port;
    }

    /** Runs a full collection in the server's JVM (jcmd), then reads its heap in use from its own scrape. */
    long heapAfterFullGc() throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process gc = new ProcessBuilder(jcmd.toString(), String.valueOf(process.pid()), "GC.run")
                .redirectErrorStream(true).start();
        gc.getInputStream().readAllBytes();
        if (!gc.waitFor(60, TimeUnit.SECONDS) || gc.exitValue() != 0) {
            throw new AssertionError("jcmd GC.run failed");
        }
        HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base() + "/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString());
        return (long) PrometheusText.parse(metrics.body()).sum("jvm_memory_used_bytes", "area", "heap");
    }

    String log() {
        return String.join("\n", output);
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
