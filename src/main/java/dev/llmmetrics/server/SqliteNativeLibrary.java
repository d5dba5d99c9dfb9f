package dev.llmmetrics.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Keeps sqlite-jdbc's copy of its native library out of the shared temporary directory once it is loaded. The
 * driver writes the library to a file of a new name at each start and removes it only at a normal exit
 * (xerial/sqlite-jdbc#1140), so a server killed with SIGKILL, over and over in a restart loop say, would leave
 * about a megabyte behind each time. Here the driver writes it into a directory of the process's own, removed as
 * soon as the library is loaded: Linux keeps a loaded library mapped once its file is gone. Where the file cannot
 * be removed, it stays as the driver leaves it.
 */
final class SqliteNativeLibrary {

    /** The driver's setting of the directory it writes its native library to. */
    private static final String TMPDIR = "org.sqlite.tmpdir";
    /** The driver's setting of a native library installed beside it, which it then loads without a copy. */
    private static final String LIB_PATH = "org.sqlite.lib.path";

    private SqliteNativeLibrary() {
    }

    /**
     * Runs {@code open}, which loads the driver's native library on its first connection, with the driver writing
     * the library into a directory that is removed once {@code open} returned; as it is when the operator set
     * either of the driver's settings of where its library lives.
     */
    static <T> T loadedWithoutACopy(Supplier<T> open) {
        if (System.getProperty(TMPDIR) != null || System.getProperty(LIB_PATH) != null) {
            return open.get();
        }
        Path dir;
        try {
            dir = Files.createTempDirectory("llm-metrics-sqlite-");
        } catch (IOException e) {
            return open.get();
        }
        System.setProperty(TMPDIR, dir.toString());
        try {
            return open.get();
        } finally {
            System.clearProperty(TMPDIR); // read only at the load, once per process
            try (Stream<Path> files = Files.list(dir)) {
                for (Path file : files.toList()) {
                    Files.deleteIfExists(file);
                }
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                // Left as the driver leaves it: removed at a normal exit.
            }
        }
    }
}
