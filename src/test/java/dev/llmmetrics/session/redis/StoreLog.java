package dev.llmmetrics.session.redis;

import java.text.MessageFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** What {@link RedisSessionStore} logs while this is open, each line formatted with its level's name in front. */
final class StoreLog extends Handler implements AutoCloseable {

    private final Logger logger = Logger.getLogger(RedisSessionStore.class.getName());
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final List<String> traced = new CopyOnWriteArrayList<>();

    StoreLog() {
        logger.addHandler(this);
    }

    @Override
    public void publish(LogRecord record) {
        String line = record.getLevel() + " " + MessageFormat.format(record.getMessage(), record.getParameters());
        lines.add(line);
        if (record.getThrown() != null && record.getLevel().intValue() >= Level.WARNING.intValue()) {
            traced.add(line);
        }
    }

    /** The lines at WARNING or above so far that were logged with a stack trace. */
    List<String> withTrace() {
        return traced;
    }

    /** The lines at {@code level} or above so far. */
    List<String> atLeast(Level level) {
        return lines.stream().filter(line -> Level.parse(line.substring(0, line.indexOf(' '))).intValue() >= level.intValue())
                .toList();
    }

    void clear() {
        lines.clear();
        traced.clear();
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        logger.removeHandler(this);
    }
}
