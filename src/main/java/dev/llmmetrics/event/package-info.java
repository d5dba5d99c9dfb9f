/**
 * LLM request events and the in-process {@link dev.llmmetrics.event.EventBus} that carries them.
 *
 * <p>Three events describe one LLM call: {@link dev.llmmetrics.event.LlmRequestStarted},
 * then either {@link dev.llmmetrics.event.LlmRequestCompleted} or
 * {@link dev.llmmetrics.event.LlmRequestFailed}. Every other kind of event an agent runtime emits
 * (agent, tool, human-in-the-loop) travels as a {@link dev.llmmetrics.event.GenericEvent}, so that
 * the bus can count all of them. Events are immutable records validated when they are built; a value
 * they refuse raises an {@link dev.llmmetrics.event.InvalidEventException} naming the field.
 *
 * <p>References are non-null unless marked {@code @Nullable}, which is how an absent value is written.
 */
@NullMarked
package dev.llmmetrics.event;

import org.jspecify.annotations.NullMarked;
