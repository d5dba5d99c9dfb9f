package dev.llmmetrics.session.sqlite;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The lock file beside the store's file, locked by the one process that owns the file. Someone may remove it (or
 * put another file in its place) under the running server, a clean-up of lock files say: a second server would then
 * make a new one, lock it and open the store too, and the two would write the file each by what its own memory holds.
 * {@link #hold()}, before each commit and each idle second, makes it again and locks it, or tells that another
 * process holds the one now at the path.
 */
final class LockFile {

    private static final Logger LOG = System.getLogger(SqliteSessionStore.class.getName());

    private final Path path;
    /** The channel whose lock this process holds; only the writer thread changes it, and closing it after the writer. */
    private volatile FileChannel channel;
    /** The file system's key of the lock file held ({@code null} where the file system gives none: not checked). */
    private @Nullable Object key;

    /** Takes over {@code channel}, whose lock on {@code path} this process holds. */
    LockFile(Path path, FileChannel channel) {
        this.path = Objects.requireNonNull(path);
        this.channel = Objects.requireNonNull(channel);
        this.key = keyOrNull(path);
    }

    /** The lock file's path. */
    Path path() {
        return path;
    }

    /**
     * Whether this process holds the lock file now at the path: the one it locked, or, when that was removed or
     * replaced, one it made (or found) there and locked now; {@code false} when another process holds that one.
     *
     * @throws IOException when the lock file was removed and cannot be made again (its directory not writable)
     */
    boolean hold() throws IOException {
        if (key == null) {
            return true;
        }
        if (key.equals(keyOrNull(path))) {
            return true;
        }
        FileChannel made = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = made.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // another store of this process holds it
        } catch (IOException | RuntimeException e) {
            made.close();
            throw e;
        }
        if (lock == null) {
            made.close();
            return false;
        }
        FileChannel old = channel;
        channel = made;
        key = keyOrNull(path);
        try {
            old.close();
        } catch (IOException ignored) {
            // the file it locked is gone from the path
        }
        LOG.log(Level.WARNING, "The lock file " + path + " was removed or replaced under the running server: it is"
                + " made again and locked, so that no other server opens the store meanwhile");
        return true;
    }

    /** Lets the lock go. */
    void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing at the end
        }
    }

    private static @Nullable Object keyOrNull(Path file) {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            return null;
        }
    }
}
