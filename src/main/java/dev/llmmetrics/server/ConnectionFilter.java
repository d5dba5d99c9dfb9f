package dev.llmmetrics.server;

import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;

/**
 * What happens to the connection once a request is answered: the watch over the answer's writes ends, and
 * the rest of a body the handler did not read
 * is read and discarded within the body timeout, so that the connection can serve the next request (and
 * the client, likely still sending, reads the answer rather than a reset); when that fails, or when the
 * request or the answer says {@code Connection: close}, the connection is closed after the answer.
 * Helidon itself keeps a connection open after a {@code Connection: close} exchange, and drains an unread
 * body without a time limit. The rest of the body of a request refused for its credentials (401) must also
 * keep coming, with no pause longer than {@link #UNAUTHENTICATED_IDLE}: a client sending at any ordinary pace
 * still reads its 401, and one that has not proven who it is cannot hold one of the requests handled at once
 * for the whole body timeout by stalling its body.
 */
final class ConnectionFilter implements Filter {

    /** The longest pause in the rest of the body of a request refused for its credentials. */
    static final Duration UNAUTHENTICATED_IDLE = Duration.ofSeconds(1);

    private final ReadDeadlines deadlines;
    private final Duration bodyTimeout;
    private final WriteDeadlines writes;

    ConnectionFilter(ReadDeadlines deadlines, Duration bodyTimeout, WriteDeadlines writes) {
        this.deadlines = deadlines;
        this.bodyTimeout = bodyTimeout;
        this.writes = writes;
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        try {
            chain.proceed();
        } finally {
            writes.idle(); // the answer is written (or failed): what follows is no write
        }
        if (!response.isSent()) {
            return; // Helidon answers it as an error, and closes the connection if it must
        }
        boolean close = request.headers().containsToken(HeaderValues.CONNECTION_CLOSE)
                || response.headers().containsToken(HeaderValues.CONNECTION_CLOSE);
        if (!close && !request.content().consumed()) {
            close = !discardBody(request, response.status().code() == Status.UNAUTHORIZED_401.code());
        }
        if (close) {
            throw new CloseConnectionException("closing the connection after the answer");
        }
    }

    /**
     * Reads and discards the rest of the body within the body timeout, and with {@code paced} no pause longer
     * than {@link #UNAUTHENTICATED_IDLE} between two reads; whether it was all read.
     */
    private boolean discardBody(RoutingRequest request, boolean paced) {
        if (request.headers().containsToken(HeaderValues.EXPECT_100) && !request.continueSent()) {
            return false; // the client may or may not send the body now: only closing is unambiguous
        }
        ReadDeadlines.Deadline deadline = deadlines.start(bodyTimeout);
        boolean read;
        try {
            read = paced ? readPaced(request.content().inputStream()) : consume(request);
        } catch (IOException | RuntimeException e) {
            read = false; // broken framing, over the size limit, or a deadline closed the socket
        }
        return deadline.end() && read;
    }

    private static boolean consume(RoutingRequest request) {
        request.content().consume();
        return true;
    }

    /** Reads {@code in} to its end, each read within {@link #UNAUTHENTICATED_IDLE}; whether it got there. */
    private boolean readPaced(InputStream in) throws IOException {
        byte[] buffer = new byte[8192];
        while (true) {
            ReadDeadlines.Deadline pause = deadlines.start(UNAUTHENTICATED_IDLE);
            int n;
            try {
                n = in.read(buffer);
            } catch (IOException | RuntimeException e) {
                pause.end();
                throw e;
            }
            if (!pause.end()) {
                return false;
            }
            if (n < 0) {
                return true;
            }
        }
    }
}
