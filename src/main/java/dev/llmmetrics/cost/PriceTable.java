package dev.llmmetrics.cost;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Token prices per model, and which price a model name gets.
 *
 * <p>A name gets the price of the entry with that exact name, else of the entry with that exact alias,
 * else of the entry with the longest prefix the name starts with ({@code "gpt-4o-2024-"} catches every
 * dated snapshot); otherwise it has no price, and its requests are counted as unpriced, never costed at 0.
 * Resolutions are cached, so that a lookup on the recording path is one hash-map read. Immutable and
 * thread-safe.
 *
 * <p>The JSON file format, prices in US dollars per million tokens:
 * <pre>{@code
 * {
 *   "description": "what these prices are and where they come from",
 *   "as_of": "2026-11-01",
 *   "example": true,
 *   "models": {
 *     "gpt-4o": {"provider": "openai", "input": 2.50, "cached_input": 1.25, "output": 10.00,
 *                "aliases": ["chatgpt-4o-latest"], "prefixes": ["gpt-4o-2024-"]}
 *   }
 * }
 * }</pre>
 * Only {@code models}, {@code input} and {@code output} are required; {@code cached_input} defaults to
 * {@code input}. Unknown fields, duplicate keys and names claimed twice are errors.
 */
public final class PriceTable {

    /** A table without prices: every model is unpriced. */
    public static final PriceTable EMPTY = new PriceTable(null, null, false, Map.of(), List.of());

    /** Where {@link #sample()} reads from on the classpath. */
    static final String SAMPLE_RESOURCE = "sample-prices.json";

    /** Resolutions cached at most; names beyond are resolved on every lookup, still correctly. */
    private static final int MAX_CACHED_NAMES = 4096;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final Set<String> TOP_LEVEL_FIELDS = Set.of("description", "as_of", "example", "currency", "models");
    private static final Set<String> MODEL_FIELDS = Set.of("provider", "input", "cached_input", "output", "aliases", "prefixes");

    /** A resolution that found no price; {@link ConcurrentHashMap} holds no nulls. */
    private static final ModelPrice UNPRICED = new ModelPrice(null, 0, 0, 0);

    private final String description;
    private final String asOf;
    private final boolean example;
    private final Map<String, ModelPrice> byName;
    private final List<Map.Entry<String, ModelPrice>> byPrefix;
    private final ConcurrentHashMap<String, ModelPrice> resolved = new ConcurrentHashMap<>();

    private PriceTable(String description, String asOf, boolean example, Map<String, ModelPrice> byName,
                       List<Map.Entry<String, ModelPrice>> byPrefix) {
        this.description = description;
        this.asOf = asOf;
        this.example = example;
        this.byName = Map.copyOf(byName);
        List<Map.Entry<String, ModelPrice>> prefixes = new ArrayList<>(byPrefix);
        prefixes.sort(Comparator.comparingInt((Map.Entry<String, ModelPrice> e) -> e.getKey().length()).reversed());
        this.byPrefix = List.copyOf(prefixes);
    }

    /** A builder of a table in code. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Reads a price table file.
     *
     * @throws IOException              if the file cannot be read
     * @throws IllegalArgumentException if it is not a valid price table; the message names the file and the fault
     */
    public static PriceTable load(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return parse(in, file.toString());
        }
    }

    /** The sample table shipped in the jar: a few well-known models, dated and marked as an example. */
    public static PriceTable sample() {
        try (InputStream in = PriceTable.class.getResourceAsStream(SAMPLE_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the sample price table " + SAMPLE_RESOURCE + " is missing from the classpath");
            }
            return parse(in, "the sample price table");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Parses a price table.
     *
     * @param source names the input in error messages
     * @throws IOException              if the stream cannot be read
     * @throws IllegalArgumentException if it is not a valid price table
     */
    public static PriceTable parse(InputStream in, String source) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(in);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        try {
            return fromJson(root);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    /**
     * The price of {@code model}, or {@code null} when the table has none for it.
     */
    public ModelPrice price(String model) {
        if (byName.isEmpty() && byPrefix.isEmpty()) {
            return null;
        }
        ModelPrice price = resolved.get(model);
        if (price == null) {
            price = resolve(model);
            if (resolved.size() < MAX_CACHED_NAMES) {
                resolved.putIfAbsent(model, price);
            }
        }
        return price == UNPRICED ? null : price;
    }

    /** Whether the table prices nothing. */
    public boolean isEmpty() {
        return byName.isEmpty() && byPrefix.isEmpty();
    }

    /** What the table says of itself, or {@code null}. */
    public String description() {
        return description;
    }

    /** The date the prices were read, as the table gives it, or {@code null}. */
    public String asOf() {
        return asOf;
    }

    /** Whether the table marks itself as an example, not prices to rely on. */
    public boolean example() {
        return example;
    }

    /** Names and aliases with a price of their own (prefixes not included). */
    public int size() {
        return byName.size();
    }

    private ModelPrice resolve(String model) {
        ModelPrice exact = byName.get(model);
        if (exact != null) {
            return exact;
        }
        for (Map.Entry<String, ModelPrice> prefix : byPrefix) {
            if (model.startsWith(prefix.getKey())) {
                return prefix.getValue();
            }
        }
        return UNPRICED;
    }

    private static PriceTable fromJson(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("a price table must be a JSON object");
        }
        unknownFields(root, TOP_LEVEL_FIELDS, "the table");
        String description = optionalText(root, "description", "the table");
        String asOf = optionalText(root, "as_of", "the table");
        String currency = optionalText(root, "currency", "the table");
        if (currency != null && !currency.equals("USD")) {
            throw new IllegalArgumentException("currency must be USD, was " + currency);
        }
        JsonNode example = root.get("example");
        if (example != null && !example.isBoolean()) {
            throw new IllegalArgumentException("example must be true or false");
        }
        JsonNode models = root.get("models");
        if (models == null || !models.isObject()) {
            throw new IllegalArgumentException("models must be an object of model name to prices");
        }
        Builder builder = new Builder().describedAs(description, asOf, example != null && example.booleanValue());
        for (Iterator<Map.Entry<String, JsonNode>> it = models.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String name = entry.getKey();
            JsonNode model = entry.getValue();
            String where = "model " + name;
            if (!model.isObject()) {
                throw new IllegalArgumentException(where + " must be an object");
            }
            unknownFields(model, MODEL_FIELDS, where);
            ModelPrice price;
            try {
                price = ModelPrice.perMillionTokens(optionalText(model, "provider", where), decimal(model, "input", where),
                        model.has("cached_input") ? decimal(model, "cached_input", where) : null,
                        decimal(model, "output", where));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
            }
            builder.model(name, price);
            for (String alias : texts(model, "aliases", where)) {
                builder.alias(alias, name);
            }
            for (String prefix : texts(model, "prefixes", where)) {
                builder.prefix(prefix, name);
            }
        }
        return builder.build();
    }

    private static void unknownFields(JsonNode node, Set<String> known, String where) {
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name)) {
                throw new IllegalArgumentException(where + " has an unknown field \"" + name + "\"; known: "
                        + known.stream().sorted().toList());
            }
        }
    }

    private static String optionalText(JsonNode node, String field, String where) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual() || value.textValue().isBlank()) {
            throw new IllegalArgumentException(where + ": " + field + " must be a non-blank string");
        }
        return value.textValue();
    }

    private static BigDecimal decimal(JsonNode node, String field, String where) {
        JsonNode value = node.get(field);
        if (value == null || !value.isNumber()) {
            throw new IllegalArgumentException(where + ": " + field + " must be a number (USD per million tokens)");
        }
        return value.decimalValue();
    }

    private static List<String> texts(JsonNode node, String field, String where) {
        JsonNode value = node.get(field);
        if (value == null) {
            return List.of();
        }
        if (!value.isArray()) {
            throw new IllegalArgumentException(where + ": " + field + " must be an array of strings");
        }
        List<String> texts = new ArrayList<>();
        for (JsonNode item : value) {
            if (!item.isTextual() || item.textValue().isBlank()) {
                throw new IllegalArgumentException(where + ": " + field + " must hold non-blank strings");
            }
            texts.add(item.textValue());
        }
        return texts;
    }

    /** Builds a {@link PriceTable}; a name, alias or prefix may be claimed once only. */
    public static final class Builder {
        private final Map<String, ModelPrice> byName = new LinkedHashMap<>();
        private final Map<String, ModelPrice> byPrefix = new HashMap<>();
        private String description;
        private String asOf;
        private boolean example;

        private Builder() {
        }

        /** Describes the table: what it is, the date its prices were read, whether it is only an example. */
        public Builder describedAs(String description, String asOf, boolean example) {
            this.description = description;
            this.asOf = asOf;
            this.example = example;
            return this;
        }

        /** Prices the model called exactly {@code name}. */
        public Builder model(String name, ModelPrice price) {
            claim(byName, requireName(name, "model name"), Objects.requireNonNull(price, "price"), "model name or alias");
            return this;
        }

        /** Gives {@code alias} the price of the model {@code name}, added before. */
        public Builder alias(String alias, String name) {
            claim(byName, requireName(alias, "alias"), priceOf(name), "model name or alias");
            return this;
        }

        /** Gives every model name starting with {@code prefix} the price of the model {@code name}, added before. */
        public Builder prefix(String prefix, String name) {
            claim(byPrefix, requireName(prefix, "prefix"), priceOf(name), "prefix");
            return this;
        }

        /** The table. */
        public PriceTable build() {
            return new PriceTable(description, asOf, example, byName, List.copyOf(byPrefix.entrySet()));
        }

        private ModelPrice priceOf(String name) {
            ModelPrice price = byName.get(name);
            if (price == null) {
                throw new IllegalArgumentException("no model named " + name + " was priced before");
            }
            return price;
        }

        private static String requireName(String name, String what) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException(what + " must not be blank");
            }
            return name;
        }

        private static void claim(Map<String, ModelPrice> map, String key, ModelPrice price, String what) {
            if (map.putIfAbsent(key, price) != null) {
                throw new IllegalArgumentException(what + " \"" + key + "\" is given twice");
            }
        }
    }
}
