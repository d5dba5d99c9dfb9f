package dev.llmmetrics.server;

import dev.llmmetrics.server.proxy.OpenAiErrors;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * Refuses, with 403 and a JSON error, what a web page could make its visitor's browser send to this server
 * behind the visitor's back. Clients outside a browser send neither header this filter reads about sites, and
 * name the server as they reached it.
 *
 * <ul>
 *   <li><b>A write from another site.</b> Any page may send a form or a {@code text/plain} {@code fetch} to any
 *       address without asking first. A request other than {@code GET}, {@code HEAD} or {@code OPTIONS} is refused
 *       when the browser marks it as not from this server's own pages ({@code Sec-Fetch-Site} other than
 *       {@code same-origin} or {@code none}), or, from a browser that does not send that header, when its
 *       {@code Origin} names another host than its {@code Host}.</li>
 *   <li><b>A host name the server was not given.</b> A page whose domain its DNS then points at this machine
 *       (DNS rebinding) is same-origin to the browser and could read the answers, on any route no token guards
 *       and on any address the browser reaches. {@code Host} must name {@code localhost}, a name under
 *       {@code .localhost}, an IP address, or one of {@code http.allowed.hosts}. A request whose target is an
 *       absolute URL, whose authority names the host in place of {@code Host}, reaches this filter only when the
 *       two are the same ({@link RequestHeadChecks}).</li>
 * </ul>
 *
 * <p>Written here because Helidon's CORS feature answers a refused origin in its own plain text and checks
 * neither {@code Sec-Fetch-Site} nor the host name.
 */
final class CrossSiteFilter implements Filter {

    private static final HeaderName SEC_FETCH_SITE = HeaderNames.create("Sec-Fetch-Site");
    private static final Set<Method> SAFE = Set.of(Method.GET, Method.HEAD, Method.OPTIONS);

    private static final System.Logger LOG = System.getLogger(CrossSiteFilter.class.getName());
    private static final Duration REFUSAL_LOG_PERIOD = Duration.ofMinutes(1);

    private final Set<String> allowedHosts;
    private final AtomicLong nextRefusalLog = new AtomicLong(System.nanoTime());

    /** @param allowedHosts the host names served beside local ones and addresses, in lower case; "*" for any */
    CrossSiteFilter(Set<String> allowedHosts) {
        this.allowedHosts = Set.copyOf(allowedHosts);
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        @Nullable String host = request.headers().first(HeaderNames.HOST).orElse(null);
        if (!SAFE.contains(request.prologue().method()) && fromAnotherSite(request, host)) {
            refuse(request, response, "cross_site_request",
                    "a browser sent this for a page of another site; the server takes changes only from its own"
                            + " pages and from clients outside a browser");
            return;
        }
        if (host != null && !allowedHosts.contains(HttpSettings.ANY_HOST) && !served(host)) {
            logRefused(host);
            refuse(request, response, "host_not_allowed",
                    "the Host header names neither localhost nor an IP address nor a name in http.allowed.hosts"
                            + " (HTTP_ALLOWED_HOSTS)");
            return;
        }
        chain.proceed();
    }

    /** Answers 403, in the OpenAI error shape on the proxy's paths so that its SDK clients show the reason. */
    private static void refuse(RoutingRequest request, RoutingResponse response, String code, String detail) {
        if (JsonErrors.isProxied(request.path().path())) {
            OpenAiErrors.send(request, response, Status.FORBIDDEN_403, "invalid_request_error", code, detail);
        } else {
            ApiError.send(request, response, Status.FORBIDDEN_403, code, detail);
        }
    }

    /**
     * Logs a refused host name at most once a minute: a scraper or proxy that reaches the server by a name not
     * listed sees only 403, and the log says which name to list; an attacker's requests cannot flood it.
     */
    private void logRefused(String host) {
        long now = System.nanoTime();
        long next = nextRefusalLog.get();
        if (now - next >= 0 && nextRefusalLog.compareAndSet(next, now + REFUSAL_LOG_PERIOD.toNanos())) {
            LOG.log(System.Logger.Level.WARNING, "Refused a request for host {0}: not localhost, an IP address or a name"
                    + " in http.allowed.hosts (HTTP_ALLOWED_HOSTS); list it if clients reach the server by that name"
                    + " (at most one such line a minute)", EventJson.quoted(host));
        }
    }

    private static boolean fromAnotherSite(RoutingRequest request, @Nullable String host) {
        @Nullable String site = request.headers().first(SEC_FETCH_SITE).orElse(null);
        if (site != null) {
            return !site.equalsIgnoreCase("same-origin") && !site.equalsIgnoreCase("none");
        }
        @Nullable String origin = request.headers().first(HeaderNames.ORIGIN).orElse(null);
        if (origin == null) {
            return false;
        }
        int authority = origin.indexOf("://");
        return host == null || authority < 0 || !origin.substring(authority + 3).equalsIgnoreCase(host);
    }

    /**
     * Whether a {@code Host} header names this machine, an address or an allowed name: a name a stranger's DNS
     * could point here is none of them.
     */
    private boolean served(String host) {
        if (host.startsWith("[")) {
            return true; // an IPv6 address: no DNS name is written in brackets
        }
        int colon = host.indexOf(':');
        String name = (colon < 0 ? host : host.substring(0, colon)).toLowerCase(Locale.ROOT);
        name = name.endsWith(".") ? name.substring(0, name.length() - 1) : name; // the root's dot names the same host
        return name.equals("localhost") || name.endsWith(".localhost") || ipv4(name) || allowedHosts.contains(name);
    }

    private static boolean ipv4(String name) {
        String[] parts = name.split("\\.", -1);
        if (parts.length != 4) {
            return false;
        }
        for (String part : parts) {
            if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(c -> c >= '0' && c <= '9')
                    || Integer.parseInt(part) > 255) {
                return false;
            }
        }
        return true;
    }
}
