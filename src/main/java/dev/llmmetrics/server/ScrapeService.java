package dev.llmmetrics.server;

import dev.llmmetrics.prometheus.SessionSeries;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.MetricNameFilter;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.function.Predicate;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import org.jspecify.annotations.Nullable;

/**
 * {@code GET /metrics}: the Prometheus scrape of the registry, streamed to the response through a 64 KiB
 * buffer, never held whole in memory.
 *
 * <p>The format follows the {@code Accept} header and its q-values ({@link ScrapeFormat}): text format 0.0.4
 * by default, OpenMetrics 1.0 or Prometheus protobuf when the client rates them highest. With
 * {@code http.scrape.gzip} the answer is gzip-compressed when {@code Accept-Encoding} asks for it
 * ({@link ContentCoding}), as Prometheus does. Its {@code Vary} names the headers the answer follows: {@code Accept},
 * and {@code Accept-Encoding} with {@code http.scrape.gzip}. In both text formats,
 * the per-session families come from {@link SessionSeries#writeText}, the registry's other families follow;
 * the protobuf format is written from the registry's scrape, which holds them too. Open by default, as
 * Prometheus expects; with a scrape token configured, only {@code Authorization: Bearer <token>} gets through.
 *
 * <p>{@code ?name[]=…}, repeated, selects families as the Prometheus client's exporters do, with the client's own
 * {@link MetricNameFilter}, in every format: a family is on the answer when one of the names starts with its name,
 * so {@code llm_requests_total} and {@code llm_requests} both select the counter {@code llm_requests_total}; names
 * that select no family get an answer without any. That lets a second Prometheus job scrape the large per-session
 * families on an interval of its own. A name that cannot begin with any family's name (its first character not a
 * letter, {@code _} or {@code :}; a control character, say) is a 400 {@code invalid_parameter}, and so are more than
 * {@value #MAX_NAMES} names or one of more than {@value #MAX_NAME_LENGTH} characters; the request line's bound
 * (414 {@code uri_too_long}) holds all of them together, with room for every family's name but not for that many
 * names of that length.
 *
 * <p>A scrape holds what it renders from (the registry's other families, the sessions' list and labels) until
 * its answer is written, which takes as long as its client reads: at most {@code maxConcurrent} scrapes are
 * rendered at once, so that clients that stop reading cannot hold that many times a scrape's size. A scrape
 * past them gets 503 {@code overloaded} with {@code Retry-After: 1} at once (Prometheus scrapes a target one
 * scrape at a time); the write timeout ends a stalled one.
 */
final class ScrapeService implements HttpService {

    private static final int BUFFER_BYTES = 64 * 1024;
    /** The most {@code name[]} values a scrape takes: more than the families the server writes. */
    static final int MAX_NAMES = 100;
    /** The longest {@code name[]} value a scrape takes, as long as an id: longer than any family's name. */
    static final int MAX_NAME_LENGTH = 256;
    private static final String NAME_PARAMETER = "name[]";
    private static final String VARY_WITH_GZIP =
            HeaderNames.ACCEPT.defaultCase() + ", " + HeaderNames.ACCEPT_ENCODING.defaultCase();

    private final PrometheusMeterRegistry registry;
    private final SessionSeries sessionSeries;
    private final @Nullable Secret bearerToken;
    private final int maxConcurrent;
    private final boolean gzip;
    private final Semaphore rendering;
    private final ExpositionFormats formats = ExpositionFormats.init();

    /**
     * @param sessionSeries the per-session families, registered on {@code registry} too
     * @param bearerToken   the scrape token, or {@code null} for an open scrape
     * @param maxConcurrent the most scrapes rendered at once
     * @param gzip          whether to compress the answer for a client that asks
     */
    ScrapeService(PrometheusMeterRegistry registry, SessionSeries sessionSeries, @Nullable Secret bearerToken, int maxConcurrent,
                  boolean gzip) {
        this.registry = registry;
        this.sessionSeries = sessionSeries;
        this.bearerToken = bearerToken;
        this.maxConcurrent = maxConcurrent;
        this.gzip = gzip;
        this.rendering = new Semaphore(maxConcurrent);
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::scrape)
                .any("/", MethodNotAllowed.allowing(Method.GET));
    }

    private void scrape(ServerRequest request, ServerResponse response) throws IOException {
        if (bearerToken != null && !authorized(request)) {
            response.header(HeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"llm-metrics\"");
            ApiError.send(request, response, Status.UNAUTHORIZED_401, "unauthorized", "the scrape needs Authorization: Bearer <token>");
            return;
        }
        Predicate<String> included = selection(request);
        if (!rendering.tryAcquire()) {
            response.header(HeaderNames.RETRY_AFTER, "1");
            ApiError.send(request, response, Status.SERVICE_UNAVAILABLE_503, "overloaded", "the server is rendering "
                    + maxConcurrent + " scrapes, as many as it allows (http.max.concurrent.scrapes); retry later");
            return;
        }
        try {
            render(request, response, included);
        } finally {
            rendering.release();
        }
    }

    /**
     * The families the request's {@code name[]} values select, matched as client_java's exporters match them; every
     * family when there are none.
     */
    private static Predicate<String> selection(ServerRequest request) {
        List<String> names = QueryParams.repeatedParam(request.query(), NAME_PARAMETER, MAX_NAMES, MAX_NAME_LENGTH);
        for (String name : names) {
            if (!name.isEmpty() && !canStartAFamilysName(name.charAt(0))) {
                throw new BadRequest("invalid_parameter", "each " + NAME_PARAMETER
                        + " must start with a letter, '_' or ':', as every family's name does");
            }
        }
        return names.isEmpty() ? name -> true : MetricNameFilter.builder().nameMustBeEqualTo(names).build();
    }

    /**
     * Whether a family's name can start with {@code c}. Prometheus 3 takes any UTF-8 name, but every family this
     * server writes is named in the classic set, {@code [a-zA-Z_:][a-zA-Z0-9_:]*}: its meters through Micrometer's
     * Prometheus naming convention, the per-session families by name. The first character is the only one that can
     * rule a value out: client_java selects a family when a value starts with its name, and ignores what follows.
     */
    private static boolean canStartAFamilysName(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':';
    }

    private void render(ServerRequest request, ServerResponse response, Predicate<String> included) throws IOException {
        ScrapeFormat format = ScrapeFormat.negotiate(request.headers(),
                formats.getPrometheusProtobufWriter().isAvailable());
        ExpositionFormatWriter writer = switch (format) {
            case PROTOBUF -> formats.getPrometheusProtobufWriter();
            case OPENMETRICS -> formats.getOpenMetricsTextFormatWriter();
            case TEXT -> formats.getPrometheusTextFormatWriter();
        };
        response.header(HeaderNames.CONTENT_TYPE, writer.getContentType());
        boolean compressed = gzip && ContentCoding.acceptsGzip(request.headers());
        // The format follows Accept, and with gzip configured the coding follows Accept-Encoding (RFC 9110 §12.5.5).
        response.header(HeaderNames.VARY, gzip ? VARY_WITH_GZIP : HeaderNames.ACCEPT.defaultCase());
        if (compressed) {
            response.header(HeaderNames.CONTENT_ENCODING, "gzip");
        }
        // Streamed in 64 KiB writes; the listener sets TCP_NODELAY, so the last small write is not held
        // back by Nagle's algorithm waiting for the client's delayed ACK (see docs/benchmarks.md).
        OutputStream body = compressed ? new FastestGzip(response.outputStream()) : response.outputStream();
        try (OutputStream out = new BufferedOutputStream(body, BUFFER_BYTES)) {
            if (format == ScrapeFormat.PROTOBUF) {
                // The per-session families are registered on the registry too: its scrape holds them.
                writer.write(out, registry.getPrometheusRegistry().scrape(included));
            } else {
                // The per-session families first, written from the figures; then every other family through
                // the client's writer, which ends an OpenMetrics answer with its # EOF.
                sessionSeries.writeText(out, format == ScrapeFormat.OPENMETRICS, included);
                writer.write(out, registry.getPrometheusRegistry()
                        .scrape(name -> !SessionSeries.isSessionSeries(name) && included.test(name)));
            }
        }
    }

    /**
     * Gzip at its fastest level: a scrape is mostly repeated names and labels, which even that level shrinks
     * several times over, and the CPU it takes is the scraped server's.
     */
    private static final class FastestGzip extends GZIPOutputStream {
        FastestGzip(OutputStream out) throws IOException {
            super(out, BUFFER_BYTES);
            def.setLevel(Deflater.BEST_SPEED);
        }
    }

    private boolean authorized(ServerRequest request) {
        return bearerToken != null && bearerToken.matches(Secret.bearer(request.headers()));
    }
}
