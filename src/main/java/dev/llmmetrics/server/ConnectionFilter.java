package dev.llmmetrics.server;

import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.time.Duration;

/**
 * What happens to the connection once a request is answered. The rest of a body the handler did not read
 * is read and discarded within the body timeout, so that the connection can serve the next request (and
 * the client, likely still sending, reads the answer rather than a reset); when that fails, or when the
 * request or the answer says {@code Connection: close}, the connection is closed after the answer.
 * Helidon itself keeps a connection open after a {@code Connection: close} exchange, and drains an unread
 * body without a time limit. A request refused for its credentials (401) gets only {@link #UNAUTHENTICATED_DISCARD}
 * for the rest of its body: a client that has not proven who it is must not hold one of the requests handled at
 * once for the whole body timeout by stalling its body.
 */
final class ConnectionFilter implements Filter {

    /** How long the rest of a refused unauthenticated request's body may take to be read and discarded. */
    static final Duration UNAUTHENTICATED_DISCARD = Duration.ofSeconds(1);

    private final ReadDeadlines deadlines;
    private final Duration bodyTimeout;

    ConnectionFilter(ReadDeadlines deadlines, Duration bodyTimeout) {
        this.deadlines = deadlines;
        this.bodyTimeout = bodyTimeout;
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        chain.proceed();
        if (!response.isSent()) {
            return; // Helidon answers it as an error, and closes the connection if it must
        }
        boolean close = request.headers().containsToken(HeaderValues.CONNECTION_CLOSE)
                || response.headers().containsToken(HeaderValues.CONNECTION_CLOSE);
        if (!close && !request.content().consumed()) {
            boolean unauthenticated = response.status().code() == Status.UNAUTHORIZED_401.code();
            close = !discardBody(request, unauthenticated && UNAUTHENTICATED_DISCARD.compareTo(bodyTimeout) < 0
                    ? UNAUTHENTICATED_DISCARD : bodyTimeout);
        }
        if (close) {
            throw new CloseConnectionException("closing the connection after the answer");
        }
    }

    /** Reads and discards the rest of the body within {@code timeout}; whether it was all read. */
    private boolean discardBody(RoutingRequest request, Duration timeout) {
        if (request.headers().containsToken(HeaderValues.EXPECT_100) && !request.continueSent()) {
            return false; // the client may or may not send the body now: only closing is unambiguous
        }
        ReadDeadlines.Deadline deadline = deadlines.start(timeout);
        boolean read;
        try {
            request.content().consume();
            read = true;
        } catch (RuntimeException e) {
            read = false; // broken framing, over the size limit, or the deadline closed the socket
        }
        return deadline.end() && read;
    }
}
