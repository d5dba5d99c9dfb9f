package dev.llmmetrics.session;

import dev.llmmetrics.cost.ModelPrice;
import dev.llmmetrics.cost.PriceTable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The model names of one store, numbered on first sight, so that a request record keeps a small number in
 * its row instead of a reference in an array of its own: one array, and one cache miss, fewer per record.
 * Each number also keeps its model's price, looked up once, so that recording a request looks its model up
 * in one map, not in this one and the price table's. Bounded: past {@link #MAX} names, {@link #id} answers
 * -1, the record keeps the name itself and the price is looked up in the table. Thread-safe.
 */
final class ModelNames {

    /** Most names numbered. */
    static final int MAX = 1024;

    private final ConcurrentHashMap<String, Integer> ids = new ConcurrentHashMap<>();
    private final AtomicReferenceArray<String> names = new AtomicReferenceArray<>(MAX);
    private final AtomicReferenceArray<ModelPrice> prices = new AtomicReferenceArray<>(MAX);
    private final AtomicInteger next = new AtomicInteger();
    private final PriceTable table;

    ModelNames(PriceTable table) {
        this.table = table;
    }

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
            prices.set(n, table.price(m));
            names.set(n, m);
            return n;
        });
        return id == null ? -1 : id;
    }

    /** The name numbered {@code id}. */
    String name(int id) {
        return names.get(id);
    }

    /** The price of the model numbered {@code id}, or of {@code model} when it has no number; {@code null} when none. */
    ModelPrice price(int id, String model) {
        return id >= 0 ? prices.get(id) : table.price(model);
    }
}
