package dev.llmmetrics.bench;

import dev.llmmetrics.event.LlmRequestCompleted;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongHistogram;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.metrics.InstrumentType;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.export.CollectionRegistration;
import io.opentelemetry.sdk.metrics.export.MetricReader;
import java.util.Collection;
import java.util.List;

/**
 * The OpenTelemetry peer: the Java SDK's meter provider with a pull reader (cumulative temporality, as the
 * Prometheus exporter uses), recording the GenAI semantic-convention client instruments
 * {@code gen_ai.client.operation.duration} (seconds) and {@code gen_ai.client.token.usage} (tokens, by
 * {@code gen_ai.token.type}) with their advisory bucket boundaries, and the attributes our meters carry:
 * the model ({@code gen_ai.request.model}), the session ({@code session.id}) and the required
 * {@code gen_ai.operation.name}. As instrumentation code does, the attributes are built per event.
 * Three histogram recordings per completed request; the per-model view is a sum over sessions at query
 * time. The SDK's default cardinality limit (2 000 attribute sets per instrument) is raised to 100 000 so
 * that no session falls into the overflow series.
 */
public final class OpenTelemetryRecorder implements AutoCloseable {

    static final AttributeKey<String> OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
    static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
    static final AttributeKey<String> SESSION = AttributeKey.stringKey("session.id");
    static final AttributeKey<String> TOKEN_TYPE = AttributeKey.stringKey("gen_ai.token.type");

    private final PullReader reader = new PullReader();
    private final SdkMeterProvider provider;
    private final DoubleHistogram duration;
    private final LongHistogram tokens;

    public OpenTelemetryRecorder() {
        provider = SdkMeterProvider.builder()
                .registerMetricReader(reader, instrumentType -> 100_000)
                .build();
        Meter meter = provider.get("dev.llmmetrics.bench");
        duration = meter.histogramBuilder("gen_ai.client.operation.duration")
                .setDescription("GenAI operation duration")
                .setUnit("s")
                .setExplicitBucketBoundariesAdvice(List.of(0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56,
                        5.12, 10.24, 20.48, 40.96, 81.92))
                .build();
        tokens = meter.histogramBuilder("gen_ai.client.token.usage")
                .ofLongs()
                .setDescription("Measures number of input and output tokens used")
                .setUnit("{token}")
                .setExplicitBucketBoundariesAdvice(List.of(1L, 4L, 16L, 64L, 256L, 1024L, 4096L, 16384L, 65536L,
                        262144L, 1048576L, 4194304L, 16777216L, 67108864L))
                .build();
    }

    /** Records one completed request: its duration and its input and output tokens. */
    public void completed(LlmRequestCompleted e) {
        Attributes attributes = Attributes.of(OPERATION, "chat", REQUEST_MODEL, e.model(), SESSION, e.sessionId());
        duration.record(e.durationMs() / 1000.0, attributes);
        tokens.record(e.promptTokens(), attributes.toBuilder().put(TOKEN_TYPE, "input").build());
        tokens.record(e.completionTokens(), attributes.toBuilder().put(TOKEN_TYPE, "output").build());
    }

    /** What a scrape would export now. */
    public Collection<MetricData> collect() {
        return reader.registration.collectAllMetrics();
    }

    @Override
    public void close() {
        provider.close();
    }

    /** A minimal pull reader: collection happens only when {@link #collect()} asks. */
    private static final class PullReader implements MetricReader {
        volatile CollectionRegistration registration = CollectionRegistration.noop();

        @Override
        public void register(CollectionRegistration registration) {
            this.registration = registration;
        }

        @Override
        public AggregationTemporality getAggregationTemporality(InstrumentType instrumentType) {
            return AggregationTemporality.CUMULATIVE;
        }

        @Override
        public CompletableResultCode forceFlush() {
            return CompletableResultCode.ofSuccess();
        }

        @Override
        public CompletableResultCode shutdown() {
            return CompletableResultCode.ofSuccess();
        }
    }
}
