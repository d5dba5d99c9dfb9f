package dev.llmmetrics.langchain4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fake OpenAI-compatible server on a free port of 127.0.0.1 for LangChain4j's real OpenAI client: it answers
 * {@code POST /v1/chat/completions} with the {@link #answers} queued, in order, the last one again once the others
 * are used, and keeps each request's JSON body.
 */
final class FakeOpenAi implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** How the server answers one request. */
    @FunctionalInterface
    interface Answer {
        void answer(HttpExchange exchange) throws Exception;
    }

    /** The answers to give, in order; the last is given to every request after it. */
    final ConcurrentLinkedDeque<Answer> answers = new ConcurrentLinkedDeque<>();
    /** The requests' bodies, in the order they came. */
    final List<JsonNode> requests = new CopyOnWriteArrayList<>();
    /** How many requests came, read or not. */
    final AtomicInteger hits = new AtomicInteger();
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final HttpServer server;

    FakeOpenAi() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(threads);
        server.createContext("/v1/chat/completions", exchange -> {
            hits.incrementAndGet();
            try (exchange) {
                requests.add(JSON.readTree(exchange.getRequestBody()));
                Answer answer = answers.size() > 1 ? answers.poll() : answers.peek();
                answer.answer(exchange);
            } catch (Exception e) {
                // the client gave up (a timeout): nothing to answer
            }
        });
        server.start();
    }

    /** The base URL the client is given: {@code http://127.0.0.1:<port>/v1}. */
    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    /** Answers {@code status} with {@code body} as {@code application/json}. */
    static void json(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
