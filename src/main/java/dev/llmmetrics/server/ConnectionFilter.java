package dev.llmmetrics.server;

import io.helidon.http.HeaderValues;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;

/**
 * What happens to the connection once a request is answered: the watch over the answer's writes ends
 * ({@link WriteDeadlines}), and the rest of a body the handler did not read
 * is read and discarded, so that the connection can serve the next request (and the client, likely still
 * sending, reads the answer rather than a reset); when that fails, or when the request or the answer says
 * {@code Connection: close}, the connection is closed after the answer. Helidon itself keeps a connection open
 * after a {@code Connection: close} exchange, and drains an unread body without a time limit, in the request's
 * slot.
 *
 * <p>Before discarding, the request gives its slot of {@code http.max.concurrent.requests} back
 * ({@link RequestSlots}): the answer is sent, and a client refused before its body was read (401, 403, 404, 405,
 * 413 from its {@code Content-Length}, a bad query) must not hold a slot by sending that body slowly. The rest of
 * such a body must then come within the body timeout and at least {@link #DISCARD_MIN_BYTES} each
 * {@link #DISCARD_WINDOW}, or up to its end: a client sending at any ordinary pace reads its answer on a connection
 * kept open, while one dripping its body is closed within about two windows, and holds only a connection until
 * then. The rest of a body the handler began to read (a 413 past the limit) is read within the body timeout.
 */
final class ConnectionFilter implements Filter {

    /** How often the rest of a body being discarded must have brought {@link #DISCARD_MIN_BYTES}. */
    static final Duration DISCARD_WINDOW = Duration.ofSeconds(1);
    /** The fewest bytes of a body being discarded that each {@link #DISCARD_WINDOW} must bring, unless the body ends. */
    static final int DISCARD_MIN_BYTES = 8 * 1024;

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
            RequestSlots.giveBack(request);
            close = !discardBody(request);
        }
        if (close) {
            throw new CloseConnectionException("closing the connection after the answer");
        }
    }

    /**
     * Reads and discards the rest of the body within the body timeout, at least {@link #DISCARD_MIN_BYTES} a
     * {@link #DISCARD_WINDOW}; whether it was all read.
     */
    private boolean discardBody(RoutingRequest request) {
        if (request.headers().containsToken(HeaderValues.EXPECT_100) && !request.continueSent()) {
            return false; // the client may or may not send the body now: only closing is unambiguous
        }
        ReadDeadlines.Deadline deadline = deadlines.start(bodyTimeout);
        boolean read;
        try {
            read = discard(request);
        } catch (IOException | RuntimeException e) {
            read = false; // broken framing, over the size limit, or a deadline closed the socket
        }
        return deadline.end() && read;
    }

    private boolean discard(RoutingRequest request) throws IOException {
        InputStream in;
        try {
            in = request.content().inputStream();
        } catch (IllegalStateException e) {
            // Helidon hands a body's stream out once: the handler read part of the body and answered (413 past the
            // limit, which the client is likely still sending). Helidon reads the rest from that stream, up to its
            // payload limit (HttpApi.SWALLOW_BYTES past the body limit), within the body timeout.
            request.content().consume();
            return true;
        }
        return readPaced(in);
    }

    /** Reads {@code in} to its end, {@link #DISCARD_MIN_BYTES} or the end within each window; whether it got there. */
    private boolean readPaced(InputStream in) throws IOException {
        byte[] buffer = new byte[8192];
        while (true) {
            ReadDeadlines.Deadline window = deadlines.start(DISCARD_WINDOW);
            int got = 0;
            int n = 0;
            try {
                while (got < DISCARD_MIN_BYTES && (n = in.read(buffer)) >= 0) {
                    got += n;
                }
            } catch (IOException | RuntimeException e) {
                window.end();
                throw e;
            }
            if (!window.end()) {
                return false;
            }
            if (n < 0) {
                return true;
            }
        }
    }
}
