package dev.llmmetrics.server.proxy;

import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Why a forwarded call failed, in the error vocabulary of the FAILED event ({@code rate_limit}, {@code timeout},
 * {@code server_error}, {@code invalid_request}, {@code content_filter}, {@code auth}, {@code cancelled},
 * {@code _OTHER}), and its error text. The one place the proxy classifies failures.
 *
 * @param type the error type
 * @param text what went wrong, for a human: never a credential
 */
record Failure(String type, String text) {

    static final String RATE_LIMIT = "rate_limit";
    static final String TIMEOUT = "timeout";
    static final String SERVER_ERROR = "server_error";
    static final String INVALID_REQUEST = "invalid_request";
    static final String CONTENT_FILTER = "content_filter";
    static final String AUTH = "auth";
    static final String CANCELLED = "cancelled";
    static final String OTHER = "_OTHER";

    /** The client went away before the answer was passed on whole; the upstream call was cancelled. */
    static final Failure CLIENT_GONE = new Failure(CANCELLED, "the client disconnected; the upstream call was cancelled");

    /**
     * An upstream answer with an error status: 429 is {@code rate_limit}; 401 and 403 {@code auth}; 408
     * {@code timeout}; 5xx {@code server_error}; another 4xx {@code invalid_request}, or {@code content_filter} when
     * the error's code or type names a content filter or policy; anything else {@code _OTHER}.
     *
     * @param errorCode    the upstream error's {@code error.code} or {@code error.type}, when it gave one
     * @param errorMessage the upstream error's {@code error.message}, kept in the text except for auth failures,
     *                     whose messages may quote part of a key
     */
    static Failure ofStatus(int status, @Nullable String errorCode, @Nullable String errorMessage) {
        String type;
        if (status == 429) {
            type = RATE_LIMIT;
        } else if (status == 401 || status == 403) {
            type = AUTH;
        } else if (status == 408) {
            type = TIMEOUT;
        } else if (status >= 500 && status <= 599) {
            type = SERVER_ERROR;
        } else if (status >= 400 && status <= 499) {
            type = errorCode != null && namesContentFilter(errorCode) ? CONTENT_FILTER : INVALID_REQUEST;
        } else {
            type = OTHER;
        }
        StringBuilder text = new StringBuilder("upstream answered ").append(status);
        if (errorCode != null) {
            text.append(' ').append(errorCode);
        }
        if (errorMessage != null && !type.equals(AUTH)) {
            text.append(": ").append(errorMessage);
        }
        return new Failure(type, text.toString());
    }

    /**
     * A call to the upstream that failed without an answer: a timeout (connect or read) is {@code timeout}, an
     * upstream that cannot be reached or that broke the connection {@code server_error}.
     */
    static Failure ofException(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof SocketTimeoutException || cause instanceof InterruptedIOException) {
                return new Failure(TIMEOUT, "the upstream did not answer in time (" + describe(cause) + ")");
            }
            if (cause instanceof ConnectException || cause instanceof UnknownHostException) {
                return new Failure(SERVER_ERROR, "the upstream cannot be reached (" + describe(cause) + ")");
            }
        }
        return new Failure(SERVER_ERROR, "the upstream call failed (" + describe(error) + ")");
    }

    /**
     * The FAILED event's error text: the type first, then what went wrong ({@code rate_limit: upstream answered
     * 429 …}).
     */
    String eventText() {
        return type + ": " + text;
    }

    private static boolean namesContentFilter(String code) {
        String lower = code.toLowerCase(Locale.ROOT);
        return lower.contains("content_filter") || lower.contains("content_policy");
    }

    private static String describe(Throwable error) {
        String message = error.getMessage();
        return message == null || message.isBlank() ? error.getClass().getSimpleName() : message;
    }
}
