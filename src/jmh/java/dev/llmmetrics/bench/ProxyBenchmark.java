package dev.llmmetrics.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metering proxy's cost, against calling the same fake upstream directly in the same run. The upstream and
 * the clients run in this JVM; the llm-metrics server runs as a child process ({@code dev.llmmetrics.server.Main},
 * proxy on), so that its heap is its own; the environment variable {@code BENCH_SERVER_JAVA_OPTS} holds its JVM
 * options (none by default, as {@code bin/llm-metrics} runs it).
 *
 * <ul>
 *   <li>{@code latency}: {@code --clients} threads each call a plain chat completion, alternately directly and
 *       through the proxy, for {@code --duration} after a warm-up; the percentiles of each and their
 *       differences (the added latency).</li>
 *   <li>{@code first-chunk}: streams one at a time; the upstream notes when it writes the first content chunk,
 *       the client when the chunk's bytes arrive on its socket; the same through the proxy and directly.</li>
 *   <li>{@code streams}: {@code --streams} slow streams open at once through the proxy (a chunk every
 *       2 s); the server's heap after a full GC with them open against before, per stream.</li>
 * </ul>
 *
 * <p>{@code --relay platform} or {@code --relay virtual} adds a third way to the latency and first-chunk parts:
 * through {@link TcpRelay}, a child process that only copies bytes, on platform or virtual threads. What it adds
 * is the floor of any proxy on this host, one more loopback hop, set beside what the metering proxy adds.
 *
 * <pre>
 * bin/bench proxy [--clients 16] [--duration 30s] [--warmup 15s] [--streams 1000]
 *                  [--parts latency,first-chunk,streams] [--upstream-ms 0] [--rounds 1]
 *                  [--chunk-warmup 50] [--chunk-streams 300] [--upstream-nodelay true] [--relay none]
 * </pre>
 *
 * <p>{@code --upstream-ms} is how long the fake upstream takes to answer a plain call once the warm-up (which
 * it answers at once, so that the code is compiled) is over; 0: at once throughout. At 0 the
 * clients call back to back and saturate the host, so the added latency is mostly the proxied call's wait for
 * a core; a model's answer time leaves the cores idle between calls, as in use, and the difference is then
 * the proxy's own work. {@code --rounds} measures the latency that many times in a row after one warm-up, then
 * prints the median and range of the rounds' added p50 and p99 and the percentiles of all their calls pooled,
 * since one round's figure moves with the host's state. {@code --chunk-warmup} is how many streams each way
 * open before the first-chunk streams are measured, {@code --chunk-streams} how many are measured each way. {@code --upstream-nodelay} sets {@code TCP_NODELAY} on the
 * fake upstream's connections (on by default, as most servers in front of model APIs do): with it off, a
 * stream's first chunk, a small write after the headers, can wait for the receiver's delayed acknowledgement
 * on a reused connection.
 */
public final class ProxyBenchmark {

    private static final String PLAIN = "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1767225600,"
            + "\"model\":\"bench-model\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
            + "\"Hello from the benchmark upstream, a short answer of a few words.\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":16,\"total_tokens\":136,"
            + "\"prompt_tokens_details\":{\"cached_tokens\":100}}}";
    private static final String CHUNK = "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\","
            + "\"created\":1767225600,\"model\":\"bench-model\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok\"},"
            + "\"finish_reason\":null}]}\n\n";
    private static final String USAGE = "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\","
            + "\"created\":1767225600,\"model\":\"bench-model\",\"choices\":[],\"usage\":{\"prompt_tokens\":120,"
            + "\"completion_tokens\":16,\"total_tokens\":136}}\n\n";

    private final Map<String, Long> firstChunkSentAt = new ConcurrentHashMap<>();
    /** How long the fake upstream takes to answer a plain call in the measurement, as a model takes to answer. */
    private final long upstreamMs;
    /** How many times the latency is measured after the warm-up. */
    private final int rounds;
    /** Streams opened each way before the first-chunk streams are measured. */
    private final int chunkWarmup;
    private final int chunkStreams;
    /** {@code none}, or the threads of the {@link TcpRelay} measured beside the proxy: {@code platform}, {@code virtual}. */
    private final String relay;
    /** How long it takes now: 0 during the warm-up, so that the proxy's code is compiled before it is measured. */
    private volatile long answerMs;
    private final AtomicInteger streamsOpen = new AtomicInteger();
    private HttpServer upstream;

    private ProxyBenchmark(long upstreamMs, int rounds, int chunkWarmup, int chunkStreams, String relay) {
        this.upstreamMs = upstreamMs;
        this.rounds = rounds;
        this.chunkWarmup = chunkWarmup;
        this.chunkStreams = chunkStreams;
        this.relay = relay;
    }

    public static void main(String[] args) throws Exception {
        int clients = 16;
        Duration duration = Duration.ofSeconds(30);
        Duration warmup = Duration.ofSeconds(15);
        int streams = 1000;
        String parts = "latency,first-chunk,streams";
        long upstreamMs = 0;
        int rounds = 1;
        int chunkWarmup = 50;
        int chunkStreams = 300;
        boolean upstreamNoDelay = true;
        String relay = "none";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--clients" -> clients = Integer.parseInt(args[++i]);
                case "--duration" -> duration = seconds(args[++i]);
                case "--warmup" -> warmup = seconds(args[++i]);
                case "--streams" -> streams = Integer.parseInt(args[++i]);
                case "--parts" -> parts = args[++i];
                case "--upstream-ms" -> upstreamMs = Long.parseLong(args[++i]);
                case "--rounds" -> rounds = atLeast("--rounds", Integer.parseInt(args[++i]), 1);
                case "--chunk-warmup" -> chunkWarmup = atLeast("--chunk-warmup", Integer.parseInt(args[++i]), 0);
                case "--chunk-streams" -> chunkStreams = atLeast("--chunk-streams", Integer.parseInt(args[++i]), 1);
                case "--upstream-nodelay" -> upstreamNoDelay = Boolean.parseBoolean(args[++i]);
                case "--relay" -> relay = oneOf("--relay", args[++i], "none", "platform", "virtual");
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        // Read once, when the JDK's HTTP server classes initialize: set before the upstream is made.
        System.setProperty("sun.net.httpserver.nodelay", String.valueOf(upstreamNoDelay));
        new ProxyBenchmark(upstreamMs, rounds, chunkWarmup, chunkStreams, relay).run(clients, duration, warmup, streams, List.of(parts.split(",")));
        System.exit(0);
    }

    private static int atLeast(String option, int value, int least) {
        if (value < least) {
            throw new IllegalArgumentException(option + " must be at least " + least + ", not " + value);
        }
        return value;
    }

    private static String oneOf(String option, String value, String... allowed) {
        if (!List.of(allowed).contains(value)) {
            throw new IllegalArgumentException(option + " must be one of " + List.of(allowed) + ", not " + value);
        }
        return value;
    }

    private static Duration seconds(String text) {
        return Duration.ofSeconds(Long.parseLong(text.replace("s", "")));
    }

    private void run(int clients, Duration duration, Duration warmup, int streams, List<String> parts) throws Exception {
        upstream = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4096);
        upstream.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        upstream.createContext("/v1/chat/completions", this::answer);
        upstream.start();
        String upstreamBase = "http://127.0.0.1:" + upstream.getAddress().getPort() + "/v1";
        int port = freePort();
        Process server = startServer(port, upstreamBase, streams);
        Process relayProcess = null;
        try {
            List<String> bases = new ArrayList<>(List.of(upstreamBase, "http://127.0.0.1:" + port + "/v1"));
            List<Integer> ports = new ArrayList<>(List.of(upstream.getAddress().getPort(), port));
            if (!relay.equals("none")) {
                relayProcess = startRelay(upstream.getAddress().getPort(), relay);
                int relayPort = relayPort(relayProcess);
                bases.add("http://127.0.0.1:" + relayPort + "/v1");
                ports.add(relayPort);
            }
            System.out.printf(Locale.ROOT, "JDK %s, %d cores; upstream TCP_NODELAY %s; relay %s; uptime: %s%n",
                    Runtime.version(), Runtime.getRuntime().availableProcessors(),
                    System.getProperty("sun.net.httpserver.nodelay"), relay, uptime());
            if (parts.contains("latency")) {
                latency(clients, warmup, duration, rounds, bases, () -> answerMs = upstreamMs);
            }
            if (parts.contains("first-chunk")) {
                firstChunk(ports);
            }
            if (parts.contains("streams")) {
                openStreams(streams, port, server.pid());
            }
            System.out.printf(Locale.ROOT, "uptime after: %s%n", uptime());
        } finally {
            server.destroy();
            server.waitFor(10, TimeUnit.SECONDS);
            if (relayProcess != null) {
                relayProcess.destroy();
                relayProcess.waitFor(10, TimeUnit.SECONDS);
            }
            upstream.stop(0);
        }
    }

    // ------------------------------------------------------------------------------------------ upstream

    private void answer(HttpExchange exchange) throws IOException {
        byte[] request = exchange.getRequestBody().readAllBytes();
        String body = new String(request, StandardCharsets.UTF_8);
        try (exchange) {
            if (!body.contains("\"stream\":true")) {
                long wait = answerMs;
                if (wait > 0) {
                    sleep(wait);
                }
                byte[] bytes = PLAIN.getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.sendResponseHeaders(200, bytes.length);
                exchange.getResponseBody().write(bytes);
                return;
            }
            exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(200, 0);
            OutputStream out = exchange.getResponseBody();
            out.flush();
            boolean slow = body.contains("\"bench-slow\"");
            String id = exchange.getRequestHeaders().getFirst("x-bench-id");
            if (slow) {
                streamsOpen.incrementAndGet();
                try {
                    for (int i = 0; i < 60; i++) {
                        out.write(CHUNK.getBytes(StandardCharsets.UTF_8));
                        out.flush();
                        Thread.sleep(2000);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (IOException e) {
                    // the client went away
                } finally {
                    streamsOpen.decrementAndGet();
                }
                return;
            }
            sleep(20);
            firstChunkSentAt.put(id, System.nanoTime());
            out.write(CHUNK.getBytes(StandardCharsets.UTF_8));
            out.flush();
            out.write((USAGE + "data: [DONE]\n\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    // ------------------------------------------------------------------------------------------ server

    private static Process startServer(int port, String upstreamBase, int streams) throws IOException, InterruptedException {
        Path log = Files.createTempFile("proxy-bench-server", ".log");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String javaOpts = System.getenv().getOrDefault("BENCH_SERVER_JAVA_OPTS", "").strip();
        if (!javaOpts.isEmpty()) {
            command.addAll(List.of(javaOpts.split("\\s+")));
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.llmmetrics.server.Main"));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = builder.environment();
        env.put("SERVER_PORT", String.valueOf(port));
        env.put("SERVER_HOST", "127.0.0.1");
        env.put("PROXY_UPSTREAM_URL", upstreamBase);
        // The default bounds, except those 1 000 open streams need: the proxy's and the server's concurrency.
        env.put("PROXY_MAX_CONCURRENT", String.valueOf(streams + 100));
        env.put("HTTP_MAX_CONCURRENT_REQUESTS", String.valueOf(streams + 200));
        env.put("HTTP_MAX_CONNECTIONS", String.valueOf(streams + 500));
        Process process = builder.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (Files.readString(log).contains("listening on")) {
                System.out.println("server (pid " + process.pid() + "): " + Files.readString(log).lines()
                        .filter(l -> l.contains("Metering proxy")).findFirst().orElse("").strip());
                return process;
            }
            Thread.sleep(100);
        }
        process.destroyForcibly();
        throw new IllegalStateException("the server did not start:\n" + Files.readString(log));
    }

    private static Process startRelay(int upstreamPort, String threads) throws IOException {
        List<String> command = new ArrayList<>();
        String prefix = System.getenv().getOrDefault("BENCH_RELAY_PREFIX", "").strip();
        if (!prefix.isEmpty()) {
            command.addAll(List.of(prefix.split("\\s+")));
        }
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String javaOpts = System.getenv().getOrDefault("BENCH_RELAY_JAVA_OPTS", "").strip();
        if (!javaOpts.isEmpty()) {
            command.addAll(List.of(javaOpts.split("\\s+")));
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), TcpRelay.class.getName(),
                String.valueOf(upstreamPort), threads));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /** The port the relay prints once it listens. */
    private static int relayPort(Process relay) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(relay.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        if (line == null || !line.startsWith("relay listening on ")) {
            relay.destroyForcibly();
            throw new IllegalStateException("the relay did not start: " + line);
        }
        return Integer.parseInt(line.substring("relay listening on ".length()).strip());
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    // ------------------------------------------------------------------------------------------ latency

    /** The ways a call goes, in the order of the bases and ports: directly, through the proxy, through the relay. */
    private static final List<String> WAYS = List.of("direct", "proxy", "relay");

    private static void latency(int clients, Duration warmup, Duration duration, int rounds, List<String> bases,
                                Runnable warmedUp) throws InterruptedException {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .executor(Executors.newFixedThreadPool(4)).build();
        byte[] body = ("{\"model\":\"bench-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")
                .getBytes(StandardCharsets.UTF_8);
        int ways = bases.size();
        Samples samples = new Samples(ways, clients);
        measure(client, clients, warmup, bases, body, samples);
        warmedUp.run();
        double[][] addedP50 = new double[ways][rounds];
        double[][] addedP99 = new double[ways][rounds];
        List<List<long[]>> all = new ArrayList<>();
        for (int way = 0; way < ways; way++) {
            all.add(new ArrayList<>());
        }
        for (int round = 0; round < rounds; round++) {
            measure(client, clients, duration, bases, body, samples);
            long[][] times = new long[ways][];
            StringBuilder counts = new StringBuilder();
            for (int way = 0; way < ways; way++) {
                times[way] = samples.merged(way);
                all.get(way).add(times[way]);
                counts.append(way == 0 ? "" : way == ways - 1 ? " and " : ", ").append(times[way].length).append(' ')
                        .append(WAYS.get(way));
            }
            System.out.printf(Locale.ROOT, "latency%s, %d clients, %ds: %s calls%n",
                    rounds > 1 ? " round " + (round + 1) + "/" + rounds : "", clients, duration.toSeconds(), counts);
            printAdded(times, new double[] {0.5, 0.9, 0.99, 0.999});
            for (int way = 1; way < ways; way++) {
                addedP50[way][round] = ms(pct(times[way], 0.5) - pct(times[0], 0.5));
                addedP99[way][round] = ms(pct(times[way], 0.99) - pct(times[0], 0.99));
            }
        }
        if (rounds > 1) {
            for (int way = 1; way < ways; way++) {
                System.out.printf(Locale.ROOT, "latency, %d rounds, %s: median of the rounds' added p50 %.3f ms (%.3f to "
                        + "%.3f), added p99 %.3f ms (%.3f to %.3f)%n", rounds, WAYS.get(way), median(addedP50[way]),
                        min(addedP50[way]), max(addedP50[way]), median(addedP99[way]), min(addedP99[way]), max(addedP99[way]));
            }
            System.out.println("all rounds' calls pooled:");
            long[][] pooled = new long[ways][];
            for (int way = 0; way < ways; way++) {
                pooled[way] = concat(all.get(way));
            }
            printAdded(pooled, new double[] {0.5, 0.9, 0.99, 0.999});
        }
    }

    /** Each way's percentiles and, past the direct way, what it adds to calling directly. */
    private static void printAdded(long[][] sorted, double[] quantiles) {
        for (double q : quantiles) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  p%-5s direct %7.3f ms", trim(q * 100),
                    ms(pct(sorted[0], q))));
            for (int way = 1; way < sorted.length; way++) {
                line.append(String.format(Locale.ROOT, "  %s %7.3f ms  added %7.3f ms", WAYS.get(way),
                        ms(pct(sorted[way], q)), ms(pct(sorted[way], q) - pct(sorted[0], q))));
            }
            System.out.println(line);
        }
    }

    private static long[] concat(List<long[]> sorted) {
        long[] all = sorted.stream().flatMapToLong(Arrays::stream).toArray();
        Arrays.sort(all);
        return all;
    }

    private static double min(double[] values) {
        return Arrays.stream(values).min().orElseThrow();
    }

    private static double max(double[] values) {
        return Arrays.stream(values).max().orElseThrow();
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    private static String trim(double value) {
        return value == Math.rint(value) ? String.valueOf((long) value) : String.valueOf(value);
    }

    /** Each client's call times by way, made once and reused by every round. */
    private static final class Samples {
        private static final int PER_CLIENT = 2_000_000;
        /** [way][client][call] */
        final long[][][] times;
        /** [way][client] */
        final int[][] counts;

        Samples(int ways, int clients) {
            times = new long[ways][clients][PER_CLIENT];
            counts = new int[ways][clients];
        }

        /** The round's times of {@code way}, all clients, sorted. */
        long[] merged(int way) {
            long[] all = new long[Arrays.stream(counts[way]).sum()];
            int at = 0;
            for (int t = 0; t < times[way].length; t++) {
                System.arraycopy(times[way][t], 0, all, at, counts[way][t]);
                at += counts[way][t];
            }
            Arrays.sort(all);
            return all;
        }
    }

    /**
     * Runs the clients for {@code duration} from the moment all are ready, their times into {@code samples}. Each
     * client takes the ways in turn, each starting at a different one, so that every way has the same share of
     * every moment.
     */
    private static void measure(HttpClient client, int clients, Duration duration, List<String> bases, byte[] body,
                                Samples samples) throws InterruptedException {
        int ways = bases.size();
        List<Thread> threads = new ArrayList<>();
        CountDownLatch ready = new CountDownLatch(clients);
        long[] end = new long[1];
        CountDownLatch go = new CountDownLatch(1);
        for (int t = 0; t < clients; t++) {
            int index = t;
            HttpRequest[] requests = new HttpRequest[ways];
            for (int way = 0; way < ways; way++) {
                requests[way] = request(bases.get(way), body, "bench-" + WAYS.get(way) + t);
            }
            threads.add(Thread.ofPlatform().start(() -> {
                ready.countDown();
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                long until = end[0];
                int[] n = new int[ways];
                int way = index % ways;
                while (System.nanoTime() < until && n[way] < Samples.PER_CLIENT) {
                    long start = System.nanoTime();
                    send(client, requests[way]);
                    samples.times[way][index][n[way]++] = System.nanoTime() - start;
                    way = (way + 1) % ways;
                }
                for (int w = 0; w < ways; w++) {
                    samples.counts[w][index] = n[w];
                }
            }));
        }
        ready.await();
        end[0] = System.nanoTime() + duration.toNanos();
        go.countDown(); // the latch publishes end[0] to the clients
        for (Thread thread : threads) {
            thread.join();
        }
    }

    private static HttpRequest request(String base, byte[] body, String session) {
        return HttpRequest.newBuilder(URI.create(base + "/chat/completions")).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").header("x-session-id", session)
                .header("Authorization", "Bearer sk-bench").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
    }

    private static void send(HttpClient client, HttpRequest request) {
        try {
            HttpResponse<byte[]> response = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("answered " + response.statusCode() + ": "
                        + new String(response.body(), StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------------------------------ first chunk

    private void firstChunk(List<Integer> ports) throws IOException {
        int ways = ports.size();
        long[][] delays = new long[ways][chunkStreams];
        for (int i = 0; i < chunkWarmup; i++) {
            for (int way = 0; way < ways; way++) {
                firstChunkDelay(ports.get(way), "/v1", "w" + way + "-" + i);
            }
        }
        for (int i = 0; i < chunkStreams; i++) {
            for (int way = 0; way < ways; way++) {
                delays[way][i] = firstChunkDelay(ports.get(way), "/v1", way + "-" + i);
            }
        }
        for (long[] way : delays) {
            Arrays.sort(way);
        }
        System.out.printf(Locale.ROOT, "first chunk, from the upstream's write to the client's socket, %d streams each:%n",
                chunkStreams);
        printAdded(delays, new double[] {0.5, 0.9, 0.99});
    }

    /** Opens a stream on a raw socket; nanoseconds from the upstream's write of the first chunk to its arrival. */
    private long firstChunkDelay(int port, String prefix, String id) throws IOException {
        byte[] body = "{\"model\":\"bench-model\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"
                .getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket()) {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("POST " + prefix + "/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/json\r\nx-session-id: bench-first\r\nx-bench-id: " + id
                    + "\r\nConnection: close\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(body);
            InputStream in = socket.getInputStream();
            StringBuilder seen = new StringBuilder();
            byte[] buffer = new byte[8192];
            long arrived = 0;
            int read;
            while ((read = in.read(buffer)) != -1) {
                seen.append(new String(buffer, 0, read, StandardCharsets.ISO_8859_1));
                if (arrived == 0 && seen.indexOf("\"tok\"") >= 0) {
                    arrived = System.nanoTime();
                }
            }
            Long sent = firstChunkSentAt.remove(id);
            if (arrived == 0 || sent == null) {
                throw new IllegalStateException("no first chunk for " + id + ": " + seen);
            }
            return arrived - sent;
        }
    }

    // ------------------------------------------------------------------------------------------ open streams

    private void openStreams(int streams, int port, long serverPid) throws Exception {
        long before = heapAfterGc(serverPid);
        List<Socket> sockets = new ArrayList<>();
        CountDownLatch firstChunks = new CountDownLatch(streams);
        byte[] body = "{\"model\":\"bench-slow\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"
                .getBytes(StandardCharsets.UTF_8);
        try (var readers = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < streams; i++) {
                Socket socket = new Socket();
                socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
                sockets.add(socket);
                socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                        + "Content-Type: application/json\r\nx-session-id: bench-open-" + (i % 100)
                        + "\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().write(body);
                readers.submit(() -> {
                    byte[] buffer = new byte[4096];
                    boolean first = true;
                    try (InputStream in = socket.getInputStream()) {
                        int read;
                        while ((read = in.read(buffer)) != -1) {
                            if (first && new String(buffer, 0, read, StandardCharsets.ISO_8859_1).contains("\"tok\"")) {
                                first = false;
                                firstChunks.countDown();
                            }
                        }
                    } catch (IOException e) {
                        // closed below
                    }
                    return null;
                });
            }
            if (!firstChunks.await(120, TimeUnit.SECONDS)) {
                throw new IllegalStateException(firstChunks.getCount() + " streams got no first chunk");
            }
            long open = heapAfterGc(serverPid);
            System.out.printf(Locale.ROOT, "%d open streams through the proxy (upstream streams open: %d): server heap "
                    + "after GC %.1f MiB before, %.1f MiB with them open: %.1f KiB per stream%n", streams,
                    streamsOpen.get(), before / 1048576.0, open / 1048576.0, (open - before) / 1024.0 / streams);
            for (Socket socket : sockets) {
                socket.close();
            }
        }
        Thread.sleep(3000);
        System.out.printf(Locale.ROOT, "  after closing them: %.1f MiB, upstream streams still open: %d%n",
                heapAfterGc(serverPid) / 1048576.0, streamsOpen.get());
    }

    /** The server's used heap after a full collection, from jcmd. */
    private static long heapAfterGc(long pid) throws IOException, InterruptedException {
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        run(jcmd, String.valueOf(pid), "GC.run");
        Thread.sleep(500);
        run(jcmd, String.valueOf(pid), "GC.run");
        String info = run(jcmd, String.valueOf(pid), "GC.heap_info");
        Matcher used = Pattern.compile("used (\\d+)K").matcher(info);
        if (!used.find()) {
            throw new IllegalStateException("no heap figure in:\n" + info);
        }
        return Long.parseLong(used.group(1)) * 1024;
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        StringBuilder out = new StringBuilder();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            reader.lines().forEach(line -> out.append(line).append('\n'));
        }
        process.waitFor();
        return out.toString();
    }

    private static String uptime() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static long pct(long[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
