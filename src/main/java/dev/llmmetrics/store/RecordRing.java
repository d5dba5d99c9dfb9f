package dev.llmmetrics.store;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The most recent request records of one session, as parallel primitive arrays in a ring.
 *
 * <p>Columns instead of one object per record keep a record at about 37 bytes; the arrays grow by half
 * up to the bound, so that a short session does not pay for a long one. When full, the oldest record is
 * overwritten. Not thread-safe: the owning {@link SessionState} guards it.
 */
final class RecordRing {

    private static final int INITIAL_CAPACITY = 4;
    private static final byte SUCCESS = 1;
    private static final byte TOOL_CALLS = 2;

    private final int bound;
    private long[] timestampsMs;
    private long[] durationsMs;
    private int[] promptTokens;
    private int[] completionTokens;
    private int[] totalTokens;
    private String[] models;
    private String[] errors;
    private byte[] flags;
    /** Index of the oldest record. */
    private int head;
    private int size;

    RecordRing(int bound) {
        this.bound = bound;
        allocate(Math.min(INITIAL_CAPACITY, bound));
    }

    void add(long timestampMs, String model, long durationMs, int prompt, int completion, int total,
             boolean success, boolean toolCalls, String error) {
        int slot;
        if (size < capacity()) {
            slot = (head + size) % capacity();
            size++;
        } else if (capacity() < bound) {
            grow();
            slot = size++;
        } else {
            slot = head;
            head = (head + 1) % capacity();
        }
        timestampsMs[slot] = timestampMs;
        durationsMs[slot] = durationMs;
        promptTokens[slot] = prompt;
        completionTokens[slot] = completion;
        totalTokens[slot] = total;
        models[slot] = model;
        errors[slot] = error;
        flags[slot] = (byte) ((success ? SUCCESS : 0) | (toolCalls ? TOOL_CALLS : 0));
    }

    int size() {
        return size;
    }

    /** The records, oldest first. */
    List<RequestRecord> toList() {
        List<RequestRecord> list = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            int slot = (head + i) % capacity();
            list.add(new RequestRecord(Instant.ofEpochMilli(timestampsMs[slot]), models[slot], durationsMs[slot],
                    promptTokens[slot], completionTokens[slot], totalTokens[slot],
                    (flags[slot] & TOOL_CALLS) != 0, (flags[slot] & SUCCESS) != 0, errors[slot]));
        }
        return list;
    }

    private int capacity() {
        return timestampsMs.length;
    }

    /**
     * Called only when the ring is full and below its bound. The head moves only once the ring is at its
     * bound, so here the records still start at slot 0 and a plain copy keeps their order.
     */
    private void grow() {
        int oldCapacity = capacity();
        int newCapacity = (int) Math.min(bound, Math.max(oldCapacity + 1L, oldCapacity + (oldCapacity >> 1)));
        timestampsMs = Arrays.copyOf(timestampsMs, newCapacity);
        durationsMs = Arrays.copyOf(durationsMs, newCapacity);
        promptTokens = Arrays.copyOf(promptTokens, newCapacity);
        completionTokens = Arrays.copyOf(completionTokens, newCapacity);
        totalTokens = Arrays.copyOf(totalTokens, newCapacity);
        models = Arrays.copyOf(models, newCapacity);
        errors = Arrays.copyOf(errors, newCapacity);
        flags = Arrays.copyOf(flags, newCapacity);
    }

    private void allocate(int capacity) {
        timestampsMs = new long[capacity];
        durationsMs = new long[capacity];
        promptTokens = new int[capacity];
        completionTokens = new int[capacity];
        totalTokens = new int[capacity];
        models = new String[capacity];
        errors = new String[capacity];
        flags = new byte[capacity];
    }
}
