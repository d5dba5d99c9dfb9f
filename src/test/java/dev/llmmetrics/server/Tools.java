package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** The external tools some tests drive for real, found on the PATH or in /usr/bin. */
final class Tools {

    private Tools() {
    }

    /** Deletes {@code dir} and everything under it; nothing when it is gone already. */
    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** {@code name} on the PATH, else in /usr/bin; fails (never skips) with {@code installHint} when it is nowhere. */
    static String executable(String name, String installHint) {
        List<Path> candidates = new ArrayList<>();
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isBlank()) {
                candidates.add(Path.of(dir, name));
            }
        }
        candidates.add(Path.of("/usr/bin", name));
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        return fail("'" + name + "' is not installed (looked on the PATH and in /usr/bin). " + installHint);
    }

    /** The repository root: Maven's {@code basedir}, else the working directory; it holds the pom. */
    static Path repoRoot() {
        String basedir = System.getProperty("basedir");
        Path root = (basedir != null && !basedir.isBlank() ? Path.of(basedir) : Path.of("")).toAbsolutePath();
        if (!Files.isRegularFile(root.resolve("pom.xml"))) {
            throw new IllegalStateException("not the repository root (no pom.xml): " + root);
        }
        return root;
    }

    /** How a command ended and what it printed. */
    record Finished(int exitCode, String stdout, String stderr) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout\n" + abbreviate(stdout) + "\n--- stderr\n" + abbreviate(stderr);
        }

        private static String abbreviate(String s) {
            return s.length() <= 6000 ? s : s.substring(0, 3000) + "\n…\n" + s.substring(s.length() - 3000);
        }
    }

    /**
     * Waits for {@code process}, started from {@code command}, with its input closed and both outputs read as it
     * runs (so that a full pipe never blocks it); fails, killing it, when it runs past {@code timeout}.
     */
    static Finished finish(List<String> command, Process process, Duration timeout) throws Exception {
        process.getOutputStream().close();
        CompletableFuture<String> stdout = read(process.getInputStream());
        CompletableFuture<String> stderr = read(process.getErrorStream());
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            fail(command + " did not finish within " + timeout + ":\n" + stdout.getNow("") + stderr.getNow(""));
        }
        return new Finished(process.exitValue(), stdout.get(10, TimeUnit.SECONDS), stderr.get(10, TimeUnit.SECONDS));
    }

    private static CompletableFuture<String> read(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
