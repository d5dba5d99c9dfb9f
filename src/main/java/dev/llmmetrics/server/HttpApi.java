package dev.llmmetrics.server;

import dev.llmmetrics.LlmMetrics;
import dev.llmmetrics.prometheus.SessionSeries;
import dev.llmmetrics.server.proxy.OpenAiProxy;
import dev.llmmetrics.server.proxy.ProxySettings;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.ErrorHandling;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionListener;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The server's routes, assembled from the library's parts.
 *
 * <pre>
 * GET    /                                     the web view (index.html; /app.css, /app.js, /favicon.svg)
 * GET    /metrics                              Prometheus scrape (optionally bearer-protected)
 * GET    /health                               liveness
 * GET    /health/ready                         readiness: 503 while the session store is unreachable
 * POST   /events                               ingest one event, an array, or NDJSON
 * GET    /events/metrics                       counts over all events, LLM totals by model
 * GET    /events/stats                         event bus statistics
 * GET    /events/metrics/sessions              session ids, most recently active first
 * GET    /events/metrics/summaries             session aggregates without records, most recent first
 * GET    /events/metrics/models?window=        per-model rates, error ratio and latency over a recent window
 * GET    /events/metrics/session/{session_id}  one session's metrics
 * DELETE /events/metrics/session/{session_id}  clear one session from store and meters
 * POST   /v1/chat/completions                  the metering proxy, when proxy.upstream.url is set (recorded)
 * POST   /v1/embeddings, GET /v1/models        the metering proxy (forwarded only)
 * </pre>
 *
 * Every {@code GET} route but the proxy's answers {@code HEAD} too, as its {@code GET} without the body
 * ({@link HeadRoutes}). Every {@code /events} route requires {@code x-internal-auth} when an auth token is set;
 * the web view's files are public, the data its script fetches from {@code /events} is not. The {@code /v1}
 * routes require the proxy's own access token when one is set.
 */
public final class HttpApi {

    private final LlmMetrics metrics;
    private final PrometheusMeterRegistry registry;
    private final HttpSettings settings;
    private final Drain drain = new Drain();
    private final ModelRates modelRates;
    private final SessionSeries sessionSeries;
    private final ReadDeadlines readDeadlines;
    private final WriteDeadlines writeDeadlines;
    private final Optional<ProxySettings> proxySettings;
    private final @Nullable OpenAiProxy proxy;

    /**
     * How much more than the body limit the server reads, and discards, of a body it answers 413: the
     * client is usually still sending it, and a server that closes at once makes it see a reset
     * connection instead of the answer (Tomcat's "swallow" does the same). Beyond, Helidon answers 413
     * and closes without reading.
     */
    static final int SWALLOW_BYTES = 2 * 1024 * 1024;

    /**
     * The send buffer each accepted connection asks of the kernel ({@code SO_SNDBUF}; Linux reserves twice that,
     * half for its bookkeeping), in place of one it grows up to {@code net.ipv4.tcp_wmem}'s last figure (4 MiB). A
     * blocked write goes on only once about a third of that buffer has drained, so in a 4 MiB buffer one write of a
     * client reading steadily at under about 1.4 MB per {@code http.write.timeout} would wait past the timeout, and
     * the client be cut. In this one, a write waits for the client to read at most the buffer, the write and a
     * segment: {@link WriteDeadlines} then times the client's lack of progress.
     */
    static final int SEND_BUFFER_BYTES = 64 * 1024;

    /**
     * How much a client must read in each {@code http.write.timeout} to be sure never to be cut (docs/limits.md): at
     * most twice {@link #SEND_BUFFER_BYTES} held by the kernel, a write (the largest, a scrape's first two 64 KiB
     * buffers and the headers) and a TCP segment (64 KiB on loopback), rounded up.
     */
    static final int PROGRESS_BYTES = 384 * 1024;

    /**
     * @param metrics  the library instance the routes read and feed
     * @param registry the registry the scrape renders
     * @param settings auth tokens and ingestion limits
     * @param proxy    the metering proxy's settings; empty to serve no {@code /v1} routes
     */
    public HttpApi(LlmMetrics metrics, PrometheusMeterRegistry registry, HttpSettings settings,
                   Optional<ProxySettings> proxy) {
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.proxySettings = Objects.requireNonNull(proxy, "proxy");
        Duration bodyTimeout = settings.connections().bodyTimeout();
        // A header or body deadline passes up to an eighth of the shorter timeout late, 10 ms to 1 s.
        Duration shorter = settings.connections().headerTimeout().compareTo(bodyTimeout) < 0
                ? settings.connections().headerTimeout() : bodyTimeout;
        this.readDeadlines = new ReadDeadlines(shorter.dividedBy(8));
        this.writeDeadlines = new WriteDeadlines(settings.connections().writeTimeout());
        this.proxy = proxy.map(p -> new OpenAiProxy(p, metrics.tracker(), () -> readDeadlines.start(bodyTimeout)::end,
                        writeDeadlines::idle))
                .orElse(null);
        this.sessionSeries = SessionSeries.of(metrics)
                .register(registry);
        this.modelRates = new ModelRates(registry, System::nanoTime, metrics.store()::inFlightByLabel);
        modelRates.start();
    }

    /**
     * Stops the model sampler and the read and write deadlines and closes the proxy's upstream connections, once
     * the server no longer takes requests.
     */
    public void close() {
        modelRates.close();
        readDeadlines.close();
        writeDeadlines.close();
        if (proxy != null) {
            proxy.close();
        }
    }

    /**
     * Adds the routes, the filters (connection handling, common headers, drain, requests from other sites, auth,
     * the query's encoding) and the JSON error handling to {@code routing}. Every {@code GET} route but the proxy's
     * answers {@code HEAD} too ({@link HeadRoutes}).
     */
    public void routing(HttpRouting.Builder routing) {
        routing.addFilter(new ConnectionFilter(readDeadlines, settings.connections().bodyTimeout(), writeDeadlines))
                .addFilter(new ApiHeaders())
                .addFilter(drain)
                .addFilter(new CrossSiteFilter(settings.allowedHosts()));
        settings.authToken().map(Secret::new).map(InternalAuthFilter::new).ifPresent(routing::addFilter);
        proxySettings.ifPresent(p -> p.accessToken().map(Secret::new)
                .map(token -> new ProxyAuthFilter(token, p.upstreamKey().isPresent())).ifPresent(routing::addFilter));
        routing.addFilter(new QueryEncodingFilter());
        HeadRoutes.of(routing).register("/metrics", new ScrapeService(registry, sessionSeries, settings.scrapeToken().map(Secret::new).orElse(null),
                        settings.connections().maxConcurrentScrapes(), settings.scrapeGzip()))
                .register("/health", new HealthService(metrics.store()))
                .register("/events", new IngestService(metrics.bus(), settings.maxBodyBytes(), settings.maxBatch(),
                        readDeadlines, settings.connections().bodyTimeout()))
                .register("/events/metrics", new SessionService(metrics.store()))
                .register("/events/metrics", new EventMetricsService(metrics.bus(), metrics.meters(), metrics.store()))
                .register("/events/metrics", new ModelRatesService(modelRates))
                .register("/events/stats", new BusStatsService(metrics.bus()))
                .register("/", new WebService());
        if (proxy != null) {
            routing.register("/v1", proxy);
        }
        JsonErrors.register(routing);
    }

    /**
     * Applies the settings every llm-metrics server needs: JSON pre-routing errors, the payload limit (the
     * larger of the ingestion and proxy body limits plus what a 413 swallows, see {@link #SWALLOW_BYTES}),
     * TCP_NODELAY so that the last write of a streamed response is not held back by Nagle's algorithm, a send
     * buffer of {@link #SEND_BUFFER_BYTES}, the connection settings, and no Helidon shutdown hook, since Helidon's
     * stop interrupts requests in progress; stop through {@link #drain(Duration)} first.
     *
     * <p>The header timeout is Helidon's idle-connection timeout, which closes a connection that waits for a
     * request line (checked a few times per timeout), and {@link HeaderDeadlines} for the headers after it,
     * installed on the one HTTP/1.1 protocol (beside the proxy's {@link OpenAiProxy#clientConnections()}), whose
     * answers {@link WriteDeadlines} watches, its connections reading chunked bodies strictly ({@link StrictChunks}).
     * Past the connection cap Helidon stops accepting; past the concurrency cap ({@link RequestSlots}, whose slot a
     * request can give back once answered) it answers 503 and closes.
     */
    public void listener(WebServerConfig.Builder server) {
        HttpSettings.Connections connections = settings.connections();
        Http1Config http1 = http1(connections);
        Duration idleCheck = connections.headerTimeout().dividedBy(4);
        idleCheck = idleCheck.compareTo(Duration.ofSeconds(1)) > 0 ? Duration.ofSeconds(1)
                : idleCheck.compareTo(Duration.ofMillis(100)) < 0 ? Duration.ofMillis(100) : idleCheck;
        server.directHandlers(JsonErrors.directHandlers(proxy != null))
                // Helidon's messages reach the direct handlers (never the client: JsonErrors writes every
                // body), so that headers past the size limit can be answered 431 rather than a bare 400.
                .errorHandling(ErrorHandling.builder().includeEntity(true).build())
                .maxPayloadSize((long) Math.max(settings.maxBodyBytes(),
                        proxySettings.map(ProxySettings::maxBodyBytes).orElse(0)) + SWALLOW_BYTES)
                .connectionOptions(socket -> socket.tcpNoDelay(true).socketSendBufferSize(SEND_BUFFER_BYTES))
                .maxTcpConnections(connections.maxConnections())
                .maxConcurrentRequests(-1) // Helidon's own cap would replace the slots below
                .concurrencyLimit(new RequestSlots(connections.maxConcurrentRequests()))
                .idleConnectionTimeout(connections.headerTimeout())
                .idleConnectionPeriod(idleCheck)
                .protocolsDiscoverServices(false)
                .connectionSelectors(List.of(new StrictChunks(http1))) // HTTP/1.1, the one protocol
                .shutdownHook(false);
    }

    /**
     * HTTP/1.1 with the header deadlines, the checks of a request's head ({@link RequestHeadChecks}), the write
     * deadlines, and the proxy's view of its clients' connections when it is on. One receive listener calls them
     * all: Helidon calls none of its listeners when given more than one (its list of them forwards no callback).
     * A request line ends the watch over the previous answer's writes, also one Helidon wrote itself, outside the
     * routing.
     */
    private Http1Config http1(HttpSettings.Connections connections) {
        HeaderDeadlines headers = new HeaderDeadlines(readDeadlines, connections.headerTimeout());
        RequestHeadChecks checks = new RequestHeadChecks();
        Http1ConnectionListener clients = proxy == null ? null : proxy.clientConnections();
        return Http1Config.builder().addSendListener(writeDeadlines).addReceiveListener(new Http1ConnectionListener() {
            @Override
            public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
                writeDeadlines.idle();
                if (clients != null) {
                    clients.prologue(ctx, prologue);
                }
                checks.prologue(ctx, prologue);
                headers.prologue(ctx, prologue);
            }

            @Override
            public void headers(ConnectionContext ctx, Headers received) {
                headers.headers(ctx, received); // ends the header deadline before a refusal can leave this
                checks.headers(ctx, received);
            }
        }).build();
    }

    /**
     * Refuses new requests with 503 and waits up to {@code grace} for those in progress to be answered.
     *
     * @return whether they all finished in time
     */
    public boolean drain(Duration grace) {
        return drain.drain(grace);
    }
}
