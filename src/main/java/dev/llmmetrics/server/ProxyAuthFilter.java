package dev.llmmetrics.server;

import dev.llmmetrics.server.proxy.OpenAiErrors;
import dev.llmmetrics.server.proxy.OpenAiProxy;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * Guards the metering proxy's {@code /v1} routes with the proxy's own access token, apart from
 * {@code x-internal-auth}: in the {@code x-proxy-auth} header, or, when the proxy replaces the client's
 * credential with its upstream key, as the client's bearer token (the API key an SDK sends). A request without
 * it gets 401 in the OpenAI error shape, with a challenge for each way it is taken. The comparison is constant-time and the token never logged or echoed.
 */
final class ProxyAuthFilter implements Filter {

    private static final String GUARDED_PREFIX = "/v1";

    private final Secret token;
    private final boolean bearerAccepted;

    /** @param bearerAccepted whether the client's bearer token may carry the access token (an upstream key replaces it) */
    ProxyAuthFilter(Secret token, boolean bearerAccepted) {
        this.token = token;
        this.bearerAccepted = bearerAccepted;
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        String path = request.path().path();
        if ((path.equals(GUARDED_PREFIX) || path.startsWith(GUARDED_PREFIX + "/")) && !presented(request)) {
            // A challenge for each way the token is taken (RFC 9110 §11.6.1): the proxy's header, and the API key.
            response.header(HeaderNames.WWW_AUTHENTICATE, bearerAccepted
                    ? "X-Proxy-Auth realm=\"llm-metrics proxy\", Bearer realm=\"llm-metrics proxy\""
                    : "X-Proxy-Auth realm=\"llm-metrics proxy\"");
            OpenAiErrors.send(request, response, Status.UNAUTHORIZED_401, "invalid_request_error", "proxy_unauthorized",
                    "missing or wrong proxy access token (x-proxy-auth header"
                            + (bearerAccepted ? ", or the API key" : "") + ")");
            return;
        }
        chain.proceed();
    }

    private boolean presented(RoutingRequest request) {
        if (token.matches(Secret.credential(request.headers(), OpenAiProxy.ACCESS_HEADER))) {
            return true;
        }
        return bearerAccepted && token.matches(Secret.bearer(request.headers()));
    }
}
