package dev.llmmetrics.session.sqlite;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.sqlite.SQLiteJDBCLoader;

/**
 * Keeps sqlite-jdbc's copy of its native library out of the shared temporary directory once it is loaded. The
 * driver writes the library to a file of a new name at each start and removes it only at a normal exit
 * (xerial/sqlite-jdbc#1140), so a process killed with SIGKILL, over and over in a restart loop say, would leave
 * about a megabyte behind each time. Here the driver writes it into a directory of the process's own, removed as
 * soon as the library is loaded: Linux keeps a loaded library mapped once its file is gone. Where the file cannot
 * be removed, it stays as the driver leaves it.
 */
final class NativeLibrary {

    /** The driver's setting of the directory it writes its native library to. */
    private static final String TMPDIR = "org.sqlite.tmpdir";
    /** The driver's setting of a native library installed beside it, which it then loads without a copy. */
    private static final String LIB_PATH = "org.sqlite.lib.path";

    private NativeLibrary() {
    }

    /**
     * Loads the driver's native library, which it writes into a directory removed right after; as the driver
     * does it when the operator set either of its settings of where the library lives. A library that does not
     * load is left for the store's first connection to report.
     */
    static void load() {
        if (System.getProperty(TMPDIR) != null || System.getProperty(LIB_PATH) != null) {
            return;
        }
        Path dir;
        try {
            dir = Files.createTempDirectory("llm-metrics-sqlite-");
        } catch (IOException e) {
            return;
        }
        System.setProperty(TMPDIR, dir.toString());
        try {
            SQLiteJDBCLoader.initialize();
        } catch (Exception e) {
            // Reported by the store's first connection, which tries the load again.
        } finally {
            System.clearProperty(TMPDIR); // read by the load only, once per process
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
