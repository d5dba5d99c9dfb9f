/**
 * Per-session detail: the exact aggregates and the most recent request records of every session.
 *
 * <p>{@link dev.llmmetrics.session.SessionStore} is the contract, so that a shared store can replace the
 * bounded in-memory default, {@link dev.llmmetrics.session.InMemorySessionStore}. Reads return immutable
 * snapshots ({@link dev.llmmetrics.session.SessionMetrics}, {@link dev.llmmetrics.session.RequestRecord}).
 */
package dev.llmmetrics.session;
