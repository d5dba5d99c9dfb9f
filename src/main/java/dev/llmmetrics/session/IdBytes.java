package dev.llmmetrics.session;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * The correlation ids of a ring's entries ({@link RecordRing}'s records, {@link ScoreRing}'s scores) as their
 * UTF-8 bytes, one after another in one circular array, oldest first, with each slot's place in it.
 *
 * <p>An id kept as the event's own {@code String} is an object per entry that lives as long as the entry:
 * every young collection of a busy server would copy the ids of the entries written since the last one, and
 * the pauses would grow with the traffic. Here an id is bytes in an array that already lives long, and the
 * event's strings die young. Entries are overwritten oldest first, so an overwritten entry's id is always the
 * oldest bytes and is freed from the front. Not thread-safe: the ring's owner guards it.
 */
final class IdBytes {

    private static final long NONE = -1;
    private static final int INITIAL_BYTES = 64;
    /** The largest array the JVM makes: past it an id is not kept. */
    private static final int MAX_BYTES = Integer.MAX_VALUE - 8;

    /** Each slot's id as its offset in {@link #bytes} (high half) and length (low half); {@link #NONE} for none. */
    private long[] spans;
    private byte[] bytes = new byte[INITIAL_BYTES];
    /** Where the oldest id starts. */
    private int start;
    private int used;

    IdBytes(int slots) {
        spans = new long[slots];
        Arrays.fill(spans, NONE);
    }

    /**
     * Sets {@code slot}'s id; the id it held, if any, must be the oldest one held. An id that would take the
     * array past the largest the JVM makes is not kept.
     */
    void put(int slot, @Nullable String id) {
        long old = spans[slot];
        if (old != NONE) {
            int length = (int) old;
            start = wrap(start + length);
            used -= length;
        }
        if (id == null) {
            spans[slot] = NONE;
            return;
        }
        byte[] utf8 = id.getBytes(StandardCharsets.UTF_8);
        if (used + utf8.length > bytes.length) {
            if ((long) used + utf8.length > MAX_BYTES) {
                spans[slot] = NONE;
                return;
            }
            grow(used + utf8.length);
        }
        int at = wrap(start + used);
        int first = Math.min(utf8.length, bytes.length - at);
        System.arraycopy(utf8, 0, bytes, at, first);
        System.arraycopy(utf8, first, bytes, 0, utf8.length - first);
        used += utf8.length;
        spans[slot] = ((long) at << 32) | utf8.length;
    }

    /** The id of {@code slot}, or {@code null} when it has none. */
    @Nullable String get(int slot) {
        long span = spans[slot];
        if (span == NONE) {
            return null;
        }
        int at = (int) (span >>> 32);
        int length = (int) span;
        if (at + length <= bytes.length) {
            return new String(bytes, at, length, StandardCharsets.UTF_8);
        }
        byte[] joined = new byte[length];
        int first = bytes.length - at;
        System.arraycopy(bytes, at, joined, 0, first);
        System.arraycopy(bytes, 0, joined, first, length - first);
        return new String(joined, StandardCharsets.UTF_8);
    }

    /** Whether {@code slot}'s id is the one whose UTF-8 bytes are {@code utf8}. */
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

    /** Gives room for {@code slots} slots, the new ones without an id. */
    void slots(int slots) {
        int old = spans.length;
        spans = Arrays.copyOf(spans, slots);
        Arrays.fill(spans, old, slots, NONE);
    }

    /** What the slots' places and the array of bytes take on the heap. */
    long heapBytes() {
        return 2 * RecordRing.ARRAY_HEADER + 8L * spans.length + bytes.length;
    }

    /** Moves the ids to the front of a larger array, and their slots' offsets with them. */
    private void grow(int needed) {
        long length = Math.max(needed, bytes.length + (long) (bytes.length >> 1));
        byte[] larger = new byte[(int) Math.min(MAX_BYTES, length)];
        int first = Math.min(used, bytes.length - start);
        System.arraycopy(bytes, start, larger, 0, first);
        System.arraycopy(bytes, 0, larger, first, used - first);
        for (int slot = 0; slot < spans.length; slot++) {
            long span = spans[slot];
            if (span != NONE) {
                int at = (int) (span >>> 32);
                int moved = at >= start ? at - start : at + bytes.length - start;
                spans[slot] = ((long) moved << 32) | (int) span;
            }
        }
        bytes = larger;
        start = 0;
    }

    private int wrap(int index) {
        return index < bytes.length ? index : index - bytes.length;
    }
}
