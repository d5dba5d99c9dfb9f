package dev.llmmetrics.server;

import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts the requests being handled so that shutdown can wait for them. Helidon's own stop interrupts
 * active connections, so the server drains first: once {@link #drain(Duration)} is called, new requests
 * get 503 with {@code Connection: close}, and the call returns when the requests already inside have
 * been answered, or when the grace period is over.
 */
final class Drain implements Filter {

    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean draining;

    @Override
    public void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        inFlight.incrementAndGet();
        try {
            if (draining) {
                response.header(HeaderNames.CONNECTION, "close");
                ApiError.send(request, response, Status.SERVICE_UNAVAILABLE_503, "shutting_down", "the server is shutting down");
                return;
            }
            chain.proceed();
        } finally {
            inFlight.decrementAndGet();
        }
    }

    /**
     * Refuses new requests and waits up to {@code grace} for the requests in progress to be answered.
     *
     * @return whether every request in progress finished within the grace period
     */
    boolean drain(Duration grace) {
        draining = true;
        long deadline = System.nanoTime() + grace.toNanos();
        while (inFlight.get() > 0) {
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            try {
                TimeUnit.MILLISECONDS.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }
}
