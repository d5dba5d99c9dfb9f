package dev.llmmetrics.server;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * The built-in web view: {@code GET /} and its few assets, static files read once from the jar's
 * {@code web/} folder. The page is plain HTML, CSS and JavaScript (no build step, nothing fetched from
 * elsewhere); it reads the JSON endpoints under {@code /events}, which keep their auth, while the page
 * itself is public.
 *
 * <p>Only the files listed here are served, each at its own exact path, so the service never lists a
 * folder, never reads a path the client chose, and never shadows another route: any other path falls
 * through to the routing's JSON 404. Every answer carries an {@code ETag} and {@code Cache-Control:
 * no-cache} (a browser revalidates and gets 304 until the jar changes), a Content-Security-Policy allowing
 * only this origin, and {@code X-Content-Type-Options: nosniff}.
 */
final class WebService implements HttpService {

    /**
     * Scripts, styles, images and fetches from this origin only; no inline script or style, no plugin, no
     * framing, no form submission anywhere (the token form is handled by the script).
     */
    static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; "
            + "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static final HeaderName CSP = HeaderNames.create("Content-Security-Policy");
    private static final HeaderName NOSNIFF = HeaderNames.create("X-Content-Type-Options");
    private static final HeaderName REFERRER_POLICY = HeaderNames.create("Referrer-Policy");
    private static final String FOLDER = "web/";

    /** The files served: request path, file under {@code web/}, content type. */
    private static final List<String[]> FILES = List.of(
            new String[] {"/", "index.html", "text/html; charset=utf-8"},
            new String[] {"/app.css", "app.css", "text/css; charset=utf-8"},
            new String[] {"/app.js", "app.js", "text/javascript; charset=utf-8"},
            new String[] {"/favicon.svg", "favicon.svg", "image/svg+xml"});

    private final List<Asset> assets;

    /** Reads every file from the class path; a missing one is a packaging bug and fails the start. */
    WebService() {
        this.assets = FILES.stream().map(f -> Asset.load(f[0], FOLDER + f[1], f[2])).toList();
    }

    @Override
    public void routing(HttpRules rules) {
        for (Asset asset : assets) {
            rules.get(asset.path(), (request, response) -> serve(asset, request, response))
                    .any(asset.path(), MethodNotAllowed.allowing(Method.GET));
        }
    }

    private static void serve(Asset asset, ServerRequest request, ServerResponse response) {
        response.header(HeaderNames.CACHE_CONTROL, "no-cache");
        response.header(HeaderNames.ETAG, asset.etag());
        response.header(CSP, CONTENT_SECURITY_POLICY);
        response.header(NOSNIFF, "nosniff");
        response.header(REFERRER_POLICY, "no-referrer");
        if (EntityTags.matches(request.headers(), asset.etag())) {
            response.status(Status.NOT_MODIFIED_304).send();
            return;
        }
        response.header(HeaderNames.CONTENT_TYPE, asset.contentType());
        response.status(Status.OK_200);
        response.send(asset.bytes());
    }

    /**
     * One served file.
     *
     * @param path        the request path
     * @param contentType its media type
     * @param bytes       its content, read once and never changed
     * @param etag        a strong entity tag: the start of its SHA-256, quoted
     */
    private record Asset(String path, String contentType, byte[] bytes, String etag) {

        Asset {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(contentType, "contentType");
            Objects.requireNonNull(bytes, "bytes");
            Objects.requireNonNull(etag, "etag");
        }

        static Asset load(String path, String resource, String contentType) {
            try (InputStream in = WebService.class.getClassLoader().getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("the web view's " + resource + " is missing from the class path");
                }
                byte[] bytes = in.readAllBytes();
                String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
                return new Asset(path, contentType, bytes, "\"" + hash.substring(0, 32) + "\"");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the web view's " + resource, e);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("every Java platform has SHA-256", e);
            }
        }
    }
}
