package dev.llmmetrics.session.sqlite;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.sqlite.SQLiteConfig;

/**
 * The file's layout, and the checks that a file at the store's path is one of its stores before anything is
 * written to it.
 *
 * <pre>
 * session       (key INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, last_active_ms, next_seq, records)
 * pair          (session, ordinal, label, successes, failures, ... no_usage_requests)   PRIMARY KEY (session, ordinal)
 * record        (session, seq, at_ms, model, duration_ms, ... cost_pico_usd, provider, error_type, http_status,
 *                correlation_id, attributes)                                         UNIQUE INDEX (session, seq)
 * recent_record_0, recent_record_1 (the columns of record)                           INDEX (session, seq)
 * applied_event (seq INTEGER PRIMARY KEY, id, at_ms)
 * score         (seq INTEGER PRIMARY KEY, session, correlation_id, name, value, comment, at_ms)
 * score_name    (session, ordinal, name, count, sum, min, max)                        PRIMARY KEY (session, ordinal)
 * </pre>
 *
 * A session's aggregates are the sums of its pairs; its records are numbered by {@code seq} within the
 * session, the most recent {@code maxRecordsPerSession} served, and so are the scores of its requests (by
 * correlation id); its score names' totals are in {@code score_name}. A record's attributes are one text
 * ({@link Attributes}). {@code pair} and {@code score_name} are {@code WITHOUT ROWID}, so that a session's rows
 * sit together. The records' tables are rowid tables indexed by (session, seq): a table {@code WITHOUT ROWID}
 * keeps only about 1 000 bytes of a row on its page and the rest on an overflow page of its own, so a record of
 * 1 to 3 KB (its correlation id, error text and attributes) would take a 4 KiB page more than its size, where a
 * rowid table keeps a row of up to about 4 000 bytes whole on its page. A commit appends its records to a
 * recent table, in the order they come, and {@link RecentRecords} folds them into {@code record}, each
 * session's records of a fold in one run at its end: the three tables keep rows alike, so a record counts the
 * same against the bound in bytes whether folded or not. The header's {@code application_id} marks the file as
 * an llm-metrics store and {@code user_version} gives the layout's version; a file of an older layout is
 * brought to this one ({@link #upgrade}) when the store opens it.
 */
final class Schema {

    /** "LLMs" in the header's application_id: a file without it is not one of ours. */
    static final int APPLICATION_ID = 0x4C4C4D73;
    /** The layout's version in the header's user_version. */
    static final int VERSION = 5;

    /** The tables every layout has; layout 3 adds {@code score} and {@code score_name}, layout 4 the recent records'. */
    static final List<String> TABLES = List.of("session", "pair", "record", "applied_event");

    /** A record's columns, in {@code record} and in {@code recent_record} alike. */
    private static final String RECORD_COLUMNS = "session INTEGER NOT NULL, seq INTEGER NOT NULL, at_ms INTEGER NOT NULL,"
            + " model TEXT NOT NULL, duration_ms INTEGER NOT NULL, first_token_ms INTEGER,"
            + " prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, total_tokens INTEGER NOT NULL,"
            + " cached_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL, flags INTEGER NOT NULL,"
            + " error TEXT, cost_pico_usd INTEGER, provider TEXT, error_type TEXT, http_status INTEGER,"
            + " correlation_id TEXT, attributes TEXT";
    /** The names of {@link #RECORD_COLUMNS} after {@code session}, in their order: what a session's record holds. */
    static final String RECORD_FIELDS = "seq, at_ms, model, duration_ms, first_token_ms, prompt_tokens,"
            + " completion_tokens, total_tokens, cached_tokens, reasoning_tokens, flags, error, cost_pico_usd, provider,"
            + " error_type, http_status, correlation_id, attributes";
    /** The names of {@link #RECORD_COLUMNS}, in their order. */
    static final String RECORD_NAMES = "session, " + RECORD_FIELDS;
    /** The records of recent commits, in the order they were written, in two tables ({@link RecentRecords}). */
    private static final List<String> RECENT_RECORDS = RecentRecords.TABLES.stream()
            .flatMap(table -> Stream.of("CREATE TABLE " + table + " (" + RECORD_COLUMNS + ")",
                    "CREATE INDEX " + table + "_of_session ON " + table + " (session, seq)"))
            .toList();
    private static final String RECORD = "CREATE TABLE record (" + RECORD_COLUMNS + ")";
    private static final String RECORD_INDEX = "CREATE UNIQUE INDEX record_of_session ON record (session, seq)";
    private static final String SCORE = "CREATE TABLE score (seq INTEGER PRIMARY KEY, session INTEGER NOT NULL,"
            + " correlation_id TEXT NOT NULL, name TEXT NOT NULL, value REAL NOT NULL, comment TEXT, at_ms INTEGER NOT NULL)";
    private static final String SCORE_INDEX = "CREATE INDEX score_of_session ON score (session, seq)";
    private static final String SCORE_NAME = "CREATE TABLE score_name (session INTEGER NOT NULL, ordinal INTEGER NOT NULL,"
            + " name TEXT NOT NULL, count INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,"
            + " PRIMARY KEY (session, ordinal)) WITHOUT ROWID";

    private static final List<String> CREATE = Stream.of(List.of(
            "CREATE TABLE session (key INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
                    + " last_active_ms INTEGER NOT NULL, next_seq INTEGER NOT NULL, records INTEGER NOT NULL)",
            "CREATE TABLE pair (session INTEGER NOT NULL, ordinal INTEGER NOT NULL, label TEXT NOT NULL,"
                    + " successes INTEGER NOT NULL, failures INTEGER NOT NULL, tool_calls INTEGER NOT NULL,"
                    + " duration_ms INTEGER NOT NULL, max_duration_ms INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL,"
                    + " max_prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,"
                    + " max_completion_tokens INTEGER NOT NULL, total_tokens INTEGER NOT NULL,"
                    + " cached_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL,"
                    + " priced_requests INTEGER NOT NULL, cost_pico_usd INTEGER NOT NULL,"
                    + " no_usage_requests INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (session, ordinal)) WITHOUT ROWID",
            RECORD,
            RECORD_INDEX,
            "CREATE TABLE applied_event (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, at_ms INTEGER NOT NULL)",
            SCORE,
            SCORE_INDEX,
            SCORE_NAME), RECENT_RECORDS, List.of(
            "PRAGMA application_id = " + APPLICATION_ID,
            "PRAGMA user_version = " + VERSION)).flatMap(List::stream).toList();

    /**
     * What brings a file of each older layout to the next: index 0 takes layout 1 to 2, which added the
     * requests without usage to the pairs and the provider, error type and HTTP status to the records, and
     * marks layout 1's failures (kept with zero tokens) as without usage, as failures are from layout 2 on;
     * index 1 takes layout 2 to 3, which added the correlation id and attributes to the records, and the scores;
     * index 2 takes layout 3 to 4, which added the recent records' tables; index 3 takes layout 4 to 5, whose
     * {@code record} is a rowid table with a unique index on (session, seq) rather than {@code WITHOUT ROWID}: it
     * copies the records into the new table, in session order, in the upgrade's one transaction, so the disk
     * needs room for a second copy of them until it commits.
     */
    private static final List<List<String>> UPGRADES = List.of(List.of(
            "ALTER TABLE pair ADD COLUMN no_usage_requests INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE record ADD COLUMN provider TEXT",
            "ALTER TABLE record ADD COLUMN error_type TEXT",
            "ALTER TABLE record ADD COLUMN http_status INTEGER",
            "UPDATE record SET flags = flags | " + Writer.NO_USAGE + " WHERE flags & " + Writer.SUCCESS + " = 0"),
            List.of(
            "ALTER TABLE record ADD COLUMN correlation_id TEXT",
            "ALTER TABLE record ADD COLUMN attributes TEXT",
            SCORE,
            SCORE_INDEX,
            SCORE_NAME),
            RECENT_RECORDS,
            List.of(
            "ALTER TABLE record RENAME TO record_by_session",
            RECORD,
            "INSERT INTO record (" + RECORD_NAMES + ") SELECT " + RECORD_NAMES + " FROM record_by_session"
                    + " ORDER BY session, seq",
            "DROP TABLE record_by_session",
            RECORD_INDEX));

    /**
     * The SQL expression, over a {@code session} row, of the lowest seq of the records it serves under a bound of
     * {@code maxRecords} (an SQL expression): its newest records, no more than it kept when they were written, so
     * that records kept past an older, lower bound (left to a fold that a stop cut short) stay unserved.
     */
    static String lowestKeptSeq(String maxRecords) {
        return "next_seq - min(records, " + maxRecords + ")";
    }

    /** What {@link #inspect} found at the path. */
    enum Found {
        /** No file, or an empty one: the layout is to be created. */
        NOTHING,
        /** One of our stores, of this layout. */
        STORE,
        /** One of our stores, of an older layout: {@link #upgrade} brings it to this one. */
        OLDER_STORE
    }

    private Schema() {
    }

    /**
     * Looks at the file's header and tables through a read-only connection, so that nothing is written to a
     * file that is not one of our stores: it must be absent, empty, or a store of this layout or an older one.
     * Whether its pages are sound is {@link #quickCheck}'s to say.
     *
     * @throws IllegalArgumentException naming the file and what is wrong with it
     */
    static Found inspect(Path file) {
        if (!Files.exists(file)) {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null && !Files.isDirectory(parent)) {
                throw new IllegalArgumentException("cannot create the SQLite session store " + file
                        + ": its directory does not exist");
            }
            return Found.NOTHING;
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("the SQLite session store " + file + " is not a regular file");
        }
        List<Path> absent = absentSideFiles(file);
        try {
            return check(file);
        } catch (IllegalArgumentException e) {
            for (Path created : absent) {
                try {
                    Files.deleteIfExists(created);
                } catch (IOException ignored) {
                    // left behind, empty
                }
            }
            throw e;
        }
    }

    /**
     * The write-ahead log and shared-memory files beside {@code file} that do not exist yet. SQLite opens them
     * even to read a WAL database: those it creates beside a file that is refused are deleted again.
     */
    static List<Path> absentSideFiles(Path file) {
        return List.of(file.resolveSibling(file.getFileName() + "-wal"), file.resolveSibling(file.getFileName() + "-shm"))
                .stream().filter(p -> !Files.exists(p)).toList();
    }

    private static Found check(Path file) {
        SQLiteConfig config = new SQLiteConfig();
        config.setReadOnly(true);
        try (Connection c = config.createConnection(url(file)); Statement s = c.createStatement()) {
            int applicationId = intPragma(s, "application_id");
            int version = intPragma(s, "user_version");
            Set<String> tables = new HashSet<>();
            try (ResultSet r = s.executeQuery("SELECT name FROM sqlite_schema WHERE type = 'table'")) {
                while (r.next()) {
                    tables.add(r.getString(1));
                }
            }
            if (applicationId == 0 && version == 0 && tables.isEmpty()) {
                return Found.NOTHING;
            }
            if (applicationId != APPLICATION_ID) {
                throw new IllegalArgumentException("the file " + file + " is not an llm-metrics session store: it is "
                        + "an SQLite database of another application; nothing was written to it");
            }
            if (version < 1) {
                throw new IllegalArgumentException("the session store " + file + " has no layout version (user_version "
                        + version + "); nothing was written to it");
            }
            if (version > VERSION) {
                throw new IllegalArgumentException("the session store " + file + " was written by a newer llm-metrics "
                        + "(layout " + version + ", this one reads " + VERSION + "); nothing was written to it");
            }
            List<String> expected = version >= 4
                    ? Stream.concat(TABLES.stream(), RecentRecords.TABLES.stream()).toList() : TABLES;
            if (!tables.containsAll(expected)) {
                throw new IllegalArgumentException("the session store " + file + " lacks its tables " + expected
                        + " (found " + tables + "); nothing was written to it");
            }
            return version < VERSION ? Found.OLDER_STORE : Found.STORE;
        } catch (SQLException e) {
            throw unreadable(file, e);
        }
    }

    /**
     * Reads every page of a store through a read-only connection (SQLite's quick check), so that a damaged
     * file is refused when it is opened rather than served. It reads the whole file, so the store runs it
     * beside its other work of opening.
     *
     * @throws IllegalArgumentException naming the file, when a page is damaged or the file cannot be read
     */
    static void quickCheck(Path file) {
        SQLiteConfig config = new SQLiteConfig();
        config.setReadOnly(true);
        try (Connection c = config.createConnection(url(file)); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("PRAGMA quick_check(1)")) {
            String verdict = r.next() ? r.getString(1).strip().replaceAll("\\s+", " ") : "no answer";
            if (!"ok".equals(verdict)) {
                throw new IllegalArgumentException("the session store " + file + " is corrupt (SQLite's quick "
                        + "check: " + (verdict.length() > 200 ? verdict.substring(0, 200) + "…" : verdict)
                        + "); nothing was written to it");
            }
        } catch (SQLException e) {
            throw unreadable(file, e);
        }
    }

    private static IllegalArgumentException unreadable(Path file, SQLException e) {
        return new IllegalArgumentException("the file " + file + " is not a readable llm-metrics session store: "
                + e.getMessage() + "; nothing was written to it", e);
    }

    /** Creates the tables and marks the header, in one transaction: a file left half made is still empty. */
    static void create(Statement s) throws SQLException {
        s.execute("BEGIN IMMEDIATE");
        try {
            for (String statement : CREATE) {
                s.execute(statement);
            }
            s.execute("COMMIT");
        } catch (SQLException e) {
            try {
                s.execute("ROLLBACK");
            } catch (SQLException ignored) {
                // already rolled back
            }
            throw e;
        }
    }

    /**
     * Brings a store of an older layout to this one, in one transaction; a store of this layout is left as it is.
     *
     * @throws SQLException saying which layouts, when the upgrade failed (a full disk): it was rolled back whole
     */
    static void upgrade(Statement s) throws SQLException {
        int version = intPragma(s, "user_version");
        if (version >= VERSION) {
            return;
        }
        s.execute("BEGIN IMMEDIATE");
        try {
            for (int v = version; v < VERSION; v++) {
                for (String statement : UPGRADES.get(v - 1)) {
                    s.execute(statement);
                }
            }
            s.execute("PRAGMA user_version = " + VERSION);
            s.execute("COMMIT");
        } catch (SQLException e) {
            try {
                s.execute("ROLLBACK");
            } catch (SQLException ignored) {
                // already rolled back
            }
            throw new SQLException("bringing it from layout " + version + " to layout " + VERSION + " failed and was"
                    + " undone, the file keeping its layout and data (" + e.getMessage() + ")", e.getSQLState(),
                    e.getErrorCode(), e);
        }
    }

    static String url(Path file) {
        return "jdbc:sqlite:" + file.toAbsolutePath();
    }

    static int intPragma(Statement s, String pragma) throws SQLException {
        try (ResultSet r = s.executeQuery("PRAGMA " + pragma)) {
            return r.next() ? r.getInt(1) : 0;
        }
    }

    static long longPragma(Statement s, String pragma) throws SQLException {
        try (ResultSet r = s.executeQuery("PRAGMA " + pragma)) {
            return r.next() ? r.getLong(1) : 0;
        }
    }
}
