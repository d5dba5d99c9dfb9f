package dev.llmmetrics.server;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * Headers on every answer, set before any handler runs so that errors and 304s carry them too: no content
 * sniffing ({@code X-Content-Type-Options: nosniff}), and nothing stored by browsers or proxies
 * ({@code Cache-Control: no-store}), since the answers hold session data. The web view's files replace the
 * latter with their own revalidation. And the {@code Date} in the form HTTP asks for ({@link HttpDate}), in place of
 * Helidon's.
 */
final class ApiHeaders implements Filter {

    static final Header NOSNIFF = HeaderValues.create(HeaderNames.create("X-Content-Type-Options"), "nosniff");
    static final Header NO_STORE = HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-store");

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        response.header(NOSNIFF);
        response.header(NO_STORE);
        response.header(HttpDate.now());
        chain.proceed();
    }
}
