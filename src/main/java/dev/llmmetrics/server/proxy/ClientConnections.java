package dev.llmmetrics.server.proxy;

import io.helidon.common.buffers.DataReader;
import io.helidon.http.HttpPrologue;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1ConnectionListener;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * Tells whether the client of the request a handler is serving has closed its connection, which only a read of
 * that connection shows: Helidon offers no other sign of it while a handler runs, and a write to a closed
 * connection usually succeeds into the socket's buffer. Registered as a listener of the HTTP/1.1 connections,
 * it keeps each connection per thread when its request line is read, on the thread that then runs the handler.
 */
public final class ClientConnections implements Http1ConnectionListener {

    /** How long a read of the client's connection may take to show it closed; one already closed shows at once. */
    static final Duration PROBE = Duration.ofMillis(250);

    private final ThreadLocal<ConnectionContext> current = new ThreadLocal<>();

    @Override
    public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
        if (current.get() != ctx) {
            current.set(ctx);
        }
    }

    /** What a read of a client's connection showed. */
    enum Presence {
        /** Its end or a reset came: the client closed its connection, or at least its sending side. */
        GONE,
        /** Bytes came, a request it sent after this one: the client is there, and nothing is left reading. */
        THERE,
        /** Nothing came within {@link #PROBE}: the client is likely there, and the read still waits. */
        WAITING
    }

    /**
     * What a read of the connection of the request being handled on the calling thread shows, on a thread of its
     * own, within {@link #PROBE}. A read still {@link Presence#WAITING} when this returns would take the bytes of
     * a later request: the connection must then be closed after the answer, never read for another. Only once
     * the request body has been read whole.
     */
    Presence probe() {
        @Nullable ConnectionContext ctx = current.get();
        if (ctx == null) {
            return Presence.WAITING;
        }
        DataReader reader = ctx.dataReader();
        AtomicBoolean ended = new AtomicBoolean();
        CountDownLatch read = new CountDownLatch(1);
        Thread.ofVirtual().name("llm-metrics-proxy-client-probe").start(() -> {
            try {
                reader.ensureAvailable(); // bytes: the client is there, sending a request after this one
            } catch (RuntimeException e) {
                ended.set(true); // its end, or a reset; or the connection closed after the answer, when unread
            }
            read.countDown();
        });
        try {
            if (!read.await(PROBE.toNanos(), TimeUnit.NANOSECONDS)) {
                return Presence.WAITING;
            }
            return ended.get() ? Presence.GONE : Presence.THERE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Presence.WAITING;
        }
    }
}
