package dev.llmmetrics.server.proxy;

import java.util.Arrays;

/**
 * Cuts a stream of server-sent events into whole events as its bytes arrive, each with the blank line that
 * ends it, so that each can be read and passed on, or held back, whole. Lines end in CRLF, LF or CR, as the
 * format allows. An event longer than {@link #MAX_EVENT_BYTES} is passed on in pieces as it arrives, only its
 * first piece read. Not thread-safe.
 */
final class SseEvents {

    /** The longest event held to be read whole. */
    static final int MAX_EVENT_BYTES = 1 << 20;

    /** Receives the stream cut into events. */
    interface Sink {
        /** A whole event, terminating blank line included. */
        void event(byte[] bytes, int offset, int length);

        /**
         * A piece of an event too long to be held: pass it on as it is. The first piece is the event's first
         * {@link #MAX_EVENT_BYTES} bytes, enough to tell what the event carries.
         */
        void piece(byte[] bytes, int offset, int length, boolean first);
    }

    private final Sink sink;
    private byte[] event = new byte[512];
    private int length;
    /** Whether the last byte ended a line, so that a line terminator now ends the event. */
    private boolean lineStart = true;
    /** Whether the last byte was a CR: an LF now belongs to the same line terminator. */
    private boolean afterCr;
    /** Whether the event ended with a CR that an LF may still follow. */
    private boolean endedAtCr;
    /** Whether the current event passed the size bound and goes on in pieces. */
    private boolean oversized;

    SseEvents(Sink sink) {
        this.sink = sink;
    }

    /** Reads the next bytes of the stream, handing on every event they complete. */
    void feed(byte[] bytes, int offset, int count) {
        for (int i = offset; i < offset + count; i++) {
            byte b = bytes[i];
            if (endedAtCr) {
                endedAtCr = false;
                if (b == '\n') {
                    append(b);
                    emit();
                    continue;
                }
                emit();
            }
            if (afterCr && b == '\n') {
                afterCr = false; // the LF of a CRLF: the CR already ended the line
                append(b);
                continue;
            }
            afterCr = b == '\r';
            append(b);
            if (b == '\r' || b == '\n') {
                if (!lineStart) {
                    lineStart = true;
                } else if (b == '\r') {
                    endedAtCr = true;
                } else {
                    emit();
                }
            } else {
                lineStart = false;
            }
        }
    }

    /** The stream ended: hands on what is left of it, whole or not. */
    void end() {
        if (length > 0) {
            emit();
        }
    }

    /**
     * Reads the data of a whole event, its {@code data:} lines joined by line feeds as the format says, as a
     * chat completion chunk. The {@code [DONE]} that ends an OpenAI stream reads as an empty document.
     */
    static OpenAiScanner scanData(byte[] bytes, int offset, int length) {
        OpenAiScanner scanner = new OpenAiScanner();
        int end = offset + length;
        boolean first = true;
        for (int line = offset; line < end; ) {
            int lineEnd = lineEnd(bytes, line, end);
            int value = dataValue(bytes, line, lineEnd);
            if (value >= 0) {
                if (!first) {
                    scanner.feed(LINE_FEED, 0, 1);
                }
                scanner.feed(bytes, value, lineEnd - value);
                first = false;
            }
            line = nextLine(bytes, lineEnd, end);
        }
        scanner.end();
        return scanner;
    }

    /**
     * Whether a whole event is the {@code data: [DONE]} that ends an OpenAI stream: a data line whose value is
     * {@code [DONE]} (trailing blanks allowed), the one sign of a stream's end when the upstream's close ends it.
     */
    static boolean isDone(byte[] bytes, int offset, int length) {
        int end = offset + length;
        for (int line = offset; line < end; ) {
            int lineEnd = lineEnd(bytes, line, end);
            int value = dataValue(bytes, line, lineEnd);
            if (value >= 0) {
                int valueEnd = lineEnd;
                while (valueEnd > value && (bytes[valueEnd - 1] == ' ' || bytes[valueEnd - 1] == '\t')) {
                    valueEnd--;
                }
                if (Arrays.equals(bytes, value, valueEnd, DONE, 0, DONE.length)) {
                    return true;
                }
            }
            line = nextLine(bytes, lineEnd, end);
        }
        return false;
    }

    /** Whether a whole event has a {@code data:} line: without one it carries nothing of a chat completion stream. */
    static boolean hasData(byte[] bytes, int offset, int length) {
        int end = offset + length;
        for (int line = offset; line < end; ) {
            int lineEnd = lineEnd(bytes, line, end);
            if (dataValue(bytes, line, lineEnd) >= 0) {
                return true;
            }
            line = nextLine(bytes, lineEnd, end);
        }
        return false;
    }

    /**
     * The length of the UTF-8 byte order mark an event starts with, else 0: one before a stream's first event is
     * not part of it (the event stream format ignores one leading U+FEFF).
     */
    static int byteOrderMark(byte[] bytes, int offset, int length) {
        return length >= 3 && bytes[offset] == (byte) 0xEF && bytes[offset + 1] == (byte) 0xBB
                && bytes[offset + 2] == (byte) 0xBF ? 3 : 0;
    }

    private static final byte[] DONE = {'[', 'D', 'O', 'N', 'E', ']'};
    private static final byte[] DATA = {'d', 'a', 't', 'a', ':'};
    private static final byte[] LINE_FEED = {'\n'};

    /** Where the line that starts at {@code line} ends: at its CR or LF, or at {@code end}. */
    private static int lineEnd(byte[] bytes, int line, int end) {
        int lineEnd = line;
        while (lineEnd < end && bytes[lineEnd] != '\r' && bytes[lineEnd] != '\n') {
            lineEnd++;
        }
        return lineEnd;
    }

    /** Where the line after the one ending at {@code lineEnd} starts: past its CR LF, CR or LF. */
    private static int nextLine(byte[] bytes, int lineEnd, int end) {
        return lineEnd < end && bytes[lineEnd] == '\r' && lineEnd + 1 < end && bytes[lineEnd + 1] == '\n'
                ? lineEnd + 2 : lineEnd + 1;
    }

    /** Where a {@code data:} line's value starts, past the one space the format allows; -1 for another line. */
    private static int dataValue(byte[] bytes, int line, int lineEnd) {
        if (lineEnd - line < DATA.length || !Arrays.equals(bytes, line, line + DATA.length, DATA, 0, DATA.length)) {
            return -1;
        }
        int value = line + DATA.length;
        return value < lineEnd && bytes[value] == ' ' ? value + 1 : value;
    }

    private void append(byte b) {
        if (length == event.length) {
            if (length >= MAX_EVENT_BYTES) {
                sink.piece(event, 0, length, !oversized);
                length = 0;
                oversized = true;
            } else {
                event = Arrays.copyOf(event, Math.min(MAX_EVENT_BYTES, length * 2));
            }
        }
        event[length++] = b;
    }

    private void emit() {
        if (oversized) {
            sink.piece(event, 0, length, false);
        } else {
            sink.event(event, 0, length);
        }
        length = 0;
        lineStart = true;
        afterCr = false;
        oversized = false;
        if (event.length > 4096) {
            event = new byte[512];
        }
    }
}
