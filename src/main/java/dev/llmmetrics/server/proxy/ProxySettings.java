package dev.llmmetrics.server.proxy;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * The metering proxy's settings; {@code dev.llmmetrics.server.Settings} maps the {@code proxy.*} keys to them.
 *
 * @param upstream       the upstream API's base URL as an OpenAI SDK takes it ({@code https://api.openai.com/v1}):
 *                       {@code /v1/chat/completions} goes to {@code <upstream>/chat/completions}
 * @param upstreamKey    replaces the client's {@code Authorization} with {@code Bearer <key>}; empty to forward the
 *                       client's own
 * @param accessToken    the token every {@code /v1} request must present ({@code x-proxy-auth}, or the bearer token
 *                       when an upstream key replaces it); empty for an open proxy
 * @param sessionHeader  the request header naming the session, lower case
 * @param fallbackSession the session of a request without that header
 * @param maxBodyBytes   the largest request body forwarded, in bytes; a longer one gets 413
 * @param maxConcurrent  the most upstream calls in progress at once; past it a request gets 503
 * @param connectTimeout the longest wait for a connection to the upstream
 * @param readTimeout    the longest wait for the upstream's next bytes: the answer's head, then each piece of its body
 * @param streamUsage    whether a streamed request whose client did not ask for the usage is forwarded asking for
 *                       it ({@code stream_options.include_usage}), so that its tokens are recorded; off for an
 *                       upstream that refuses a field it does not know
 */
public record ProxySettings(URI upstream, Optional<String> upstreamKey, Optional<String> accessToken,
                            String sessionHeader, String fallbackSession, int maxBodyBytes, int maxConcurrent,
                            Duration connectTimeout, Duration readTimeout, boolean streamUsage) {

    /** The default session header: {@code x-session-id}. */
    public static final String DEFAULT_SESSION_HEADER = "x-session-id";
    /** The default session of a request without the session header: {@code default}, as the LangChain4j listener's. */
    public static final String DEFAULT_FALLBACK_SESSION = "default";
    /** The default body limit: 4 MiB. */
    public static final int DEFAULT_MAX_BODY_BYTES = 4 << 20;
    /** The default bound on upstream calls in progress: 64. */
    public static final int DEFAULT_MAX_CONCURRENT = 64;
    /** The default connect timeout: 10 seconds. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** The default read timeout: 10 minutes, the OpenAI SDKs' own default for a whole call. */
    public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofMinutes(10);

    /** The longest {@code proxy.connect.timeout} and {@code proxy.read.timeout}. */
    public static final Duration MAX_TIMEOUT = Duration.ofDays(1);

    /** Rejects an upstream that is not an absolute http(s) URL, blank names, and bounds that are not positive. */
    public ProxySettings {
        Objects.requireNonNull(upstream, "upstream");
        String scheme = upstream.getScheme() == null ? "" : upstream.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || upstream.getHost() == null
                || upstream.getRawUserInfo() != null || upstream.getRawQuery() != null || upstream.getRawFragment() != null) {
            throw new IllegalArgumentException("proxy.upstream.url (PROXY_UPSTREAM_URL) must be an http or https URL without user, query or "
                    + "fragment, such as https://api.openai.com/v1");
        }
        String path = upstream.getRawPath() == null ? "" : upstream.getRawPath();
        upstream = URI.create(upstream.getScheme() + "://" + upstream.getRawAuthority()
                + (path.endsWith("/") ? path.substring(0, path.length() - 1) : path));
        upstreamKey = upstreamKey.filter(k -> !k.isBlank());
        accessToken = accessToken.filter(t -> !t.isBlank());
        if (sessionHeader == null || sessionHeader.isBlank() || fallbackSession == null || fallbackSession.isBlank()) {
            throw new IllegalArgumentException("proxy.session.header (PROXY_SESSION_HEADER) and proxy.session.fallback"
                    + " (PROXY_SESSION_FALLBACK) must not be blank");
        }
        sessionHeader = sessionHeader.strip().toLowerCase(Locale.ROOT);
        if (!sessionHeader.chars().allMatch(ProxySettings::tokenChar)) {
            // A field name is a token (RFC 9110 section 5.1): no request could carry any other, so every call would
            // go to the fallback session without a word
            throw new IllegalArgumentException("proxy.session.header (PROXY_SESSION_HEADER) must be a header name"
                    + " (letters, digits and !#$%&'*+-.^_`|~), was '" + sessionHeader + "'");
        }
        if (maxBodyBytes < 1 || maxConcurrent < 1) {
            throw new IllegalArgumentException("proxy.max.body.bytes (PROXY_MAX_BODY_BYTES) and proxy.max.concurrent"
                    + " (PROXY_MAX_CONCURRENT) must be positive, were "
                    + maxBodyBytes + " and " + maxConcurrent);
        }
        // At most a day: the client takes them as int milliseconds, and P1000000D wrapped to a negative socket
        // timeout that failed every upstream call with a 502
        if (connectTimeout == null || !connectTimeout.isPositive() || connectTimeout.compareTo(MAX_TIMEOUT) > 0
                || readTimeout == null || !readTimeout.isPositive() || readTimeout.compareTo(MAX_TIMEOUT) > 0) {
            throw new IllegalArgumentException("proxy.connect.timeout (PROXY_CONNECT_TIMEOUT) and proxy.read.timeout"
                    + " (PROXY_READ_TIMEOUT) must be positive and at most " + MAX_TIMEOUT + ", were "
                    + connectTimeout + " and " + readTimeout);
        }
    }

    @Override
    public String toString() {
        return "ProxySettings[upstream=" + upstream + ", upstreamKey=" + (upstreamKey.isPresent() ? "****" : "none")
                + ", accessToken=" + (accessToken.isPresent() ? "****" : "none") + ", sessionHeader=" + sessionHeader
                + ", fallbackSession=" + fallbackSession + ", maxBodyBytes=" + maxBodyBytes + ", maxConcurrent="
                + maxConcurrent + ", connectTimeout=" + connectTimeout + ", readTimeout=" + readTimeout
                + ", streamUsage=" + streamUsage + "]";
    }

    /** Whether {@code c} may be in a token (RFC 9110 section 5.6.2), as a header's name is. */
    private static boolean tokenChar(int c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
    }
}
