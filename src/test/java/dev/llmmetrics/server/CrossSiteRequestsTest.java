package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a web page can make its visitor's browser send to the server: writes from another site, and (without a
 * token) requests under a foreign host name that reached the loopback address, as DNS rebinding makes them. Each
 * goes to the real server on a raw connection, since Java's HTTP client sets neither header itself.
 */
class CrossSiteRequestsTest {

    private static final String COMPLETED = "{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"%s\",\"model\":\"gpt-4o\","
            + "\"duration_ms\":5}";
    private static final String TOKEN = "cross-site-token";

    private TestServer server;

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void aWriteABrowserSendsForAPageOfAnotherSiteIsRefusedAndChangesNothing() {
        server = TestServer.start();
        assertEquals(202, post("kept", "localhost", "").status());
        for (String mark : new String[] {"Origin: http://evil.example\r\n", "Origin: null\r\n",
                "Origin: http://localhost:1\r\n", "Sec-Fetch-Site: cross-site\r\nOrigin: http://evil.example\r\n",
                "Sec-Fetch-Site: same-site\r\nOrigin: http://localhost:3000\r\n"}) {
            HostileSupport.RawResponse posted = post("forged", "localhost:" + port(), mark);
            assertRefused(posted, "cross_site_request", mark);
            HostileSupport.RawResponse deleted = send("127.0.0.1", "DELETE /events/metrics/session/kept HTTP/1.1\r\nHost: localhost:"
                    + port() + "\r\n" + mark + "Content-Length: 0\r\n\r\n");
            assertRefused(deleted, "cross_site_request", mark);
        }
        assertEquals(404, server.get("/events/metrics/session/forged").statusCode(), "a refused write applied nothing");
        assertEquals(1, TestServer.json(server.get("/events/metrics/session/kept")).get("total_requests").asInt(),
                "a refused DELETE removed nothing");
    }

    @Test
    void writesFromTheServersOwnPagesAndFromClientsOutsideABrowserAreApplied() {
        server = TestServer.start();
        String host = "localhost:" + port();
        int n = 0;
        for (String mark : new String[] {"", "Sec-Fetch-Site: same-origin\r\nOrigin: http://" + host + "\r\n",
                "Sec-Fetch-Site: none\r\n", "Origin: http://" + host + "\r\n", "Origin: HTTP://LOCALHOST:" + port() + "\r\n"}) {
            HostileSupport.RawResponse posted = post("own-" + n++, host, mark);
            assertEquals(202, posted.status(), mark + posted);
        }
        assertEquals(n, TestServer.json(server.get("/events/metrics/sessions")).get("total").asInt());
    }

    @Test
    void aHostNameOtherThanLocalhostOrAnAddressIsRefusedOnEveryRouteAndLoggedOnceAMinute() {
        CapturedLog capture = new CapturedLog();
        List<LogRecord> logged = capture.records();
        Logger log = Logger.getLogger(CrossSiteFilter.class.getName());
        log.addHandler(capture);
        try {
            refusesForeignNames();
        } finally {
            log.removeHandler(capture);
        }
        assertEquals(1, logged.size(), "one line for 24 refusals within the minute");
        assertEquals(Level.WARNING, logged.get(0).getLevel());
        assertTrue(logged.get(0).getParameters()[0].toString().contains("evil.example"), logged.get(0).getParameters()[0].toString());
    }

    private void refusesForeignNames() {
        server = TestServer.start();
        post("seen", "localhost", "");
        for (String host : new String[] {"evil.example", "evil.example:" + port(), "localhost.evil.example", "127.0.0.1.nip.io",
                "999.0.0.1", "127.1"}) {
            for (String path : new String[] {"/events/metrics/sessions", "/metrics", "/health", "/"}) {
                assertRefused(send("127.0.0.1", "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"), "host_not_allowed",
                        host + " " + path);
            }
        }
        for (String host : new String[] {"localhost", "LOCALHOST:" + port(), "app.localhost:" + port(), "127.0.0.1:" + port(),
                "[::1]:" + port()}) {
            HostileSupport.RawResponse answer = get("127.0.0.1", host);
            assertEquals(200, answer.status(), host + ": " + answer);
            assertTrue(answer.bodyText().contains("\"seen\""), answer.bodyText());
        }
    }

    @Test
    void anAbsoluteRequestTargetIsServedOnlyForTheHostItsHostHeaderNamesAndOtherTargetsThanAPathAreRefused() {
        server = TestServer.start();
        post("seen", "localhost", "");
        String local = "localhost:" + port();
        // RFC 9112 section 3.2.2: the authority of an absolute-form target, not Host, names the host the request is for.
        List<String[]> refused = List.of(
                new String[] {"GET http://evil.example/health", "Host: localhost"},
                new String[] {"GET http://evil.example/events/metrics/sessions", "Host: " + local},
                new String[] {"GET http://evil.example:" + port() + "/metrics", "Host: 127.0.0.1:" + port()},
                new String[] {"GET http://localhost/health", "Host: evil.example"},
                new String[] {"GET http://" + local + "/health", "Host: localhost"},
                new String[] {"GET http://localhost@evil.example/health", "Host: localhost"},
                new String[] {"GET http://localhost@evil.example/health", "Host: evil.example"},
                new String[] {"GET http://localhost@" + local + "/health", "Host: " + local},
                new String[] {"POST http://evil.example/events", "Host: localhost"},
                new String[] {"CONNECT " + local, "Host: " + local},
                new String[] {"CONNECT evil.example:443", "Host: evil.example:443"},
                new String[] {"OPTIONS *", "Host: localhost"},
                new String[] {"GET *", "Host: localhost"},
                new String[] {"GET ftp://localhost/health", "Host: localhost"},
                new String[] {"GET localhost/health", "Host: localhost"},
                new String[] {"GET http:/health", "Host: localhost"},
                new String[] {"GET http:///health", "Host: localhost"});
        for (String[] c : refused) {
            String request = c[0] + " HTTP/1.1\r\n" + c[1] + "\r\n" + body(c[0], "forged");
            HostileSupport.RawResponse answer = send("127.0.0.1", request);
            String what = c[0] + " with " + c[1];
            JsonNode error = HostileSupport.assertJsonError(answer.status(), answer.contentType(), answer.bodyText(), what);
            assertEquals(400, answer.status(), what + ": " + answer);
            assertEquals("invalid_request_target", error.get("error").asText(), what + ": " + answer);
            assertTrue(!answer.bodyText().contains("Exception") && !answer.bodyText().contains("helidon"), answer.bodyText());
        }
        assertEquals(404, server.get("/events/metrics/session/forged").statusCode(), "a refused POST applied nothing");
        assertRefused(send("127.0.0.1", "GET http://evil.example/metrics HTTP/1.1\r\nHost: evil.example\r\n\r\n"),
                "host_not_allowed", "an absolute target naming its Host, a name not allowed");
        for (String target : new String[] {"http://" + local + "/events/metrics/sessions",
                "HTTP://" + local.toUpperCase(Locale.ROOT) + "/events/metrics/sessions?limit=5",
                "https://" + local + "/events/metrics/sessions"}) {
            String host = target.substring(target.indexOf("//") + 2, target.indexOf('/', target.indexOf("//") + 2));
            HostileSupport.RawResponse answer = send("127.0.0.1", "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
            assertEquals(200, answer.status(), target + ": " + answer);
            assertTrue(answer.bodyText().contains("\"seen\""), answer.bodyText());
        }
    }

    @Test
    void anAbsoluteRequestTargetNamesTheHostOfItsHostHeaderWhetherOrNotEitherWritesTheSchemesDefaultPort() {
        server = TestServer.start();
        post("seen", "localhost", "");
        // RFC 3986 section 6.2.3: a port that is the scheme's default, or empty, is the same as none.
        List<String[]> served = List.of(
                new String[] {"http://localhost:80", "localhost"},
                new String[] {"http://localhost", "localhost:80"},
                new String[] {"http://LOCALHOST:", "localhost"},
                new String[] {"https://localhost:443", "localhost"},
                new String[] {"https://localhost", "localhost:443"},
                new String[] {"http://[::1]:80", "[::1]"},
                new String[] {"http://127.0.0.1:", "127.0.0.1"});
        for (String[] c : served) {
            String request = "GET " + c[0] + "/events/metrics/sessions HTTP/1.1\r\nHost: " + c[1] + "\r\n\r\n";
            HostileSupport.RawResponse answer = send("127.0.0.1", request);
            assertEquals(200, answer.status(), c[0] + " with Host: " + c[1] + ": " + answer);
            assertTrue(answer.bodyText().contains("\"seen\""), answer.bodyText());
        }
        List<String[]> refused = List.of(
                new String[] {"http://localhost:443", "localhost"},
                new String[] {"https://localhost:80", "localhost"},
                new String[] {"http://localhost", "localhost:443"},
                new String[] {"http://localhost:8080", "localhost:80"},
                new String[] {"http://localhost:080", "localhost"},
                new String[] {"http://localhost:80", "localhost:8080"});
        for (String[] c : refused) {
            String request = "GET " + c[0] + "/events/metrics/sessions HTTP/1.1\r\nHost: " + c[1] + "\r\n\r\n";
            HostileSupport.RawResponse answer = send("127.0.0.1", request);
            String what = c[0] + " with Host: " + c[1];
            JsonNode error = HostileSupport.assertJsonError(answer.status(), answer.contentType(), answer.bodyText(), what);
            assertEquals(400, answer.status(), what + ": " + answer);
            assertEquals("invalid_request_target", error.get("error").asText(), what + ": " + answer);
        }
    }

    @Test
    void anAbsoluteRequestTargetWithAnEmptyPathIsForTheRootPath() {
        server = TestServer.start();
        String local = "localhost:" + port();
        String root = send("127.0.0.1", "GET / HTTP/1.1\r\nHost: " + local + "\r\n\r\n").bodyText();
        assertTrue(root.contains("<html") || root.contains("<!doctype") || root.contains("<!DOCTYPE"), root);
        // RFC 9112 section 3.2.2 (and RFC 3986's normalisation): an empty path is "/".
        for (String target : new String[] {"http://" + local, "http://" + local + "?view=models", "HTTP://" + local}) {
            HostileSupport.RawResponse answer = send("127.0.0.1", "GET " + target + " HTTP/1.1\r\nHost: " + local + "\r\n\r\n");
            assertEquals(200, answer.status(), target + ": " + answer);
            assertEquals(root, answer.bodyText(), target);
        }
        HostileSupport.RawResponse post = send("127.0.0.1", "POST http://" + local + " HTTP/1.1\r\nHost: " + local
                + "\r\nContent-Length: 0\r\n\r\n");
        JsonNode error = HostileSupport.assertJsonError(post.status(), post.contentType(), post.bodyText(), "POST to /");
        assertEquals(send("127.0.0.1", "POST / HTTP/1.1\r\nHost: " + local + "\r\nContent-Length: 0\r\n\r\n").status(),
                post.status(), "a POST to the empty path is answered as one to /: " + error);
    }

    /** The headers' end and, for a POST, an event of {@code session} as the body. */
    private static String body(String requestLine, String session) {
        if (!requestLine.startsWith("POST ")) {
            return "\r\n";
        }
        String event = COMPLETED.formatted(session);
        return "Content-Type: text/plain\r\nContent-Length: " + event.length() + "\r\n\r\n" + event;
    }

    @Test
    void aForeignHostNameIsRefusedOnEveryAddressAndWithATokenUnlessTheSettingsAllowIt() {
        String address = nonLoopbackAddress().orElseThrow(() -> new AssertionError(
                "this test needs an IPv4 address of this machine other than loopback"));
        String scrape = "GET /metrics HTTP/1.1\r\nHost: metrics.example.com\r\n\r\n";
        server = TestServer.start(Map.of("server.host", "0.0.0.0", "llm.metrics.auth.token", TOKEN));
        assertRefused(send(address, scrape), "host_not_allowed", "from " + address);
        assertRefused(send("127.0.0.1", scrape), "host_not_allowed", "over loopback, with a token");
        assertEquals(200, send(address, scrape.replace("metrics.example.com", address)).status(), "named by its address");
        server.close();

        server = TestServer.start(Map.of("server.host", "0.0.0.0", "http.allowed.hosts", " Metrics.Example.com. ,other.example"));
        assertEquals(200, send(address, scrape).status(), "an allowed name, any case");
        assertEquals(200, send(address, scrape.replace("metrics.example.com", "metrics.example.com.")).status(), "with the root's dot");
        assertEquals(200, send("127.0.0.1", scrape.replace("metrics.example.com", "other.example:8001")).status(), "with a port");
        assertRefused(send(address, scrape.replace("metrics.example.com", "evil.example")), "host_not_allowed", "not listed");
        server.close();

        server = TestServer.start(Map.of("http.allowed.hosts", "*"));
        assertEquals(200, send("127.0.0.1", scrape.replace("metrics.example.com", "evil.example")).status(), "any name");
    }

    @Test
    void onTheProxysPathsTheRefusalIsInTheOpenAiErrorShape() throws IOException {
        server = TestServer.start(Map.of("proxy.upstream.url", "http://127.0.0.1:9/v1"));
        String body = "{\"model\":\"gpt-4o\",\"messages\":[]}";
        Map<String, String> cases = Map.of(
                "Host: localhost\r\nOrigin: http://evil.example\r\n", "cross_site_request",
                "Host: evil.example\r\n", "host_not_allowed");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            HostileSupport.RawResponse answer = send("127.0.0.1", "POST /v1/chat/completions HTTP/1.1\r\n" + c.getKey()
                    + "Content-Type: text/plain\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
            assertEquals(403, answer.status(), answer.toString());
            JsonNode error = TestServer.JSON.readTree(answer.bodyText()).get("error");
            assertEquals(c.getValue(), error.get("code").asText(), answer.bodyText());
            assertEquals("invalid_request_error", error.get("type").asText());
        }
    }

    private int port() {
        return server.running().port();
    }

    private HostileSupport.RawResponse post(String session, String host, String headers) {
        byte[] body = COMPLETED.formatted(session).getBytes(StandardCharsets.UTF_8);
        return send("127.0.0.1", "POST /events HTTP/1.1\r\nHost: " + host + "\r\n" + headers
                + "Content-Type: text/plain\r\nContent-Length: " + body.length + "\r\n\r\n" + COMPLETED.formatted(session));
    }

    private HostileSupport.RawResponse get(String address, String host) {
        return send(address, "GET /events/metrics/sessions HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    }

    private HostileSupport.RawResponse send(String address, String request) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(address, port()), 5_000);
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.UTF_8));
            out.flush();
            return HostileSupport.readResponse(socket.getInputStream(), false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void assertRefused(HostileSupport.RawResponse answer, String error, String what) {
        assertEquals(403, answer.status(), what + ": " + answer);
        JsonNode json;
        try {
            json = TestServer.JSON.readTree(answer.bodyText());
        } catch (IOException e) {
            throw new AssertionError(what + ": not JSON: " + answer, e);
        }
        assertEquals(error, json.get("error").asText(), what);
        assertTrue(answer.headers().get("content-type").startsWith("application/json"), what);
    }

    private static Optional<String> nonLoopbackAddress() {
        try {
            return NetworkInterface.networkInterfaces().flatMap(NetworkInterface::inetAddresses)
                    .filter(a -> a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress())
                    .map(InetAddress::getHostAddress).findFirst();
        } catch (SocketException e) {
            throw new UncheckedIOException(e);
        }
    }
}
