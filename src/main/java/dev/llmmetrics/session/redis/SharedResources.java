package dev.llmmetrics.session.redis;

import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;

/**
 * The client's threads and buffers, made once per process on first use and shared by every store, so that a
 * store is cheap to open and close; they live as long as the process (daemon threads).
 */
final class SharedResources {

    private SharedResources() {
    }

    private static final class Holder {
        static final ClientResources RESOURCES = DefaultClientResources.builder().ioThreadPoolSize(2)
                .computationThreadPoolSize(2).build();
    }

    static ClientResources get() {
        return Holder.RESOURCES;
    }
}
