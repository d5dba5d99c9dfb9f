package dev.llmmetrics.server;

import io.helidon.common.uri.UriQuery;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code GET /events/metrics/models?window=5m}: each model's request rate, error ratio, p50 and p95 latency
 * and token rate over a recent window, from {@link ModelRates}. {@code window} is a whole number of seconds
 * ({@code 30s}) or minutes ({@code 1m}) from {@link ModelRates#MIN_WINDOW} to {@link ModelRates#MAX_WINDOW};
 * it defaults to the longest.
 */
final class ModelRatesService implements HttpService {

    private static final Pattern WINDOW = Pattern.compile("([0-9]{1,4})([sm])");

    private final ModelRates rates;

    ModelRatesService(ModelRates rates) {
        this.rates = rates;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/models", this::models)
                .any("/models", MethodNotAllowed.allowing(Method.GET));
    }

    private void models(ServerRequest request, ServerResponse response) {
        Json.send(response, Status.OK_200, rates.rates(window(request.query())));
    }

    /** The {@code window} parameter, or {@link ModelRates#MAX_WINDOW} when absent. */
    static Duration window(UriQuery query) {
        String raw = QueryParams.stringParam(query, "window", 16).orElse(null);
        if (raw == null) {
            return ModelRates.MAX_WINDOW;
        }
        Matcher m = WINDOW.matcher(raw);
        Duration window = null;
        if (m.matches()) {
            long amount = Long.parseLong(m.group(1));
            window = m.group(2).equals("s") ? Duration.ofSeconds(amount) : Duration.ofMinutes(amount);
        }
        if (window == null || window.compareTo(ModelRates.MIN_WINDOW) < 0 || window.compareTo(ModelRates.MAX_WINDOW) > 0) {
            throw new BadRequest("invalid_parameter", "window must be whole seconds or minutes from "
                    + ModelRates.MIN_WINDOW.toSeconds() + "s to " + ModelRates.MAX_WINDOW.toMinutes() + "m, such as 30s, 1m or 5m");
        }
        return window;
    }
}
