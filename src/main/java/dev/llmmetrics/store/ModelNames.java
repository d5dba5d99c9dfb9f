package dev.llmmetrics.store;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The model names of one store, numbered on first sight, so that a request record keeps a small number in
 * its row instead of a reference in an array of its own: one array, and one cache miss, fewer per record.
 * Bounded: past {@link #MAX} names, {@link #id} answers -1 and the record keeps the name itself.
 * Thread-safe.
 */
final class ModelNames {

    /** Most names numbered. */
    static final int MAX = 1024;

    private final ConcurrentHashMap<String, Integer> ids = new ConcurrentHashMap<>();
    private final AtomicReferenceArray<String> names = new AtomicReferenceArray<>(MAX);
    private final AtomicInteger next = new AtomicInteger();

    /** The number of {@code model}, 0 to {@link #MAX} - 1, or -1 when the names are all taken. */
    int id(String model) {
        Integer id = ids.get(model);
        if (id != null) {
            return id;
        }
        if (next.get() >= MAX) {
            return -1;
        }
        id = ids.computeIfAbsent(model, m -> {
            int n = next.getAndIncrement();
            if (n >= MAX) {
                return null; // no mapping: the bound was reached meanwhile
            }
            names.set(n, m);
            return n;
        });
        return id == null ? -1 : id;
    }

    /** The name numbered {@code id}. */
    String name(int id) {
        return names.get(id);
    }
}
