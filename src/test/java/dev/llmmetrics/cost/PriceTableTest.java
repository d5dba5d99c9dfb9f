package dev.llmmetrics.cost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PriceTableTest {

    private static PriceTable parse(String json) throws IOException {
        return PriceTable.parse(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), "test table");
    }

    @Test
    void theSeedsCostExampleReproducesExactlyThroughTheTable() throws IOException {
        // The seed: PROMPT_PRICE = 0.03 and COMPLETION_PRICE = 0.06 per 1K tokens, on its example session's
        // totals of 12 500 prompt and 8 300 completion tokens: 12.5 × 0.03 + 8.3 × 0.06 = 0.873 USD.
        PriceTable table = parse("""
                {"models": {"gpt-4": {"input": 30, "output": 60}}}""");
        ModelPrice gpt4 = table.price("gpt-4").orElseThrow();
        long pico = gpt4.costPicoUsd(12_500, 0, 8_300);
        BigDecimal seed = new BigDecimal("12500").movePointLeft(3).multiply(new BigDecimal("0.03"))
                .add(new BigDecimal("8300").movePointLeft(3).multiply(new BigDecimal("0.06")));
        assertEquals(0, seed.compareTo(BigDecimal.valueOf(pico, 12)), "exact to the picodollar");
        assertEquals(0.873, ModelPrice.usd(pico));
        assertEquals("$0.8730", String.format("$%.4f", ModelPrice.usd(pico)));
    }

    @Test
    void summingPerRequestCostsGivesExactlyTheCostOfTheTotals() throws IOException {
        ModelPrice price = parse("""
                {"models": {"m": {"input": 0.15, "cached_input": 0.075, "output": 0.6}}}""").price("m").orElseThrow();
        long sum = 0;
        long prompt = 0;
        long cached = 0;
        long completion = 0;
        for (int i = 1; i <= 1000; i++) {
            int p = 97 * i % 1013;
            int c = i % 3 == 0 ? p / 2 : 0;
            int o = 31 * i % 517;
            sum += price.costPicoUsd(p, c, o);
            prompt += p;
            cached += c;
            completion += o;
        }
        BigDecimal expected = BigDecimal.valueOf(prompt - cached).multiply(new BigDecimal("0.15"))
                .add(BigDecimal.valueOf(cached).multiply(new BigDecimal("0.075")))
                .add(BigDecimal.valueOf(completion).multiply(new BigDecimal("0.6")))
                .movePointLeft(6);
        assertEquals(0, expected.compareTo(BigDecimal.valueOf(sum, 12)));
    }

    @Test
    void cachedTokensCostTheCachedPriceAndTheInputPriceWhenThereIsNone() throws IOException {
        PriceTable table = parse("""
                {"models": {"cached": {"input": 2.5, "cached_input": 1.25, "output": 10},
                            "plain": {"input": 2.5, "output": 10}}}""");
        // 1000 prompt tokens of which 600 cached, 100 completion tokens.
        assertEquals(400 * 2_500_000L + 600 * 1_250_000L + 100 * 10_000_000L, table.price("cached").orElseThrow().costPicoUsd(1000, 600, 100));
        assertEquals(1000 * 2_500_000L + 100 * 10_000_000L, table.price("plain").orElseThrow().costPicoUsd(1000, 600, 100));
    }

    @Test
    void cacheWriteTokensCostTheCacheWritePriceAndTheInputPriceWhenThereIsNone() throws IOException {
        PriceTable table = parse("""
                {"models": {"anthropic": {"input": 3, "cached_input": 0.3, "cache_write_input": 3.75, "output": 15},
                            "plain": {"input": 3, "output": 15}}}""");
        // 10 000 prompt tokens: 2000 read from the cache, 4000 written to it; 1000 completion tokens.
        assertEquals(4000 * 3_000_000L + 2000 * 300_000L + 4000 * 3_750_000L + 1000 * 15_000_000L,
                table.price("anthropic").orElseThrow().costPicoUsd(10_000, 2000, 4000, 1000));
        assertEquals(10_000 * 3_000_000L + 1000 * 15_000_000L, table.price("plain").orElseThrow().costPicoUsd(10_000, 2000, 4000, 1000));
        assertEquals(3_750_000L, table.price("anthropic").orElseThrow().cacheWriteInputPicoUsd());
        assertThrows(IllegalArgumentException.class, () -> table.price("anthropic").orElseThrow().costPicoUsd(10, 6, 5, 1),
                "cached and cache-write tokens together beyond the prompt");
        assertEquals(3_750_000L, PriceTable.sample().price("claude-sonnet-4").orElseThrow().cacheWriteInputPicoUsd());
    }

    @Test
    void exactNamesWinOverAliasesAndTheLongestPrefixWinsAmongPrefixes() throws IOException {
        PriceTable table = parse("""
                {"models": {
                  "gpt-4o":      {"provider": "openai", "input": 2.5, "output": 10, "aliases": ["chatgpt-4o-latest"], "prefixes": ["gpt-4o-"]},
                  "gpt-4o-mini": {"provider": "openai", "input": 0.15, "output": 0.6, "prefixes": ["gpt-4o-mini-"]}}}""");
        assertEquals(2_500_000L, table.price("gpt-4o").orElseThrow().inputPicoUsd());
        assertEquals(2_500_000L, table.price("chatgpt-4o-latest").orElseThrow().inputPicoUsd());
        assertEquals(2_500_000L, table.price("gpt-4o-2024-08-06").orElseThrow().inputPicoUsd());
        assertEquals(150_000L, table.price("gpt-4o-mini").orElseThrow().inputPicoUsd(), "the exact name, not the gpt-4o- prefix");
        assertEquals(150_000L, table.price("gpt-4o-mini-2024-07-18").orElseThrow().inputPicoUsd(), "the longer prefix");
        assertEquals("openai", table.price("gpt-4o-mini").orElseThrow().provider());
        assertTrue(table.price("gpt-4").isEmpty(), "no price is not a price of 0");
        assertTrue(table.price("GPT-4O").isEmpty(), "names match exactly, case included");
        assertSame(table.price("gpt-4o-2024-11-20").orElseThrow(), table.price("gpt-4o-2024-11-20").orElseThrow(), "resolutions are cached");
    }

    @Test
    void theEmptyTablePricesNothing() {
        assertTrue(PriceTable.EMPTY.isEmpty());
        assertTrue(PriceTable.EMPTY.price("gpt-4").isEmpty());
    }

    @Test
    void theSampleIsDatedMarkedAsAnExampleAndPricesTheDemoModelsButTheSelfHostedOne() {
        PriceTable sample = PriceTable.sample();
        assertTrue(sample.example());
        assertNotNull(sample.asOf());
        assertTrue(sample.description().startsWith("EXAMPLE ONLY"));
        assertEquals(30_000_000L, sample.price("gpt-4").orElseThrow().inputPicoUsd(), "the seed's 0.03 per 1K");
        assertEquals(60_000_000L, sample.price("gpt-4").orElseThrow().outputPicoUsd(), "the seed's 0.06 per 1K");
        assertTrue(sample.price("gpt-4o").isPresent());
        assertTrue(sample.price("claude-sonnet-4-20250514").isPresent());
        assertTrue(sample.price("llama-3.1-70b").isEmpty());
    }

    @Test
    void aFileIsReadFromDisk(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("prices.json");
        Files.writeString(file, """
                {"as_of": "2026-11-01", "models": {"m": {"input": 1, "output": 2}}}""");
        PriceTable table = PriceTable.load(file);
        assertEquals("2026-11-01", table.asOf());
        assertFalse(table.example());
        assertEquals(1_000_000L, table.price("m").orElseThrow().inputPicoUsd());
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "[]",
            "{\"models\": []}",
            "{\"modles\": {}}",
            "{\"models\": {\"m\": {\"input\": 1}}}",
            "{\"models\": {\"m\": {\"input\": \"1\", \"output\": 1}}}",
            "{\"models\": {\"m\": {\"input\": -1, \"output\": 1}}}",
            "{\"models\": {\"m\": {\"input\": 1.0000001, \"output\": 1}}}",
            "{\"models\": {\"m\": {\"input\": 1001, \"output\": 1}}}",
            "{\"models\": {\"m\": {\"input\": 1, \"output\": 1, \"cached\": 1}}}",
            "{\"models\": {\"m\": {\"input\": 1, \"output\": 1, \"cache_write_input\": \"1\"}}}",
            "{\"models\": {\"m\": {\"input\": 1, \"output\": 1, \"cache_write_input\": -1}}}",
            "{\"models\": {\"m\": {\"input\": 1, \"output\": 1}, \"m\": {\"input\": 2, \"output\": 2}}}",
            "{\"models\": {\"a\": {\"input\": 1, \"output\": 1}, \"b\": {\"input\": 1, \"output\": 1, \"aliases\": [\"a\"]}}}",
            "{\"models\": {\"a\": {\"input\": 1, \"output\": 1, \"prefixes\": [\"x-\"]}, \"b\": {\"input\": 1, \"output\": 1, \"prefixes\": [\"x-\"]}}}",
            "{\"models\": {\"a\": {\"input\": 1, \"output\": 1, \"aliases\": [\" \"]}}}",
            "{\"currency\": \"EUR\", \"models\": {}}",
            "{\"models\": {}} trailing",
            "not json"})
    void anInvalidTableIsRejectedWithAMessageNamingTheSource(String json) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse(json));
        assertTrue(e.getMessage().startsWith("test table"), e.getMessage());
    }
}
