package dev.llmmetrics.session.sqlite;

import dev.llmmetrics.cost.CostSource;
import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.GenericEvent;
import dev.llmmetrics.event.RecordingFailedException;
import dev.llmmetrics.session.EvictionCounts;
import dev.llmmetrics.session.EvictionReason;
import dev.llmmetrics.session.InFlightRequests;
import dev.llmmetrics.session.PairFigures;
import dev.llmmetrics.session.RequestRecord;
import dev.llmmetrics.session.RequestScore;
import dev.llmmetrics.session.ScoreTotals;
import dev.llmmetrics.session.SessionFigures;
import dev.llmmetrics.session.SessionMetrics;
import dev.llmmetrics.session.SessionScores;
import dev.llmmetrics.session.SessionStore;
import dev.llmmetrics.session.SessionStoreFactory;
import dev.llmmetrics.session.StoreUnavailableException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.sqlite.SQLiteConfig;

/**
 * A durable {@link SessionStore} in one SQLite file (WAL journal mode): the sessions' aggregates, their model
 * pairs, their most recent request records and the applied event ids are tables ({@link Schema}), so a restart
 * opens the file and serves at once, whatever the history. It is also this process's {@link SessionFigures}:
 * one process owns the file (a lock file beside it says so), and its per-session series resume from the stored
 * totals after a restart. The models keep their labels too: as it opens, the store hands the labels its sessions'
 * figures hold to the catalog ({@link dev.llmmetrics.cost.ModelCatalog#labelFirst}), those of the most recently
 * active sessions first, so that a model labelled on its own before the restart is not put under {@code _other}
 * by new models that come first after it, as long as the bound on models has room for the labels held.
 *
 * <p>Writes: one writer thread applies batches in transactions, several concurrent batches in one (group
 * commit), and {@link #record(List)} returns once the transaction that applied its batch committed with the
 * chosen {@link Durability}; the event ids of a batch are written in the same transaction, so a retried batch
 * is never applied twice, across restarts too. A failed transaction (a full disk, an I/O error) is rolled back
 * whole and its callers get {@link RecordingFailedException}; the next batch tries again, so writing resumes
 * by itself once the disk has room. Meanwhile {@link #notReadyBecause()} says why, until a commit writes again,
 * a probe of the writer's included, so that readiness comes back without traffic. {@link #clear(String)} and
 * {@link #evictIdle()} are durable before they return. A transaction appends its records to a table in the order they come, and later transactions fold them
 * into the records kept by session ({@link RecentRecords}), so that a commit writes far fewer pages of records
 * than sessions it touched. Reads of the aggregates ({@link #summary}, {@link #revision}, the session list, the pairs) come from
 * a copy the writer keeps in memory, published after each commit; a session's records are read from the file
 * in one read transaction, beside the writer (WAL lets readers and the writer work at once); a read that fails
 * throws {@link StoreUnavailableException}. A damaged page met by a read or a commit stops the store for good:
 * batches are refused and {@link #notReadyBecause()} says the file is damaged, until a restart, whose quick
 * check refuses the file.
 *
 * <p>Bounds, held in the file by the transaction that would pass them:
 * <ul>
 *   <li>{@code maxSessions}: past it the least recently active sessions are deleted, a hundredth of the bound
 *       at a time;</li>
 *   <li>{@code maxRecordsPerSession}: a session serves its newest records only, its aggregates stay exact; the
 *       older ones are deleted by the transaction that passes the bound, or by the fold that next moves the
 *       session's records, and by the opening of the store when the bound is lower than it was;</li>
 *   <li>{@code maxBytes}: the pages the database uses times the page size, less the remembered event ids'
 *       (which deleting sessions cannot shrink: their own bounds hold them) and a frozen table's while a fold
 *       is under way; past it the least recently active sessions are deleted, and the one left, when larger
 *       than the bound by itself, drops its oldest records with the scores of about as many of its oldest
 *       requests, then its oldest scores, in the same
 *       transaction, until the pages in use are within the bound or only its newest record and newest score are
 *       left (its totals stay exact; it serves exactly the records it keeps). Freed pages are reused by later
 *       writes, and handed back to the file system ({@code auto_vacuum=INCREMENTAL}, {@code incremental_vacuum})
 *       once more than a quarter of the file is free; the write-ahead log is checkpointed into the file every
 *       16 384 pages and cut back to 64 MiB;</li>
 *   <li>{@code idleTimeout}: {@link #evictIdle()} deletes the sessions idle for longer; a start counts in flight
 *       for at most that long however active its session stays ({@link InFlightRequests#expire}, at the session's
 *       starts and ends and at that sweep);</li>
 *   <li>event ids are remembered for the dedupe window, at most {@code dedupeMaxIds} of them: rows of about
 *       18 bytes and the id's UTF-8 bytes, outside the bound in bytes.</li>
 * </ul>
 */
public final class SqliteSessionStore implements SessionStore, SessionFigures {

    /** What a batch survives once {@link #record(List)} has returned. */
    public enum Durability {
        /**
         * {@code synchronous=FULL}: the write-ahead log is synced to the disk at every commit, so an applied batch
         * survives the process's crash, an operating system crash and a power loss.
         */
        POWER_LOSS,
        /**
         * {@code synchronous=NORMAL}: the log is synced only at checkpoints, so an applied batch survives the
         * process's crash ({@code kill -9}), while an operating system crash or a power loss may roll back the
         * most recent commits; the file stays consistent either way.
         */
        PROCESS_CRASH
    }

    private static final Logger LOG = System.getLogger(SqliteSessionStore.class.getName());
    /** Most recently active first; sessions active in the same millisecond by id, the greater first. */
    private static final Comparator<Row> LISTING_ORDER =
            Comparator.comparingLong(Row::lastActiveMs).thenComparing(Row::id, SessionStore::compareIds).reversed();

    /** Events, and batches, past which a transaction takes no further batch (its last may pass the first). */
    static final int MAX_GROUP_EVENTS = 20_000;
    static final int MAX_GROUP_JOBS = 512;
    /** Most idle sessions one transaction deletes, so that a sweep never holds the writer long. */
    static final int IDLE_EVICTIONS_PER_TRANSACTION = 1_000;
    /** How long the writer waits for a job before it checks whether it can write ({@link Writer#idle()}). */
    private static final long IDLE_CHECK_MILLIS = 1_000;
    /** Connections that read records beside the writer. */
    private static final int READERS = 4;
    /** The job that tells the writer to stop, queued last. */
    private static final Job STOP = new Job() {
        @Override
        void apply(Writer.Txn t) {
        }
    };

    private final Path file;
    final SessionStoreFactory.Parameters bounds;
    /** Every session's aggregates as last committed; only the writer changes it, after a commit. */
    final ConcurrentHashMap<String, Row> rows;
    private final EvictionCounts evicted = new EvictionCounts();
    private final LongAdder modelOverflows = new LongAdder();
    /**
     * The requests in flight, counted by the writer as its transactions commit; kept in this process only: a start
     * is no figure a restart must keep, and a restart starts the count from none.
     */
    final InFlightRequests inFlight;
    private final Object enqueue = new Object();
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    private volatile boolean closed;
    private final Writer writer;
    private final Thread writerThread;
    private final ArrayBlockingQueue<Reader> readers = new ArrayBlockingQueue<>(READERS);
    private final List<Reader> allReaders = new ArrayList<>();
    /** The lock file this process holds, made again by the writer when it is removed under it. */
    final LockFile lockFile;

    /**
     * Loads SQLite's native library now, so that no copy of it is left in the temporary directory when the process
     * is killed: sqlite-jdbc writes the copy it loads there and removes it only at a normal exit. For an application
     * that owns its process, before its first store: the driver's {@code org.sqlite.tmpdir} is set to a directory of
     * the process's own for the time of the load, unless the application set it or {@code org.sqlite.lib.path}. A
     * library that does not load is reported by the store's first connection.
     */
    public static void loadNativeLibrary() {
        NativeLibrary.load();
    }

    /** Makes stores in {@code file}, synced at every commit ({@link Durability#POWER_LOSS}). */
    public static SessionStoreFactory at(Path file) {
        return at(file, Durability.POWER_LOSS);
    }

    /** Makes stores in {@code file} with the given durability. */
    public static SessionStoreFactory at(Path file, Durability durability) {
        return parameters -> open(file, parameters, durability);
    }

    /**
     * {@code path} with its links resolved, so that two paths to one file name one lock file; for a file not made
     * yet, its directory's real path and its name.
     */
    private static Path realPath(Path path) {
        try {
            return path.toRealPath();
        } catch (IOException absent) {
            try {
                Path parent = path.getParent();
                return parent == null ? path : parent.toRealPath().resolve(path.getFileName());
            } catch (IOException e) {
                return path; // its directory is missing: opening it says so
            }
        }
    }

    /**
     * Opens the store in {@code file}, creating it when the file is absent or empty. Nothing is written to a
     * file that is not one of its stores.
     *
     * @throws IllegalArgumentException naming the file, when it is not a store of this layout (another
     *                                  application's database, not a database, corrupt, newer), when another
     *                                  process has it open, or when it cannot be created
     */
    public static SqliteSessionStore open(Path file, SessionStoreFactory.Parameters parameters, Durability durability) {
        return open(file, parameters, durability, RecentRecords.FOLD_AT);
    }

    /** {@link #open(Path, SessionStoreFactory.Parameters, Durability)}, folding the recent records at {@code foldAt}. */
    static SqliteSessionStore open(Path file, SessionStoreFactory.Parameters parameters, Durability durability,
                                   int foldAt) {
        Path path = realPath(file.toAbsolutePath());
        refuseSecondName(path);
        List<Path> absentBefore = Schema.absentSideFiles(path);
        Schema.Found found = Schema.inspect(path);
        refuseUnwritable(path);
        Path lockFile = path.resolveSibling(path.getFileName() + ".lock");
        boolean lockFileWasThere = Files.exists(lockFile);
        FileChannel lockChannel = lock(path, lockFile);
        // The quick check reads every page: the sessions are read beside it through a read-only connection, and
        // the file is opened for writing (its layout upgraded, its log checkpointed) only once the check passed.
        FutureTask<Void> check = new FutureTask<>(() -> {
            if (found != Schema.Found.NOTHING) {
                Schema.quickCheck(path);
            }
            return null;
        });
        Thread.ofPlatform().name("llm-metrics-sqlite-check").daemon(true).start(check);
        ConcurrentHashMap<String, Row> rows = new ConcurrentHashMap<>();
        try {
            long nextKey = found == Schema.Found.STORE ? readSessions(path, rows) : 0;
            RuntimeException refusal = refusal(check);
            if (refusal != null) {
                throw refusal;
            }
            return new SqliteSessionStore(path, lockChannel, parameters, durability, found, rows, nextKey, foldAt);
        } catch (SQLException | RuntimeException | Error e) {
            RuntimeException refusal = refusal(check);
            if (refusal != null) {
                // A damaged file: every process refuses it, so the lock file this open made can go, before it is let go.
                List<Path> created = new ArrayList<>(absentBefore);
                if (!lockFileWasThere) {
                    created.add(lockFile);
                }
                deleteCreated(created);
            }
            closeQuietly(lockChannel);
            if (refusal != null) {
                throw refusal;
            }
            if (e instanceof SQLException) {
                throw new IllegalArgumentException("cannot open the SQLite session store " + path + ": " + e.getMessage(), e);
            }
            if (e instanceof Error error) {
                throw error;
            }
            throw (RuntimeException) e;
        }
    }

    /** Deletes the files this open made beside a file it refused. */
    private static void deleteCreated(List<Path> files) {
        for (Path created : files) {
            try {
                Files.deleteIfExists(created);
            } catch (IOException ignored) {
                // left behind, empty
            }
        }
    }

    /** Waits for the quick check; its refusal, or {@code null} when the file passed. */
    private static @Nullable RuntimeException refusal(FutureTask<Void> check) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    check.get();
                    return null;
                } catch (InterruptedException e) {
                    interrupted = true; // the check reads on; its verdict is still wanted
                } catch (ExecutionException e) {
                    return e.getCause() instanceof RuntimeException refusal ? refusal
                            : new IllegalStateException("checking the SQLite session store failed", e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Reads the sessions' aggregates into {@code rows} through a read-only connection, which writes nothing to
     * the file, not even a checkpoint when it closes; returns the key after the highest one used.
     */
    private static long readSessions(Path file, ConcurrentHashMap<String, Row> rows) throws SQLException {
        SQLiteConfig config = new SQLiteConfig();
        config.setReadOnly(true);
        try (Connection c = config.createConnection(Schema.url(file))) {
            return Writer.readSessions(c, rows);
        }
    }

    private SqliteSessionStore(Path file, FileChannel lockChannel, SessionStoreFactory.Parameters bounds,
                               Durability durability, Schema.Found found, ConcurrentHashMap<String, Row> rows,
                               long nextKey, int foldAt) throws SQLException {
        this.file = file;
        this.lockFile = new LockFile(file.resolveSibling(file.getFileName() + ".lock"), lockChannel);
        this.bounds = bounds;
        this.inFlight = new InFlightRequests(bounds.catalog(), bounds.idleTimeout());
        this.rows = rows;
        Connection writing = connect(false);
        try {
            this.writer = new Writer(this, writing, durability, found, foldAt);
        } catch (SQLException | RuntimeException e) {
            closeQuietly(writing);
            throw e;
        }
        try {
            // A file of an older layout is read once the writer brought it to this one.
            writer.startKeysAt(found == Schema.Found.OLDER_STORE ? readSessions(file, rows) : nextKey);
            for (int i = 0; i < READERS; i++) {
                Reader reader = new Reader();
                reader.open();
                allReaders.add(reader);
                readers.add(reader);
            }
        } catch (SQLException | RuntimeException e) {
            allReaders.forEach(Reader::close);
            writer.close();
            throw e;
        }
        bounds.catalog().labelFirst(labelsHeld(rows.values()));
        this.writerThread = Thread.ofPlatform().name("llm-metrics-sqlite-writer").daemon(true).start(this::writeLoop);
    }

    /**
     * The model labels the sessions' pairs hold, each once, those of the most recently active sessions first: under
     * a bound on models lower than the one they were labelled under, the models of the sessions likeliest to go on
     * keep their label.
     */
    private static List<String> labelsHeld(Iterable<Row> rows) {
        HashMap<String, Long> lastActiveMs = new HashMap<>();
        for (Row row : rows) {
            for (Pair pair : row.pairs()) {
                lastActiveMs.merge(pair.label(), row.lastActiveMs(), Math::max);
            }
        }
        return lastActiveMs.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .map(Map.Entry::getKey).toList();
    }

    private Connection connect(boolean readOnly) throws SQLException {
        SQLiteConfig config = new SQLiteConfig();
        config.setReadOnly(readOnly);
        config.setBusyTimeout(Writer.LOCK_WAIT_MILLIS);
        config.setGetGeneratedKeys(false); // else the driver parses every statement and asks for the last rowid
        return config.createConnection(Schema.url(file));
    }

    /**
     * Refuses a file with more than one name (a hard link), before anything is made beside it. SQLite names the
     * log, the shared memory and the store's lock file after the name the file is opened by: two servers opening
     * one file by two names each took their own lock and kept their own log, and each checkpoint wrote its pages
     * over the other's acknowledged commits. A symbolic link is resolved to the file's name and needs no refusal.
     */
    private static void refuseSecondName(Path path) {
        Object links;
        try {
            links = Files.getAttribute(path, "unix:nlink");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return; // absent (it is created with one name), or a file system that counts no links
        }
        if (links instanceof Integer n && n > 1) {
            throw new IllegalArgumentException("the SQLite session store " + path + " has " + (n - 1)
                    + " other name(s) (a hard link): SQLite keeps a log and a lock per name, so that two servers"
                    + " opening it by two names would overwrite each other's commits; remove the other names");
        }
    }

    /**
     * Refuses a file, or a log or shared memory beside it, that this process cannot write (immutable, or read-only to
     * its user; an {@code access} check): SQLite would open it read-only without a word, and that connection would
     * refuse every commit for as long as it is open, however writable the file is made again.
     */
    private static void refuseUnwritable(Path path) {
        for (String suffix : new String[] {"", "-wal", "-shm"}) {
            Path file = path.resolveSibling(path.getFileName() + suffix);
            if (Files.exists(file) && !Files.isWritable(file)) {
                throw new IllegalArgumentException("the SQLite session store " + path + " cannot be opened for writing: "
                        + file + " cannot be written (immutable or read-only); make it writable (chattr -i, chmod u+w)");
            }
        }
    }

    private static FileChannel lock(Path file, Path lockFile) {
        FileChannel channel = null;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock();
            if (lock == null) {
                throw new IllegalArgumentException("the SQLite session store " + file + " is in use by another process ("
                        + lockFile + " is locked)");
            }
            return channel;
        } catch (OverlappingFileLockException e) {
            closeQuietly(channel);
            throw new IllegalArgumentException("the SQLite session store " + file + " is already open in this process", e);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new IllegalArgumentException("cannot lock the SQLite session store " + file + " (" + lockFile + "): "
                    + reason(e), e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    /** What went wrong with a file, in the operating system's words, without the exception's class. */
    static String reason(IOException e) {
        return switch (e) {
            case NoSuchFileException missing -> "no such file or directory";
            case AccessDeniedException denied -> "permission denied";
            case FileSystemException other when other.getReason() != null -> other.getReason();
            default -> Objects.requireNonNullElse(e.getMessage(), "input/output error");
        };
    }

    /** The database file. */
    public Path file() {
        return file;
    }

    // ------------------------------------------------------------------------------------------ writes

    @Override
    @SuppressWarnings("unchecked")
    public List<Event> record(List<? extends Event> events) {
        if (events.isEmpty()) {
            return List.of();
        }
        boolean nothingToKeep = true;
        for (Event event : events) {
            if (event.eventId() != null || !(event instanceof GenericEvent)) {
                nothingToKeep = false;
                break;
            }
        }
        if (nothingToKeep) {
            return List.copyOf(events); // generic events without ids: not a session's, nothing to remember
        }
        RecordJob job = new RecordJob(List.copyOf(events), LOG_REQUESTS.isLoggable(Level.INFO));
        List<Event> applied = (List<Event>) submit(job);
        job.logLines();
        return applied;
    }

    /**
     * Deletes the session in a transaction of its own (or shared with concurrent batches), durable before it
     * returns.
     *
     * @throws RecordingFailedException when the deletion could not be written; then the session is unchanged
     */
    @Override
    public boolean clear(String sessionId) {
        return (Boolean) submit(new ClearJob(sessionId));
    }

    @Override
    public boolean clear(String sessionId, Predicate<String> condition) {
        return rows.containsKey(sessionId) && (Boolean) submit(new ClearIfJob(sessionId, condition));
    }

    /**
     * Why the store cannot record now: its disk is full, its file was removed or replaced, it cannot be written
     * (immutable, read-only, an I/O error), or another process holds its write lock. Set by a refused batch, or by the writer's check of the file each idle second;
     * cleared by the next commit that writes, which the writer tries each idle second while the store is stopped
     * (on a full disk once the file system has more room), so readiness comes back without traffic.
     */
    @Override
    public Optional<String> notReadyBecause() {
        if (closed) {
            return Optional.of("the session store is closed");
        }
        return Optional.ofNullable(writer.notReadyBecause());
    }

    /** Deletes the idle sessions, a bounded number per transaction. */
    @Override
    public int evictIdle() {
        int total = 0;
        while (true) {
            int evicted = (Integer) submit(new EvictIdleJob());
            total += evicted;
            if (evicted < IDLE_EVICTIONS_PER_TRANSACTION) {
                return total;
            }
        }
    }

    private Object submit(Job job) {
        synchronized (enqueue) {
            if (closed) {
                throw new RecordingFailedException("the session store is closed", new IllegalStateException("closed"));
            }
            queue.add(job);
        }
        try {
            return job.done.join(); // not interruptible: the outcome is what the caller must report
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw e;
        }
    }

    private void writeLoop() {
        try {
            writer.loadEventIds();
        } catch (Throwable e) {
            // The first transaction reads them again, and fails its batches if it cannot; the writer thread lives on.
            writer.failedAtStart("Reading the remembered event ids of " + file + " failed; the first batch reads them"
                    + " again", e);
        }
        writer.settleRecentRecords();
        List<Job> group = new ArrayList<>();
        boolean stop = false;
        while (!stop) {
            Job first;
            try {
                first = queue.poll(IDLE_CHECK_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                continue; // nobody interrupts the writer; its stop is a job
            }
            if (first == null) {
                try {
                    writer.idle();
                } catch (RuntimeException e) {
                    LOG.log(Level.ERROR, "The SQLite session store's writer failed to check the file", e);
                }
                continue;
            }
            if (first == STOP) {
                break;
            }
            group.add(first);
            int events = first.weight();
            Job next;
            // The writer is the queue's only taker: the job peeked at is the one polled.
            while (group.size() < MAX_GROUP_JOBS && events < MAX_GROUP_EVENTS && (next = queue.peek()) != null
                    && !next.firstInTransaction()) {
                queue.poll();
                if (next == STOP) {
                    stop = true;
                    break;
                }
                group.add(next);
                events += next.weight();
            }
            try {
                writer.run(group);
            } catch (Throwable e) {
                // A bug: the callers are told, and the writer lives on.
                for (Job job : group) {
                    job.done.completeExceptionally(new RecordingFailedException("the session store failed", e));
                }
                LOG.log(Level.ERROR, "The SQLite session store's writer failed", e);
            }
            group.clear();
        }
    }

    // ------------------------------------------------------------------------------------------ reads

    @Override
    public Optional<SessionMetrics> session(String sessionId) {
        if (!rows.containsKey(sessionId)) {
            return Optional.empty();
        }
        Reader reader = borrow();
        try {
            return Optional.ofNullable(reader.session(sessionId));
        } finally {
            giveBack(reader);
        }
    }

    @Override
    public Optional<SessionMetrics> summary(String sessionId) {
        Row row = rows.get(sessionId);
        return row == null ? Optional.empty() : Optional.of(row.summary());
    }

    @Override
    public Optional<String> requestModel(String sessionId, String correlationId) {
        // SQLite is given UTF-8, where a lone surrogate, which no event's id holds, would become '?'.
        if (!rows.containsKey(sessionId) || !StandardCharsets.UTF_8.newEncoder().canEncode(correlationId)) {
            return Optional.empty();
        }
        Reader reader = borrow();
        try {
            return Optional.ofNullable(reader.requestModel(sessionId, correlationId));
        } finally {
            giveBack(reader);
        }
    }

    @Override
    public List<SessionScores> scores(List<String> sessionIds) {
        List<SessionScores> all = new ArrayList<>();
        for (String id : sessionIds) {
            Row row = rows.get(id);
            if (row != null && !row.scores().isEmpty()) {
                all.add(new SessionScores(id, ScoreTotals.summaries(row.scores())));
            }
        }
        return all;
    }

    @Override
    public Optional<String> revision(String sessionId) {
        return Optional.ofNullable(rows.get(sessionId)).map(row -> row.revision(bounds.maxRecordsPerSession()));
    }

    @Override
    public List<String> sessionIds(int offset, int limit) {
        if (offset < 0 || limit < 0) {
            throw new IllegalArgumentException("offset and limit must not be negative");
        }
        List<Row> all = new ArrayList<>(rows.values());
        all.sort(LISTING_ORDER);
        int from = Math.min(offset, all.size());
        int to = (int) Math.min(all.size(), (long) from + limit);
        List<String> ids = new ArrayList<>(to - from);
        for (Row row : all.subList(from, to)) {
            ids.add(row.id());
        }
        return ids;
    }

    @Override
    public int sessionCount() {
        return rows.size();
    }

    @Override
    public long inFlight(String label) {
        return inFlight.count(label);
    }

    @Override
    public Map<String, Long> inFlightByLabel() {
        return inFlight.byLabel();
    }

    @Override
    public long evictions(EvictionReason reason) {
        return evicted.count(reason);
    }

    @Override
    public List<PairFigures> mostRecentPairs(int maxSessions, int maxPairs) {
        if (maxSessions < 0 || maxPairs < 0) {
            throw new IllegalArgumentException("maxSessions and maxPairs must not be negative");
        }
        // Sessions without a finished request (only started, or only scored) have no series to take a place.
        List<Row> recent = mostRecent(() -> rows.values().stream().filter(row -> row.pairs().length > 0).iterator(),
                Math.min(maxSessions, rows.size()));
        List<PairFigures> pairs = new ArrayList<>(Math.min(maxPairs, recent.size() + 8));
        for (Row row : recent) {
            if (row.pairs().length > maxPairs - pairs.size()) {
                break; // the budget is spent: more recent sessions first, none cut in half
            }
            row.figures(pairs);
        }
        return pairs;
    }

    @Override
    public long modelOverflows() {
        return modelOverflows.sum();
    }

    /** Adds what a committed transaction evicted and folded to the store's counts. */
    void counted(long capacity, long idle, long memory, long overflows) {
        evicted.add(EvictionReason.CAPACITY, capacity);
        evicted.add(EvictionReason.IDLE, idle);
        evicted.add(EvictionReason.MEMORY, memory);
        modelOverflows.add(overflows);
    }

    /**
     * What the bound in bytes holds: the pages the database uses, less the remembered event ids' and a frozen
     * table's during a fold.
     */
    long usedBytes() {
        return (Long) submit(new Job() {
            @Override
            void apply(Writer.Txn t) throws SQLException {
                result = writer.usedBytes();
            }
        });
    }

    /** The bytes of the remembered event ids' pages, as the bound in bytes reckons them and leaves them out. */
    long idTableBytes() {
        return (Long) submit(new Job() {
            @Override
            void apply(Writer.Txn t) {
                result = writer.idTableBytes();
            }
        });
    }

    private Reader borrow() {
        if (closed) {
            throw new IllegalStateException("the SQLite session store " + file + " is closed");
        }
        try {
            return readers.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting to read the session store", e);
        }
    }

    /**
     * A read that failed, as the server answers it (503 {@code store_unavailable}); a damaged file also makes the
     * store not ready and refuse batches ({@link Writer#damagedIf}).
     */
    private StoreUnavailableException unreadable(SQLException e) {
        writer.damagedIf(e);
        return new StoreUnavailableException("the SQLite session store " + file + " could not be read", e);
    }

    private void giveBack(Reader reader) {
        readers.add(reader);
    }

    /**
     * The {@code n} rows with the newest activity, newest first, with a heap of at most {@code n}; rows active in the
     * same millisecond in {@link #sessionIds}'s order, so that the scrape shows the sessions the listing puts first.
     */
    private static List<Row> mostRecent(Iterable<Row> all, int n) {
        if (n == 0) {
            return List.of();
        }
        PriorityQueue<Row> heap = new PriorityQueue<>(n + 1, LISTING_ORDER.reversed());
        for (Row row : all) {
            if (heap.size() < n) {
                heap.add(row);
            } else if (LISTING_ORDER.compare(row, heap.peek()) < 0) {
                heap.poll();
                heap.add(row);
            }
        }
        List<Row> kept = new ArrayList<>(heap.size());
        while (!heap.isEmpty()) {
            kept.add(heap.poll());
        }
        return kept.reversed();
    }

    // ------------------------------------------------------------------------------------------ close

    /**
     * Applies the batches already queued, then closes the file: later calls that write fail with
     * {@link RecordingFailedException}, later reads of records with {@link IllegalStateException}.
     */
    @Override
    public void close() {
        synchronized (enqueue) {
            if (closed) {
                return;
            }
            closed = true;
            queue.add(STOP);
        }
        boolean interrupted = false;
        while (writerThread.isAlive()) {
            try {
                writerThread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        for (Reader reader : allReaders) {
            reader.close();
        }
        writer.close(); // the last connection: SQLite checkpoints the log into the file
        lockFile.close();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(@Nullable AutoCloseable closeable) {
        if (closeable != null) {
            try {
                closeable.close();
            } catch (Exception ignored) {
                // closing what failed to open
            }
        }
    }

    @Override
    public String toString() {
        return "SqliteSessionStore[" + file + "]";
    }

    // ------------------------------------------------------------------------------------------ jobs

    private static final Logger LOG_REQUESTS = System.getLogger("dev.llmmetrics.requests");

    /** One batch of events. */
    private static final class RecordJob extends Job {
        final List<Event> events;
        final boolean logRequests;
        @Nullable List<String[]> lines;

        RecordJob(List<Event> events, boolean logRequests) {
            this.events = events;
            this.logRequests = logRequests;
        }

        @Override
        int weight() {
            return events.size();
        }

        @Override
        void apply(Writer.Txn t) throws SQLException {
            List<Event> applied = new ArrayList<>(events.size());
            lines = logRequests ? new ArrayList<>() : null;
            for (Event event : events) {
                if (t.apply(event, lines)) {
                    applied.add(event);
                }
            }
            result = applied;
        }

        /** The per-request lines, written once the batch is committed, with the totals each event produced. */
        void logLines() {
            if (lines == null) {
                return;
            }
            for (String[] line : lines) {
                LOG_REQUESTS.log(Level.INFO, line[0], (Object[]) java.util.Arrays.copyOfRange(line, 1, line.length));
            }
        }
    }

    private static final class ClearJob extends Job {
        final String sessionId;

        ClearJob(String sessionId) {
            this.sessionId = sessionId;
        }

        @Override
        void apply(Writer.Txn t) throws SQLException {
            result = t.clear(sessionId);
        }
    }

    /** Removes a session only when its committed row's revision meets a condition: first in its transaction. */
    private static final class ClearIfJob extends Job {
        final String sessionId;
        final Predicate<String> condition;

        ClearIfJob(String sessionId, Predicate<String> condition) {
            this.sessionId = sessionId;
            this.condition = condition;
        }

        @Override
        boolean firstInTransaction() {
            return true;
        }

        @Override
        void apply(Writer.Txn t) throws SQLException {
            result = t.clearIf(sessionId, condition);
        }
    }

    private static final class EvictIdleJob extends Job {
        @Override
        void apply(Writer.Txn t) throws SQLException {
            result = t.evictIdle(IDLE_EVICTIONS_PER_TRANSACTION);
        }
    }

    // ------------------------------------------------------------------------------------------ reader

    /**
     * A read-only connection with its statements, one thread at a time; after a failure it is closed, and
     * opened again at its next use (the driver finalizes a statement that fails).
     */
    private final class Reader {
        private @Nullable Connection c;
        private @Nullable PreparedStatement begin;
        private @Nullable PreparedStatement commit;
        private @Nullable PreparedStatement sessionRow;
        private @Nullable PreparedStatement pairs;
        private @Nullable PreparedStatement records;
        private @Nullable PreparedStatement scores;
        private @Nullable PreparedStatement scoreNames;
        private @Nullable PreparedStatement requestModel;

        private void open() throws SQLException {
            Connection opened = connect(true);
            try {
                try (Statement s = opened.createStatement()) {
                    s.execute("PRAGMA cache_size = -8192");
                    s.execute("PRAGMA temp_store = MEMORY");
                }
                opened.setAutoCommit(false); // no implicit BEGIN around each statement: transactions are begun by hand
                try (Statement s = opened.createStatement()) {
                    s.execute("COMMIT"); // the transaction setAutoCommit(false) began
                }
                begin = opened.prepareStatement("BEGIN");
                commit = opened.prepareStatement("COMMIT");
                sessionRow = opened.prepareStatement("SELECT key, last_active_ms, " + Schema.lowestKeptSeq("?2")
                        + " FROM session WHERE id = ?1");
                pairs = opened.prepareStatement("SELECT ordinal, label, successes, failures, tool_calls, duration_ms,"
                        + " max_duration_ms, prompt_tokens, max_prompt_tokens, completion_tokens, max_completion_tokens,"
                        + " total_tokens, cached_tokens, reasoning_tokens, priced_requests, cost_pico_usd, no_usage_requests"
                        + " FROM pair"
                        + " WHERE session = ? ORDER BY ordinal");
                records = opened.prepareStatement(RecentRecords.readSql(Schema.RECORD_FIELDS, "?1", "?2"));
                scores = opened.prepareStatement("SELECT correlation_id, name, value, comment, at_ms FROM score"
                        + " WHERE session = ? ORDER BY seq");
                scoreNames = opened.prepareStatement("SELECT name, count, sum, min, max FROM score_name"
                        + " WHERE session = ? ORDER BY ordinal");
                requestModel = opened.prepareStatement("WITH s AS (SELECT key, " + Schema.lowestKeptSeq("?3")
                        + " AS floor FROM session WHERE id = ?2) SELECT model FROM (" + RecentRecords.readSql("seq, model, correlation_id",
                        "(SELECT key FROM s)", "(SELECT floor FROM s)") + ") WHERE correlation_id = ?1"
                        + " ORDER BY seq DESC LIMIT 1");
                c = opened;
            } catch (SQLException | RuntimeException e) {
                closeQuietly(opened);
                throw e;
            }
        }

        /** The model of the session's most recent record with {@code correlationId}; {@code null} when none. */
        @Nullable String requestModel(String sessionId, String correlationId) {
            try {
                if (c == null) {
                    open();
                }
                begin.execute();
                try {
                    requestModel.setString(1, correlationId);
                    requestModel.setString(2, sessionId);
                    requestModel.setInt(3, bounds.maxRecordsPerSession());
                    try (ResultSet r = requestModel.executeQuery()) {
                        return r.next() ? r.getString(1) : null;
                    }
                } finally {
                    commit.execute();
                }
            } catch (SQLException e) {
                close();
                throw unreadable(e);
            }
        }

        /** The session with its records, read in one transaction; {@code null} when the file does not hold it. */
        @Nullable SessionMetrics session(String sessionId) {
            try {
                if (c == null) {
                    open();
                }
                begin.execute();
                try {
                    return read(sessionId);
                } finally {
                    commit.execute();
                }
            } catch (SQLException e) {
                close();
                throw unreadable(e);
            }
        }

        private @Nullable SessionMetrics read(String sessionId) throws SQLException {
            long key;
            long lastActiveMs;
            long lowestSeq;
            sessionRow.setString(1, sessionId);
            sessionRow.setInt(2, bounds.maxRecordsPerSession());
            try (ResultSet r = sessionRow.executeQuery()) {
                if (!r.next()) {
                    return null;
                }
                key = r.getLong(1);
                lastActiveMs = r.getLong(2);
                lowestSeq = r.getLong(3);
            }
            List<Pair> found = new ArrayList<>();
            pairs.setLong(1, key);
            try (ResultSet r = pairs.executeQuery()) {
                while (r.next()) {
                    found.add(Writer.pair(r, 1));
                }
            }
            Map<String, List<RequestScore>> scoresById = new HashMap<>();
            scores.setLong(1, key);
            try (ResultSet r = scores.executeQuery()) {
                while (r.next()) {
                    scoresById.computeIfAbsent(r.getString(1), id -> new ArrayList<>(2)).add(new RequestScore(
                            r.getString(2), r.getDouble(3), r.getString(4), Instant.ofEpochMilli(r.getLong(5))));
                }
            }
            List<ScoreTotals> totals = new ArrayList<>();
            scoreNames.setLong(1, key);
            try (ResultSet r = scoreNames.executeQuery()) {
                while (r.next()) {
                    totals.add(Writer.scoreTotals(r, 1));
                }
            }
            List<RequestRecord> list = new ArrayList<>();
            records.setLong(1, key);
            records.setLong(2, lowestSeq);
            try (ResultSet r = records.executeQuery()) {
                while (r.next()) {
                    long firstToken = r.getLong(5);
                    Long firstTokenMs = r.wasNull() ? null : firstToken;
                    long cost = r.getLong(13);
                    Double costUsd = r.wasNull() ? null : ModelPrice.usd(cost);
                    long flags = r.getLong(11);
                    boolean usage = (flags & Writer.NO_USAGE) == 0;
                    int status = r.getInt(16);
                    Integer httpStatus = r.wasNull() ? null : status;
                    String errorType = r.getString(15);
                    String correlationId = r.getString(17);
                    list.add(RequestRecord.builder(Instant.ofEpochMilli(r.getLong(2)), r.getString(3))
                            .durationMs(r.getLong(4)).promptTokens(usage ? r.getInt(6) : null)
                            .completionTokens(usage ? r.getInt(7) : null).totalTokens(usage ? r.getInt(8) : null)
                            .hasToolCalls((flags & Writer.TOOL_CALLS) != 0)
                            .success((flags & Writer.SUCCESS) != 0).error(r.getString(12)).cachedTokens(r.getInt(9))
                            .reasoningTokens(r.getInt(10)).timeToFirstTokenMs(firstTokenMs).costUsd(costUsd)
                            .costSource(costUsd == null ? null
                                    : (flags & Writer.COST_REPORTED) != 0 ? CostSource.PROVIDER : CostSource.PRICE_TABLE)
                            .provider(r.getString(14))
                            .errorType(errorType == null ? null : ErrorType.ofWireName(errorType).orElse(null))
                            .httpStatus(httpStatus)
                            .correlationId(correlationId).attributes(Attributes.decode(r.getString(18)))
                            .scores(correlationId == null ? List.of() : scoresById.getOrDefault(correlationId, List.of()))
                            .build());
                }
            }
            return Row.metrics(sessionId, lastActiveMs, found.toArray(Pair[]::new), list, totals);
        }

        void close() {
            closeQuietly(c); // its statements with it
            c = null;
        }
    }
}
