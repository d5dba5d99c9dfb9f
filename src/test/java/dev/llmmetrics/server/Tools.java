package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The external tools some tests drive for real, found on the PATH or in /usr/bin. */
final class Tools {

    private Tools() {
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
}
