/**
 * The HTTP face of llm-metrics on Helidon 4 SE: one {@link io.helidon.webserver.http.HttpService} per
 * resource, JSON through one configured Jackson {@code ObjectMapper}, errors as JSON.
 *
 * <p>{@link dev.llmmetrics.server.HttpApi} assembles the routing; everything else is package-private.
 */
package dev.llmmetrics.server;
