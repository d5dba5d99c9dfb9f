package dev.llmmetrics.session.sqlite;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Statements prepared on one connection and closed together: the writer closes its sets after a failure, since
 * the driver finalizes a statement that fails with most errors, and prepares them again at their next use.
 */
abstract class StatementSet {

    private final List<PreparedStatement> all = new ArrayList<>();

    /** Prepares one statement of the set. */
    final PreparedStatement prepare(Connection c, String sql) throws SQLException {
        PreparedStatement statement = c.prepareStatement(sql);
        all.add(statement);
        return statement;
    }

    /** The one number {@code query} answers (a count, a pragma), 0 when it answers no row. */
    static long single(PreparedStatement query) throws SQLException {
        try (ResultSet r = query.executeQuery()) {
            return r.next() ? r.getLong(1) : 0;
        }
    }

    /** Closes every statement of the set; one finalized already is skipped. */
    final void close() {
        for (PreparedStatement statement : all) {
            try {
                statement.close();
            } catch (SQLException ignored) {
                // finalized already
            }
        }
    }
}
