package dev.llmmetrics.session.sqlite;

import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/** Work for the store's writer, completed once the transaction that applied it committed, or failed. */
abstract class Job {

    final CompletableFuture<@Nullable Object> done = new CompletableFuture<>();
    @Nullable Object result;

    /** Events it applies, for the size of a group. */
    int weight() {
        return 1;
    }

    /** Whether the job must come first in its transaction, where it sees the sessions as last committed. */
    boolean firstInTransaction() {
        return false;
    }

    /** Applies the job in {@code t}, setting {@link #result}; called again should the transaction be retried. */
    abstract void apply(Writer.Txn t) throws SQLException;
}
