package dev.llmmetrics.track;

import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.LlmRequestFailed;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.SocketTimeoutException;
import java.net.http.HttpTimeoutException;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * How an LLM call failed, as its FAILED event tells it: the error text, the {@link ErrorType} and the HTTP
 * status when there was one.
 *
 * <p>{@link #of(Throwable)} reads them from an exception. The HTTP status is the first one an exception of
 * the cause chain reports through a public {@code int statusCode()} or {@code int getStatusCode()} method, as
 * LangChain4j's {@code HttpException} and the OpenAI and Anthropic Java SDKs' exceptions do. The type is the
 * one the exception classes of the chain name, by the JDK's timeout and cancellation exceptions and by the
 * words of the class names SDKs use ({@code RateLimitException}, {@code AuthenticationException},
 * {@code ContentFilteredException}, {@code InternalServerException}, {@code TimeoutException}, ...), else
 * the type the HTTP status means, else {@link ErrorType#OTHER}. A class that names only a range of statuses (a
 * server error, an invalid request, as LangChain4j throws {@code InternalServerException} for any 5xx) gives way
 * to the status it reports, so that an HTTP 504 is a timeout and a 499 cancelled, as the proxy types them. An
 * invalid request whose message carries the provider's JSON error with a {@code code} or {@code type} naming a
 * content filter or policy (Azure OpenAI's {@code "code":"content_filter"}, OpenAI's
 * {@code content_policy_violation}) is {@code content_filter}, as the proxy records the same answer.
 *
 * @param error      what went wrong, for example the exception's class and message; as the event takes it
 * @param type       the failure's type; {@code null} when not known
 * @param httpStatus the provider's HTTP status, 100 to 599; {@code null} when there was none
 */
public record Failure(String error, @Nullable ErrorType type, @Nullable Integer httpStatus) {

    /** How deep the cause chain is read: far enough for a client's wrapping, bounded against cycles. */
    private static final int MAX_CAUSES = 8;

    /** Words of exception class names, lower case, and the type each means; the first that matches wins. */
    private static final String[][] NAME_WORDS = {
            {"ratelimit", "rate_limit"}, {"toomanyrequests", "rate_limit"}, {"quota", "rate_limit"},
            {"contentfilter", "content_filter"}, {"contentpolicy", "content_filter"}, {"moderation", "content_filter"},
            {"authentication", "auth"}, {"unauthorized", "auth"}, {"permissiondenied", "auth"}, {"forbidden", "auth"},
            {"timeout", "timeout"}, {"timedout", "timeout"},
            {"cancel", "cancelled"}, {"interrupted", "cancelled"},
            {"invalidrequest", "invalid_request"}, {"badrequest", "invalid_request"}, {"notfound", "invalid_request"},
            {"unprocessable", "invalid_request"},
            {"internalserver", "server_error"}, {"serviceunavailable", "server_error"}, {"servererror", "server_error"},
            {"overloaded", "server_error"}};

    /** A JSON error's {@code code} or {@code type}, as a client's message quotes the provider's answer. */
    private static final Pattern ERROR_CODE = Pattern.compile("\"(?:code|type)\"\\s*:\\s*\"([^\"]*)\"");

    /**
     * The failure {@code error} describes: its class and message, the type its classes or HTTP status mean
     * and its HTTP status; see the class description.
     */
    public static Failure of(Throwable error) {
        Objects.requireNonNull(error, "error");
        Integer status = null;
        ErrorType byClass = null;
        Throwable t = error;
        for (int depth = 0; t != null && depth < MAX_CAUSES; depth++, t = t.getCause() == t ? null : t.getCause()) {
            if (status == null) {
                status = httpStatus(t);
            }
            if (byClass == null) {
                byClass = typeOfClass(t);
            }
        }
        ErrorType type = byClass != null ? byClass : status != null ? ErrorType.ofHttpStatus(status) : ErrorType.OTHER;
        if ((type == ErrorType.SERVER_ERROR || type == ErrorType.INVALID_REQUEST) && status != null
                && ErrorType.ofHttpStatus(status) != ErrorType.OTHER) {
            // A class that names only the status's range (LangChain4j's InternalServerException for any 5xx, its
            // InvalidRequestException for any other 4xx) gives way to the status: a 504 is a timeout.
            type = ErrorType.ofHttpStatus(status);
        }
        if (type == ErrorType.INVALID_REQUEST && namesContentFilter(error)) {
            type = ErrorType.CONTENT_FILTER;
        }
        return new Failure(describe(error), type, status);
    }

    /** Whether a message of the cause chain quotes a JSON error whose code or type names a content filter. */
    private static boolean namesContentFilter(Throwable error) {
        Throwable t = error;
        for (int depth = 0; t != null && depth < MAX_CAUSES; depth++, t = t.getCause() == t ? null : t.getCause()) {
            String message;
            try {
                message = t.getMessage();
            } catch (RuntimeException e) {
                message = null;
            }
            Matcher code = ERROR_CODE.matcher(message == null ? "" : message);
            while (code.find()) {
                if (ErrorType.namesContentFilter(code.group(1))) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The type the exception's class (or a superclass) means; {@code null} when none says. */
    static @Nullable ErrorType typeOfClass(Throwable t) {
        if (t instanceof SocketTimeoutException || t instanceof HttpTimeoutException || t instanceof TimeoutException) {
            return ErrorType.TIMEOUT;
        }
        if (t instanceof CancellationException || t instanceof InterruptedException) {
            return ErrorType.CANCELLED;
        }
        for (Class<?> c = t.getClass(); c != null && c != Throwable.class; c = c.getSuperclass()) {
            String name = c.getSimpleName().toLowerCase(Locale.ROOT);
            for (String[] word : NAME_WORDS) {
                if (name.contains(word[0])) {
                    return ErrorType.ofWireName(word[1]).orElseThrow();
                }
            }
        }
        return null;
    }

    /** The HTTP status the exception reports by a public {@code statusCode()} or {@code getStatusCode()}; {@code null} when none. */
    static @Nullable Integer httpStatus(Throwable t) {
        for (String name : new String[] {"statusCode", "getStatusCode"}) {
            try {
                Method method = t.getClass().getMethod(name);
                if (!Modifier.isPublic(method.getDeclaringClass().getModifiers())) {
                    continue; // not callable without opening the class; a public override would be found first
                }
                if (method.getReturnType() == int.class || method.getReturnType() == Integer.class) {
                    Object value = method.invoke(t);
                    if (value instanceof Integer status && status >= 100 && status <= 599) {
                        return status;
                    }
                }
            } catch (ReflectiveOperationException | RuntimeException ignored) {
                // no such method, or one that fails: no status from this exception
            }
        }
        return null;
    }

    /** {@code Class: message}, as {@link #errorText} makes it fit the event. */
    static String describe(Throwable error) {
        String message;
        try {
            message = error.getMessage();
        } catch (RuntimeException e) {
            message = null; // an exception whose message cannot be read is still recorded, by its class
        }
        String name = error.getClass().getName();
        return errorText(message == null ? name : name + ": " + message);
    }

    /**
     * {@code text} as a FAILED event takes it: cut to {@link LlmRequestFailed#MAX_ERROR_LENGTH} characters, the
     * control characters and lone surrogates the event rejects replaced by spaces; for texts that come from
     * elsewhere, such as an upstream's error message.
     */
    public static String errorText(String text) {
        StringBuilder clean = new StringBuilder(Math.min(text.length(), LlmRequestFailed.MAX_ERROR_LENGTH));
        for (int i = 0; i < text.length(); ) {
            int codePoint = text.codePointAt(i);
            int width = Character.charCount(codePoint);
            if (clean.length() + width > LlmRequestFailed.MAX_ERROR_LENGTH) {
                break;
            }
            boolean rejected = (Character.isISOControl(codePoint) && codePoint != '\n' && codePoint != '\t')
                    || Character.getType(codePoint) == Character.SURROGATE;
            if (rejected) {
                clean.append(' ');
            } else {
                clean.appendCodePoint(codePoint);
            }
            i += width;
        }
        return clean.toString();
    }
}
