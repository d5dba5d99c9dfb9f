package dev.llmmetrics.server;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.http.Headers;
import io.helidon.http.Status;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1ConnectionListener;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Iterator;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The write timeout: a connection whose answer makes no progress for {@code timeout}, its client not reading
 * it, is closed, which ends the blocked write with an error and frees the request's slot. Helidon bounds no
 * write: a client that stops reading would otherwise hold its request, and what the answer holds, for good.
 *
 * <p>As Helidon's send listener, it learns of each write of an answer just before the write, on the
 * connection's thread: that starts or renews the connection's watch. The watch stops when the thread is
 * back in the server's code with the answer written ({@link #idle()}: after the routing's filters, at the
 * next request line, after each piece the proxy relays). One thread sweeps the watches every
 * {@code resolution} and closes the socket of a connection whose watch has run past the timeout; it closes
 * the socket rather than interrupting the thread, so nothing but that connection's writes can see it.
 *
 * <p>What a write waits for is the client's reading: each write of an answer is at most a few buffers (64 KiB of
 * a scrape, a piece of a kept session, {@link Json#PIECE_BYTES}), and the kernel holds at most
 * {@link HttpApi#SEND_BUFFER_BYTES} twice over ahead of it, so a client that reads {@link HttpApi#PROGRESS_BYTES}
 * in each timeout is never cut, however large the answer; one that stops reading is cut within the timeout and a
 * sweep. The send buffer is capped for that: in one the kernel grows on its own (to 4 MiB), a blocked write goes on
 * only once about a third of it has drained, so a steady reader slower than that per timeout would be cut too.
 *
 * <p>A connection takes one watch, kept by its thread, for all its answers: a write neither allocates nor
 * takes a lock. Watches of connections whose thread has ended are dropped at the next sweep.
 */
final class WriteDeadlines implements Http1ConnectionListener, AutoCloseable {

    private static final Logger LOG = System.getLogger(WriteDeadlines.class.getName());
    private static final Duration FINEST = Duration.ofMillis(10);
    private static final Duration COARSEST = Duration.ofSeconds(1);

    private final long timeoutNanos;
    private final Duration timeout;
    private final Queue<Watch> watches = new ConcurrentLinkedQueue<>();
    private final ThreadLocal<Watch> current = new ThreadLocal<>();
    private final ScheduledThreadPoolExecutor sweeper;

    /** @param timeout the longest a write of an answer may wait for the client; swept every eighth of it, 10 ms to 1 s */
    WriteDeadlines(Duration timeout) {
        this.timeout = timeout;
        this.timeoutNanos = timeout.toNanos();
        long period = Math.clamp(timeout.toNanos() / 8, FINEST.toNanos(), COARSEST.toNanos());
        sweeper = new ScheduledThreadPoolExecutor(1, Thread.ofPlatform().name("llm-metrics-write-deadlines").daemon(true).factory());
        sweeper.scheduleAtFixedRate(this::sweep, period, period, TimeUnit.NANOSECONDS);
    }

    @Override
    public void status(ConnectionContext ctx, Status status) {
        writing(ctx);
    }

    @Override
    public void headers(ConnectionContext ctx, Headers headers) {
        writing(ctx);
    }

    @Override
    public void data(ConnectionContext ctx, BufferData data) {
        writing(ctx);
    }

    @Override
    public void data(ConnectionContext ctx, byte[] bytes, int offset, int length) {
        writing(ctx);
    }

    /** A write of an answer starts on the calling thread, the connection's: its watch runs from now. */
    private void writing(ConnectionContext ctx) {
        Watch watch = current.get();
        if (watch == null) {
            watch = new Watch(Thread.currentThread(), ctx);
            current.set(watch);
            watches.add(watch);
        } else if (watch.ctx != ctx) {
            watch.ctx = ctx; // a thread that serves another connection after the first (a pool of platform threads)
        }
        watch.since = System.nanoTime();
        watch.state = Watch.WRITING;
    }

    /**
     * The calling thread is done writing for now: its answer was written, or the piece it relayed. Nothing
     * when its connection has written nothing yet.
     */
    void idle() {
        Watch watch = current.get();
        if (watch != null && watch.state == Watch.WRITING) {
            watch.state = Watch.IDLE;
        }
    }

    /** How many connections have a watch, idle or not. */
    int watched() {
        return watches.size();
    }

    /** Closes the connections whose write has waited past the timeout and drops the watches of ended ones. */
    private void sweep() {
        long now = System.nanoTime();
        try {
            for (Iterator<Watch> each = watches.iterator(); each.hasNext(); ) {
                Watch watch = each.next();
                if (!watch.thread.isAlive()) {
                    each.remove();
                } else if (watch.state == Watch.WRITING && now - watch.since >= timeoutNanos) {
                    watch.state = Watch.EXPIRED;
                    expire(watch.ctx);
                }
            }
        } catch (Throwable e) {
            report("sweeping the write deadlines failed; the next sweep retries", e);
        }
    }

    /**
     * Closes the connection's socket, on a thread of its own: closing a TLS socket sends a closing message,
     * which could block the sweeps behind the very client that does not read.
     */
    private void expire(ConnectionContext ctx) {
        HelidonSocket socket = ctx.serverSocket();
        Thread.ofVirtual().name("llm-metrics-write-timeout").start(() -> {
            try {
                LOG.log(Level.DEBUG, "closing a connection whose client read none of its answer for {0}", timeout);
                socket.close();
            } catch (RuntimeException e) {
                report("closing a connection whose write timed out failed", e);
            }
        });
    }

    private static void report(String what, Throwable e) {
        try {
            LOG.log(Level.ERROR, what, e);
        } catch (Throwable ignored) {
            // out of memory, most likely: the sweeps go on all the same
        }
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
    }

    /** One connection's watch over its writes: idle, writing since {@link #since}, or expired (its socket closed). */
    private static final class Watch {
        private static final int IDLE = 0;
        private static final int WRITING = 1;
        private static final int EXPIRED = 2;

        private final Thread thread;
        private volatile ConnectionContext ctx;
        private volatile long since;
        private volatile int state = IDLE;

        private Watch(Thread thread, ConnectionContext ctx) {
            this.thread = thread;
            this.ctx = ctx;
        }
    }
}
