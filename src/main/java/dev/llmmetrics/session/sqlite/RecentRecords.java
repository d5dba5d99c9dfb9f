package dev.llmmetrics.session.sqlite;

import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The records of recent commits, and their fold into {@code record}; used by the store's writer thread only.
 *
 * <p>A commit appends its records to one of two tables, {@code recent_record_0} and {@code recent_record_1}, in
 * the order they come, at the table's end: a commit writes those pages and the pages of a small index on
 * (session, seq), far fewer than the page per session it touched that writing them into {@code record}, whose
 * large index keeps each session's records together, takes. Once the table being written holds {@code foldAt}
 * rows, writing turns to the other table and this one is frozen: after each later commit a slice of its sessions
 * (or more, to keep pace) is copied into {@code record}, each session's records in one run at the table's end and
 * its index's page written once for all of them, and their records past the bound are deleted, in a transaction
 * of its own; the last slice empties the table whole, so until then the rows it copied are held twice. A row that
 * {@code record} holds already (copied by a fold whose table a stopped process did not get to empty) is skipped;
 * one copied again after its session's trim deleted it is deleted again by the same transaction's trim. A session's records are those in {@code record} followed by the recent tables' rows
 * numbered after the last of them ({@link #readSql}), so a row copied and not yet deleted is read once. A session
 * that gives room back by itself ({@link #drop}) has its oldest rows deleted from both tables, the frozen one
 * not yet folded included.
 *
 * <p>A fold that fails (a full disk) leaves the rows where they are, read just the same, and is tried again
 * after the next commit; the writer says so once, and again once folds succeed. A process stopped in the middle
 * of a fold leaves rows in both tables, and which was frozen is not known: both are folded whole, in one
 * transaction, before the writer's first commit, or, should that fail, after each commit until it succeeds, the
 * new records going to the first table meanwhile.
 */
final class RecentRecords {

    private static final Logger LOG = System.getLogger(SqliteSessionStore.class.getName());

    /** Rows of the table being written past which it is frozen and folded. */
    static final int FOLD_AT = 32_768;
    /** Sessions one fold transaction copies, so that it never holds the writer long. */
    static final int SLICE_SESSIONS = 128;
    static final List<String> TABLES = List.of("recent_record_0", "recent_record_1");
    /** Every table that holds records: {@code record} and the recent ones. */
    static final List<String> RECORD_TABLES = List.of("record", TABLES.get(0), TABLES.get(1));

    private final Connection c;
    private final int foldAt;
    private final int maxRecordsPerSession;
    /** The table commits append to: 0 or 1. */
    private int current;
    /** Its rows, as committed; both tables' while they are mixed. */
    private long currentRows;
    /** The sessions of the frozen table still to fold, by slice, in key order; empty when it is empty. */
    private final ArrayDeque<long[]> slices = new ArrayDeque<>();
    /**
     * The bytes of the frozen table's pages and its index's, as it was frozen, less what deleting rows there has
     * freed since, as committed.
     */
    private long frozenBytes;
    /** The bytes the transaction under way freed in the frozen table, while a fold is under way. */
    private long frozenFreed;
    /** How many slices the frozen table had when it was frozen: the fold keeps pace with the current table. */
    private int sliceCount;
    /** Both tables hold rows and which was frozen is not known: they are folded together. */
    private boolean mixed;
    /** Whether the last fold failed: said once, and again once a fold succeeds. */
    private boolean failing;
    /**
     * The lowest seq each session may have in the current table, as committed, for the sessions written there
     * since it was last frozen, so that a session past its bound has its oldest rows there deleted at once.
     */
    private final HashMap<Long, Long> lowestSeq = new HashMap<>();
    /** The changes of the transaction under way to {@link #lowestSeq}; {@link #GONE} for a session deleted. */
    private final HashMap<Long, Long> lowestSeqChanges = new HashMap<>();
    private static final long GONE = Long.MAX_VALUE;
    private @Nullable Statements statements;
    /** Begins the folds' transactions ({@link LockWatch}). */
    private final LockWatch lockWatch;

    /** Finds which tables hold rows: an empty one is written, one holding rows is frozen, or both are mixed. */
    RecentRecords(Connection c, int foldAt, int maxRecordsPerSession, LockWatch lockWatch) throws SQLException {
        this.lockWatch = lockWatch;
        this.c = c;
        this.foldAt = foldAt;
        this.maxRecordsPerSession = maxRecordsPerSession;
        long[] rows = new long[2];
        try (Statement s = c.createStatement()) {
            for (int t = 0; t < 2; t++) {
                try (ResultSet r = s.executeQuery("SELECT count(*) FROM " + TABLES.get(t))) {
                    rows[t] = r.next() ? r.getLong(1) : 0;
                }
            }
        }
        if (rows[0] > 0 && rows[1] > 0) {
            mixed = true;
            currentRows = rows[0] + rows[1];
        } else if (rows[0] > 0) {
            freeze(0);
        } else if (rows[1] > 0) {
            freeze(1);
        }
    }

    /**
     * A query of a session's records in seq order: {@code key} and {@code lowestSeq} are SQL expressions of the
     * session's key and of the lowest seq it keeps, the columns are {@code columns}.
     */
    static String readSql(String columns, String key, String lowestSeq) {
        StringBuilder sql = new StringBuilder("WITH low AS (SELECT max(" + lowestSeq + ", coalesce((SELECT max(seq) + 1"
                + " FROM record WHERE session = " + key + "), 0)) AS seq_from) SELECT " + columns + " FROM record"
                + " WHERE session = " + key + " AND seq >= " + lowestSeq);
        for (String table : TABLES) {
            sql.append(" UNION ALL SELECT ").append(columns).append(" FROM ").append(table)
                    .append(", low WHERE session = ").append(key).append(" AND seq >= low.seq_from");
        }
        return sql.append(" ORDER BY seq").toString();
    }

    /** The statement to which a commit adds its records, in the order of {@link Schema#RECORD_NAMES}. */
    PreparedStatement insert() throws SQLException {
        return statements().insert[current];
    }

    /** Notes that the transaction under way adds records of the session, numbered from {@code firstSeq} on. */
    void adding(long key, long firstSeq) {
        if (lowestSeq(key) == null) {
            lowestSeqChanges.put(key, firstSeq);
        }
    }

    /** Deletes the session's rows of the current table numbered below {@code floor}; returns how many. */
    int trim(long key, long floor) throws SQLException {
        Long lowest = lowestSeq(key);
        if (lowest == null || lowest >= floor) {
            return 0;
        }
        PreparedStatement trim = statements().trim[current];
        trim.setLong(1, key);
        trim.setLong(2, floor);
        int deleted = trim.executeUpdate();
        lowestSeqChanges.put(key, floor);
        return deleted;
    }

    private @Nullable Long lowestSeq(long key) {
        Long changed = lowestSeqChanges.get(key);
        return changed != null ? changed : lowestSeq.get(key);
    }

    /** Deletes every recent row of the session; returns how many the current table held. */
    int remove(long key) throws SQLException {
        Statements st = statements();
        int deleted = 0;
        for (int t = 0; t < 2; t++) {
            st.remove[t].setLong(1, key);
            int n = deleteIn(t, st.remove[t]);
            if (t == current) {
                deleted = n;
            }
        }
        lowestSeqChanges.put(key, GONE);
        return deleted;
    }

    /**
     * Deletes the session's rows numbered below {@code floor} in both tables, the frozen one not yet folded
     * included, for a session that gives room back by itself; returns how many the current table held.
     */
    int drop(long key, long floor) throws SQLException {
        Statements st = statements();
        int deleted = 0;
        for (int t = 0; t < 2; t++) {
            st.trim[t].setLong(1, key);
            st.trim[t].setLong(2, floor);
            int n = deleteIn(t, st.trim[t]);
            if (t == current) {
                deleted = n;
            }
        }
        Long lowest = lowestSeq(key);
        if (lowest != null && lowest < floor) {
            lowestSeqChanges.put(key, floor);
        }
        return deleted;
    }

    /**
     * Runs {@code delete}, bound, on table {@code t}; returns how many rows it deleted. What it frees in the
     * frozen table while a fold is under way comes off {@link #foldAllowance()}, which stands for rows the fold
     * holds twice: those rows are gone, and the pages they freed no longer count in the pages in use either.
     */
    private int deleteIn(int t, PreparedStatement delete) throws SQLException {
        if (t == current || slices.isEmpty()) {
            return delete.executeUpdate();
        }
        Statements st = statements();
        long before = StatementSet.single(st.usedBytes);
        int deleted = delete.executeUpdate();
        if (deleted > 0) {
            frozenFreed += Math.max(0, before - StatementSet.single(st.usedBytes));
        }
        return deleted;
    }

    /** Forgets what the transaction that failed did. */
    void rolledBack() {
        lowestSeqChanges.clear();
        frozenFreed = 0;
    }

    /**
     * After a commit that changed the current table's rows by {@code delta}: folds the next slice of the frozen
     * table, and more while the share of its slices left passes the share of {@code foldAt} the current table
     * has left, so that the frozen table is empty by the time the current one is due to be frozen; then freezes
     * the current table once it holds {@code foldAt} rows and nothing is left to fold. While folds succeed,
     * neither table holds more than {@code foldAt} rows and one transaction's records.
     */
    void committed(long delta) {
        currentRows += delta;
        frozenBytes -= frozenFreed;
        frozenFreed = 0;
        lowestSeqChanges.forEach((key, lowest) -> {
            if (lowest == GONE) {
                lowestSeq.remove(key);
            } else {
                lowestSeq.put(key, lowest);
            }
        });
        lowestSeqChanges.clear();
        if (mixed) {
            foldAll();
        } else if (!slices.isEmpty()) {
            while (foldSlice() && !slices.isEmpty()
                    && slices.size() * (long) foldAt > Math.max(0, foldAt - currentRows) * sliceCount) {
                // keeping pace: the table being written fills up faster than the frozen one is folded
            }
        }
        if (!mixed && slices.isEmpty() && currentRows >= foldAt) {
            try {
                freeze(current);
            } catch (SQLException e) {
                slices.clear();
                failed("Reading the sessions of the recent records to fold them failed", e);
            }
        }
    }

    /** Folds both tables whole, in one transaction: a store closed cleanly leaves every record in {@code record}. */
    void foldAll() {
        try {
            Statements st = statements();
            lockWatch.begin(st.begin);
            st.foldAll.executeUpdate();
            try (ResultSet r = st.allSessions.executeQuery()) {
                while (r.next()) {
                    trimRecord(st, r.getLong(1));
                }
            }
            st.trimRecord.executeBatch();
            st.clear[0].executeUpdate();
            st.clear[1].executeUpdate();
            st.commit.execute();
            mixed = false;
            slices.clear();
            lowestSeq.clear();
            current = 0;
            currentRows = 0;
            succeeded();
        } catch (SQLException e) {
            failed("Folding the recent records failed", e);
        }
    }

    /** Folds both tables when a stopped process left rows in both; the writer does it before its first commit. */
    void settle() {
        if (mixed) {
            foldAll();
        }
    }

    /**
     * The bytes of the frozen table while a fold is under way, 0 otherwise: the byte bound allows them on top,
     * since the rows the fold copies stay in the table until its last slice empties it, and holding them
     * against the bound would evict sessions for room that the table gives back. What deleting rows there
     * freed since it was frozen comes off, the transaction under way's included.
     */
    long foldAllowance() {
        return slices.isEmpty() ? 0 : Math.max(0, frozenBytes - frozenFreed);
    }

    /** Whether a table holds rows: a fold is still to come. */
    boolean holdsRows() {
        return mixed || !slices.isEmpty() || currentRows > 0;
    }

    /** Closes the statements, after a failure or at the end: they are prepared again at their next use. */
    void closeStatements() {
        if (statements != null) {
            statements.close();
            statements = null;
        }
    }

    /** Makes {@code table} the frozen one, its sessions the slices to fold, and the other the one written. */
    private void freeze(int table) throws SQLException {
        List<Long> keys = new ArrayList<>();
        try (Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT DISTINCT session FROM " + TABLES.get(table) + " ORDER BY session")) {
            while (r.next()) {
                keys.add(r.getLong(1));
            }
        }
        slices.clear();
        for (int from = 0; from < keys.size(); from += SLICE_SESSIONS) {
            List<Long> slice = keys.subList(from, Math.min(keys.size(), from + SLICE_SESSIONS));
            slices.add(slice.stream().mapToLong(Long::longValue).toArray());
        }
        sliceCount = slices.size();
        frozenBytes = tableBytes(TABLES.get(table));
        current = 1 - table;
        currentRows = 0;
        lowestSeq.clear();
    }

    /**
     * The bytes of {@code table}'s pages and its index's, by SQLite's {@code dbstat} table; 0, and so no allowance
     * over the byte bound, from a SQLite built without it.
     */
    private long tableBytes(String table) {
        try (Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ('" + table
                     + "', '" + table + "_of_session') AND aggregate = TRUE")) {
            return r.next() ? r.getLong(1) : 0;
        } catch (SQLException e) {
            LOG.log(Level.DEBUG, "The size of " + table + " could not be read; a fold gets no allowance", e);
            return 0;
        }
    }

    /**
     * Copies the next slice's sessions from the frozen table into {@code record}; the last one empties the table.
     * Returns whether it committed.
     */
    private boolean foldSlice() {
        long[] slice = slices.peekFirst();
        int frozen = 1 - current;
        try {
            Statements st = statements();
            lockWatch.begin(st.begin);
            PreparedStatement fold = st.fold[frozen];
            fold.setLong(1, slice[0]);
            fold.setLong(2, slice[slice.length - 1]);
            fold.executeUpdate();
            for (long key : slice) {
                trimRecord(st, key);
            }
            st.trimRecord.executeBatch();
            if (slices.size() == 1) {
                st.clear[frozen].executeUpdate();
            }
            st.commit.execute();
            slices.pollFirst();
            succeeded();
            return true;
        } catch (SQLException e) {
            failed("Folding the recent records failed", e);
            return false;
        }
    }

    private void trimRecord(Statements st, long key) throws SQLException {
        st.trimRecord.setLong(1, key);
        st.trimRecord.setInt(2, maxRecordsPerSession);
        st.trimRecord.addBatch();
    }

    private void failed(String what, SQLException e) {
        try (Statement s = c.createStatement()) {
            s.execute("ROLLBACK");
        } catch (SQLException ignored) {
            // nothing to roll back, or SQLite rolled it back already
        }
        closeStatements();
        if (!failing) {
            // The storage's failure (a full disk, a lock another process holds), an operator's to mend: one line
            // with its cause, the trace only at DEBUG.
            LOG.log(Level.WARNING, what + " (" + e.getMessage() + "); the records stay where they are, read just the"
                    + " same, and the fold is tried again after each commit");
        }
        LOG.log(Level.DEBUG, what, e);
        failing = true;
    }

    private void succeeded() {
        if (failing) {
            failing = false;
            LOG.log(Level.INFO, "Folding the recent records succeeds again");
        }
    }

    private Statements statements() throws SQLException {
        if (statements == null) {
            statements = new Statements(c);
        }
        return statements;
    }

    /** The statements of the fold, two of a kind where each recent table has its own. */
    private static final class Statements extends StatementSet {
        final PreparedStatement begin;
        final PreparedStatement commit;
        final PreparedStatement[] insert = new PreparedStatement[2];
        final PreparedStatement[] trim = new PreparedStatement[2];
        final PreparedStatement[] remove = new PreparedStatement[2];
        final PreparedStatement[] fold = new PreparedStatement[2];
        final PreparedStatement[] clear = new PreparedStatement[2];
        final PreparedStatement foldAll;
        final PreparedStatement allSessions;
        final PreparedStatement trimRecord;
        /** The bytes of the pages in use. */
        final PreparedStatement usedBytes;

        Statements(Connection c) throws SQLException {
            try {
                begin = prepare(c, "BEGIN IMMEDIATE");
                commit = prepare(c, "COMMIT");
                String names = Schema.RECORD_NAMES;
                for (int i = 0; i < 2; i++) {
                    String table = TABLES.get(i);
                    insert[i] = prepare(c, "INSERT INTO " + table + " (" + names + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
                            + " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
                    trim[i] = prepare(c, "DELETE FROM " + table + " WHERE session = ? AND seq < ?");
                    remove[i] = prepare(c, "DELETE FROM " + table + " WHERE session = ?");
                    fold[i] = prepare(c, "INSERT OR IGNORE INTO record (" + names + ") SELECT " + names + " FROM "
                            + table + " WHERE session BETWEEN ? AND ? ORDER BY session, seq");
                    clear[i] = prepare(c, "DELETE FROM " + table);
                }
                String both = "SELECT " + names + " FROM " + TABLES.get(0) + " UNION ALL SELECT " + names + " FROM "
                        + TABLES.get(1);
                foldAll = prepare(c, "INSERT OR IGNORE INTO record (" + names + ") SELECT " + names + " FROM (" + both
                        + ") ORDER BY session, seq");
                allSessions = prepare(c, "SELECT session FROM " + TABLES.get(0) + " UNION SELECT session FROM "
                        + TABLES.get(1));
                trimRecord = prepare(c, "DELETE FROM record WHERE session = ?1 AND seq < (SELECT "
                        + Schema.lowestKeptSeq("?2") + " FROM session WHERE key = ?1)");
                usedBytes = prepare(c, "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count,"
                        + " pragma_freelist_count, pragma_page_size");
            } catch (SQLException e) {
                close();
                throw e;
            }
        }
    }
}
