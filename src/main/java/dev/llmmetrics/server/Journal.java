package dev.llmmetrics.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32C;

/**
 * An append-only, fsync'd log of opaque records, for the server's durable mode.
 *
 * <p>{@link #append(byte[])} returns once the record is on disk. Appends from many threads are
 * written and forced together by one writer thread (group commit): it takes what is queued, waits at
 * most the commit delay for more, writes it all and calls {@code fsync} once for the lot.
 *
 * <p>On disk: numbered segment files {@code segment-<n>.log} in one directory, each a sequence of
 * frames {@code [length:int][crc32c:int][payload]}. {@link #replay(Consumer)} reads them in order; a
 * torn or corrupt frame at the end of the last segment, what a crash in the middle of a write leaves,
 * is cut off with a warning, never a failed start. A segment is sealed once it passes the segment size;
 * {@link #compact(UnaryOperator)} rewrites the sealed segments into one, keeping only what the caller's
 * function keeps, so the journal holds what the current state needs rather than everything ever written.
 */
public final class Journal implements AutoCloseable {

    private static final Logger LOG = System.getLogger(Journal.class.getName());
    private static final int HEADER = 8;
    private static final int MAX_FRAME = 64 << 20;
    private static final String PREFIX = "segment-";
    private static final String SUFFIX = ".log";

    /** One queued append. */
    private record Pending(byte[] payload, CompletableFuture<Void> done) {
    }

    private final Path directory;
    private final long segmentBytes;
    private final long commitDelayNanos;
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    /** Guards the segment being appended to; held by the writer thread only for the length of a commit. */
    private final Object segmentLock = new Object();
    /** Serializes replay and compaction, which read sealed segments only and never block appends. */
    private final Object sealedLock = new Object();
    private FileChannel current;
    private long currentSequence;
    private volatile boolean closed;

    private Journal(Path directory, long segmentBytes, Duration commitDelay) throws IOException {
        this.directory = directory;
        this.segmentBytes = segmentBytes;
        this.commitDelayNanos = commitDelay.toNanos();
        Files.createDirectories(directory);
        List<Path> segments = segments();
        currentSequence = segments.isEmpty() ? 1 : sequenceOf(segments.get(segments.size() - 1)) + 1;
        current = openSegment(currentSequence);
        writer = Thread.ofPlatform().name("llm-metrics-journal").daemon(true).start(this::writeLoop);
    }

    /**
     * Opens (creating if needed) the journal in {@code directory}; appends go to a new segment.
     *
     * @param segmentBytes size past which a segment is sealed and a new one started
     * @param commitDelay  the longest an append waits for others to share its {@code fsync}
     */
    public static Journal open(Path directory, long segmentBytes, Duration commitDelay) throws IOException {
        if (segmentBytes < 1024) {
            throw new IllegalArgumentException("segmentBytes must be at least 1024, was " + segmentBytes);
        }
        return new Journal(Objects.requireNonNull(directory, "directory"), segmentBytes, Objects.requireNonNull(commitDelay));
    }

    /**
     * Appends one record and returns once it is forced to disk.
     *
     * @throws IOException if it could not be written; the record is then not in the journal
     */
    public void append(byte[] payload) throws IOException {
        if (payload.length > MAX_FRAME) {
            throw new IllegalArgumentException("a journal record holds at most " + MAX_FRAME + " bytes");
        }
        if (closed) {
            throw new IOException("the journal is closed");
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        queue.add(new Pending(payload, done));
        try {
            done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the journal", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
    }

    /** Hands every record of every segment, oldest first, to {@code consumer}; returns how many. */
    public long replay(Consumer<byte[]> consumer) throws IOException {
        long count = 0;
        synchronized (sealedLock) {
            for (Path segment : sealedSegments()) {
                count += readSegment(segment, consumer);
            }
        }
        return count;
    }

    /**
     * Rewrites every sealed segment into one, passing each record through {@code keep}: what it returns
     * is written in place of the record ({@code null} drops it). Appends continue meanwhile.
     *
     * @return the number of bytes the journal shrank by
     */
    public long compact(UnaryOperator<byte[]> keep) throws IOException {
        synchronized (sealedLock) {
            List<Path> sealed = sealedSegments();
            if (sealed.isEmpty()) {
                return 0;
            }
            long before = 0;
            for (Path segment : sealed) {
                before += Files.size(segment);
            }
            Path target = sealed.get(sealed.size() - 1);
            Path temporary = directory.resolve("compacting.tmp");
            try (FileChannel out = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                for (Path segment : sealed) {
                    readSegment(segment, payload -> {
                        byte[] kept = keep.apply(payload);
                        if (kept != null) {
                            try {
                                write(out, kept);
                            } catch (IOException e) {
                                throw new UncheckedIOException(e);
                            }
                        }
                    });
                }
                out.force(true);
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
            Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            for (Path segment : sealed) {
                if (!segment.equals(target)) {
                    Files.delete(segment);
                }
            }
            forceDirectory();
            return before - Files.size(target);
        }
    }

    /** The journal's size on disk in bytes. */
    public long sizeBytes() throws IOException {
        long size = 0;
        for (Path segment : segments()) {
            size += Files.size(segment);
        }
        return size;
    }

    /** Stops the writer after the queued appends are on disk. */
    @Override
    public void close() throws IOException {
        closed = true;
        writer.interrupt();
        try {
            writer.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (segmentLock) {
            current.close();
        }
    }

    private void writeLoop() {
        List<Pending> batch = new ArrayList<>();
        while (true) {
            try {
                Pending first = closed ? queue.poll() : queue.take();
                if (first == null) {
                    return;
                }
                batch.add(first);
                long deadline = System.nanoTime() + commitDelayNanos;
                queue.drainTo(batch);
                while (!closed && System.nanoTime() < deadline && queue.isEmpty()) {
                    Pending next = queue.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                    if (next == null) {
                        break;
                    }
                    batch.add(next);
                    queue.drainTo(batch);
                }
            } catch (InterruptedException e) {
                if (!closed) {
                    continue;
                }
                queue.drainTo(batch);
            }
            commit(batch);
            batch.clear();
        }
    }

    private void commit(List<Pending> batch) {
        if (batch.isEmpty()) {
            return;
        }
        IOException failure = null;
        synchronized (segmentLock) {
            try {
                for (Pending p : batch) {
                    write(current, p.payload());
                }
                current.force(false);
                if (current.size() >= segmentBytes) {
                    current.close();
                    current = openSegment(++currentSequence);
                }
            } catch (IOException e) {
                failure = e;
                LOG.log(Level.ERROR, "Journal write failed; the requests waiting on it are refused", e);
            }
        }
        for (Pending p : batch) {
            if (failure == null) {
                p.done().complete(null);
            } else {
                p.done().completeExceptionally(failure);
            }
        }
    }

    private static void write(FileChannel channel, byte[] payload) throws IOException {
        CRC32C crc = new CRC32C();
        crc.update(payload);
        ByteBuffer frame = ByteBuffer.allocate(HEADER + payload.length);
        frame.putInt(payload.length).putInt((int) crc.getValue()).put(payload).flip();
        while (frame.hasRemaining()) {
            channel.write(frame);
        }
    }

    private long readSegment(Path segment, Consumer<byte[]> consumer) throws IOException {
        long count = 0;
        try (FileChannel in = FileChannel.open(segment, StandardOpenOption.READ)) {
            long size = in.size();
            long position = 0;
            ByteBuffer header = ByteBuffer.allocate(HEADER);
            while (position < size) {
                header.clear();
                int read = in.read(header, position);
                if (read < HEADER) {
                    torn(segment, position, "a truncated frame header");
                    return count;
                }
                header.flip();
                int length = header.getInt();
                int checksum = header.getInt();
                if (length < 0 || length > MAX_FRAME || position + HEADER + length > size) {
                    torn(segment, position, "a frame longer than what was written");
                    return count;
                }
                ByteBuffer payload = ByteBuffer.allocate(length);
                while (payload.hasRemaining()) {
                    in.read(payload, position + HEADER + payload.position());
                }
                CRC32C crc = new CRC32C();
                crc.update(payload.array());
                if ((int) crc.getValue() != checksum) {
                    torn(segment, position, "a checksum mismatch");
                    return count;
                }
                consumer.accept(payload.array());
                count++;
                position += HEADER + length;
            }
        }
        return count;
    }

    private static void torn(Path segment, long position, String what) {
        LOG.log(Level.WARNING, "Journal segment {0}: {1} at byte {2}; the rest of the segment is skipped "
                + "(a write the crash interrupted, never acknowledged)", segment.getFileName(), what, String.valueOf(position));
    }

    private FileChannel openSegment(long sequence) throws IOException {
        FileChannel channel = FileChannel.open(directory.resolve(PREFIX + String.format("%012d", sequence) + SUFFIX),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        forceDirectory();
        return channel;
    }

    private void forceDirectory() {
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException | UncheckedIOException e) {
            // Some file systems cannot open a directory for reading; the file's own fsync still holds.
        }
    }

    /** The segments no longer appended to, oldest first; they never change but by compaction. */
    private List<Path> sealedSegments() throws IOException {
        long active;
        synchronized (segmentLock) {
            active = currentSequence;
        }
        List<Path> sealed = new ArrayList<>();
        for (Path segment : segments()) {
            if (sequenceOf(segment) < active) {
                sealed.add(segment);
            }
        }
        return sealed;
    }

    private List<Path> segments() throws IOException {
        List<Path> segments = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory, PREFIX + "*" + SUFFIX)) {
            stream.forEach(segments::add);
        }
        segments.sort(null);
        return segments;
    }

    private static long sequenceOf(Path segment) {
        String name = segment.getFileName().toString();
        return Long.parseLong(name.substring(PREFIX.length(), name.length() - SUFFIX.length()));
    }
}
