package dev.llmmetrics.session.sqlite;

import dev.llmmetrics.session.InFlightRequests;
import dev.llmmetrics.session.PairTotals;
import dev.llmmetrics.session.ScoreTotals;
import dev.llmmetrics.cost.ModelCatalog;
import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.Event;
import dev.llmmetrics.event.GenericEvent;
import dev.llmmetrics.event.LlmRequestCompleted;
import dev.llmmetrics.event.LlmRequestFailed;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.event.LlmRequestStarted;
import dev.llmmetrics.event.RecordingFailedException;
import dev.llmmetrics.session.SessionStore;
import dev.llmmetrics.session.SessionStoreFactory;
import dev.llmmetrics.session.sqlite.SqliteSessionStore.Durability;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * The writer of a {@link SqliteSessionStore}: its connection, statements and what it remembers of the file (the
 * applied event ids, the next keys), used by the store's writer thread only once the store is open. It applies a
 * group of jobs in one transaction, and publishes the sessions it changed to the store's rows once the
 * transaction committed.
 */
final class Writer {

    /** Deletes the scores of requests of a session (1) but its newest ones, as many as the bound on records (2). */
    private static final String TRIM_SCORES = "DELETE FROM score WHERE session = ?1 AND seq <= (SELECT seq FROM score"
            + " WHERE session = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)";

    private static final Logger LOG = System.getLogger(SqliteSessionStore.class.getName());
    /** The least time between two warnings that the store cannot write. */
    private static final Duration WARNING_INTERVAL = Duration.ofMinutes(1);

    /**
     * Pages of write-ahead log (64 MiB) past which a commit checkpoints it into the file. A checkpoint writes
     * each page once however often the commits since the last one changed it, so a long interval writes less.
     */
    static final int WAL_AUTOCHECKPOINT_PAGES = 16_384;
    /**
     * How long a statement waits for a lock another process holds on the file (SQLite's busy timeout), readers and
     * the writer alike; a batch is answered 503 past it. The writer's checks of an idle second, and its batches
     * while it knows the lock held, wait {@link #BRIEF_LOCK_MILLIS} only ({@link #lockWait}).
     */
    static final int LOCK_WAIT_MILLIS = 10_000;
    /**
     * How long the writer's check of an idle second, and a batch while the store knows the lock held, wait for
     * another process's lock before they take it as held open: another SQLite client writing holds it for far less,
     * so its writes neither stop the store nor refuse a batch, while a lock left held (an {@code sqlite3} shell's
     * {@code BEGIN EXCLUSIVE}) is known within about a second and a half without traffic.
     */
    static final int BRIEF_LOCK_MILLIS = 500;
    /** What the write-ahead log is cut back to after a checkpoint. */
    static final long JOURNAL_SIZE_LIMIT = 64L << 20;
    /** Free pages one round of incremental vacuum hands back, so that it never holds the writer long. */
    private static final int VACUUM_PAGES_PER_ROUND = 512;
    static final long SUCCESS = 1;
    static final long TOOL_CALLS = 2;
    /** The response reported no token usage (every failure): the record's token columns are 0 and mean nothing. */
    static final long NO_USAGE = 4;
    /** The record's cost is the one the provider reported, not the price table's. */
    static final long COST_REPORTED = 8;

    private final SqliteSessionStore store;
    private final SessionStoreFactory.Parameters bounds;
    private final ModelCatalog catalog;
    private final int evictionBatch;
    private final Connection c;
    private final long pageSize;
    /**
     * The prepared statements; made again after a failure, since the driver finalizes a statement that fails
     * with most errors (a full disk, an I/O error). {@code null} until made again.
     */
    private @Nullable Statements statements;
    /** The event ids remembered, oldest first, and their numbers by id; as committed. */
    private final ArrayDeque<AppliedId> idOrder = new ArrayDeque<>();
    private final HashMap<String, Long> idSeqs = new HashMap<>();
    /**
     * The requests in flight of the sessions that have some, by the session's key, as committed. In memory only:
     * a restart starts them from none, as it does the store's counts.
     */
    private final HashMap<Long, InFlightRequests.Session> inFlightByKey = new HashMap<>();
    /** The bytes the rows of {@link #idOrder} take in their table's leaves ({@link #idRowBytes}). */
    private long idRowBytes;
    private long nextIdSeq = 1;
    /** Whether {@link #idOrder} and {@link #idSeqs} hold the file's remembered ids yet. */
    private boolean idsLoaded;
    private long nextKey = 1;
    private boolean failing;
    /** Whether the last thing the log said about the store is that it cannot write. */
    private boolean saidFailing;
    /**
     * Whether the store stops and writes again by turns: the log said so, and says nothing more about it until
     * the store has written for {@link #WARNING_INTERVAL} without a stop; how often it stopped meanwhile.
     */
    private boolean byTurns;
    private int stopsByTurns;
    /** Whether, and when ({@link System#nanoTime()}), the log last said the store cannot write; when it last refused. */
    private boolean warned;
    private long lastWarningNanos;
    private long lastRefusalNanos;
    /**
     * Why the store cannot write, as readiness says it ({@link SqliteSessionStore#notReadyBecause()}); {@code null}
     * while it can. Set when a group or a probe fails for the storage (a full disk, the file removed or replaced, an
     * I/O error), cleared by a commit that wrote, a probe's included ({@link #idle()}).
     */
    private volatile @Nullable String notReadyBecause;
    /**
     * What readiness says once SQLite found a page of the file damaged, by a read or by the writer; {@code null} until
     * then. Never cleared: the store refuses batches from then on, and only a restart, whose quick check refuses a
     * damaged file, ends it ({@link #damagedIf}).
     */
    private volatile @Nullable String damage;
    /** What stopped the store; {@code null} while it writes. */
    private @Nullable Stop stop;
    /** The room the file system had ({@link FileStore#getUnallocatedSpace()}) once the store stopped on a full disk. */
    private long roomWhenStopped;
    /** How long the connection's statements wait for another process's lock: {@link #LOCK_WAIT_MILLIS} or {@link #BRIEF_LOCK_MILLIS}. */
    private int lockWaitMillis = LOCK_WAIT_MILLIS;
    private final RecentRecords recent;
    /** Begins the transactions that may wait {@link #LOCK_WAIT_MILLIS}, so that readiness knows one waits long. */
    private final LockWatch lockWatch = new LockWatch();
    private int commitsSinceVacuumCheck;
    private boolean vacuuming;
    /** The write-ahead log beside the file. */
    private final Path wal;
    /** The pages a small commit writes, about: a disk with less room at the start is taken as full. */
    private static final int ROOM_FOR_A_COMMIT = 16;
    /** The file system the file is on, for the room left on it; {@code null} when it cannot be told. */
    private final @Nullable FileStore disk;
    /** What identifies the file the connection has open ({@link #requireSameFile}). */
    private final @Nullable Object fileKey;
    /**
     * What identifies the write-ahead log the connection has open, from the first check that finds it; SQLite keeps
     * it, truncated at most, while the connection is open ({@link #requireSameFile}).
     */
    private @Nullable Object walKey;

    Writer(SqliteSessionStore store, Connection c, Durability durability, Schema.Found found, int foldAt)
            throws SQLException {
        this.store = store;
        this.fileKey = fileKey(store.file());
        this.wal = store.file().resolveSibling(store.file().getFileName() + "-wal");
        this.disk = fileStore(store.file());
        this.bounds = store.bounds;
        this.catalog = bounds.catalog();
        this.evictionBatch = Math.max(1, bounds.maxSessions() / 100);
        this.c = c;
        try (Statement s = c.createStatement()) {
            if (found == Schema.Found.NOTHING) {
                s.execute("PRAGMA auto_vacuum = INCREMENTAL"); // before the first table, or it cannot be had
            }
            try (ResultSet r = s.executeQuery("PRAGMA journal_mode = WAL")) {
                String mode = r.next() ? r.getString(1) : "";
                if (!"wal".equalsIgnoreCase(mode)) {
                    throw new SQLException("the file cannot be put in WAL journal mode (" + mode + ")");
                }
            }
            s.execute("PRAGMA synchronous = " + (durability == Durability.POWER_LOSS ? "FULL" : "NORMAL"));
            s.execute("PRAGMA cache_size = -65536");
            s.execute("PRAGMA temp_store = MEMORY");
            s.execute("PRAGMA wal_autocheckpoint = " + WAL_AUTOCHECKPOINT_PAGES);
            s.execute("PRAGMA journal_size_limit = " + JOURNAL_SIZE_LIMIT);
            if (found == Schema.Found.NOTHING) {
                Schema.create(s);
            } else {
                Schema.upgrade(s);
            }
            pageSize = Schema.longPragma(s, "page_size");
        }
        // No implicit BEGIN and COMMIT around each statement: the writer begins and commits by hand.
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.execute("COMMIT"); // the transaction setAutoCommit(false) began
        }
        holdRecordBound();
        statements = new Statements(c);
        recent = new RecentRecords(c, foldAt, bounds.maxRecordsPerSession(), lockWatch);
        try {
            walKey = fileKey(wal); // the statements above wrote it
        } catch (SQLException e) {
            walKey = null; // taken at the first check that finds it
        }
        stoppedIfTheDiskIsFull();
    }

    /**
     * At the start: a file system without room for {@value #ROOM_FOR_A_COMMIT} pages (a store that filled its disk,
     * then restarted) stops the store as a refused commit on a full disk does, so that readiness says so before a
     * batch is refused, and {@link #idle()} tries a commit once the disk has more room. A batch that fits meanwhile
     * makes it ready again.
     */
    private void stoppedIfTheDiskIsFull() {
        long room = room();
        if (room >= 0 && room < ROOM_FOR_A_COMMIT * pageSize) {
            stop = Stop.FULL;
            roomWhenStopped = room;
            notReadyBecause = stop.reason;
            LOG.log(Level.WARNING, "The SQLite session store " + store.file() + " starts on a disk with " + room
                    + " bytes free: it is not ready until the disk has room");
        }
    }

    /**
     * Brings the sessions that kept more records, or scores of requests, than the bound allows (it was higher
     * when they were written) down to it, deleting the older ones, so that a later, higher bound does not serve
     * them again. A failure is logged and left to the next start: records are served within the bound meanwhile.
     * One of the storage's stops the store as a refused batch does, so that the server starts unready.
     */
    private void holdRecordBound() {
        int max = bounds.maxRecordsPerSession();
        try (Statement s = c.createStatement()) {
            s.execute("BEGIN IMMEDIATE");
            try {
                List<long[]> over = new ArrayList<>();
                try (ResultSet r = s.executeQuery("SELECT key, " + Schema.lowestKeptSeq(String.valueOf(max))
                        + " FROM session WHERE records > " + max)) {
                    while (r.next()) {
                        over.add(new long[] {r.getLong(1), r.getLong(2)});
                    }
                }
                for (String table : RecentRecords.RECORD_TABLES) {
                    try (PreparedStatement delete = c.prepareStatement("DELETE FROM " + table
                            + " WHERE session = ? AND seq < ?")) {
                        for (long[] session : over) {
                            delete.setLong(1, session[0]);
                            delete.setLong(2, session[1]);
                            delete.addBatch();
                        }
                        delete.executeBatch();
                    }
                }
                s.executeUpdate("UPDATE session SET records = " + max + " WHERE records > " + max);
                List<Long> scored = new ArrayList<>();
                try (ResultSet r = s.executeQuery("SELECT session FROM score GROUP BY session HAVING count(*) > "
                        + max)) {
                    while (r.next()) {
                        scored.add(r.getLong(1));
                    }
                }
                try (PreparedStatement trim = c.prepareStatement(TRIM_SCORES)) {
                    for (long key : scored) {
                        trim.setLong(1, key);
                        trim.setInt(2, max);
                        trim.addBatch();
                    }
                    trim.executeBatch();
                }
                s.execute("COMMIT");
                if (!scored.isEmpty()) {
                    // The rows were read before: those of the sessions trimmed here hold the bound's scores now.
                    Set<Long> trimmed = new HashSet<>(scored);
                    store.rows.replaceAll((id, row) -> trimmed.contains(row.key()) ? row.withScoresHeld(max) : row);
                }
            } catch (SQLException | RuntimeException e) {
                s.execute("ROLLBACK");
                throw e;
            }
        } catch (SQLException | RuntimeException e) {
            failedAtStart("Bringing the sessions of " + store.file() + " down to store.max.records failed; tried again"
                    + " at the next start", e);
        }
    }

    /**
     * Logs a step of the start that failed, and, when the storage failed it (a write lock another process holds
     * open, an I/O error), stops the store as a refused batch does, so that the server starts unready and the log
     * says in one line what stopped it, and once more when it writes again; the trace of that failure is only
     * logged at DEBUG, being an operator's to mend. Any other failure, a bug, is logged with its trace.
     */
    void failedAtStart(String what, Throwable e) {
        if (e instanceof SQLException sql && storageFailure(sql)) {
            LOG.log(Level.DEBUG, what, e);
            refuse(List.of(), sql);
        } else {
            LOG.log(Level.WARNING, what, e);
        }
    }

    /** Reads the sessions' aggregates into {@code rows}; returns the key after the highest one the file used. */
    static long readSessions(Connection c, Map<String, Row> rows) throws SQLException {
        long nextKey = 1;
        HashMap<Long, List<Pair>> pairsByKey = new HashMap<>();
        HashMap<Long, List<ScoreTotals>> scoresByKey = new HashMap<>();
        HashMap<Long, Integer> scoresHeldByKey = new HashMap<>();
        try (Statement s = c.createStatement()) {
            try (ResultSet r = s.executeQuery("SELECT session, ordinal, label, successes, failures, tool_calls,"
                    + " duration_ms, max_duration_ms, prompt_tokens, max_prompt_tokens, completion_tokens,"
                    + " max_completion_tokens, total_tokens, cached_tokens, reasoning_tokens, priced_requests,"
                    + " cost_pico_usd, no_usage_requests FROM pair ORDER BY session, ordinal")) {
                while (r.next()) {
                    pairsByKey.computeIfAbsent(r.getLong(1), k -> new ArrayList<>()).add(pair(r, 2));
                }
            }
            try (ResultSet r = s.executeQuery("SELECT session, name, count, sum, min, max FROM score_name"
                    + " ORDER BY session, ordinal")) {
                while (r.next()) {
                    scoresByKey.computeIfAbsent(r.getLong(1), k -> new ArrayList<>()).add(scoreTotals(r, 2));
                }
            }
            try (ResultSet r = s.executeQuery("SELECT session, count(*) FROM score GROUP BY session")) {
                while (r.next()) {
                    scoresHeldByKey.put(r.getLong(1), r.getInt(2));
                }
            }
            try (ResultSet r = s.executeQuery("SELECT key, id, last_active_ms, next_seq, records FROM session")) {
                while (r.next()) {
                    long key = r.getLong(1);
                    List<Pair> pairs = pairsByKey.getOrDefault(key, List.of());
                    rows.put(r.getString(2), new Row(key, r.getString(2), r.getLong(3), r.getLong(4), r.getInt(5),
                            scoresHeldByKey.getOrDefault(key, 0), pairs.toArray(Pair[]::new),
                            List.copyOf(scoresByKey.getOrDefault(key, List.of()))));
                    nextKey = Math.max(nextKey, key + 1);
                }
            }
            try (ResultSet r = s.executeQuery("SELECT seq FROM sqlite_sequence WHERE name = 'session'")) {
                if (r.next()) {
                    nextKey = Math.max(nextKey, r.getLong(1) + 1);
                }
            }
        }
        return nextKey;
    }

    /** Numbers new sessions from {@code key} on, or past the highest key already used if that is higher. */
    void startKeysAt(long key) {
        nextKey = Math.max(nextKey, key);
    }

    /**
     * Reads the remembered event ids, once: the store's writer thread calls it as it starts, so that reads do not
     * wait for them, and {@link #run} before it applies a group, should that first read have failed.
     */
    void loadEventIds() throws SQLException {
        if (idsLoaded) {
            return;
        }
        idOrder.clear();
        idSeqs.clear();
        idRowBytes = 0;
        try (Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT seq, id, at_ms FROM applied_event ORDER BY seq")) {
            while (r.next()) {
                AppliedId id = AppliedId.of(r.getLong(1), r.getString(2), r.getLong(3));
                idOrder.add(id);
                idSeqs.put(id.id(), id.seq());
                idRowBytes += id.bytes();
                nextIdSeq = id.seq() + 1;
            }
        }
        idsLoaded = true;
    }

    /** Folds the recent records a stopped process left in both of their tables, before the first commit. */
    void settleRecentRecords() {
        recent.settle();
    }

    /** Reads one score name's totals from the columns starting at {@code column}: name, count, sum, min, max. */
    static ScoreTotals scoreTotals(ResultSet r, int column) throws SQLException {
        return new ScoreTotals(r.getString(column), r.getLong(column + 1), r.getDouble(column + 2),
                r.getDouble(column + 3), r.getDouble(column + 4));
    }

    /** Reads one pair from the columns starting at {@code column}: ordinal, label, then the figures. */
    static Pair pair(ResultSet r, int column) throws SQLException {
        Pair p = new Pair(r.getInt(column), r.getString(column + 1));
        int i = column + 2;
        for (PairTotals.Figure figure : PairTotals.Figure.values()) {
            p.totals().set(figure, r.getLong(i++));
        }
        return p;
    }

    /**
     * Applies the jobs in one transaction and completes them once it committed. A transaction that fails is
     * rolled back whole; when the failure is not the storage's (a full disk, an I/O error), the jobs are then
     * tried again one at a time, so that one job cannot fail the others.
     */
    void run(List<Job> jobs) {
        if (damage != null) {
            RecordingFailedException failure = new RecordingFailedException("the session store's file is damaged", null);
            for (Job job : jobs) {
                job.done.completeExceptionally(failure);
            }
            return;
        }
        try {
            loadEventIds(); // no job is applied without them; a failure here is no job's, so the group fails once
        } catch (SQLException | RuntimeException e) {
            refuse(jobs, e);
            return;
        }
        Txn t;
        try {
            lockWait(stop == Stop.LOCKED ? BRIEF_LOCK_MILLIS : LOCK_WAIT_MILLIS);
            t = transact(jobs);
        } catch (SQLException | RuntimeException e) {
            rollbackAndPrepareAgain();
            if (jobs.size() > 1 && !storageFailure(e)) {
                for (Job job : jobs) {
                    run(List.of(job));
                }
                return;
            }
            refuse(jobs, e);
            return;
        }
        t.publish();
        checkpointBeforeTheDiskFills();
        if (t.wrote() || stop == Stop.LOCKED) {
            // A commit that wrote nothing (a sweep that found no idle session, a batch of retried events) proves
            // nothing of the disk, only that the write lock was free.
            writes();
        }
        for (Job job : jobs) {
            job.done.complete(job.result);
        }
        recent.committed(t.recentDelta);
        if (vacuuming || t.removedFromFile > 0 || t.gaveRoomBack || ++commitsSinceVacuumCheck >= 1000) {
            commitsSinceVacuumCheck = 0;
            vacuumIfMostlyFree();
        }
    }

    /**
     * After a commit that wrote: the store is ready, and the log says it writes again once it said it could not,
     * by the rules of {@link #refuse}.
     */
    private void writes() {
        stop = null;
        notReadyBecause = null;
        if (failing) {
            failing = false;
            if (saidFailing && !byTurns) {
                saidFailing = false;
                LOG.log(Level.INFO, "The SQLite session store " + store.file() + " writes again");
            }
        }
        if (byTurns && System.nanoTime() - lastRefusalNanos >= WARNING_INTERVAL.toNanos()) {
            byTurns = false;
            saidFailing = false;
            LOG.log(Level.INFO, "The SQLite session store " + store.file() + " writes again, for a minute now without a stop"
                    + (stopsByTurns == 0 ? "" : " (it stopped " + (stopsByTurns == 1 ? "once" : stopsByTurns + " times")
                    + " more after the last warning)"));
        }
    }

    /**
     * Why the store cannot write now, in words for readiness; {@code null} while it can. A transaction waiting for
     * the write lock past {@link #BRIEF_LOCK_MILLIS} counts as the lock held open, before its wait ends.
     */
    @Nullable String notReadyBecause() {
        String damaged = damage;
        if (damaged != null) {
            return damaged;
        }
        String stopped = notReadyBecause;
        return stopped == null && lockWatch.waitsLong() ? Stop.LOCKED.reason : stopped;
    }

    /**
     * Notes that SQLite found the file damaged, when {@code e} says so ({@code SQLITE_CORRUPT}, {@code SQLITE_NOTADB}):
     * readiness says so from then on, batches are refused (writing into damaged pages may spread the damage), and
     * the log says it once, with the file's path. Reads of the pages that are sound go on.
     */
    void damagedIf(Exception e) {
        if (!(e instanceof SQLException sql)) {
            return;
        }
        int primary = sql.getErrorCode() & 0xFF;
        if (primary != 11 /* CORRUPT */ && primary != 26 /* NOTADB */) {
            return;
        }
        synchronized (damageLock) {
            if (damage != null) {
                return;
            }
            damage = "the session store's file is damaged (SQLite found a page it cannot read): stop the server and"
                    + " restore the file; a restart refuses it until then";
        }
        LOG.log(Level.ERROR, "The SQLite session store " + store.file() + " is damaged (" + sql.getMessage() + "):"
                + " batches are refused and readiness is 503 from now on; reads of the damaged pages fail. Stop the"
                + " server and restore the file from a backup: a restart refuses a damaged file");
    }

    private final Object damageLock = new Object();

    /**
     * Called by the writer thread after a second without a job, so that readiness follows the store without
     * traffic (a load balancer sends none to a replica that is not ready). While the store writes: notices a file
     * removed or replaced, by its file key, a stat, a file that cannot be written, and a write lock another process
     * holds, by taking the lock and letting it go, waiting {@link #BRIEF_LOCK_MILLIS} for it. While it is stopped: tries a commit of one page (the header's
     * application id written again), but on a full disk only once the file system has more room than when the
     * store stopped, since the write-ahead log keeps the pages the refused transaction wrote past its end, into
     * which one page fits with the disk still full; a file removed or replaced, or opened by another server once
     * the lock file was removed, stays so until a restart.
     */
    void idle() {
        if (damage != null) {
            return;
        }
        if (stop == null) {
            try {
                requireSameFile();
                lockWait(BRIEF_LOCK_MILLIS);
                Statements st = statements();
                st.begin.execute(); // the write lock, taken and let go: another process holding it open is told
                st.commit.execute();
            } catch (SQLException | RuntimeException e) {
                rollbackAndPrepareAgain();
                refuse(List.of(), e);
            }
            return;
        }
        long room = room();
        if (stop == Stop.REPLACED || stop == Stop.LOG_REPLACED || stop == Stop.TAKEN
                || (stop == Stop.FULL && room >= 0 && room < roomWhenStopped + pageSize)) {
            return;
        }
        try {
            lockWait(BRIEF_LOCK_MILLIS);
            loadEventIds();
            Statements st = statements();
            st.begin.execute();
            st.rewriteHeader.execute();
            requireSameFile();
            st.commit.execute();
        } catch (SQLException | RuntimeException e) {
            rollbackAndPrepareAgain();
            LOG.log(Level.DEBUG, "The SQLite session store " + store.file() + " still cannot write", e);
            stoppedBy(e);
            return;
        }
        writes();
    }

    /** Notes what stopped the store, for readiness and for {@link #idle()}, when it is the storage's. */
    private void stoppedBy(Exception e) {
        if (!storageFailure(e)) {
            return;
        }
        damagedIf(e);
        int primary = ((SQLException) e).getErrorCode() & 0xFF;
        Stop was = stop;
        stop = e instanceof FileReplacedException replaced ? replaced.stop
                : primary == 13 /* FULL */ ? Stop.FULL : primary == 5 /* BUSY */ ? Stop.LOCKED : Stop.UNWRITABLE;
        roomWhenStopped = room();
        notReadyBecause = stop.reason;
        if (stop == Stop.LOG_REPLACED && was != Stop.LOG_REPLACED) {
            checkpointTheRemovedLog();
        }
    }

    /**
     * Copies what the write-ahead log removed from under the store holds into the file: SQLite still reads it through
     * the log it has open, while a restart would find none, so what was acknowledged before the removal is kept.
     */
    private void checkpointTheRemovedLog() {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("PRAGMA wal_checkpoint(FULL)")) {
            boolean whole = r.next() && r.getInt(1) == 0 && r.getInt(2) == r.getInt(3);
            LOG.log(whole ? Level.WARNING : Level.ERROR, "The write-ahead log " + wal + " was removed or replaced under"
                    + " the running server: " + (whole ? "what it held is copied into " + store.file()
                    : "what it held could not all be copied into " + store.file() + " (readers held it)")
                    + "; batches are refused until a restart");
        } catch (SQLException e) {
            LOG.log(Level.ERROR, "The write-ahead log " + wal + " was removed or replaced under the running server, and"
                    + " what it held could not be copied into " + store.file() + " (" + e.getMessage() + "); batches are"
                    + " refused until a restart");
            LOG.log(Level.DEBUG, "Copying the removed write-ahead log " + wal + " into the file failed", e);
        }
    }

    /**
     * Makes the connection's statements wait {@code millis} for another process's lock: the checks of an idle second
     * wait {@link #BRIEF_LOCK_MILLIS}, so that the writer tells a lock held open from another client's brief write
     * without stalling the batches behind it for long, and while the lock is known to be held a batch waits as
     * briefly, so that it is refused soon rather than after {@link #LOCK_WAIT_MILLIS}, yet goes through once the lock
     * is let go.
     */
    private void lockWait(int millis) throws SQLException {
        if (millis != lockWaitMillis) {
            try (Statement s = c.createStatement()) {
                s.execute("PRAGMA busy_timeout = " + millis);
            }
            lockWaitMillis = millis;
        }
    }

    /** The room left on the file system, counting what only the superuser may use; -1 when it cannot be told. */
    private long room() {
        try {
            return disk == null ? -1 : disk.getUnallocatedSpace();
        } catch (IOException e) {
            return -1;
        }
    }

    /** What stopped the store, and what readiness says of it. */
    private enum Stop {
        FULL("the session store's disk is full: it writes again once the disk has room",
                "batches are refused until it can: free room on its disk, and it resumes by itself"),
        REPLACED("the session store's file was removed or replaced while the server had it open: only a restart"
                + " opens the file at its path",
                "batches are refused until the server is restarted, which opens the file at its path"),
        LOG_REPLACED("the session store's write-ahead log was removed or replaced while the server had it open: what"
                + " it held is copied into the file, and only a restart opens a new log",
                "batches are refused until the server is restarted, which opens a new write-ahead log"),
        TAKEN("another server opened the session store's file after its lock file was removed under this one: only a"
                + " restart of this one, once the other stopped, writes the file again",
                "batches are refused until this server is restarted, once the other one is stopped"),
        UNWRITABLE("the session store's file cannot be written (read-only, or an I/O error): it is tried again"
                + " every second",
                "batches are refused until it can: make the file writable again (chattr -i, chmod u+w), or see the"
                        + " system's log for an I/O error; it is tried again every second"),
        LOCKED("the session store's file is locked by another process (a write transaction held open): it writes"
                + " again once the lock is let go, tried every second",
                "batches are refused while another process holds the file's write lock: end that process's"
                        + " transaction (an sqlite3 shell, a backup tool), and it resumes by itself");

        /** What readiness says. */
        final String reason;
        /** What the log line of the stop says after its cause: what is refused, and what an operator may do. */
        final String remedy;

        Stop(String reason, String remedy) {
            this.reason = reason;
            this.remedy = remedy;
        }
    }

    /**
     * Fails {@code jobs} with what stopped them, saying that the store cannot write until it can again. The log
     * never has "writes again" last while the store refuses, yet does not fill up when a disk fills, frees a
     * little and fills again (a small transaction fits, a large one does not): a stop within
     * {@link #WARNING_INTERVAL} of the last warning is said once more, as stops by turns, and then the stops
     * and resumes go unlogged until the store has written for that long without a stop.
     */
    private void refuse(List<Job> jobs, Exception e) {
        stoppedBy(e);
        @Nullable Stop cause = storageFailure(e) ? stop : null; // null: not the storage's, a bug
        long now = System.nanoTime();
        lastRefusalNanos = now;
        if (!failing) {
            failing = true;
            if (byTurns) {
                stopsByTurns++;
            }
        }
        if (!saidFailing) {
            saidFailing = true;
            boolean again = warned && now - lastWarningNanos < WARNING_INTERVAL.toNanos();
            warned = true;
            lastWarningNanos = now;
            String line;
            if (again) {
                byTurns = true;
                stopsByTurns = 0;
                line = "The SQLite session store " + store.file() + " cannot write again (" + e.getMessage()
                        + "); it stops and resumes by turns, and this is not logged again until it has written for a"
                        + " minute without a stop; " + (cause == null ? "batches are refused while it cannot" : cause.remedy);
            } else {
                line = "The SQLite session store " + store.file() + " cannot write (" + e.getMessage() + "); "
                        + (cause == null ? "batches are refused until it can" : cause.remedy);
            }
            if (cause == null) {
                LOG.log(Level.WARNING, line, e); // a bug, whose trace is wanted
            } else {
                // The storage's fault, an operator's to mend: one line, the trace only for whoever debugs.
                LOG.log(Level.WARNING, line);
                LOG.log(Level.DEBUG, "The SQLite session store's write failed", e);
            }
        }
        RecordingFailedException failure = new RecordingFailedException(describe(e), e);
        for (Job job : jobs) {
            job.done.completeExceptionally(failure);
        }
    }

    /**
     * Empties the write-ahead log into the file, and truncates it, once it is larger than the room left on the disk:
     * the log keeps every page written since its last checkpoint, and a checkpoint needs room to copy them, so
     * waiting for the disk to fill would leave no room for the one step that frees it.
     */
    private void checkpointBeforeTheDiskFills() {
        try {
            long log = Files.size(wal);
            if (log > 0 && disk != null && log >= disk.getUsableSpace()) {
                try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("PRAGMA wal_checkpoint(TRUNCATE)")) {
                    r.next(); // busy when a reader still needs the log: tried again after the next commit
                }
            }
        } catch (IOException | SQLException e) {
            // no log file to measure, or no room even so: the next commit tries again, or is refused as before
        }
    }

    private Txn transact(List<Job> jobs) throws SQLException {
        Statements st = statements();
        lockWatch.begin(st.begin);
        holdLockFile(); // before the first write: what this memory holds is the file's only while no other server writes
        Txn t = new Txn(st, bounds.clock().millis());
        for (Job job : jobs) {
            job.apply(t);
        }
        t.finish();
        requireSameFile();
        st.commit.execute();
        return t;
    }

    /**
     * Refuses a commit once the file at the store's path, or its write-ahead log, is no longer the one the
     * connection has open (deleted, or replaced): SQLite would go on writing to the unlinked file, which no restart
     * would find, so nothing is acknowledged until the store is opened again. Makes the lock file again when it was
     * removed, and refuses the commit once another server locked the new one ({@link LockFile#hold()}). Refuses it
     * too while the file cannot be written (an {@code access} check: immutable, or read-only): the commit would reach
     * the log, but its checkpoint never the file.
     */
    private void requireSameFile() throws SQLException {
        @Nullable Object now;
        try {
            now = fileKey(store.file());
        } catch (SQLException e) {
            now = null;
        }
        if (fileKey != null && !fileKey.equals(now)) {
            throw new FileReplacedException("the file " + store.file() + " was removed or replaced while the store had"
                    + " it open; restart the server to open the file at that path", Stop.REPLACED);
        }
        @Nullable Object walNow;
        try {
            walNow = fileKey(wal);
        } catch (SQLException e) {
            walNow = null;
        }
        if (walKey == null) {
            walKey = walNow;
        } else if (!walKey.equals(walNow)) {
            // SQLite would go on appending commits to the log it has open, which no restart reads.
            throw new FileReplacedException("the write-ahead log " + wal + " was removed or replaced while the store"
                    + " had it open; restart the server to open the file at its path", Stop.LOG_REPLACED);
        }
        holdLockFile();
        if (!Files.isWritable(store.file())) {
            // Made immutable (chattr +i) or read-only under the open connection: commits would still reach the
            // write-ahead log, but no checkpoint could copy them into the file, so the log would grow until the disk
            // filled. Refused as SQLite refuses a read-only file.
            throw new SQLException("the file " + store.file() + " cannot be written (immutable or read-only)", null,
                    8 /* SQLITE_READONLY */);
        }
    }

    /**
     * Makes the lock file again when it was removed, and refuses the transaction once another server locked the new
     * one ({@link LockFile#hold()}).
     */
    private void holdLockFile() throws SQLException {
        boolean held;
        try {
            held = store.lockFile.hold();
        } catch (IOException e) {
            throw new SQLException("the lock file " + store.lockFile.path() + " was removed under the store and cannot be"
                    + " made again (" + SqliteSessionStore.reason(e) + "); without it another server could open the file",
                    null, 8 /* SQLITE_READONLY */);
        }
        if (!held) {
            // Another server opened the file after this one's lock file was removed: each would write the file by
            // what its own memory holds, so this one writes nothing more.
            throw new FileReplacedException("another process locked " + store.lockFile.path() + ", made again after the"
                    + " one this store held was removed, and has the file open too; stop one of the two servers",
                    Stop.TAKEN);
        }
    }

    /**
     * The file at the store's path or its write-ahead log is no longer the one the connection has open, or another
     * server locked the lock file made again ({@code stop} says which): a storage failure no retry ends.
     */
    private static final class FileReplacedException extends SQLException {
        /** {@link Stop#REPLACED}, {@link Stop#LOG_REPLACED} or {@link Stop#TAKEN}. */
        final Stop stop;

        FileReplacedException(String message, Stop stop) {
            super(message, null, 10 /* SQLITE_IOERR */);
            this.stop = stop;
        }
    }

    private static @Nullable FileStore fileStore(Path file) {
        try {
            return Files.getFileStore(file);
        } catch (IOException e) {
            return null;
        }
    }

    /** The file system's key of {@code file} (device and inode), or {@code null} where it gives none. */
    private static @Nullable Object fileKey(Path file) throws SQLException {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            throw new SQLException("cannot read the attributes of " + file + ": " + e.getMessage(), e);
        }
    }

    private Statements statements() throws SQLException {
        if (statements == null) {
            statements = new Statements(c);
        }
        return statements;
    }

    /** Rolls back what is left of a failed transaction, and makes the statements again. */
    private void rollbackAndPrepareAgain() {
        try (Statement s = c.createStatement()) {
            s.execute("ROLLBACK");
        } catch (SQLException ignored) {
            // SQLite rolled it back already (a full disk or an I/O error may)
        }
        if (statements != null) {
            statements.close();
            statements = null;
        }
        recent.rolledBack();
        recent.closeStatements();
        try {
            statements = new Statements(c);
        } catch (SQLException e) {
            LOG.log(Level.DEBUG, "Preparing the store's statements failed; trying again with the next batch", e);
        }
    }

    private static boolean storageFailure(Exception e) {
        if (e instanceof SQLException sql) {
            int primary = sql.getErrorCode() & 0xFF;
            return primary == 13 /* FULL */ || primary == 10 /* IOERR */ || primary == 11 /* CORRUPT */
                    || primary == 26 /* NOTADB */ || primary == 8 /* READONLY */ || primary == 14 /* CANTOPEN */
                    || primary == 7 /* NOMEM */ || primary == 5 /* BUSY */;
        }
        return false;
    }

    /** What failed, in words a producer may be shown. */
    private static String describe(Exception e) {
        if (e instanceof SQLException sql) {
            return switch (sql.getErrorCode() & 0xFF) {
                case 13 -> "the session store's disk is full";
                case 10 -> "the session store's file could not be written";
                case 5 -> "the session store's file is locked by another process";
                default -> "the session store could not write";
            };
        }
        return "the session store could not write";
    }

    /**
     * Hands free pages back to the file system once more than a quarter of the file is free, a bounded round
     * after each commit until it is not; the file shrinks at the next checkpoint.
     */
    private void vacuumIfMostlyFree() {
        try {
            Statements st = statements();
            long pages = StatementSet.single(st.pageCount);
            long free = StatementSet.single(st.freePages);
            vacuuming = free >= 64 && free * 4 > pages;
            if (!vacuuming) {
                return;
            }
            lockWatch.begin(st.begin);
            try (PreparedStatement vacuum = c.prepareStatement("PRAGMA incremental_vacuum")) {
                for (long i = Math.min(free, VACUUM_PAGES_PER_ROUND); i > 0; i--) {
                    vacuum.execute(); // each run hands back one page
                }
            }
            st.commit.execute();
        } catch (SQLException e) {
            rollbackAndPrepareAgain();
            vacuuming = false;
            LOG.log(Level.DEBUG, "Incremental vacuum failed; trying again later", e);
        }
    }

    /**
     * What the bound in bytes holds, as committed: the pages the database uses, times the page size, less the
     * remembered event ids' ({@link #idTableBytes}) and the frozen table's while a fold is under way
     * ({@link RecentRecords#foldAllowance()}).
     */
    long usedBytes() throws SQLException {
        return usedBytes(idOrder.size(), idRowBytes);
    }

    /** {@link #usedBytes()} with {@code idRows} remembered ids whose rows take {@code idRowBytes}. */
    private long usedBytes(long idRows, long idRowBytes) throws SQLException {
        Statements st = statements();
        return Math.max(0, StatementSet.single(st.usedPages) * pageSize - idTableBytes(idRows, idRowBytes) - recent.foldAllowance());
    }

    /** The bytes the remembered ids' table takes, as {@link #idTableBytes} reckons them from what it holds now. */
    long idTableBytes() {
        return idTableBytes(idOrder.size(), idRowBytes);
    }

    /**
     * The bytes of the pages of the remembered ids' table holding {@code rows} rows that take {@code rowBytes} in
     * leaves, reckoned rather than read, so that the bound in bytes costs nothing more per commit: the table is
     * written in rowid order at its end and deleted from its start, so its leaves hold as many whole rows as fit,
     * the one at its start excepted, and a parent's cell per leaf (child page, rowid, pointer) adds a
     * page per few hundred leaves. The bound in bytes leaves these pages out: evicting sessions cannot shrink
     * them, and {@code dedupeMaxIds} and the dedupe window bound them. An id of at most
     * {@link Event#MAX_ID_LENGTH} characters never spills to an overflow page.
     */
    private long idTableBytes(long rows, long rowBytes) {
        long leafRoom = pageSize - 8; // a table leaf's header
        if (rowBytes <= leafRoom) {
            return pageSize; // the root page alone
        }
        long perLeaf = Math.max(1, leafRoom / Math.ceilDiv(rowBytes, rows)); // whole rows of the average size
        long leaves = Math.ceilDiv(rows, perLeaf);
        long parentCell = 2 + 4 + varintLength(nextIdSeq);
        long parents = Math.ceilDiv(leaves * parentCell, pageSize - 12); // an interior page's header
        return (leaves + parents + (parents > 1 ? 1 : 0)) * pageSize;
    }

    /**
     * The bytes a remembered id's row takes in a leaf of its table: the cell (the payload's length, the rowid,
     * the record's header, the id in UTF-8, the time) and the cell's pointer; {@code seq}, the rowid, is kept as
     * NULL in the record.
     */
    private static int idRowBytes(long seq, String id, long atMs) {
        int text = utf8Length(id);
        int header = 1 + 1 + varintLength(2L * text + 13) + 1;
        int payload = header + text + integerBytes(atMs);
        return varintLength(payload) + varintLength(seq) + payload + 2;
    }

    /** The bytes of {@code text} in UTF-8 as the driver encodes it: a lone surrogate becomes '?'. */
    private static int utf8Length(String text) {
        int bytes = 0;
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (ch < 0x80) {
                bytes++;
            } else if (ch < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(ch) && i + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += Character.isSurrogate(ch) ? 1 : 3;
            }
        }
        return bytes;
    }

    /** The bytes of SQLite's variable-length integer for {@code value}, not negative: 7 bits a byte, 9 at most. */
    private static int varintLength(long value) {
        int bytes = 1;
        while (bytes < 9 && (value >>> (7 * bytes)) != 0) {
            bytes++;
        }
        return bytes;
    }

    /** The bytes of a record's integer column holding {@code value}: 0 for 0 and 1, else the least of 1, 2, 3, 4, 6, 8. */
    private static int integerBytes(long value) {
        if (value == 0 || value == 1) {
            return 0;
        }
        long magnitude = value < 0 ? ~value : value; // the bits besides the sign
        return magnitude < 1L << 7 ? 1 : magnitude < 1L << 15 ? 2 : magnitude < 1L << 23 ? 3
                : magnitude < 1L << 31 ? 4 : magnitude < 1L << 47 ? 6 : 8;
    }

    void close() {
        if (recent.holdsRows()) {
            recent.foldAll(); // a store closed cleanly leaves every record in record
        }
        recent.closeStatements();
        if (statements != null) {
            statements.close();
        }
        try {
            c.close();
        } catch (SQLException e) {
            if (storageFailure(e)) {
                LOG.log(Level.WARNING, "Closing the SQLite session store " + store.file() + " failed ("
                        + e.getMessage() + ")");
                LOG.log(Level.DEBUG, "Closing the SQLite session store " + store.file() + " failed", e);
            } else {
                LOG.log(Level.WARNING, "Closing the SQLite session store " + store.file() + " failed", e);
            }
        }
    }

    /** The writer's prepared statements. */
    private static final class Statements extends StatementSet {
        final PreparedStatement begin;
        final PreparedStatement commit;
        final PreparedStatement insertSession;
        final PreparedStatement updateSession;
        final PreparedStatement upsertPair;
        final PreparedStatement deleteRecords;
        final PreparedStatement dropRecords;
        final PreparedStatement countScores;
        final PreparedStatement deletePairs;
        final PreparedStatement deleteSession;
        final PreparedStatement insertId;
        final PreparedStatement upsertScoreName;
        final PreparedStatement insertScore;
        final PreparedStatement trimScores;
        final PreparedStatement deleteScores;
        final PreparedStatement deleteScoreNames;
        final PreparedStatement forgetIds;
        final PreparedStatement pageCount;
        final PreparedStatement freePages;
        final PreparedStatement usedPages;
        /** Writes the header's application id again, the same: a commit of one page, to learn whether one goes through. */
        final PreparedStatement rewriteHeader;

        Statements(Connection c) throws SQLException {
            try {
                begin = prepare(c, "BEGIN IMMEDIATE");
                commit = prepare(c, "COMMIT");
                insertSession = prepare(c, "INSERT INTO session (key, id, last_active_ms, next_seq, records)"
                        + " VALUES (?, ?, ?, ?, ?)");
                updateSession = prepare(c, "UPDATE session SET last_active_ms = ?, next_seq = ?, records = ? WHERE key = ?");
                upsertPair = prepare(c, "INSERT OR REPLACE INTO pair (session, ordinal, label, successes, failures,"
                        + " tool_calls, duration_ms, max_duration_ms, prompt_tokens, max_prompt_tokens, completion_tokens,"
                        + " max_completion_tokens, total_tokens, cached_tokens, reasoning_tokens, priced_requests,"
                        + " cost_pico_usd, no_usage_requests) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
                upsertScoreName = prepare(c, "INSERT OR REPLACE INTO score_name (session, ordinal, name, count, sum, min,"
                        + " max) VALUES (?, ?, ?, ?, ?, ?, ?)");
                insertScore = prepare(c, "INSERT INTO score (session, correlation_id, name, value, comment, at_ms)"
                        + " VALUES (?, ?, ?, ?, ?, ?)");
                trimScores = prepare(c, TRIM_SCORES);
                deleteScores = prepare(c, "DELETE FROM score WHERE session = ?");
                deleteScoreNames = prepare(c, "DELETE FROM score_name WHERE session = ?");
                deleteRecords = prepare(c, "DELETE FROM record WHERE session = ?");
                dropRecords = prepare(c, "DELETE FROM record WHERE session = ? AND seq < ?");
                countScores = prepare(c, "SELECT count(*) FROM score WHERE session = ?");
                deletePairs = prepare(c, "DELETE FROM pair WHERE session = ?");
                deleteSession = prepare(c, "DELETE FROM session WHERE key = ?");
                insertId = prepare(c, "INSERT INTO applied_event (seq, id, at_ms) VALUES (?, ?, ?)");
                forgetIds = prepare(c, "DELETE FROM applied_event WHERE seq <= ?");
                pageCount = prepare(c, "PRAGMA page_count");
                freePages = prepare(c, "PRAGMA freelist_count");
                usedPages = prepare(c, "SELECT page_count - freelist_count FROM pragma_page_count, pragma_freelist_count");
                rewriteHeader = prepare(c, "PRAGMA application_id = " + Schema.APPLICATION_ID);
            } catch (SQLException e) {
                close();
                throw e;
            }
        }
    }

    /** One transaction's changes, published to the store's rows once it committed. */
    final class Txn {
        final long now;
        private final Statements st;
        /** The sessions this transaction touched or deleted, by id: the latest life of each. */
        private final HashMap<String, Working> touched = new HashMap<>();
        /** Sessions held once this transaction commits. */
        private int live = store.rows.size();
        private final HashMap<String, Long> newIds = new HashMap<>();
        private final List<AppliedId> newIdOrder = new ArrayList<>();
        /** The bytes the rows of {@link #newIdOrder} take, and those of the ids this transaction forgets. */
        private long newIdBytes;
        private long forgottenIdBytes;
        private int forgottenIds;
        private boolean wroteSessions;
        /** Ids numbered up to this one are forgotten by this transaction. */
        private long forgetThrough;
        private long capacityEvictions;
        private long idleEvictions;
        private long memoryEvictions;
        private long overflows;
        int removedFromFile;
        /** Whether the session left alone past the bound in bytes dropped records or scores ({@link #shrink}). */
        boolean gaveRoomBack;
        /** Rows this transaction adds to the recent records' current table, less those it deletes there. */
        long recentDelta;
        /** The starts, ends and sessions leaving of this transaction, in order, counted once it committed. */
        private final List<InFlightChange> inFlightChanges = new ArrayList<>();
        /** Whether the transaction is an idle sweep, which also drops the starts the idle timeout old once committed. */
        private boolean sweepsInFlight;

        Txn(Statements st, long now) {
            this.st = st;
            this.now = now;
            long cutoff = now - bounds.dedupeWindow().toMillis();
            for (AppliedId id : idOrder) {
                if (id.atMs() > cutoff) {
                    break;
                }
                forgetThrough = id.seq();
            }
        }

        /**
         * Applies one event; {@code false} when its id was applied within the dedupe window.
         *
         * @param lines where to add the per-request log lines, or {@code null} when they are off
         */
        boolean apply(Event event, @Nullable List<String[]> lines) throws SQLException {
            String eventId = event.eventId();
            if (eventId != null) {
                Long seq = idSeqs.get(eventId);
                if ((seq != null && seq > forgetThrough) || newIds.containsKey(eventId)) {
                    return false;
                }
                AppliedId id = AppliedId.of(nextIdSeq++, eventId, now);
                newIds.put(eventId, id.seq());
                newIdOrder.add(id);
                newIdBytes += id.bytes();
                st.insertId.setLong(1, id.seq());
                st.insertId.setString(2, eventId);
                st.insertId.setLong(3, now);
                st.insertId.addBatch();
            }
            switch (event) {
                case LlmRequestStarted e -> {
                    Working w = working(e.sessionId());
                    w.touch(now);
                    inFlightChanges.add(new InFlightChange(w.key, catalog.model(e.model()), true, -1));
                    if (lines != null) {
                        lines.add(new String[] {"LLM request started for session {0}", e.sessionId()});
                    }
                }
                case LlmRequestCompleted e -> {
                    Working w = working(e.sessionId());
                    ModelCatalog.Model model = catalog.model(e.model());
                    inFlightChanges.add(new InFlightChange(w.key, model, false, e.durationMs()));
                    long cost = model.costPicoUsd(e);
                    Pair pair = w.pair(model.label());
                    pair.totals().completed(e, cost);
                    boolean usage = e.hasUsage();
                    w.add(new Pending(e.timestamp().toEpochMilli(), e.model(), e.durationMs(),
                            e.hasTimeToFirstToken() ? e.timeToFirstTokenMs() : null, usage ? e.promptTokens() : 0,
                            usage ? e.completionTokens() : 0, usage ? e.totalTokens() : 0, e.cachedTokens(),
                            e.reasoningTokens(), SUCCESS | (e.hasToolCalls() ? TOOL_CALLS : 0) | (usage ? 0 : NO_USAGE)
                                    | (e.hasReportedCost() ? COST_REPORTED : 0),
                            null, cost >= 0 ? cost : null, e.provider(), null, null, e.correlationId(),
                            Attributes.encode(e.attributes())), now);
                    if (model.overflowed(pair.label())) {
                        overflows++;
                    }
                    if (lines != null) {
                        lines.add(new String[] {"LLM request completed for session {0}: {1}ms, {2}",
                                e.sessionId(), String.valueOf(e.durationMs()), e.hasUsage() ? e.totalTokens() + " tokens" : "no token usage"});
                        lines.add(w.totalsLine());
                    }
                }
                case LlmRequestFailed e -> {
                    Working w = working(e.sessionId());
                    ModelCatalog.Model model = catalog.model(e.model());
                    inFlightChanges.add(new InFlightChange(w.key, model, false, e.hasDuration() ? e.durationMs() : -1));
                    Pair pair = w.pair(model.label());
                    pair.totals().failed();
                    w.add(new Pending(e.timestamp().toEpochMilli(), e.model(), e.hasDuration() ? e.durationMs() : 0L,
                            null, 0, 0, 0, 0, 0, NO_USAGE, SessionStore.keptError(e.error()), null, e.provider(),
                            e.errorType(), e.httpStatus(), e.correlationId(), Attributes.encode(e.attributes())), now);
                    if (model.overflowed(pair.label())) {
                        overflows++;
                    }
                    if (lines != null) {
                        String error = e.error().length() > 200 ? e.error().substring(0, 200) + "…" : e.error();
                        lines.add(new String[] {"LLM request failed for session {0}: {1}", e.sessionId(), error});
                        lines.add(w.totalsLine());
                    }
                }
                case LlmRequestScored e -> working(e.sessionId()).score(e, now);
                case GenericEvent e -> {
                    // Not a session's request: nothing to keep but its event id.
                }
            }
            return true;
        }

        /** Deletes the session; {@code false} when the store does not hold it. */
        boolean clear(String sessionId) throws SQLException {
            Working w = existing(sessionId);
            if (w == null) {
                return false;
            }
            remove(w);
            return true;
        }

        /**
         * Deletes the session when its committed row's revision meets {@code condition} and this transaction has not
         * touched it; called first in its transaction, so that the committed row is the session as it stands.
         */
        boolean clearIf(String sessionId, Predicate<String> condition) throws SQLException {
            Row row = store.rows.get(sessionId);
            return row != null && !touched.containsKey(sessionId)
                    && condition.test(row.revision(bounds.maxRecordsPerSession())) && clear(sessionId);
        }

        /** Deletes at most {@code most} of the sessions idle for longer than the idle timeout; returns how many. */
        int evictIdle(int most) throws SQLException {
            sweepsInFlight = true;
            long cutoff = now - bounds.idleTimeout().toMillis();
            List<String> idle = new ArrayList<>();
            for (Row row : store.rows.values()) {
                if (idle.size() >= most) {
                    break;
                }
                Working w = touched.get(row.id());
                long lastActive = w == null ? row.lastActiveMs() : (w.removed ? Long.MAX_VALUE : w.lastActiveMs);
                if (lastActive < cutoff) {
                    idle.add(row.id());
                }
            }
            for (String id : idle) {
                Working w = existing(id);
                if (w != null) {
                    remove(w);
                    idleEvictions++;
                }
            }
            return idle.size();
        }

        /** The session's working copy, made from its committed row, or a new session. */
        private Working working(String sessionId) {
            Working w = existing(sessionId);
            if (w == null) {
                w = new Working(nextKey++, sessionId, now);
                touched.put(sessionId, w);
                live++;
            }
            return w;
        }

        private @Nullable Working existing(String sessionId) {
            Working w = touched.get(sessionId);
            if (w != null) {
                return w.removed ? null : w;
            }
            Row row = store.rows.get(sessionId);
            if (row == null) {
                return null;
            }
            w = new Working(row);
            touched.put(sessionId, w);
            return w;
        }

        private void remove(Working w) throws SQLException {
            if (w.inFile) {
                st.deleteRecords.setLong(1, w.key);
                st.deleteRecords.executeUpdate();
                recentDelta -= recent.remove(w.key);
                st.deletePairs.setLong(1, w.key);
                st.deletePairs.executeUpdate();
                st.deleteScores.setLong(1, w.key);
                st.deleteScores.executeUpdate();
                st.deleteScoreNames.setLong(1, w.key);
                st.deleteScoreNames.executeUpdate();
                st.deleteSession.setLong(1, w.key);
                st.deleteSession.executeUpdate();
                removedFromFile++;
            }
            w.removed = true;
            inFlightChanges.add(new InFlightChange(w.key, null, false, -1));
            live--;
        }

        /** Whether the transaction wrote to the file: an event id, a session's change or a removal. */
        boolean wrote() {
            return wroteSessions || removedFromFile > 0 || !newIdOrder.isEmpty() || forgottenIds > 0;
        }

        /** Holds the bounds on sessions and ids, writes the touched sessions, then holds the bound in bytes. */
        void finish() throws SQLException {
            if (live > bounds.maxSessions()) {
                for (Working victim : leastRecentlyActive(live - bounds.maxSessions() + evictionBatch - 1)) {
                    remove(victim);
                    capacityEvictions++;
                }
            }
            st.insertId.executeBatch();
            forgetIds();
            boolean updates = false;
            boolean pairs = false;
            boolean records = false;
            boolean scores = false;
            for (Working w : touched.values()) {
                if (!w.removed && w.changed) {
                    w.write();
                    updates |= !w.fresh;
                    pairs = true;
                    records |= !w.pending.isEmpty();
                    scores |= w.scoresOwn;
                }
            }
            if (updates) {
                st.updateSession.executeBatch();
            }
            if (pairs) {
                st.upsertPair.executeBatch();
            }
            wroteSessions = pairs;
            if (records) {
                recent.insert().executeBatch();
            }
            if (scores) {
                st.upsertScoreName.executeBatch();
                st.insertScore.executeBatch();
            }
            for (Working w : touched.values()) {
                if (!w.removed && w.changed) {
                    w.trim();
                }
            }
            holdBytes();
        }

        /** Forgets the ids past the window, and the oldest past the most remembered. */
        private void forgetIds() throws SQLException {
            int remembered = idOrder.size() + newIdOrder.size();
            int forgotten = 0;
            for (AppliedId id : idOrder) {
                if (id.seq() > forgetThrough && remembered - forgotten <= bounds.dedupeMaxIds()) {
                    break;
                }
                forgetThrough = Math.max(forgetThrough, id.seq());
                forgotten++;
                forgottenIdBytes += id.bytes();
            }
            if (forgotten == idOrder.size()) {
                for (AppliedId id : newIdOrder) {
                    if (remembered - forgotten <= bounds.dedupeMaxIds()) {
                        break;
                    }
                    forgetThrough = id.seq();
                    forgotten++;
                    forgottenIdBytes += id.bytes();
                }
            }
            forgottenIds = forgotten;
            if (forgotten > 0) {
                st.forgetIds.setLong(1, forgetThrough);
                st.forgetIds.executeUpdate();
            }
        }

        /**
         * Deletes the least recently active sessions while the pages in use, but the remembered ids' as this
         * transaction leaves them, pass the bound in bytes; the last session left gives room back by itself
         * ({@link #shrink}).
         */
        private void holdBytes() throws SQLException {
            long idRows = idOrder.size() + newIdOrder.size() - forgottenIds;
            long idBytes = idRowBytes + newIdBytes - forgottenIdBytes;
            long used = usedBytes(idRows, idBytes);
            while (used > bounds.maxBytes() && live > 1) {
                long excess = used - bounds.maxBytes();
                long average = Math.max(1, used / live);
                int batch = Math.clamp(excess / average + 1, 1, Math.min(evictionBatch, live - 1));
                List<Working> victims = leastRecentlyActive(batch);
                if (victims.isEmpty()) {
                    break;
                }
                for (Working victim : victims) {
                    remove(victim);
                    memoryEvictions++;
                }
                used = usedBytes(idRows, idBytes);
            }
            if (used > bounds.maxBytes() && live == 1) {
                for (Working last : leastRecentlyActive(1)) {
                    shrink(last, idRows, idBytes, used);
                }
            }
        }

        /**
         * Drops the oldest records of {@code w}, the one session left and larger than the bound in bytes by
         * itself, with its oldest scores of requests in the share they had of the records (a score is shown only
         * with its request's records), then, with one record left, its oldest scores, until the pages in use
         * ({@code used} now) are within the bound or only its newest record and newest score are left; its totals
         * stay. A record dropped leaves the
         * session's served window ({@link Schema#lowestKeptSeq}) and its rows go wherever they are: in
         * {@code record}, in the table being written, in the frozen one not yet folded. Pages in use fall only as
         * pages empty, so the records go in chunks sized by the share of the pages in use to give back, twice as
         * many as the last when that freed nothing, measured again after each.
         */
        private void shrink(Working w, long idRows, long idBytes, long used) throws SQLException {
            long bound = bounds.maxBytes();
            int held = Math.min(w.records, bounds.maxRecordsPerSession());
            int records = held;
            int scores;
            st.countScores.setLong(1, w.key);
            try (ResultSet r = st.countScores.executeQuery()) {
                scores = r.next() ? r.getInt(1) : 0;
            }
            int chunk = 0;
            long before = Long.MAX_VALUE;
            while (used > bound && records > 1) {
                chunk = chunk(records, used, bound, used < before ? 0 : chunk);
                records -= chunk;
                st.dropRecords.setLong(1, w.key);
                st.dropRecords.setLong(2, w.nextSeq - records);
                st.dropRecords.executeUpdate();
                recentDelta -= recent.drop(w.key, w.nextSeq - records);
                // The scores of about as many of the oldest requests go with them, so that the records kept keep theirs.
                int share = (int) Math.max(1, Math.ceilDiv((long) scores * records, held));
                if (share < scores) {
                    scores = trimScores(w, share);
                }
                before = used;
                used = usedBytes(idRows, idBytes);
            }
            if (records != held || scores != w.scoresHeld) {
                w.records = records;
                w.scoresHeld = scores;
                w.changed = true;
                st.updateSession.setLong(1, w.lastActiveMs);
                st.updateSession.setLong(2, w.nextSeq);
                st.updateSession.setInt(3, w.records);
                st.updateSession.setLong(4, w.key);
                st.updateSession.executeUpdate();
                gaveRoomBack = true;
            }
            chunk = 0;
            before = Long.MAX_VALUE;
            while (used > bound && scores > 1) {
                chunk = chunk(scores, used, bound, used < before ? 0 : chunk);
                scores = trimScores(w, scores - chunk);
                w.scoresHeld = scores;
                w.changed = true;
                before = used;
                used = usedBytes(idRows, idBytes);
            }
        }

        /** Keeps the newest {@code kept} scores of requests of {@code w}; returns {@code kept}. */
        private int trimScores(Working w, int kept) throws SQLException {
            st.trimScores.setLong(1, w.key);
            st.trimScores.setInt(2, kept);
            st.trimScores.executeUpdate();
            gaveRoomBack = true;
            return kept;
        }

        /**
         * How many of {@code held} entries to drop next, keeping one: their share of the excess over the bound
         * in the pages in use, or twice {@code last} when the last chunk freed nothing.
         */
        private static int chunk(int held, long used, long bound, int last) {
            long share = Math.ceilDiv((used - bound) * held, used);
            return Math.clamp(Math.max(share, 2L * last), 1, held - 1);
        }

        /**
         * The {@code n} sessions held, touched ones included, with the oldest activity; of sessions active in the same
         * millisecond, the lesser id first, those the listing puts last.
         */
        private List<Working> leastRecentlyActive(int n) {
            PriorityQueue<Candidate> heap = new PriorityQueue<>(n + 1, Candidate.OLDER.reversed());
            for (Row row : store.rows.values()) {
                if (!touched.containsKey(row.id())) {
                    offer(heap, n, new Candidate(row.id(), row.lastActiveMs()));
                }
            }
            for (Working w : touched.values()) {
                if (!w.removed) {
                    offer(heap, n, new Candidate(w.id, w.lastActiveMs));
                }
            }
            List<Working> victims = new ArrayList<>(heap.size());
            for (Candidate candidate : heap) {
                Working w = existing(candidate.id());
                if (w != null) {
                    victims.add(w);
                }
            }
            return victims;
        }

        private static void offer(PriorityQueue<Candidate> heap, int n, Candidate candidate) {
            if (heap.size() < n) {
                heap.add(candidate);
            } else if (n > 0 && Candidate.OLDER.compare(candidate, heap.peek()) < 0) {
                heap.poll();
                heap.add(candidate);
            }
        }

        /** Makes the committed changes visible and counts them. */
        void publish() {
            for (InFlightChange change : inFlightChanges) {
                countInFlight(change, now);
            }
            if (sweepsInFlight) {
                expireInFlight(now);
            }
            for (Working w : touched.values()) {
                if (w.removed) {
                    store.rows.remove(w.id);
                } else if (w.changed) {
                    store.rows.put(w.id, w.row());
                }
            }
            AppliedId oldest;
            while ((oldest = idOrder.peekFirst()) != null && oldest.seq() <= forgetThrough) {
                idOrder.pollFirst();
                idSeqs.remove(oldest.id(), oldest.seq());
                idRowBytes -= oldest.bytes();
            }
            for (AppliedId id : newIdOrder) {
                if (id.seq() > forgetThrough) {
                    idOrder.add(id);
                    idSeqs.put(id.id(), id.seq());
                    idRowBytes += id.bytes();
                }
            }
            store.counted(capacityEvictions, idleEvictions, memoryEvictions, overflows);
        }

        /** One session as this transaction changes it: a copy of its committed row, written at the end. */
        private final class Working {
            final long key;
            final String id;
            long lastActiveMs;
            long nextSeq;
            int records;
            /** The scores of requests the file holds for the session, as written at the end. */
            int scoresHeld;
            Pair[] pairs;
            /** Which pairs are this transaction's copies, to be written. */
            boolean[] own;
            /** Whether the file holds the session's row: it was committed before, or written here. */
            boolean inFile;
            boolean changed;
            boolean removed;
            /** Whether the session is new in this transaction. */
            final boolean fresh;
            /** Records to add, in order; only the last {@code maxRecordsPerSession} are written. */
            final ArrayDeque<Pending> pending = new ArrayDeque<>();
            /** Records added here and dropped at once, past the bound. */
            private int dropped;
            /** The score names' totals; this transaction's copies once {@link #scoresOwn}. */
            List<ScoreTotals> scores;
            boolean scoresOwn;
            /** Scores of requests to add, in order; only the last {@code maxRecordsPerSession} are written. */
            final ArrayDeque<LlmRequestScored> pendingScores = new ArrayDeque<>();

            Working(Row row) {
                key = row.key();
                id = row.id();
                lastActiveMs = row.lastActiveMs();
                nextSeq = row.nextSeq();
                records = row.records();
                scoresHeld = row.scoresHeld();
                pairs = row.pairs().clone();
                own = new boolean[pairs.length];
                scores = row.scores();
                inFile = true;
                fresh = false;
            }

            Working(long key, String id, long now) {
                this.key = key;
                this.id = id;
                this.lastActiveMs = now;
                this.nextSeq = 1;
                this.pairs = new Pair[0];
                this.own = new boolean[0];
                this.scores = List.of();
                this.changed = true;
                this.fresh = true;
            }

            void touch(long now) {
                changed = true;
                lastActiveMs = now;
            }

            /** The pair of {@code label}, this transaction's copy; past the session's own labels, {@code _other}. */
            Pair pair(String label) {
                changed = true;
                for (int i = 0; i < pairs.length; i++) {
                    if (pairs[i].label().equals(label)) {
                        if (!own[i]) {
                            pairs[i] = pairs[i].copy();
                            own[i] = true;
                        }
                        return pairs[i];
                    }
                }
                if (pairs.length >= bounds.maxModelsPerSession() && !label.equals(ModelCatalog.OTHER_LABEL)) {
                    return pair(ModelCatalog.OTHER_LABEL);
                }
                Pair created = new Pair(pairs.length, label);
                pairs = Arrays.copyOf(pairs, pairs.length + 1);
                own = Arrays.copyOf(own, own.length + 1);
                pairs[pairs.length - 1] = created;
                own[own.length - 1] = true;
                return created;
            }

            void add(Pending record, long now) {
                touch(now);
                pending.add(record);
                if (pending.size() > bounds.maxRecordsPerSession()) {
                    pending.pollFirst();
                    dropped++;
                }
            }

            /** Adds a score to its name's totals, and keeps it when it grades a request. */
            void score(LlmRequestScored e, long now) {
                touch(now);
                if (!scoresOwn) {
                    List<ScoreTotals> copies = new ArrayList<>(scores.size() + 1);
                    for (ScoreTotals t : scores) {
                        copies.add(t.copy());
                    }
                    scores = copies;
                    scoresOwn = true;
                }
                ScoreTotals.named(scores, e.name()).add(e.value());
                if (e.correlationId() != null) {
                    pendingScores.add(e);
                    if (pendingScores.size() > bounds.maxRecordsPerSession()) {
                        pendingScores.pollFirst();
                    }
                }
            }

            String[] totalsLine() {
                long requests = 0;
                long tokens = 0;
                for (Pair p : pairs) {
                    requests += p.totals().requests();
                    tokens += p.totals().totalTokens();
                }
                return new String[] {"Session {0} metrics updated: {1} requests, {2} tokens", id,
                        String.valueOf(requests), String.valueOf(tokens)};
            }

            /** Writes the session's row, and adds its changed pairs and new records to the statements' batches. */
            void write() throws SQLException {
                long firstSeq = nextSeq + dropped;
                nextSeq = firstSeq + pending.size();
                records = Math.min(records + pending.size(), bounds.maxRecordsPerSession());
                if (!inFile) {
                    st.insertSession.setLong(1, key);
                    st.insertSession.setString(2, id);
                    st.insertSession.setLong(3, lastActiveMs);
                    st.insertSession.setLong(4, nextSeq);
                    st.insertSession.setInt(5, records);
                    st.insertSession.executeUpdate();
                    inFile = true;
                } else {
                    st.updateSession.setLong(1, lastActiveMs);
                    st.updateSession.setLong(2, nextSeq);
                    st.updateSession.setInt(3, records);
                    st.updateSession.setLong(4, key);
                    st.updateSession.addBatch();
                }
                for (int i = 0; i < pairs.length; i++) {
                    if (own[i]) {
                        bindPair(pairs[i]);
                        st.upsertPair.addBatch();
                    }
                }
                if (!pending.isEmpty()) {
                    PreparedStatement insert = recent.insert();
                    long seq = firstSeq;
                    for (Pending p : pending) {
                        p.bind(insert, key, seq++);
                        insert.addBatch();
                    }
                    recentDelta += pending.size();
                    recent.adding(key, firstSeq);
                }
                if (scoresOwn) {
                    for (int i = 0; i < scores.size(); i++) {
                        ScoreTotals t = scores.get(i);
                        PreparedStatement u = st.upsertScoreName;
                        u.setLong(1, key);
                        u.setInt(2, i);
                        u.setString(3, t.name());
                        u.setLong(4, t.count());
                        u.setDouble(5, t.sum());
                        u.setDouble(6, t.min());
                        u.setDouble(7, t.max());
                        u.addBatch();
                    }
                    if (!pendingScores.isEmpty()) { // trim() then keeps the newest as many as the bound on records
                        scoresHeld = (int) Math.min((long) scoresHeld + pendingScores.size(), bounds.maxRecordsPerSession());
                    }
                    for (LlmRequestScored e : pendingScores) {
                        PreparedStatement insert = st.insertScore;
                        insert.setLong(1, key);
                        insert.setString(2, e.correlationId());
                        insert.setString(3, e.name());
                        insert.setDouble(4, e.value());
                        insert.setString(5, e.comment());
                        insert.setLong(6, e.timestamp().toEpochMilli());
                        insert.addBatch();
                    }
                }
            }

            /** Deletes the oldest records, and the oldest scores of requests, past the bound. */
            void trim() throws SQLException {
                if (!pendingScores.isEmpty()) {
                    st.trimScores.setLong(1, key);
                    st.trimScores.setInt(2, bounds.maxRecordsPerSession());
                    st.trimScores.executeUpdate();
                }
                recentDelta -= recent.trim(key, nextSeq - records);
            }

            private void bindPair(Pair p) throws SQLException {
                PreparedStatement u = st.upsertPair;
                u.setLong(1, key);
                u.setInt(2, p.ordinal());
                u.setString(3, p.label());
                int column = 4;
                for (PairTotals.Figure figure : PairTotals.Figure.values()) {
                    u.setLong(column++, p.totals().get(figure));
                }
            }

            Row row() {
                return new Row(key, id, lastActiveMs, nextSeq, records, scoresHeld, pairs,
                        scoresOwn ? List.copyOf(scores) : scores);
            }
        }
    }

    /** Counts one committed start, end or session leaving, at {@code now}, in the store's requests in flight. */
    private void countInFlight(InFlightChange change, long now) {
        if (change.model() == null) {
            InFlightRequests.Session left = inFlightByKey.remove(change.key());
            if (left != null) {
                store.inFlight.left(left);
            }
        } else if (change.start()) {
            store.inFlight.started(inFlightByKey.computeIfAbsent(change.key(), key -> new InFlightRequests.Session()),
                    change.model(), now);
        } else {
            InFlightRequests.Session session = inFlightByKey.get(change.key());
            if (session != null) {
                store.inFlight.ended(session, change.model(), now, change.durationMs());
                if (session.isEmpty()) {
                    inFlightByKey.remove(change.key());
                }
            }
        }
    }

    /**
     * Drops, in every session with requests in flight, the starts the idle timeout old at {@code now}
     * ({@link InFlightRequests#expire}), so that a session that stays active sheds a start whose end never came.
     */
    private void expireInFlight(long now) {
        Iterator<InFlightRequests.Session> sessions = inFlightByKey.values().iterator();
        while (sessions.hasNext()) {
            InFlightRequests.Session session = sessions.next();
            store.inFlight.expire(session, now);
            if (session.isEmpty()) {
                sessions.remove();
            }
        }
    }

    /**
     * A start ({@code start}) or an end of a request of {@code model} in the session of {@code key}, or that session
     * leaving the store ({@code model} null); an end says how long its call ran, {@code durationMs}, or -1.
     */
    private record InFlightChange(long key, ModelCatalog.@Nullable Model model, boolean start, long durationMs) {
    }

    /** A session that may be evicted, with its activity as read once. */
    private record Candidate(String id, long lastActiveMs) {
        /** The less recently active first; of sessions active in the same millisecond, the lesser id. */
        static final Comparator<Candidate> OLDER =
                Comparator.comparingLong(Candidate::lastActiveMs).thenComparing(Candidate::id, SessionStore::compareIds);
    }

    /**
     * An event id as remembered: its number, in the order ids were applied, when it was applied, and the bytes
     * its row takes ({@link #idRowBytes}).
     */
    private record AppliedId(long seq, String id, long atMs, int bytes) {

        static AppliedId of(long seq, String id, long atMs) {
            return new AppliedId(seq, id, atMs, idRowBytes(seq, id, atMs));
        }
    }

    /** A request record waiting to be written. */
    private record Pending(long atMs, String model, long durationMs, @Nullable Long firstTokenMs, int prompt,
                           int completion, int total, int cached, int reasoning, long flags, @Nullable String error,
                           @Nullable Long costPicoUsd, @Nullable String provider, @Nullable ErrorType errorType,
                           @Nullable Integer httpStatus, @Nullable String correlationId, @Nullable String attributes) {

        void bind(PreparedStatement insert, long session, long seq) throws SQLException {
            insert.setLong(1, session);
            insert.setLong(2, seq);
            insert.setLong(3, atMs);
            insert.setString(4, model);
            insert.setLong(5, durationMs);
            if (firstTokenMs == null) {
                insert.setNull(6, Types.INTEGER);
            } else {
                insert.setLong(6, firstTokenMs);
            }
            insert.setInt(7, prompt);
            insert.setInt(8, completion);
            insert.setInt(9, total);
            insert.setInt(10, cached);
            insert.setInt(11, reasoning);
            insert.setLong(12, flags);
            insert.setString(13, error);
            if (costPicoUsd == null) {
                insert.setNull(14, Types.INTEGER);
            } else {
                insert.setLong(14, costPicoUsd);
            }
            insert.setString(15, provider);
            insert.setString(16, errorType == null ? null : errorType.wireName());
            if (httpStatus == null) {
                insert.setNull(17, Types.INTEGER);
            } else {
                insert.setInt(17, httpStatus);
            }
            insert.setString(18, correlationId);
            insert.setString(19, attributes);
        }
    }
}
