package dev.llmmetrics.server;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;

/** A log handler that keeps every record it is given, for a test to read what the server logged. */
final class CapturedLog extends Handler {

    private final List<LogRecord> records = new CopyOnWriteArrayList<>();

    /** The records published so far, in order; a live view. */
    List<LogRecord> records() {
        return records;
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
    }
}
