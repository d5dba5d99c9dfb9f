package dev.llmmetrics.session;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * One text per entry of a ring ({@link RecordRing}'s records, {@link ScoreRing}'s scores): correlation ids and
 * error texts, each as bytes, one after another in one circular array, oldest first, with each slot's place in
 * it.
 *
 * <p>A text kept as the event's own {@code String} is an object per entry that lives as long as the
 * entry: every young collection of a busy server would copy the texts of the entries written since the last
 * one, and the pauses would grow with the traffic. Here a text is bytes in an array that already lives long,
 * and the event's strings die young. Entries are overwritten oldest first, so an overwritten entry's text is
 * always the oldest bytes and is freed from the front. Not thread-safe: the ring's owner guards it.
 */
final class TextBytes {

    private static final long NONE = -1;
    private static final int INITIAL_BYTES = 16;
    /** The largest array the JVM makes: past it a text is not kept. */
    private static final int MAX_BYTES = Integer.MAX_VALUE - 8;

    /** Each slot's text as its offset in {@link #bytes} (high half) and length (low half); {@link #NONE} for none. */
    private long[] spans;
    private byte[] bytes = new byte[INITIAL_BYTES];
    /** Where the oldest text starts. */
    private int start;
    private int used;

    TextBytes(int slots) {
        spans = new long[slots];
        Arrays.fill(spans, NONE);
    }

    /**
     * Sets {@code slot}'s text to {@code text}'s UTF-8 bytes; the text it held, if any, must be the oldest one
     * held. A text that would take the array past the largest the JVM makes is not kept.
     */
    void put(int slot, @Nullable String text) {
        byte[] utf8 = text == null ? null : text.getBytes(StandardCharsets.UTF_8);
        long old = spans[slot];
        if (old != NONE) {
            int length = (int) old;
            start = wrap(start + length);
            used -= length;
        }
        long needed = (long) used + (utf8 == null ? 0 : utf8.length);
        if (bytes.length > INITIAL_BYTES && needed <= bytes.length / 4) {
            // Long texts overwritten by short ones or none give their room back, not only on eviction.
            resize((int) Math.max(INITIAL_BYTES, 2 * needed));
        }
        if (utf8 == null || utf8.length == 0) {
            // An empty text takes no bytes and has no place: its span is its length alone.
            spans[slot] = utf8 == null ? NONE : 0L;
            return;
        }
        if (needed > bytes.length) {
            if (needed > MAX_BYTES) {
                spans[slot] = NONE;
                return;
            }
            resize((int) Math.min(MAX_BYTES, Math.max(needed, bytes.length + (long) (bytes.length >> 1))));
        }
        int at = wrap(start + used);
        int first = Math.min(utf8.length, bytes.length - at);
        System.arraycopy(utf8, 0, bytes, at, first);
        System.arraycopy(utf8, first, bytes, 0, utf8.length - first);
        used += utf8.length;
        spans[slot] = ((long) at << 32) | utf8.length;
    }

    /** The text of {@code slot} read as UTF-8, or {@code null} when it has none. */
    @Nullable String get(int slot) {
        long span = spans[slot];
        if (span == NONE) {
            return null;
        }
        int at = (int) (span >>> 32);
        int length = (int) span;
        if (length == 0) {
            return "";
        }
        if (at + length <= bytes.length) {
            return new String(bytes, at, length, StandardCharsets.UTF_8);
        }
        return new String(copy(at, length), StandardCharsets.UTF_8);
    }

    private byte[] copy(int at, int length) {
        byte[] copy = new byte[length];
        int first = Math.min(length, bytes.length - at);
        System.arraycopy(bytes, at, copy, 0, first);
        System.arraycopy(bytes, 0, copy, first, length - first);
        return copy;
    }

    /** Whether {@code slot}'s text is the one whose UTF-8 bytes are {@code utf8}. */
    boolean is(int slot, byte[] utf8) {
        long span = spans[slot];
        if (span == NONE || (int) span != utf8.length) {
            return false;
        }
        int at = (int) (span >>> 32);
        int first = Math.min(utf8.length, bytes.length - at);
        return Arrays.equals(bytes, at, at + first, utf8, 0, first)
                && Arrays.equals(bytes, 0, utf8.length - first, utf8, first, utf8.length);
    }

    /**
     * Gives room for {@code slots} slots, the new ones without a text, as a full ring whose oldest entry is in
     * slot {@code head} moves its entries to the front, oldest first.
     */
    void slots(int slots, int head) {
        int old = spans.length;
        long[] moved = new long[slots];
        System.arraycopy(spans, head, moved, 0, old - head);
        System.arraycopy(spans, 0, moved, old - head, head);
        Arrays.fill(moved, old, slots, NONE);
        spans = moved;
    }

    /** What the slots' places and the array of bytes take on the heap. */
    long heapBytes() {
        return 2 * RecordRing.ARRAY_HEADER + 8L * spans.length + bytes.length;
    }

    /** Moves the texts to the front of an array of {@code length} bytes, and their slots' offsets with them. */
    private void resize(int length) {
        byte[] resized = new byte[length];
        int first = Math.min(used, bytes.length - start);
        System.arraycopy(bytes, start, resized, 0, first);
        System.arraycopy(bytes, 0, resized, first, used - first);
        for (int slot = 0; slot < spans.length; slot++) {
            long span = spans[slot];
            if (span != NONE && (int) span != 0) {
                int at = (int) (span >>> 32);
                int moved = at >= start ? at - start : at + bytes.length - start;
                spans[slot] = ((long) moved << 32) | (int) span;
            }
        }
        bytes = resized;
        start = 0;
    }

    private int wrap(int index) {
        return index < bytes.length ? index : index - bytes.length;
    }
}
