package dev.llmmetrics.testing;

import java.text.MessageFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Every record one class's logger publishes while this is open, its DEBUG ({@code FINE}) ones too, for a test to
 * read what a store said and whether it said it with a stack trace. Closing restores the logger's level.
 */
public final class LogCapture extends Handler implements AutoCloseable {

    private final Logger logger;
    private final Level levelBefore;
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();

    private LogCapture(Class<?> source) {
        this.logger = Logger.getLogger(source.getName());
        this.levelBefore = logger.getLevel();
        logger.setLevel(Level.ALL);
        logger.addHandler(this);
    }

    /** Captures what {@code source} logs through its {@code System.Logger} (named by the class). */
    public static LogCapture of(Class<?> source) {
        return new LogCapture(source);
    }

    /** The records at {@code level} or above so far, in order. */
    public List<LogRecord> atLeast(Level level) {
        return records.stream().filter(r -> r.getLevel().intValue() >= level.intValue()).toList();
    }

    /** The records below {@code level} so far, in order. */
    public List<LogRecord> below(Level level) {
        return records.stream().filter(r -> r.getLevel().intValue() < level.intValue()).toList();
    }

    /** The records at {@code level} or above so far, each as its level's name, a space and its formatted message. */
    public List<String> lines(Level level) {
        return atLeast(level).stream().map(LogCapture::line).toList();
    }

    /** The lines at WARNING or above so far that were logged with a stack trace. */
    public List<String> withTrace() {
        return atLeast(Level.WARNING).stream().filter(r -> r.getThrown() != null).map(LogCapture::line).toList();
    }

    /** The records at {@code level} or above, each as its line and whether it had a trace, for a failure's message. */
    public String describe(Level level) {
        return String.join("\n", atLeast(level).stream()
                .map(r -> line(r) + (r.getThrown() == null ? "" : " [with the trace of " + r.getThrown() + "]")).toList());
    }

    /** Forgets what was captured so far. */
    public void clear() {
        records.clear();
    }

    private static String line(LogRecord record) {
        return record.getLevel() + " " + MessageFormat.format(record.getMessage(), record.getParameters());
    }

    @Override
    public void publish(LogRecord record) {
        records.add(record);
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
