/**
 * The per-session series on a Prometheus registry: {@link dev.llmmetrics.prometheus.SessionSeries} reads
 * this process's session figures at scrape time. The only library package that needs the Prometheus
 * client, an optional dependency.
 */
@NullMarked
package dev.llmmetrics.prometheus;

import org.jspecify.annotations.NullMarked;
