/**
 * What LLM calls cost: a {@link dev.llmmetrics.cost.PriceTable} of per-model token prices, loaded from a
 * JSON file, and the exact cost of one request in picodollars ({@link dev.llmmetrics.cost.ModelPrice}).
 */
package dev.llmmetrics.cost;
