package dev.llmmetrics.session.sqlite;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;

/**
 * Begins the writer's transactions ({@code BEGIN IMMEDIATE}, where a write lock another process holds is waited for)
 * and tells readiness, from any thread, whether one has waited longer than {@link Writer#BRIEF_LOCK_MILLIS}: a lock
 * taken between two idle checks is then known while the batch that met it still waits, not only once
 * {@link Writer#LOCK_WAIT_MILLIS} refused it.
 */
final class LockWatch {

    /** When ({@link System#nanoTime()}) the transaction being begun started to; {@code 0} while none is. */
    private volatile long beginningSince;

    /** Executes {@code begin}, noting meanwhile that the writer waits for the write lock. */
    void begin(PreparedStatement begin) throws SQLException {
        long now = System.nanoTime();
        beginningSince = now == 0 ? 1 : now;
        try {
            begin.execute();
        } finally {
            beginningSince = 0;
        }
    }

    /** Whether a transaction has been waiting for the write lock longer than {@link Writer#BRIEF_LOCK_MILLIS}. */
    boolean waitsLong() {
        long since = beginningSince;
        return since != 0 && System.nanoTime() - since > TimeUnit.MILLISECONDS.toNanos(Writer.BRIEF_LOCK_MILLIS);
    }
}
