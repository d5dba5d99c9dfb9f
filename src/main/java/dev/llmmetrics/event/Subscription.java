package dev.llmmetrics.event;

/** A listener's registration on the {@link EventBus}; closing it unsubscribes the listener. */
public interface Subscription extends AutoCloseable {

    /** Unsubscribes the listener; closing twice does nothing. */
    @Override
    void close();
}
