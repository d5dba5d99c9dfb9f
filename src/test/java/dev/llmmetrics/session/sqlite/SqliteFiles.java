package dev.llmmetrics.session.sqlite;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

/** What a test reads of a store's SQLite file from outside the store, on a connection of its own. */
public final class SqliteFiles {

    private SqliteFiles() {
    }

    /** The pages the database uses, times the page size, as committed: what {@code store.max.bytes} bounds. */
    public static long pagesInUse(Path file) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT (page_count - freelist_count) * page_size FROM pragma_page_count,"
                     + " pragma_freelist_count, pragma_page_size")) {
            r.next();
            return r.getLong(1);
        }
    }
}
