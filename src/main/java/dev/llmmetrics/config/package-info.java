/** The settings of an {@link dev.llmmetrics.LlmMetrics} instance: bounds of the store, the meters and the bus. */
package dev.llmmetrics.config;
