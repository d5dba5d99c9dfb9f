package dev.llmmetrics.cost;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

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
 *                "aliases": ["chatgpt-4o-latest"], "prefixes": ["gpt-4o-2024-"]},
 *     "claude-sonnet-4": {"provider": "anthropic", "input": 3.00, "cached_input": 0.30,
 *                         "cache_write_input": 3.75, "output": 15.00}
 *   }
 * }
 * }</pre>
 * Only {@code models}, {@code input} and {@code output} are required; {@code cached_input} and
 * {@code cache_write_input} default to {@code input}, and a field given as {@code null} is as if absent. Unknown fields, duplicate keys, values
 * of another JSON type and names claimed twice are errors.
 */
public final class PriceTable {

    /** A table without prices: every model is unpriced. */
    public static final PriceTable EMPTY = new PriceTable(null, null, false, Map.of(), List.of());

    /** Where {@link #sample()} reads from on the classpath. */
    static final String SAMPLE_RESOURCE = "sample-prices.json";

    /**
     * Binds a price table file strictly: snake_case names, no unknown field, no duplicate key, and no
     * coercion (a number where a string is expected, or the reverse, is an error, not converted).
     */
    private static final ObjectMapper JSON = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .withCoercionConfig(LogicalType.Textual, text -> text
                    .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
            .build();

    private final @Nullable String description;
    private final @Nullable String asOf;
    private final boolean example;
    private final Map<String, ModelPrice> byName;
    private final List<Map.Entry<String, ModelPrice>> byPrefix;

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
        TableFile file;
        try (JsonParser parser = JSON.createParser(in)) {
            file = JSON.readValue(parser, TableFile.class);
            // Checked here: FAIL_ON_TRAILING_TOKENS would say it in Jackson's terms.
            if (file != null && parser.nextToken() != null) {
                throw new IllegalArgumentException(source + " is not valid JSON" + at(parser.currentTokenLocation())
                        + ": more follows the table");
            }
        } catch (JsonMappingException e) {
            for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
                if (cause instanceof JsonProcessingException syntax && !(cause instanceof JsonMappingException)) {
                    throw notJson(source, syntax); // met while binding
                }
            }
            throw new IllegalArgumentException(source + ": " + problem(e), e);
        } catch (JsonProcessingException e) {
            throw notJson(source, e);
        }
        if (file == null) {
            throw new IllegalArgumentException(source + ": a price table must be a JSON object");
        }
        try {
            return fromFile(file);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    /**
     * A syntax error: where, and the parser's message; only its first clause when the rest is a hint in
     * Jackson's terms (a feature to enable, a source it does not show).
     */
    private static IllegalArgumentException notJson(String source, JsonProcessingException e) {
        String what = e.getOriginalMessage();
        int colon = what.indexOf(": ");
        if (colon > 0 && (what.indexOf('`') >= 0 || what.contains("[Source"))) {
            what = what.substring(0, colon);
        }
        return new IllegalArgumentException(source + " is not valid JSON" + at(e.getLocation()) + ": " + what, e);
    }

    private static String at(JsonLocation location) {
        return location == null ? "" : " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
    }

    /**
     * The price of {@code model} (its own name, then an alias, then the longest prefix), empty when the table has
     * none for it. Resolved on every call: {@link ModelCatalog} keeps what each name resolved to.
     */
    public Optional<ModelPrice> price(String model) {
        ModelPrice exact = byName.get(model);
        if (exact != null) {
            return Optional.of(exact);
        }
        for (Map.Entry<String, ModelPrice> prefix : byPrefix) {
            if (model.startsWith(prefix.getKey())) {
                return Optional.of(prefix.getValue());
            }
        }
        return Optional.empty();
    }

    /** Whether the table prices nothing. */
    public boolean isEmpty() {
        return byName.isEmpty() && byPrefix.isEmpty();
    }

    /** What the table says of itself, or {@code null}. */
    public @Nullable String description() {
        return description;
    }

    /** The date the prices were read, as the table gives it, or {@code null}. */
    public @Nullable String asOf() {
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

    private static PriceTable fromFile(TableFile file) {
        if (file.models() == null) {
            throw mustBe("models");
        }
        Builder builder = new Builder().describedAs(file.description(), file.asOf(), file.example());
        file.models().forEach((name, model) -> {
            if (model == null) {
                throw new IllegalArgumentException("model " + name + " must be an object");
            }
            ModelPrice price;
            try {
                price = model.price();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("model " + name + ": " + e.getMessage(), e);
            }
            builder.model(name, price);
            model.aliases().forEach(alias -> builder.alias(alias, name));
            model.prefixes().forEach(prefix -> builder.prefix(prefix, name));
        });
        return builder.build();
    }

    /**
     * What a binding error says of the file, in its own terms: the model and the field at fault, what the
     * field must be. Jackson's messages name its classes and features, which mean nothing to who wrote the file.
     */
    private static String problem(JsonMappingException e) {
        List<String> fields = e.getPath().stream().map(JsonMappingException.Reference::getFieldName)
                .filter(Objects::nonNull).toList(); // e.g. [models, gpt-4o, aliases]: an array's index is left out
        boolean inModel = fields.size() >= 2 && fields.getFirst().equals("models");
        String where = inModel ? "model " + fields.get(1) : "the table";
        if (e instanceof UnrecognizedPropertyException unknown) {
            return where + " has an unknown field \"" + unknown.getPropertyName() + "\"; known: "
                    + unknown.getKnownPropertyIds().stream().map(String::valueOf).sorted().toList();
        }
        String in = inModel ? where + ": " : "";
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof IllegalArgumentException check) {
                return in + check.getMessage(); // a record's own check
            }
        }
        // A value of another JSON type: the last field of the path says which.
        if (fields.isEmpty()) {
            return "a price table must be a JSON object";
        }
        return inModel && fields.size() == 2 ? where + " must be an object" : in + mustBe(fields.getLast()).getMessage();
    }

    /** A field of the file holding what it must not. */
    private static IllegalArgumentException mustBe(String field) {
        return new IllegalArgumentException(field + " must be " + switch (String.valueOf(field)) {
            case "description", "as_of", "currency", "provider" -> "a non-blank string";
            case "example" -> "true or false";
            case "models" -> "an object of model name to prices";
            case "input", "cached_input", "cache_write_input", "output" -> "a number (USD per million tokens)";
            case "aliases", "prefixes" -> "an array of strings";
            default -> "of another type";
        });
    }

    private static String nonBlank(String field, String value) {
        if (value != null && value.isBlank()) {
            throw mustBe(field);
        }
        return value;
    }

    /**
     * A price table file as written, bound by {@link #JSON}. The values given are checked here; whether the
     * required ones are given, once the file is bound (Jackson reports unknown fields after building the
     * record, and a misspelt field must read as unknown, not as missing); the checks across models in the
     * {@link Builder}.
     */
    private record TableFile(String description, String asOf, boolean example, String currency,
                             Map<String, ModelEntry> models) {
        TableFile {
            nonBlank("description", description);
            nonBlank("as_of", asOf);
            if (nonBlank("currency", currency) != null && !currency.equals("USD")) {
                throw new IllegalArgumentException("currency must be USD, was " + currency);
            }
        }
    }

    /** One model's entry in the file: prices in US dollars per million tokens, its aliases and prefixes. */
    private record ModelEntry(String provider, BigDecimal input, BigDecimal cachedInput, BigDecimal cacheWriteInput,
                              BigDecimal output, List<String> aliases, List<String> prefixes) {
        ModelEntry {
            nonBlank("provider", provider);
            aliases = names("aliases", aliases);
            prefixes = names("prefixes", prefixes);
        }

        /**
         * The price this entry gives, {@code cached_input} and {@code cache_write_input} the input price when
         * absent; checked by
         * {@link ModelPrice}: not negative, at most 1000, at most six decimals.
         */
        ModelPrice price() {
            if (input == null) {
                throw mustBe("input");
            }
            if (output == null) {
                throw mustBe("output");
            }
            return ModelPrice.perMillionTokens(provider, input, cachedInput, output, cacheWriteInput);
        }

        private static List<String> names(String field, List<String> names) {
            if (names == null) {
                return List.of();
            }
            for (String name : names) {
                if (name == null || name.isBlank()) {
                    throw new IllegalArgumentException(field + " must hold non-blank strings");
                }
            }
            return List.copyOf(names);
        }
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
