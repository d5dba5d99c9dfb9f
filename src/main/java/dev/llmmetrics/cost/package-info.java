/**
 * What LLM calls cost: a {@link dev.llmmetrics.cost.PriceTable} of per-model token prices, loaded from a
 * JSON file; the exact cost of one request in picodollars ({@link dev.llmmetrics.cost.ModelPrice}); and the
 * {@link dev.llmmetrics.cost.ModelCatalog}, which resolves each model name to its number, label and price
 * once for the store and the meters.
 */
@NullMarked
package dev.llmmetrics.cost;

import org.jspecify.annotations.NullMarked;
