package dev.llmmetrics.server;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * Guards every {@code /events} route with the {@code x-internal-auth} header: a request without the right value,
 * or with the header more than once, gets 401 with a JSON error and a challenge naming the header. The comparison is constant-time and the token
 * is never logged or echoed.
 */
final class InternalAuthFilter implements Filter {

    static final HeaderName HEADER = HeaderNames.create("x-internal-auth");
    private static final String GUARDED_PREFIX = "/events";
    /**
     * The challenge every 401 carries (RFC 9110 §11.6.1): a scheme of this server's, named after the header that
     * takes the token, since the token is not sent in {@code Authorization}.
     */
    static final String CHALLENGE = "X-Internal-Auth realm=\"llm-metrics\"";

    private final Secret token;

    InternalAuthFilter(Secret token) {
        this.token = token;
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        String path = request.path().path();
        boolean guarded = path.equals(GUARDED_PREFIX) || path.startsWith(GUARDED_PREFIX + "/");
        if (guarded && !token.matches(Secret.credential(request.headers(), HEADER))) {
            response.header(HeaderNames.WWW_AUTHENTICATE, CHALLENGE);
            ApiError.send(request, response, Status.UNAUTHORIZED_401, "unauthorized",
                    "missing or wrong x-internal-auth header");
            return;
        }
        chain.proceed();
    }
}
