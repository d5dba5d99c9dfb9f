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
    private String[] names = new String[0];
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

    /** Grows by half up to the bound; called only when full and below it, so the scores start at slot 0. */
    private void grow() {
        int capacity = (int) Math.min(bound, Math.max(values.length + 2L, values.length + (values.length >> 1)));
        correlationIds.slots(capacity);
        names = Arrays.copyOf(names, capacity);
        comments = Arrays.copyOf(comments, capacity);
        values = Arrays.copyOf(values, capacity);
        timestampsMs = Arrays.copyOf(timestampsMs, capacity);
    }
}
