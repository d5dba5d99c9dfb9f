package dev.llmmetrics.server.proxy;

import dev.llmmetrics.event.ErrorType;
import io.helidon.common.buffers.DataReader;
import java.io.EOFException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
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

    /** How deep a cause chain is read: far enough for a client's wrapping, bounded against cycles. */
    private static final int MAX_CAUSES = 8;
    /** A qualified Java class name (two package segments at least), with the colon and spaces that follow it. */
    private static final Pattern CLASS_NAME = Pattern.compile("\\b(?:[a-z][a-z0-9_]*\\.){2,}[A-Z][\\w$]*(?::\\s*)?");

    /** The client went away before the answer was passed on whole; the upstream call was cancelled. */
    static final Failure CLIENT_GONE = new Failure(ErrorType.CANCELLED,
            "the client disconnected; the upstream call was cancelled", null);

    /**
     * The client had closed its connection when the upstream call timed out ({@code stall}): {@code cancelled},
     * since nobody was waiting for the answer any more, with the timeout's text.
     */
    static Failure clientLeft(Failure stall) {
        return new Failure(ErrorType.CANCELLED, "the client disconnected while the proxy waited for the upstream, "
                + "which then timed out: " + stall.text(), null);
    }

    /**
     * An answer that ends where the upstream closes the connection, closed before the answer was whole: a plain
     * answer whose JSON document had not ended, or a stream before its {@code data: [DONE]}. {@code server_error},
     * as an answer whose declared length or chunks broke off: the close that ends such an answer is also how an
     * upstream that died mid-answer shows.
     */
    static Failure cutAtClose(boolean stream) {
        return new Failure(ErrorType.SERVER_ERROR, "the upstream call failed: the upstream closed the connection before a "
                + "complete answer (" + (stream ? "its stream had not sent data: [DONE]" : "its JSON document had not ended")
                + ")", null);
    }

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
        if (type == ErrorType.INVALID_REQUEST && errorCode != null && ErrorType.namesContentFilter(errorCode)) {
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
        return in200("upstream sent an error in its stream", errorCode, errorMessage);
    }

    /**
     * A plain answer that came with 200 and is an error object, not a completion, as OpenRouter sends when the
     * provider behind it failed: typed as {@link #inStream} is.
     */
    static Failure inAnswer(@Nullable String errorCode, @Nullable String errorMessage) {
        return in200("upstream answered 200 with an error", errorCode, errorMessage);
    }

    private static Failure in200(String what, @Nullable String errorCode, @Nullable String errorMessage) {
        ErrorType type = errorCode != null && ErrorType.namesContentFilter(errorCode) ? ErrorType.CONTENT_FILTER
                : ErrorType.SERVER_ERROR;
        StringBuilder text = new StringBuilder(what);
        if (errorCode != null) {
            text.append(' ').append(errorCode);
        }
        if (errorMessage != null) {
            text.append(": ").append(errorMessage);
        }
        return new Failure(type, text.toString(), 200);
    }

    /**
     * A call to the upstream that failed without an answer, or whose answer broke off: a timeout (connect or read)
     * is {@code timeout}, an upstream that cannot be reached or that broke the connection {@code server_error}.
     * The text says what broke in words (the TLS handshake, the connection, the upstream closing it early) with
     * the JDK's message about it whole, a TLS alert's name included, less any Java class name it quotes.
     */
    static Failure ofException(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof SocketTimeoutException || cause instanceof InterruptedIOException) {
                return new Failure(ErrorType.TIMEOUT, "the upstream did not answer in time" + detail(cause), null);
            }
            if (cause instanceof ConnectException || cause instanceof UnknownHostException
                    || cause instanceof NoRouteToHostException) {
                return new Failure(ErrorType.SERVER_ERROR, "the upstream cannot be reached" + detail(cause), null);
            }
        }
        return new Failure(ErrorType.SERVER_ERROR, "the upstream call failed: " + whatBroke(error), null);
    }

    /**
     * Whether {@code error} says the upstream closed the connection (the HTTP client found no more bytes), rather
     * than that it broke it, timed out or sent what cannot be read; the end of an answer that ends at the close.
     */
    static boolean endedByTheUpstream(Throwable error) {
        Throwable cause = error;
        for (int depth = 0; cause != null && depth < MAX_CAUSES; depth++) {
            if (cause instanceof SSLException || cause instanceof SocketException) {
                return false;
            }
            if (cause instanceof EOFException || cause instanceof DataReader.InsufficientDataAvailableException) {
                return true;
            }
            cause = cause.getCause() == cause ? null : cause.getCause();
        }
        return false;
    }

    /**
     * What broke, from the exceptions of the chain the JDK raises about the connection itself (TLS, the socket,
     * its end), whose messages describe it and never quote the bytes the upstream sent; else the last exception's
     * message up to its first colon, since a parser's goes on after one with the bytes it could not read, which
     * may be part of another call's answer; else that exception's kind in words.
     */
    private static String whatBroke(Throwable error) {
        Throwable tls = null;
        Throwable socket = null;
        Throwable ended = null;
        Throwable cause = error;
        for (int depth = 0; cause != null && depth < MAX_CAUSES; depth++) {
            if (tls == null && cause instanceof SSLException) {
                tls = cause;
            } else if (socket == null && cause instanceof SocketException) {
                socket = cause;
            } else if (ended == null && (cause instanceof EOFException
                    || cause instanceof DataReader.InsufficientDataAvailableException)) {
                ended = cause;
            }
            cause = cause.getCause() == cause ? null : cause.getCause();
        }
        if (tls != null) {
            return (tls instanceof SSLHandshakeException ? "the TLS handshake failed" : "TLS failed") + said(tls);
        }
        if (socket != null) {
            return "the connection broke" + said(socket);
        }
        if (ended != null) {
            return "the upstream closed the connection before a complete answer" + said(ended);
        }
        Throwable root = rootCause(error);
        String message = root.getMessage();
        if (message != null && message.indexOf(':') >= 0) {
            message = message.substring(0, message.indexOf(':'));
        }
        message = message == null ? "" : withoutClassNames(message).strip();
        return message.isEmpty() ? "an unexpected " + inWords(root) + " without a message" : message;
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
        for (int depth = 0; depth < MAX_CAUSES && root.getCause() != null && root.getCause() != root; depth++) {
            root = root.getCause();
        }
        return root;
    }

    /** The error's message in parentheses after a space, or nothing: never a class name, which means nothing to a client. */
    private static String detail(Throwable error) {
        String message = message(error);
        return message.isEmpty() ? "" : " (" + message + ")";
    }

    /** The error's message after a colon, or nothing; without the class names it quotes. */
    private static String said(Throwable error) {
        String message = message(error);
        return message.isEmpty() ? "" : ": " + message;
    }

    /** The error's message without the class names it quotes; empty when it has none. */
    private static String message(Throwable error) {
        return error.getMessage() == null ? "" : withoutClassNames(error.getMessage()).strip();
    }

    /**
     * {@code message} without the Java class names it quotes ({@code sun.security.provider.certpath
     * .SunCertPathBuilderException: unable to find ...}, as a wrapper writes its cause), which name a library's
     * insides and mean nothing to a client.
     */
    private static String withoutClassNames(String message) {
        return CLASS_NAME.matcher(message).replaceAll("");
    }

    /**
     * An exception's kind in words, from its class's simple name: {@code IllegalStateException}, "illegal state
     * error"; for a message without a class name in it.
     */
    static String inWords(Throwable error) {
        String name = error.getClass().getSimpleName().replaceFirst("(Exception|Error)$", "");
        if (name.isEmpty()) {
            return "error";
        }
        StringBuilder words = new StringBuilder();
        for (String word : name.split("(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")) {
            boolean acronym = word.length() > 1 && word.equals(word.toUpperCase(Locale.ROOT));
            words.append(words.isEmpty() ? "" : " ").append(acronym ? word : word.toLowerCase(Locale.ROOT));
        }
        return words + " error";
    }
}
