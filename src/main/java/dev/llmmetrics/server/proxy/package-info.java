/**
 * The metering proxy: an OpenAI-compatible {@code /v1} API in front of an upstream one, which records every
 * chat completion it forwards as the STARTED, COMPLETED and FAILED events any producer publishes, so that a
 * client measured needs no code of ours, only a base URL and a session header.
 *
 * <p>{@link dev.llmmetrics.server.proxy.OpenAiProxy} is the routes; {@link dev.llmmetrics.server.proxy.ProxySettings}
 * its settings. It depends on the library and Helidon only, never on the rest of the server, which wires it.
 */
@NullMarked
package dev.llmmetrics.server.proxy;

import org.jspecify.annotations.NullMarked;
