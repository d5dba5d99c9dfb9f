package dev.llmmetrics.server;

import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1ConnectionListener;
import java.time.Duration;

/**
 * The header timeout between a request's line and the end of its headers: the request line is read under
 * Helidon's idle-connection timeout, which closes a connection that waits for it, but nothing in Helidon
 * bounds the headers that follow. Both callbacks run on the connection's thread, in order, so the deadline
 * is kept in a thread-local; a connection whose headers fail to parse is closed by Helidon, never reused.
 */
final class HeaderDeadlines implements Http1ConnectionListener {

    private final ReadDeadlines deadlines;
    private final Duration timeout;
    private final ThreadLocal<ReadDeadlines.Deadline> current = new ThreadLocal<>();

    HeaderDeadlines(ReadDeadlines deadlines, Duration timeout) {
        this.deadlines = deadlines;
        this.timeout = timeout;
    }

    @Override
    public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
        current.set(deadlines.start(timeout));
    }

    @Override
    public void headers(ConnectionContext ctx, Headers headers) {
        ReadDeadlines.Deadline deadline = current.get();
        current.remove();
        if (deadline != null && !deadline.end()) {
            throw new CloseConnectionException("the request headers did not arrive within " + timeout);
        }
    }
}
