package dev.llmmetrics.session.redis;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real {@code redis-server} (Debian's package, which bin/test installs) on a free port of 127.0.0.1, its data
 * and log in a directory of its own; it can be killed and started again on the same port with the same data.
 * A missing redis-server fails the test, never skips it.
 *
 * <p>As a JUnit extension ({@link #emptiedBeforeEachTest()} in a static {@code @RegisterExtension} field) it
 * serves one test class: started before its tests, emptied before each, stopped after them.
 */
public final class RedisProcess implements AutoCloseable, BeforeAllCallback, BeforeEachCallback, AfterAllCallback {

    private final Path dir;
    private final int port;
    private final String fsync;
    /** The arguments that make the server also listen with TLS, empty without. */
    private final List<String> tls;
    private final int tlsPort;
    private Process process;

    private RedisProcess(Path dir, int port, String fsync) {
        this(dir, port, fsync, List.of(), 0);
    }

    private RedisProcess(Path dir, int port, String fsync, List<String> tls, int tlsPort) {
        this.dir = dir;
        this.port = port;
        this.fsync = fsync;
        this.tls = tls;
        this.tlsPort = tlsPort;
    }

    /**
     * A Redis without persistence that also listens with TLS on a port of its own ({@link #tlsUrl}), presenting
     * {@code certificate} and its {@code key}; its plain port stays for {@link #cli}.
     */
    public static RedisProcess startWithTls(Path certificate, Path key, Path ca) {
        try {
            int tlsPort = freePort();
            RedisProcess redis = new RedisProcess(Files.createTempDirectory("llm-metrics-redis-"), freePort(), "no",
                    List.of("--tls-port", Integer.toString(tlsPort), "--tls-cert-file", certificate.toString(),
                            "--tls-key-file", key.toString(), "--tls-ca-cert-file", ca.toString(),
                            "--tls-auth-clients", "no"), tlsPort);
            redis.startAgain();
            return redis;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code rediss://host:tlsPort}, for a server started {@link #startWithTls with TLS}. */
    public String tlsUrl(String host) {
        return "rediss://" + host + ":" + tlsPort;
    }

    /** A Redis without persistence for one test class, started by JUnit, emptied ({@code FLUSHALL}) before each test. */
    public static RedisProcess emptiedBeforeEachTest() {
        try {
            return new RedisProcess(Files.createTempDirectory("llm-metrics-redis-"), freePort(), "no");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        startAgain();
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        cli("FLUSHALL");
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    /**
     * A Redis with its append-only file synced as {@code appendfsync} says ({@code always}, {@code everysec}),
     * or without persistence for {@code no}.
     */
    public static RedisProcess start(String appendfsync) {
        try {
            RedisProcess redis = new RedisProcess(Files.createTempDirectory("llm-metrics-redis-"), freePort(), appendfsync);
            redis.startAgain();
            return redis;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code redis://127.0.0.1:port}. */
    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** Starts the server again on the same port, with the data it persisted; waits until it answers. */
    public void startAgain() {
        List<String> command = new ArrayList<>(List.of(executable(), "--port", Integer.toString(port),
                "--bind", "127.0.0.1", "--dir", dir.toString(), "--save", "", "--daemonize", "no",
                "--logfile", dir.resolve("redis.log").toString()));
        if (!fsync.equals("no")) {
            command.addAll(List.of("--appendonly", "yes", "--appendfsync", fsync));
        }
        command.addAll(tls);
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("redis.out").toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!answers()) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("redis-server exited with " + process.exitValue() + ": "
                            + Files.readString(dir.resolve("redis.log")));
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("redis-server did not answer on port " + port + " within 30 s");
                }
                Thread.sleep(20);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Kills the server at once ({@code kill -9}): what it acknowledged is what its append-only file holds. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the server ({@code SIGSTOP}) without closing its connections: a Redis that no longer answers. */
    public void pause() {
        signal("STOP");
    }

    /** Lets a {@linkplain #pause paused} server run again ({@code SIGCONT}). */
    public void resume() {
        signal("CONT");
    }

    private void signal(String name) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -" + name + " of redis-server failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Runs {@code redis-cli} with {@code args} against this server and returns its output. */
    public String cli(String... args) {
        List<String> command = new ArrayList<>(List.of(executable().replace("redis-server", "redis-cli"),
                "-h", "127.0.0.1", "-p", Integer.toString(port)));
        command.addAll(List.of(args));
        try {
            Process cli = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(cli.getInputStream().readAllBytes()).trim();
            cli.waitFor(10, TimeUnit.SECONDS);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Stops the server and deletes its directory: its log and what it persisted. */
    @Override
    public void close() {
        if (process != null) {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private boolean answers() {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.getOutputStream().write("PING\r\n".getBytes());
            byte[] reply = new byte[7];
            int read = s.getInputStream().read(reply);
            return read > 0 && new String(reply, 0, read).startsWith("+PONG");
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** redis-server on the PATH or in /usr/bin; fails (never skips) when it is nowhere. */
    static String executable() {
        List<Path> candidates = new ArrayList<>();
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!d.isBlank()) {
                candidates.add(Path.of(d, "redis-server"));
            }
        }
        candidates.add(Path.of("/usr/bin/redis-server"));
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        throw new AssertionError("'redis-server' is not installed (looked on the PATH and in /usr/bin); "
                + "bin/test installs Debian's redis-server package");
    }
}
