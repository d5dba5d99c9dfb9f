package dev.llmmetrics.langchain4j;

import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.invocation.InvocationContext;
import dev.langchain4j.invocation.InvocationParameters;
import dev.langchain4j.model.chat.listener.ChatModelRequestContext;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.observability.api.event.AiServiceRequestIssuedEvent;
import dev.langchain4j.observability.api.listener.AiServiceRequestIssuedListener;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Hands the {@code InvocationParameters} of an AI service's invocation to the requests it sends, as their listener
 * attributes ({@link LlmMetricsChatModelListener#aiServiceListener()}): LangChain4j gives an AI service's requests
 * none of their own, but announces each to the AI service's listeners on the thread that then sends it to the
 * model. The announced request is kept on that thread until the next call a {@link LlmMetricsChatModelListener} sees
 * there, which is that request when it holds the same message instances (the model merges the request with its
 * defaults into another {@code ChatRequest}, of the same messages); an unrelated later call holds other instances,
 * even of equal messages, and gets nothing. Shared by every listener, like the session bound by
 * {@link LlmMetricsChatModelListener#withSession}.
 */
final class AiServiceParameters {

    /** The listener attributes an invocation's parameters may give its requests. */
    private static final List<String> KEYS = List.of(LlmMetricsChatModelListener.SESSION_ID,
            LlmMetricsChatModelListener.ATTRIBUTES, LlmMetricsChatModelListener.CORRELATION_ID,
            LlmMetricsChatModelListener.TOOLS_COUNT);

    /** One instance, so that an AI service given it twice holds it once. */
    static final AiServiceRequestIssuedListener LISTENER = AiServiceParameters::issued;

    private static final Logger LOG = System.getLogger(LlmMetricsChatModelListener.class.getName());

    /** The request an AI service announced on this thread, with its invocation's parameters. */
    private static final ThreadLocal<@Nullable Issued> ISSUED = new ThreadLocal<>();

    private AiServiceParameters() {
    }

    /** Keeps the request an AI service is about to send on this thread, when its invocation has parameters. */
    private static void issued(AiServiceRequestIssuedEvent event) {
        try {
            @Nullable InvocationContext invocation = event.invocationContext();
            @Nullable InvocationParameters parameters = invocation == null ? null : invocation.invocationParameters();
            @Nullable ChatRequest request = event.request();
            if (parameters == null || request == null || parameters.asMap().isEmpty()) {
                ISSUED.remove();
            } else {
                ISSUED.set(new Issued(request.messages(), parameters));
            }
        } catch (RuntimeException e) {
            ISSUED.remove();
            LOG.log(Level.WARNING, "Could not read the invocation parameters of an AI service's request", e);
        }
    }

    /**
     * Puts the parameters of the request an AI service announced on this thread into the listener attributes of
     * {@code context} when it is that request, each where the request has no attribute of its key; forgets the
     * announced request either way, so that it reaches no later call.
     */
    static void adopt(ChatModelRequestContext context) {
        @Nullable Issued issued = ISSUED.get();
        if (issued == null) {
            return;
        }
        ISSUED.remove();
        if (!issued.sentAs(context.chatRequest().messages())) {
            return;
        }
        Map<Object, Object> attributes = context.attributes();
        Map<String, Object> parameters = issued.parameters().asMap();
        for (String key : KEYS) {
            if (parameters.get(key) instanceof Object value) {
                attributes.putIfAbsent(key, value);
            }
        }
    }

    /** A request an AI service announced, by its messages, and the parameters of its invocation. */
    private record Issued(List<ChatMessage> messages, InvocationParameters parameters) {

        /** Whether {@code sent} holds the very messages announced, in order. */
        boolean sentAs(@Nullable List<ChatMessage> sent) {
            if (sent == null || sent.size() != messages.size()) {
                return false;
            }
            for (int i = 0; i < sent.size(); i++) {
                if (sent.get(i) != messages.get(i)) {
                    return false;
                }
            }
            return true;
        }
    }
}
