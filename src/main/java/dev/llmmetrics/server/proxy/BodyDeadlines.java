package dev.llmmetrics.server.proxy;

/**
 * Bounds how long a request body may take to arrive: the server's read deadlines, which close a connection
 * whose body is late. A deadline belongs to the thread that starts it.
 */
@FunctionalInterface
public interface BodyDeadlines {

    /** Starts a deadline on the calling thread's reads of the request body. */
    Deadline start();

    /** One started deadline. */
    @FunctionalInterface
    interface Deadline {
        /** Ends it; {@code false} if it had passed, the connection then being closed. */
        boolean end();
    }
}
