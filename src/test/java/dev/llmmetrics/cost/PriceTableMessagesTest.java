package dev.llmmetrics.cost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** What a broken price table file is told: the file, the entry and the field at fault, in the file's terms. */
class PriceTableMessagesTest {

    private static PriceTable parse(String json) throws IOException {
        return PriceTable.parse(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), "prices.json");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '~', value = {
            "{\"modles\": {}}"
                    + "|prices.json: the table has an unknown field \"modles\"; known: [as_of, currency, description, example, models]",
            "{\"models\": {\"m\": {\"inputt\": 1, \"output\": 1}}}"
                    + "|prices.json: model m has an unknown field \"inputt\"; known: [aliases, cache_write_input, cached_input, input, output, prefixes, provider]",
            "{\"models\": {\"m\": {\"input\": 1, \"output\": 1}, \"m\": {\"input\": 2, \"output\": 2}}}"
                    + "|prices.json is not valid JSON (line 1, column 48): Duplicate field 'm'",
            "{\"models\": {\"a\": {\"input\": 1, \"output\": 1}, \"b\": {\"input\": 1, \"output\": 1, \"aliases\": [\"a\"]}}}"
                    + "|prices.json: model name or alias \"a\" is given twice",
            "{\"models\": {\"m\": {\"input\": 1.0000001, \"output\": 1}}}"
                    + "|prices.json: model m: input price must have at most six decimals (USD per million tokens), was 1.0000001",
            "{\"models\": {\"m\": {\"input\": 1, \"cached_input\": -0.5, \"output\": 1}}}"
                    + "|prices.json: model m: cached input price must not be negative, was -0.5",
            "{\"models\": {\"m\": {\"input\": 1, \"output\": 1001}}}"
                    + "|prices.json: model m: output price must be at most 1000 USD per million tokens, was 1001",
            "{\"models\": {\"m\": {\"provider\": \"Open AI\", \"input\": 1, \"output\": 1}}}"
                    + "|prices.json: model m: provider must be lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, such as openai or aws.bedrock",
            "{\"models\": {\"m\": {\"output\": 1}}}|prices.json: model m: input must be a number (USD per million tokens)",
            "{\"models\": {\"m\": {\"input\": \"1\", \"output\": 1}}}|prices.json: model m: input must be a number (USD per million tokens)",
            "{\"models\": {\"m\": {\"input\": 1, \"output\": 1, \"provider\": 5}}}|prices.json: model m: provider must be a non-blank string",
            "{\"models\": {\"m\": {\"input\": 1, \"output\": 1, \"aliases\": \"a\"}}}|prices.json: model m: aliases must be an array of strings",
            "{\"models\": {\"m\": {\"input\": 1, \"output\": 1, \"prefixes\": [\"\"]}}}|prices.json: model m: prefixes must hold non-blank strings",
            "{\"models\": {\"m\": 5}}|prices.json: model m must be an object",
            "{\"models\": []}|prices.json: models must be an object of model name to prices",
            "{}|prices.json: models must be an object of model name to prices",
            "{\"example\": \"yes\", \"models\": {}}|prices.json: example must be true or false",
            "{\"currency\": \"EUR\", \"models\": {}}|prices.json: currency must be USD, was EUR",
            "[]|prices.json: a price table must be a JSON object",
            "{\"models\": {}} {}|prices.json is not valid JSON (line 1, column 16): more follows the table",
            "{\"models\": {\"m\": {\"input\": NaN, \"output\": 2}}}|prices.json is not valid JSON (line 1, column 31): Non-standard token 'NaN'",
    })
    void aBrokenTableIsToldWhereAndWhat(String json, String message) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> parse(json)).getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"models\": {}} {}",
            "{\"models\": {\"m\": {\"input\": 1, \"output\": 2}}",
            "{\"models\": {\"m\": {\"input\": NaN, \"output\": 2}}}",
            "{\"models\": {\"m\": {\"input\": true, \"output\": 2}}}",
            "{\"models\": {\"m\": {\"input\": 1, \"output\": 2, \"aliases\": [[]]}}}",
            "{\"models\": {\"m\": []}}",
            "{\"models\": 5}",
            "5",
            ""})
    void noMessageSpeaksJacksonsLanguage(String json) {
        String message = assertThrows(IllegalArgumentException.class, () -> parse(json)).getMessage();
        for (String jackson : new String[] {"jackson", "`", "feature", "source:", "deserializ", "$"}) {
            assertFalse(message.toLowerCase(Locale.ROOT).contains(jackson), message);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"cached_input\": null", "\"aliases\": null", "\"prefixes\": null", "\"provider\": null"})
    void aNullFieldIsAsIfAbsent(String field) throws IOException {
        PriceTable table = parse("{\"example\": null, \"models\": {\"m\": {\"input\": 1, \"output\": 2, " + field + "}}}");
        assertEquals(1_000_000L, table.price("m").orElseThrow().cachedInputPicoUsd());
        assertNull(table.price("m").orElseThrow().provider());
        assertFalse(table.example());
    }
}
