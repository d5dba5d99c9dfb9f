package dev.llmmetrics.session;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The most recent scores of one session's requests (those with a correlation id), in a ring that overwrites
 * the oldest at its bound: they are shown with the records of their correlation id, whichever came first.
 * The correlation ids are kept as bytes ({@link TextBytes}) and a name as the session's own string for it, so
 * that a kept score holds no object of its event but its comment. Not thread-safe: the owning
 * {@link SessionState} guards it.
 */
final class ScoreRing {

    /** A score's slot: its name and comment references, value and time; {@link TextBytes} counts its id. */
    private static final long SLOT_BYTES = 2 * RecordRing.REFERENCE + 16;

    private final int bound;
    private final TextBytes correlationIds = new TextBytes(0);
    private @Nullable String[] names = new String[0];
    private @Nullable String[] comments = new String[0];
    private double[] values = new double[0];
    private long[] timestampsMs = new long[0];
    private int head;
    private int size;
    /** What the names and comments held take on the heap; a name is counted per score though it is shared. */
    private long textBytes;

    ScoreRing(int bound) {
        this.bound = bound;
    }

    /**
     * Adds a score of the request {@code correlationId}, overwriting the oldest at the bound.
     *
     * @param name the score's name, best the session's own string for it, which the ring then shares
     */
    void add(String correlationId, String name, double value, @Nullable String comment, long timestampMs) {
        int slot;
        if (size < values.length) {
            slot = (head + size) % values.length;
            size++;
        } else if (values.length < bound) {
            grow();
            slot = size++;
        } else {
            slot = head;
            head = (head + 1) % values.length;
            textBytes -= RecordRing.textBytes(names[slot])
                    + (comments[slot] == null ? 0 : RecordRing.textBytes(comments[slot]));
        }
        correlationIds.put(slot, correlationId);
        names[slot] = name;
        comments[slot] = comment;
        values[slot] = value;
        timestampsMs[slot] = timestampMs;
        textBytes += RecordRing.textBytes(name) + (comment == null ? 0 : RecordRing.textBytes(comment));
    }

    /**
     * Drops the oldest score with its texts, so that a session larger than the store's byte bound by itself can
     * give room back; the score totals are the session's.
     *
     * @return whether there was a score to drop
     */
    boolean dropOldest() {
        if (size == 0) {
            return false;
        }
        int slot = head;
        textBytes -= RecordRing.textBytes(names[slot]) + (comments[slot] == null ? 0 : RecordRing.textBytes(comments[slot]));
        correlationIds.put(slot, null); // the oldest score's id is the oldest the array holds
        names[slot] = null;
        comments[slot] = null;
        head = (head + 1) % values.length;
        size--;
        return true;
    }

    /** How many scores the ring holds. */
    int size() {
        return size;
    }

    /** The scores held by correlation id, each list oldest first. */
    Map<String, List<RequestScore>> byCorrelationId() {
        if (size == 0) {
            return Map.of();
        }
        Map<String, List<RequestScore>> scores = new HashMap<>();
        for (int i = 0; i < size; i++) {
            int slot = (head + i) % values.length;
            scores.computeIfAbsent(correlationIds.get(slot), id -> new ArrayList<>(2)).add(new RequestScore(names[slot],
                    values[slot], comments[slot], Instant.ofEpochMilli(timestampsMs[slot])));
        }
        return scores;
    }

    /** What this ring takes on the heap, about: its arrays, the ids' bytes and the texts it holds. */
    long bytes() {
        return values.length == 0 ? 0
                : 4 * RecordRing.ARRAY_HEADER + SLOT_BYTES * values.length + correlationIds.heapBytes() + textBytes;
    }

    /**
     * Grows by half up to the bound; called only when full and below it. The scores move, oldest first, to the
     * front of the new arrays (they start elsewhere only after {@link #dropOldest}).
     */
    private void grow() {
        int length = values.length;
        int capacity = (int) Math.min(bound, Math.max(length + 2L, length + (length >> 1)));
        correlationIds.slots(capacity, head);
        names = unrolled(names, capacity);
        comments = unrolled(comments, capacity);
        double[] movedValues = new double[capacity];
        System.arraycopy(values, head, movedValues, 0, length - head);
        System.arraycopy(values, 0, movedValues, length - head, head);
        long[] movedTimes = new long[capacity];
        System.arraycopy(timestampsMs, head, movedTimes, 0, length - head);
        System.arraycopy(timestampsMs, 0, movedTimes, length - head, head);
        values = movedValues;
        timestampsMs = movedTimes;
        head = 0;
    }

    /** The full ring's entries in {@code array}, oldest first, in an array of {@code capacity} entries. */
    private <T> T[] unrolled(T[] array, int capacity) {
        T[] copy = Arrays.copyOf(array, capacity);
        System.arraycopy(array, head, copy, 0, array.length - head);
        System.arraycopy(array, 0, copy, array.length - head, head);
        return copy;
    }
}
