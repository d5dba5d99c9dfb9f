package dev.llmmetrics.event;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class IsolatedListenerTest {

    @Test
    void aWaitPastWhatNanosecondsCountIsAWaitWithoutEndNotAnOverflow() throws Exception {
        CountDownLatch delivered = new CountDownLatch(1);
        try (IsolatedListener listener = IsolatedListener.of("patient", event -> delivered.countDown(), 1,
                Duration.ofDays(1_000_000_000L))) {
            listener.onEvent(new GenericEvent("X", null));
            assertTrue(delivered.await(10, TimeUnit.SECONDS));
            assertEquals(0, listener.dropped());
        }
        assertThrows(IllegalArgumentException.class,
                () -> IsolatedListener.of("impatient", event -> { }, 1, Duration.ofMillis(-1)));
    }
}
