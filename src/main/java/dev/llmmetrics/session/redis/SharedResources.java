package dev.llmmetrics.session.redis;

import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The client's threads and buffers, made once per process on first use and shared by every store, so that a
 * store is cheap to open and close; they live as long as the process (daemon threads).
 */
final class SharedResources {

    private SharedResources() {
    }

    private static final class Holder {
        // Reconnect attempts back off up to a second, not the client's 30: a Redis that is back is used at once.
        static final ClientResources RESOURCES = DefaultClientResources.builder().ioThreadPoolSize(2)
                .computationThreadPoolSize(2)
                .reconnectDelay(Delay.exponential(Duration.ofMillis(10), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
                .build();
    }

    static ClientResources get() {
        return Holder.RESOURCES;
    }
}
