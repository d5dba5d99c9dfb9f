/**
 * Per-session detail: the exact aggregates and the most recent request records of every session.
 *
 * <p>{@link dev.llmmetrics.store.SessionStore} is the contract, so that a shared store can replace the
 * bounded in-memory default, {@link dev.llmmetrics.store.InMemorySessionStore}. Reads return immutable
 * snapshots ({@link dev.llmmetrics.store.SessionMetrics}, {@link dev.llmmetrics.store.RequestRecord}).
 */
package dev.llmmetrics.store;
