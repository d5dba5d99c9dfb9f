package dev.llmmetrics.session.sqlite;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** Every record the SQLite store logs while this is open, DEBUG ({@code FINE}) ones too. */
final class StoreLog extends Handler implements AutoCloseable {

    private final Logger logger = Logger.getLogger(SqliteSessionStore.class.getName());
    private final Level levelBefore = logger.getLevel();
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();

    StoreLog() {
        logger.setLevel(Level.ALL);
        logger.addHandler(this);
    }

    @Override
    public void publish(LogRecord record) {
        records.add(record);
    }

    /** The records at {@code level} or above so far, in order. */
    List<LogRecord> atLeast(Level level) {
        return records.stream().filter(r -> r.getLevel().intValue() >= level.intValue()).toList();
    }

    /** The records below {@code level} so far, in order. */
    List<LogRecord> below(Level level) {
        return records.stream().filter(r -> r.getLevel().intValue() < level.intValue()).toList();
    }

    /** The records at {@code level} or above, each as its level and message, for a failure's message. */
    String describe(Level level) {
        return String.join("\n", atLeast(level).stream().map(r -> r.getLevel() + " " + r.getMessage()
                + (r.getThrown() == null ? "" : " [with the trace of " + r.getThrown() + "]")).toList());
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        logger.removeHandler(this);
        logger.setLevel(levelBefore);
    }
}
