package dev.llmmetrics.session;

import org.jspecify.annotations.Nullable;

/**
 * A {@link SessionStore} on a server could not be read: the server is unreachable, did not answer within the
 * store's timeout, or holds the data in a layout this version does not read. Nothing changed; the same read may be
 * tried again later.
 */
public final class StoreUnavailableException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * @param message what failed, in words a client may be shown; no credential, no internal name
     * @param cause   the client library's exception, or {@code null} when the store's answer itself was wrong
     */
    public StoreUnavailableException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }
}
