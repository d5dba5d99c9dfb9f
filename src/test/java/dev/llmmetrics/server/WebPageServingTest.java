package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** GET / and its assets over real HTTP: types, security headers, caching, and no shadowed or listed paths. */
class WebPageServingTest {

    private TestServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void thePageAndItsAssetsComeWithTheirTypesASelfOnlyPolicyAndNosniff() {
        server = TestServer.start();
        Map<String, String> types = Map.of("/", "text/html; charset=utf-8", "/app.css", "text/css; charset=utf-8",
                "/app.js", "text/javascript; charset=utf-8", "/favicon.svg", "image/svg+xml");
        types.forEach((path, type) -> {
            HttpResponse<String> response = server.get(path);
            assertEquals(200, response.statusCode(), path);
            assertEquals(type, response.headers().firstValue("Content-Type").orElseThrow(), path);
            assertEquals("nosniff", response.headers().firstValue("X-Content-Type-Options").orElseThrow(), path);
            String csp = response.headers().firstValue("Content-Security-Policy").orElseThrow();
            assertTrue(csp.startsWith("default-src 'none'; script-src 'self'; style-src 'self';"), csp);
            assertTrue(csp.contains("connect-src 'self'") && csp.contains("frame-ancestors 'none'"), csp);
            assertEquals("no-cache", response.headers().firstValue("Cache-Control").orElseThrow(), path);
            assertTrue(response.headers().firstValue("ETag").orElseThrow().matches("\"[0-9a-f]{32}\""), path);
        });
        String page = server.get("/").body();
        assertTrue(page.contains("<table id=\"sessions\">"));

        HttpResponse<String> head = server.send(
                HttpRequest.newBuilder(server.uri("/")).method("HEAD", HttpRequest.BodyPublishers.noBody()));
        assertEquals(200, head.statusCode());
        assertEquals("", head.body());
        assertEquals(String.valueOf(page.getBytes(StandardCharsets.UTF_8).length),
                head.headers().firstValue("Content-Length").orElseThrow());
        assertEquals("text/html; charset=utf-8", head.headers().firstValue("Content-Type").orElseThrow());
    }

    @Test
    void anUnchangedAssetRevalidatesWith304() {
        server = TestServer.start();
        String etag = server.get("/app.js").headers().firstValue("ETag").orElseThrow();
        HttpResponse<String> again = server.get("/app.js", "If-None-Match", etag);
        assertEquals(304, again.statusCode());
        assertEquals("", again.body());
        assertEquals(304, server.get("/app.js", "If-None-Match", "\"other\", W/" + etag).statusCode());
        assertEquals(200, server.get("/app.js", "If-None-Match", "\"other\"").statusCode());
        assertEquals(200, server.get("/", "If-None-Match", etag).statusCode()); // another file, another tag
    }

    @Test
    void otherPathsGetTheJson404AndTheExistingRoutesStayTheirs() {
        server = TestServer.start();
        for (String path : List.of("/nope", "/index.html", "/web/index.html", "/web/", "/app.js/", "/app.js/x",
                "/APP.JS", "/%2e%2e/pom.xml", "/application.yaml", "/logging.properties", "/dev/llmmetrics/server/Main.class")) {
            HttpResponse<String> response = server.get(path);
            assertEquals(404, response.statusCode(), path);
            assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), path);
            assertEquals("not_found", TestServer.json(response).get("error").asText(), path);
        }
        HttpResponse<String> post = server.post("/", "{}");
        assertEquals(405, post.statusCode(), "the page takes GET and HEAD only");
        assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(""));
        assertEquals(200, server.get("/health").statusCode());
        assertTrue(server.get("/metrics").body().contains("llm_sessions_active"));
        assertEquals(200, server.get("/events/metrics/sessions").statusCode());
    }

    @Test
    void thePageIsPublicWhileTheDataItReadsNeedsTheToken() {
        server = TestServer.start(Map.of("llm.metrics.auth.token", "t0ken"));
        assertEquals(200, server.get("/").statusCode());
        assertEquals(200, server.get("/app.js").statusCode());
        for (String path : List.of("/events/metrics/summaries", "/events/metrics/models", "/events/metrics/session/x")) {
            assertEquals(401, server.get(path).statusCode(), path);
        }
    }

    @Test
    void thePageLoadsNothingFromElsewhereAndNeverWritesDataAsHtml() throws IOException {
        Path web = Tools.repoRoot().resolve("src/main/resources/web");
        Pattern external = Pattern.compile("(?i)(?:src|href|url|action)\\s*[=(]\\s*[\"']?\\s*(?:https?:)?//");
        for (String file : List.of("index.html", "app.css", "app.js", "favicon.svg")) {
            String text = Files.readString(web.resolve(file));
            Matcher m = external.matcher(text);
            assertFalse(m.find(), () -> file + " refers to another origin: " + m.group());
        }
        String js = Files.readString(web.resolve("app.js"));
        for (String sink : List.of("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function")) {
            assertFalse(js.contains(sink), "app.js uses " + sink);
        }
        String html = Files.readString(web.resolve("index.html"));
        assertFalse(html.contains("<script>") || html.contains(" style="), "inline script or style (the policy forbids them)");
        assertFalse(html.matches("(?s).*<input[^>]*id=\"token\"[^>]*name=.*"), "the token input has a name: a form could submit it");
    }
}
