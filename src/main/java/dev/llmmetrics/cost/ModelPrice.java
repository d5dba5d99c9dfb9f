package dev.llmmetrics.cost;

import dev.llmmetrics.event.Event;
import java.math.BigDecimal;
import org.jspecify.annotations.Nullable;

/**
 * The token prices of one model, exact: each is a whole number of picodollars (10<sup>-12</sup> USD) per
 * token, that is a price per million tokens with at most six decimals.
 *
 * <p>A request's cost is {@code (prompt - cached - cacheWrite) × input + cached × cachedInput
 * + cacheWrite × cacheWriteInput + completion × output}: cached (cache-read) and cache-write tokens are part
 * of the prompt, as Anthropic bills writing a prompt to its cache above the input price; reasoning tokens
 * are part of the completion and priced as output. Costs are counted in picodollars as a
 * {@code long}, so that the sum over many requests is exact and matches a computation on the token totals
 * to the last digit.
 *
 * @param provider              who serves the model, as the OpenTelemetry {@code gen_ai.provider.name}
 *                              ({@code openai}, {@code anthropic}, …); {@code null} when the table does not say
 * @param inputPicoUsd          price of one prompt token not served from the provider's cache
 * @param cachedInputPicoUsd    price of one prompt token served from the provider's cache
 * @param outputPicoUsd         price of one completion token
 * @param cacheWriteInputPicoUsd price of one prompt token written to the provider's cache
 */
public record ModelPrice(@Nullable String provider, long inputPicoUsd, long cachedInputPicoUsd, long outputPicoUsd,
                         long cacheWriteInputPicoUsd) {

    /** Picodollars in one US dollar. */
    public static final long PICO_USD_PER_USD = 1_000_000_000_000L;

    /**
     * The highest price accepted, 1 000 USD per million tokens: with token counts up to
     * {@link Integer#MAX_VALUE} the cost of any one request then fits a {@code long} of picodollars.
     */
    public static final long MAX_PICO_USD_PER_TOKEN = 1_000_000_000L;

    /**
     * Rejects negative prices, prices above {@link #MAX_PICO_USD_PER_TOKEN}, and a provider not named as events
     * name it ({@link Event#requireValidProvider}).
     */
    public ModelPrice {
        if (provider != null) {
            Event.requireValidProvider(provider); // the name the meters' gen_ai.provider.name takes for the model
        }
        checkPrice("input", inputPicoUsd);
        checkPrice("cached input", cachedInputPicoUsd);
        checkPrice("output", outputPicoUsd);
        checkPrice("cache write input", cacheWriteInputPicoUsd);
    }

    /** A price whose cache-write tokens cost the input price, as for providers that do not bill cache writes apart. */
    public ModelPrice(@Nullable String provider, long inputPicoUsd, long cachedInputPicoUsd, long outputPicoUsd) {
        this(provider, inputPicoUsd, cachedInputPicoUsd, outputPicoUsd, inputPicoUsd);
    }

    /**
     * A price from US dollars per million tokens, as providers publish them.
     *
     * @param cachedInputPerMillion the cached-input price; {@code null} when the provider has none, in which
     *                              case cached tokens cost the input price
     * @throws IllegalArgumentException if a price is negative, above 1 000, or has more than six decimals
     */
    public static ModelPrice perMillionTokens(@Nullable String provider, BigDecimal inputPerMillion,
                                              BigDecimal cachedInputPerMillion, BigDecimal outputPerMillion) {
        return perMillionTokens(provider, inputPerMillion, cachedInputPerMillion, outputPerMillion, null);
    }

    /**
     * A price from US dollars per million tokens, with the price of writing prompt tokens to the provider's
     * cache (Anthropic's cache writes).
     *
     * @param cacheWriteInputPerMillion the cache-write price; {@code null} when the provider has none, in
     *                                  which case cache-write tokens cost the input price
     * @throws IllegalArgumentException if a price is negative, above 1 000, or has more than six decimals
     */
    public static ModelPrice perMillionTokens(@Nullable String provider, BigDecimal inputPerMillion,
                                              @Nullable BigDecimal cachedInputPerMillion, BigDecimal outputPerMillion,
                                              @Nullable BigDecimal cacheWriteInputPerMillion) {
        long input = picoUsdPerToken("input", inputPerMillion);
        long cached = cachedInputPerMillion == null ? input : picoUsdPerToken("cached input", cachedInputPerMillion);
        long cacheWrite = cacheWriteInputPerMillion == null ? input
                : picoUsdPerToken("cache write input", cacheWriteInputPerMillion);
        return new ModelPrice(provider, input, cached, picoUsdPerToken("output", outputPerMillion), cacheWrite);
    }

    /**
     * The cost of one completed request, in picodollars.
     *
     * @param promptTokens     all prompt tokens, cached ones included; not negative
     * @param cachedTokens     prompt tokens served from the provider's cache; 0 to {@code promptTokens}
     * @param completionTokens completion tokens, reasoning ones included; not negative
     */
    public long costPicoUsd(int promptTokens, int cachedTokens, int completionTokens) {
        return costPicoUsd(promptTokens, cachedTokens, 0, completionTokens);
    }

    /**
     * The cost of one completed request with cache writes, in picodollars.
     *
     * @param promptTokens     all prompt tokens, cached and cache-write ones included; not negative
     * @param cachedTokens     prompt tokens served from the provider's cache; not negative
     * @param cacheWriteTokens prompt tokens written to the provider's cache; not negative, with
     *                         {@code cachedTokens} at most {@code promptTokens}
     * @param completionTokens completion tokens, reasoning ones included; not negative
     */
    public long costPicoUsd(int promptTokens, int cachedTokens, int cacheWriteTokens, int completionTokens) {
        if (promptTokens < 0 || completionTokens < 0 || cachedTokens < 0 || cacheWriteTokens < 0
                || (long) cachedTokens + cacheWriteTokens > promptTokens) {
            throw new IllegalArgumentException("token counts must not be negative and cached and cache-write tokens"
                    + " together at most the prompt tokens");
        }
        // Each term is at most 2^31 × 10^9 < 2^62, and the prompt's three parts sum to at most that: no overflow.
        return (long) (promptTokens - cachedTokens - cacheWriteTokens) * inputPicoUsd
                + (long) cachedTokens * cachedInputPicoUsd
                + (long) cacheWriteTokens * cacheWriteInputPicoUsd
                + (long) completionTokens * outputPicoUsd;
    }

    /** Picodollars as US dollars, the {@code double} nearest the exact value. */
    public static double usd(long picoUsd) {
        return picoUsd / (double) PICO_USD_PER_USD;
    }

    private static long picoUsdPerToken(String name, BigDecimal perMillion) {
        if (perMillion == null) {
            throw new IllegalArgumentException(name + " price is missing");
        }
        // USD per million tokens × 10^12 picodollars per USD / 10^6 tokens = × 10^6 picodollars per token.
        BigDecimal pico = perMillion.movePointRight(6);
        if (pico.signum() < 0) {
            throw new IllegalArgumentException(name + " price must not be negative, was " + perMillion.toPlainString());
        }
        if (pico.stripTrailingZeros().scale() > 0) {
            throw new IllegalArgumentException(name + " price must have at most six decimals (USD per million tokens), was "
                    + perMillion.toPlainString());
        }
        if (pico.compareTo(BigDecimal.valueOf(MAX_PICO_USD_PER_TOKEN)) > 0) {
            throw new IllegalArgumentException(name + " price must be at most 1000 USD per million tokens, was "
                    + perMillion.toPlainString());
        }
        return pico.longValueExact();
    }

    private static void checkPrice(String name, long picoUsd) {
        if (picoUsd < 0 || picoUsd > MAX_PICO_USD_PER_TOKEN) {
            throw new IllegalArgumentException(name + " price must be 0 to " + MAX_PICO_USD_PER_TOKEN
                    + " picodollars per token, was " + picoUsd);
        }
    }
}
