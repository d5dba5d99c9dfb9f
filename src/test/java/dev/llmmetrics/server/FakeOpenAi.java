package dev.llmmetrics.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPOutputStream;

/**
 * A fake OpenAI-compatible upstream, written here for the proxy tests: its answer is chosen by the request's
 * model, its bytes are fixed (so that the bytes a client gets through the proxy can be compared with the ones
 * it gets calling this upstream directly), and it keeps every request it received.
 *
 * <ul>
 *   <li>{@code fake-plain}: a completion with usage (cached and reasoning tokens included);</li>
 *   <li>{@code fake-tools}: a completion asking for two tool calls;</li>
 *   <li>{@code fake-stream}: a stream of four chunks, then the usage chunk if asked for, then {@code [DONE]};</li>
 *   <li>{@code fake-slow}: the same stream, its first content chunk {@link #SLOW_FIRST_TOKEN} late;</li>
 *   <li>{@code fake-endless}: a chunk every 20 ms for a minute; {@link #cancelled} counts the streams whose
 *       client went away;</li>
 *   <li>{@code fake-stall}: a first chunk, then nothing for a minute;</li>
 *   <li>{@code fake-hang}: no answer for a minute;</li>
 *   <li>{@code fake-429} and {@code fake-500}: OpenAI error bodies with those statuses;</li>
 *   <li>{@code fake-large}: a completion whose text is {@link #LARGE_TEXT_BYTES} long, its usage after it, written
 *       in pieces; {@link #largeBytesSent} counts the bytes written of all of them.</li>
 * </ul>
 */
final class FakeOpenAi implements AutoCloseable {

    static final Duration SLOW_FIRST_TOKEN = Duration.ofMillis(600);
    /** The length of {@code fake-large}'s text. */
    static final int LARGE_TEXT_BYTES = 20_000_000;
    private static final byte[] LARGE_HEAD = ("{\"id\":\"chatcmpl-fake6\",\"object\":\"chat.completion\",\"model\":"
            + "\"fake-large\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"")
            .getBytes(StandardCharsets.UTF_8);
    private static final byte[] LARGE_TAIL = ("\"},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":12,"
            + "\"completion_tokens\":4000000,\"total_tokens\":4000012}}").getBytes(StandardCharsets.UTF_8);

    static final String PLAIN = """
            {"id":"chatcmpl-fake1","object":"chat.completion","created":1767225600,"model":"fake-plain-2026-01-01",\
            "choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the fake upstream.",\
            "refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":120,\
            "completion_tokens":45,"total_tokens":165,"prompt_tokens_details":{"cached_tokens":100,"audio_tokens":0},\
            "completion_tokens_details":{"reasoning_tokens":20,"audio_tokens":0}},"system_fingerprint":"fp_fake"}""";

    static final String TOOLS = """
            {"id":"chatcmpl-fake2","object":"chat.completion","created":1767225600,"model":"fake-tools",\
            "choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1",\
            "type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}},\
            {"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{\\"zone\\":\\"CET\\"}"}}]},\
            "logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":80,"completion_tokens":30,\
            "total_tokens":110}}""";

    static final String RATE_LIMITED = """
            {"error":{"message":"Rate limit reached for fake in organization org-fake on requests per min (RPM): \
            Limit 3, Used 3, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}""";

    static final String SERVER_ERROR = """
            {"error":{"message":"The server had an error while processing your request. Sorry about that!",\
            "type":"server_error","param":null,"code":null}}""";

    static final String EMBEDDINGS = """
            {"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292,\
            0.015797347]}],"model":"fake-embedding","usage":{"prompt_tokens":8,"total_tokens":8}}""";

    static final String MODELS = """
            {"object":"list","data":[{"id":"fake-plain","object":"model","created":1767225600,"owned_by":"fake"}]}""";

    /** A received request. */
    record Received(String method, String path, Headers headers, byte[] body) {
        JsonNode json() {
            try {
                return TestServer.JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private final HttpServer server;
    final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();
    /** Streams whose client went away before their end. */
    final AtomicInteger cancelled = new AtomicInteger();
    /** Streams of {@code fake-endless} that started. */
    final AtomicInteger endlessStarted = new AtomicInteger();
    /** Bytes of {@code fake-large} answers written, all calls together. */
    final AtomicLong largeBytesSent = new AtomicLong();
    private final CountDownLatch closing = new CountDownLatch(1);

    FakeOpenAi() {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1000);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/v1/", this::handle);
        server.start();
    }

    /** The base URL an OpenAI SDK takes: {@code http://127.0.0.1:port/v1}. */
    String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    /** The requests received at {@code path}, oldest first. */
    List<Received> at(String path) {
        List<Received> found = new ArrayList<>();
        for (Received r : received) {
            if (r.path().equals(path)) {
                found.add(r);
            }
        }
        return found;
    }

    Received last(String path) {
        List<Received> found = at(path);
        if (found.isEmpty()) {
            throw new AssertionError("no request at " + path);
        }
        return found.get(found.size() - 1);
    }

    /** The stream {@code fake-stream} sends, with or without its usage chunk, byte for byte. */
    static String stream(String model, boolean usage) {
        String head = "{\"id\":\"chatcmpl-fake3\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\""
                + model + "\",\"system_fingerprint\":\"fp_fake\",\"choices\":[";
        String usageNull = usage ? ",\"usage\":null" : "";
        StringBuilder s = new StringBuilder();
        for (String event : events(head, usageNull)) {
            s.append(event);
        }
        if (usage) {
            s.append(usageChunk(model));
        }
        return s.append("data: [DONE]\n\n").toString();
    }

    /**
     * The stream as sent when asked for usage, less its usage chunk: what a client that did not ask gets through
     * the proxy (the other chunks keep the {@code "usage":null} the upstream adds when asked).
     */
    static String streamLessUsageChunk(String model) {
        return stream(model, true).replace(usageChunk(model), "");
    }

    private static List<String> events(String head, String usageNull) {
        return List.of(
                "data: " + head + "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
                        + "\"logprobs\":null,\"finish_reason\":null}]" + usageNull + "}\n\n",
                "data: " + head + "{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"logprobs\":null,\"finish_reason\":null}]"
                        + usageNull + "}\n\n",
                "data: " + head + "{\"index\":0,\"delta\":{\"content\":\"lo ✓\"},\"logprobs\":null,\"finish_reason\":null}]"
                        + usageNull + "}\n\n",
                "data: " + head + "{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]"
                        + usageNull + "}\n\n");
    }

    private static String usageChunk(String model) {
        return "data: {\"id\":\"chatcmpl-fake3\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\""
                + model + "\",\"system_fingerprint\":\"fp_fake\",\"choices\":[],\"usage\":{\"prompt_tokens\":50,"
                + "\"completion_tokens\":7,\"total_tokens\":57,\"prompt_tokens_details\":{\"cached_tokens\":10},"
                + "\"completion_tokens_details\":{\"reasoning_tokens\":2}}}\n\n";
    }

    private void handle(HttpExchange exchange) throws IOException {
        byte[] body = exchange.getRequestBody().readAllBytes();
        String path = exchange.getRequestURI().getPath();
        Received request = new Received(exchange.getRequestMethod(), path, exchange.getRequestHeaders(), body);
        received.add(request);
        try (exchange) {
            switch (path) {
                case "/v1/models" -> send(exchange, 200, MODELS);
                case "/v1/embeddings" -> send(exchange, 200, EMBEDDINGS);
                case "/v1/chat/completions" -> chat(exchange, request.json());
                default -> send(exchange, 404, "{\"error\":{\"message\":\"no such route\",\"type\":\"invalid_request_error\"}}");
            }
        }
    }

    private void chat(HttpExchange exchange, JsonNode request) throws IOException {
        String model = request.path("model").asText("");
        boolean usage = request.path("stream_options").path("include_usage").asBoolean(false);
        switch (model) {
            case "fake-plain", "" -> send(exchange, 200, PLAIN);
            case "fake-tools" -> send(exchange, 200, TOOLS);
            case "fake-429" -> send(exchange, 429, RATE_LIMITED);
            case "fake-500" -> send(exchange, 500, SERVER_ERROR);
            case "fake-stream", "fake-slow" -> streamEvents(exchange, model, usage);
            case "fake-gzip" -> sendCompressed(exchange, "gzip", PLAIN, "application/json");
            case "fake-deflate" -> sendCompressed(exchange, "deflate", PLAIN, "application/json");
            case "fake-br" -> sendCompressed(exchange, "br", PLAIN, "application/json");
            case "fake-gzip-broken" -> {
                exchange.getResponseHeaders().set("Content-Encoding", "gzip"); // over bytes that are not gzip's
                send(exchange, 200, PLAIN);
            }
            case "fake-gzip-429" -> sendCompressed(exchange, "gzip", 429, RATE_LIMITED, "application/json");
            case "fake-gzip-stream" -> streamCompressed(exchange, model, usage);
            case "fake-endless" -> endless(exchange);
            case "fake-large" -> large(exchange);
            case "fake-stall" -> stall(exchange);
            case "fake-hang" -> {
                pause(Duration.ofMinutes(1));
                send(exchange, 200, PLAIN);
            }
            default -> send(exchange, 400, "{\"error\":{\"message\":\"The model `" + model
                    + "` does not exist\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"model_not_found\"}}");
        }
    }

    private void streamEvents(HttpExchange exchange, String model, boolean usage) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        exchange.sendResponseHeaders(200, 0);
        OutputStream out = exchange.getResponseBody();
        String whole = stream(model, usage);
        int from = 0;
        int index = 0;
        while (from < whole.length()) {
            int end = whole.indexOf("\n\n", from) + 2;
            if (index == 1 && model.equals("fake-slow")) {
                out.flush();
                pause(SLOW_FIRST_TOKEN);
            }
            out.write(whole.substring(from, end).getBytes(StandardCharsets.UTF_8));
            out.flush();
            from = end;
            index++;
        }
    }

    /**
     * An answer compressed although the proxy asked for {@code identity}, as some upstreams and the proxies before
     * them do: {@code gzip}, {@code deflate} (zlib) or, as a coding the JDK cannot read, {@code br} (its bytes here
     * are gzip's, under that name).
     */
    private static void sendCompressed(HttpExchange exchange, String coding, String body, String type) throws IOException {
        sendCompressed(exchange, coding, 200, body, type);
    }

    private static void sendCompressed(HttpExchange exchange, String coding, int status, String body, String type)
            throws IOException {
        byte[] bytes = compressed(coding, body.getBytes(StandardCharsets.UTF_8));
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.getResponseHeaders().set("Content-Encoding", coding);
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    static byte[] compressed(String coding, byte[] body) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream z = coding.equals("deflate") ? new DeflaterOutputStream(out) : new GZIPOutputStream(out)) {
            z.write(body);
        }
        return out.toByteArray();
    }

    /** The stream of {@code fake-stream}, gzip-compressed, each event flushed through the compressor as it is sent. */
    private void streamCompressed(HttpExchange exchange, String model, boolean usage) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        exchange.getResponseHeaders().set("Content-Encoding", "gzip");
        exchange.sendResponseHeaders(200, 0);
        String whole = stream(model, usage);
        GZIPOutputStream out = new GZIPOutputStream(exchange.getResponseBody(), true);
        int from = 0;
        while (from < whole.length()) {
            int end = whole.indexOf("\n\n", from) + 2;
            out.write(whole.substring(from, end).getBytes(StandardCharsets.UTF_8));
            out.flush();
            from = end;
        }
        out.finish();
    }

    private void endless(HttpExchange exchange) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
        exchange.sendResponseHeaders(200, 0);
        endlessStarted.incrementAndGet();
        OutputStream out = exchange.getResponseBody();
        String chunk = "data: {\"id\":\"chatcmpl-fake4\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,"
                + "\"model\":\"fake-endless\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"more \"},"
                + "\"finish_reason\":null}]}\n\n";
        try {
            for (int i = 0; i < 3000; i++) {
                out.write(chunk.getBytes(StandardCharsets.UTF_8));
                out.flush();
                if (pause(Duration.ofMillis(20))) {
                    return;
                }
            }
        } catch (IOException e) {
            cancelled.incrementAndGet();
        }
    }

    /** The length of the whole {@code fake-large} answer. */
    static long largeAnswerBytes() {
        return LARGE_HEAD.length + (long) LARGE_TEXT_BYTES + LARGE_TAIL.length;
    }

    private void large(HttpExchange exchange) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, largeAnswerBytes());
        OutputStream out = exchange.getResponseBody();
        byte[] text = new byte[64 * 1024];
        java.util.Arrays.fill(text, (byte) 'a');
        out.write(LARGE_HEAD);
        largeBytesSent.addAndGet(LARGE_HEAD.length);
        for (int left = LARGE_TEXT_BYTES; left > 0; left -= text.length) {
            int piece = Math.min(left, text.length);
            out.write(text, 0, piece);
            largeBytesSent.addAndGet(piece);
        }
        out.write(LARGE_TAIL);
        largeBytesSent.addAndGet(LARGE_TAIL.length);
    }

    private void stall(HttpExchange exchange) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
        exchange.sendResponseHeaders(200, 0);
        OutputStream out = exchange.getResponseBody();
        out.write(("data: {\"id\":\"chatcmpl-fake5\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,"
                + "\"model\":\"fake-stall\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"first\"},"
                + "\"finish_reason\":null}]}\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        pause(Duration.ofMinutes(1));
    }

    private static void send(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.getResponseHeaders().set("x-request-id", "req_fake");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    /** Sleeps, cut short when the fake closes; whether it was. */
    private boolean pause(Duration duration) {
        try {
            return closing.await(duration.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    @Override
    public void close() {
        closing.countDown();
        server.stop(0);
    }

    static Map<String, String> proxyTo(FakeOpenAi upstream) {
        return Map.of("proxy.upstream.url", upstream.baseUrl());
    }
}
