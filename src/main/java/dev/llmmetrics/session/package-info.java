/**
 * Per-session detail: the exact aggregates and the most recent request records of every session.
 *
 * <p>{@link dev.llmmetrics.session.SessionStore} is the contract, so that a durable or shared store can
 * replace the bounded in-memory default, {@link dev.llmmetrics.session.InMemorySessionStore}. Reads return
 * immutable snapshots ({@link dev.llmmetrics.session.SessionMetrics},
 * {@link dev.llmmetrics.session.RequestRecord}); a lookup that may find nothing returns an {@code Optional},
 * a value's absent part is {@code @Nullable}.
 */
@NullMarked
package dev.llmmetrics.session;

import org.jspecify.annotations.NullMarked;
