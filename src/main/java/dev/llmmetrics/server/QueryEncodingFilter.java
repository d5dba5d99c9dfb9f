package dev.llmmetrics.server;

import io.helidon.http.Status;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * Refuses, with 400 {@code invalid_parameter}, a query that is not UTF-8 once percent-decoded, on every route but
 * the metering proxy's, whatever parameters the route reads: a route reads only its own, so without this check a
 * parameter it ignores ({@code ?foo=%ff}, {@code ?%ff=1}) would pass unchecked. Helidon itself refuses a malformed
 * escape ({@code %zz}, a lone {@code %}) before routing, but not bytes that are no UTF-8. The proxy's paths are
 * left alone: it forwards the query as it came, and the upstream judges it.
 */
final class QueryEncodingFilter implements Filter {

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        String raw = request.query().rawValue();
        if (needsDecoding(raw) && !JsonErrors.isProxied(request.path().path())) {
            try {
                // Decoded whole: '&' and '=' are single ASCII bytes, so the query is UTF-8 exactly when each of
                // its names and values is.
                Utf8.percentDecode(raw, true);
            } catch (IllegalArgumentException e) {
                ApiError.send(request, response, Status.BAD_REQUEST_400, "invalid_parameter", "the query " + e.getMessage());
                return;
            }
        }
        chain.proceed();
    }

    /** Whether {@code raw} holds an escape or a byte past ASCII, the only things that can be no UTF-8. */
    private static boolean needsDecoding(String raw) {
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%' || c >= 0x80) {
                return true;
            }
        }
        return false;
    }
}
