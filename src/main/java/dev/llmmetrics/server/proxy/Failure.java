package dev.llmmetrics.server.proxy;

import dev.llmmetrics.event.ErrorType;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Why a forwarded call failed, as its FAILED event tells it: the {@link ErrorType}, the error text and the
 * upstream's HTTP status when it answered. The one place the proxy classifies failures.
 *
 * @param type       the error type
 * @param text       what went wrong, for a human: never a credential
 * @param httpStatus the upstream's status; {@code null} when it gave no answer
 */
record Failure(ErrorType type, String text, @Nullable Integer httpStatus) {

    /** The client went away before the answer was passed on whole; the upstream call was cancelled. */
    static final Failure CLIENT_GONE = new Failure(ErrorType.CANCELLED,
            "the client disconnected; the upstream call was cancelled", null);

    /**
     * An upstream answer with an error status: the type the status means ({@link ErrorType#ofHttpStatus}), except
     * a 4xx whose error code or type names a content filter or policy, {@code content_filter}.
     *
     * @param errorCode    the upstream error's {@code error.code} or {@code error.type}, when it gave one
     * @param errorMessage the upstream error's {@code error.message}, kept in the text except for auth failures,
     *                     whose messages may quote part of a key
     * @param status       the upstream's status; kept as the event's HTTP status only when it is one, 100 to 599
     */
    static Failure ofStatus(int status, @Nullable String errorCode, @Nullable String errorMessage) {
        ErrorType type = ErrorType.ofHttpStatus(status);
        if (type == ErrorType.INVALID_REQUEST && errorCode != null && namesContentFilter(errorCode)) {
            type = ErrorType.CONTENT_FILTER;
        }
        StringBuilder text = new StringBuilder("upstream answered ").append(status);
        if (errorCode != null) {
            text.append(' ').append(errorCode);
        }
        if (errorMessage != null && type != ErrorType.AUTH) {
            text.append(": ").append(errorMessage);
        }
        return new Failure(type, text.toString(), status >= 100 && status <= 599 ? status : null);
    }

    /**
     * A stream that answered 200 and then sent an error object instead of more chunks, as vLLM, LiteLLM and
     * OpenRouter do: {@code server_error}, or {@code content_filter} when its code names one.
     */
    static Failure inStream(@Nullable String errorCode, @Nullable String errorMessage) {
        ErrorType type = errorCode != null && namesContentFilter(errorCode) ? ErrorType.CONTENT_FILTER
                : ErrorType.SERVER_ERROR;
        StringBuilder text = new StringBuilder("upstream sent an error in its stream");
        if (errorCode != null) {
            text.append(' ').append(errorCode);
        }
        if (errorMessage != null) {
            text.append(": ").append(errorMessage);
        }
        return new Failure(type, text.toString(), 200);
    }

    /**
     * A call to the upstream that failed without an answer: a timeout (connect or read) is {@code timeout}, an
     * upstream that cannot be reached or that broke the connection {@code server_error}.
     */
    static Failure ofException(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof SocketTimeoutException || cause instanceof InterruptedIOException) {
                return new Failure(ErrorType.TIMEOUT, "the upstream did not answer in time" + detail(cause), null);
            }
            if (cause instanceof ConnectException || cause instanceof UnknownHostException) {
                return new Failure(ErrorType.SERVER_ERROR, "the upstream cannot be reached" + detail(cause), null);
            }
        }
        // A wrapper's message is often its cause's class and message; a parser's often goes on after a colon with
        // the bytes it could not read, which may be part of another call's answer.
        String message = rootCause(error).getMessage();
        if (message != null && message.indexOf(':') >= 0) {
            message = message.substring(0, message.indexOf(':'));
        }
        return new Failure(ErrorType.SERVER_ERROR, message == null || message.isBlank()
                ? "the upstream call failed: the connection ended before a complete answer" // the client's "no more data"
                : "the upstream call failed (" + message + ")", null);
    }

    /** The failure with {@code secret} (the credential the upstream was given, which it may quote) replaced in its text. */
    Failure hiding(Optional<String> secret) {
        return secret.filter(text::contains).map(key -> new Failure(type, text.replace(key, "[key]"), httpStatus))
                .orElse(this);
    }

    /** The failure as the tracker publishes it: its text cut and cleaned as the event takes it. */
    dev.llmmetrics.track.Failure forEvent() {
        return new dev.llmmetrics.track.Failure(dev.llmmetrics.track.Failure.errorText(text), type, httpStatus);
    }

    /** The last exception of the cause chain, read a bounded depth against cycles. */
    private static Throwable rootCause(Throwable error) {
        Throwable root = error;
        for (int depth = 0; depth < 8 && root.getCause() != null && root.getCause() != root; depth++) {
            root = root.getCause();
        }
        return root;
    }

    private static boolean namesContentFilter(String code) {
        String lower = code.toLowerCase(Locale.ROOT);
        return lower.contains("content_filter") || lower.contains("content_policy");
    }

    /** The error's message in parentheses after a space, or nothing: never a class name, which means nothing to a client. */
    private static String detail(Throwable error) {
        String message = error.getMessage();
        return message == null || message.isBlank() ? "" : " (" + message + ")";
    }
}
