/**
 * The LangChain4j adapter: {@link dev.llmmetrics.langchain4j.LlmMetricsChatModelListener}, a
 * {@code ChatModelListener} that records every call of a LangChain4j chat model.
 *
 * <p>The only package of llm-metrics that uses LangChain4j; {@code dev.langchain4j:langchain4j-core} is an
 * optional dependency, which an application using this package declares itself. References are non-null
 * unless marked {@code @Nullable}.
 */
@NullMarked
package dev.llmmetrics.langchain4j;

import org.jspecify.annotations.NullMarked;
