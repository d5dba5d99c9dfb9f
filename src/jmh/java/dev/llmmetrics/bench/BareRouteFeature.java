package dev.llmmetrics.bench;

import io.helidon.common.config.Config;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.spi.ServerFeature;
import io.helidon.webserver.spi.ServerFeatureProvider;
import java.nio.charset.StandardCharsets;

/**
 * The HTTP benchmark's reference route, {@code GET /bench/bare}: a constant small JSON body, served by the
 * real server ({@code dev.llmmetrics.server.Main}) through the same listener, filters and error handling as every
 * other route.
 *
 * <p>It reaches the server without any change to it: Helidon's WebServer discovers
 * {@link ServerFeatureProvider}s on the class path ({@code featuresDiscoverServices} is on by default), and
 * {@code bin/bench http} puts the benchmark classes, with this provider's service file, on the server's
 * class path. The route is added only when the system property {@value #ENABLE} is {@code true}, so the
 * provider is inert on any other class path it might end up on.
 */
public final class BareRouteFeature implements ServerFeature {

    /** The system property that turns the route on. */
    public static final String ENABLE = "llmmetrics.bench.bare-route";
    /** The route's path. */
    public static final String PATH = "/bench/bare";

    private static final byte[] BODY = "{\"status\":\"ok\",\"bench\":true}".getBytes(StandardCharsets.UTF_8);

    @Override
    public void setup(ServerFeatureContext features) {
        if (!Boolean.getBoolean(ENABLE)) {
            return;
        }
        features.socket(WebServer.DEFAULT_SOCKET_NAME).httpRouting().get(PATH, (request, response) -> {
            response.header(HeaderNames.CONTENT_TYPE, "application/json");
            response.send(BODY);
        });
    }

    @Override
    public String name() {
        return "bench-bare-route";
    }

    @Override
    public String type() {
        return "bench-bare-route";
    }

    /** Found by Helidon through {@code META-INF/services/io.helidon.webserver.spi.ServerFeatureProvider}. */
    public static final class Provider implements ServerFeatureProvider<BareRouteFeature> {

        /** Public no-argument constructor for the service loader. */
        public Provider() {
        }

        @Override
        public String configKey() {
            return "bench-bare-route";
        }

        @Override
        public BareRouteFeature create(Config config, String name) {
            return new BareRouteFeature();
        }
    }
}
