package dev.llmmetrics.server;

import dev.llmmetrics.event.ErrorType;
import dev.llmmetrics.event.EventBus;
import dev.llmmetrics.event.GenericEvent;
import dev.llmmetrics.event.LlmRequestScored;
import dev.llmmetrics.track.CallTracker;
import dev.llmmetrics.track.Failure;
import dev.llmmetrics.track.InFlightCall;
import dev.llmmetrics.track.Usage;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Simulated LLM traffic for {@code --demo}: worker threads make calls through the real
 * {@link CallTracker}, so every endpoint and dashboard shows live data at once.
 *
 * <p>Three models with their own lognormal latency, failure rate and token profile (two of them in the
 * sample price table, the self-hosted one unpriced); two calls in three streamed, with their time to first
 * token; a pool of sessions, each retired after a few dozen calls and replaced by a new one; tool calls in
 * about a third of the responses, cached prompt tokens in some; agent and tool events beside the LLM ones.
 * Every call carries a {@code feature} attribute; a judge grades a third of the completed calls
 * ({@code quality}, 0 to 1, around the model's own level), users give a thumbs up or down to a fifth of them
 * ({@code thumbs}, 1 or 0), and a finished session gets a {@code session_rating} from 1 to 5.
 */
final class DemoTraffic implements AutoCloseable {

    private static final Logger LOG = System.getLogger(DemoTraffic.class.getName());

    /** One simulated model; {@code quality} is the mean of its judge's grades, 0 to 1. */
    private record Model(String name, double medianSeconds, double latencySigma, double failureRate,
                         double medianPromptTokens, double medianCompletionTokens, boolean promptCaching,
                         double quality) {
    }

    /**
     * Clear of the shipped alerts but LlmUnpricedModel (docs/bundle.md): tokens a request average
     * median × e^(σ²/2), 1.20 × prompt + 1.28 × completion (gpt-4o about 1490, claude-sonnet-4 about 1620, under
     * LlmHeavyTokenUse's 2000), and failure rates well under LlmHighErrorRate's 10 % over 5 minutes.
     */
    private static final List<Model> MODELS = List.of(
            new Model("gpt-4o", 1.4, 0.55, 0.04, 900, 320, true, 0.86),
            new Model("claude-sonnet-4", 2.1, 0.45, 0.03, 900, 420, true, 0.88),
            new Model("llama-3.1-70b", 0.8, 0.70, 0.05, 600, 240, false, 0.74));
    private static final List<String> FEATURES = List.of("chat", "search", "summarize");
    private static final List<Failure> ERRORS = List.of(
            new Failure("RateLimitError: 429 Too Many Requests", ErrorType.RATE_LIMIT, 429),
            new Failure("APITimeoutError: Request timed out", ErrorType.TIMEOUT, null),
            new Failure("APIConnectionError: Connection reset by peer", ErrorType.OTHER, null),
            new Failure("BadRequestError: context_length_exceeded", ErrorType.INVALID_REQUEST, 400));
    private static final int SESSIONS = 16;
    private static final int CALLS_PER_SESSION = 40;

    private final CallTracker tracker;
    private final EventBus bus;
    private final double timeScale;
    private final AtomicReferenceArray<String> sessions = new AtomicReferenceArray<>(SESSIONS);
    private final AtomicReferenceArray<AtomicInteger> callsLeft = new AtomicReferenceArray<>(SESSIONS);
    private final AtomicInteger sessionSerial = new AtomicInteger();
    private final List<Thread> workers = new ArrayList<>();
    private volatile boolean running = true;

    /**
     * @param workers   concurrent simulated callers
     * @param timeScale multiplies every simulated latency (1.0 is real time; tests use less)
     */
    DemoTraffic(CallTracker tracker, EventBus bus, int workers, double timeScale) {
        this.tracker = tracker;
        this.bus = bus;
        this.timeScale = timeScale;
        for (int i = 0; i < SESSIONS; i++) {
            sessions.set(i, newSessionId());
            callsLeft.set(i, new AtomicInteger(CALLS_PER_SESSION));
        }
        for (int i = 0; i < workers; i++) {
            this.workers.add(Thread.ofVirtual().name("llm-metrics-demo-" + i).start(this::run));
        }
        LOG.log(Level.INFO, "Demo traffic: {0} simulated callers over {1} models", workers, MODELS.size());
    }

    @Override
    public void close() {
        running = false;
        workers.forEach(Thread::interrupt);
    }

    private void run() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (running) {
            int slot = random.nextInt(SESSIONS);
            String session = sessionFor(slot);
            Model model = MODELS.get(random.nextInt(MODELS.size()));
            int messages = 1 + random.nextInt(24);
            int tools = random.nextInt(4) == 0 ? 0 : 1 + random.nextInt(6);
            InFlightCall call = tracker.call(session, model.name()).messages(messages).tools(tools)
                    .attributes(Map.of("feature", FEATURES.get(random.nextInt(FEATURES.size())))).start();
            try {
                call.complete(simulate(call, model, tools, random.nextInt(3) != 0, random));
                grade(session, call.correlationId(), model, random);
                if (random.nextInt(8) == 0) {
                    bus.publish(new GenericEvent("TOOL_CALL_COMPLETED", session, null, null, Map.of("tool", "search")));
                }
            } catch (SimulatedFailure failure) {
                // What a provider client reports: the provider's error, its type and HTTP status.
                call.fail(failure.failure);
            } catch (InterruptedException e) {
                call.fail(e);
                return;
            }
            if (random.nextInt(20) == 0) {
                bus.publish(new GenericEvent(random.nextBoolean() ? "AGENT_STEP_COMPLETED" : "HITL_APPROVAL_REQUESTED",
                        session));
            }
        }
    }

    /** A judge's grade of a third of the calls, a user's thumbs of a fifth. */
    private void grade(String session, String correlationId, Model model, ThreadLocalRandom random) {
        if (random.nextInt(3) == 0) {
            double quality = Math.clamp(model.quality() + 0.12 * random.nextGaussian(), 0, 1);
            bus.publish(LlmRequestScored.builder(session, "quality", Math.round(quality * 100) / 100.0)
                    .correlationId(correlationId).comment("judge: graded against the reference answer").build());
        }
        if (random.nextInt(5) == 0) {
            bus.publish(LlmRequestScored.builder(session, "thumbs", random.nextDouble() < model.quality() ? 1 : 0)
                    .correlationId(correlationId).build());
        }
    }

    /**
     * One simulated call of lognormal latency; a streamed one reports its first token after a fifth to a
     * third of it, through the tracker's streaming handle, as an application reading a token stream would.
     */
    private Usage simulate(InFlightCall call, Model model, int tools, boolean streamed, ThreadLocalRandom random)
            throws InterruptedException {
        double seconds = lognormal(random, model.medianSeconds(), model.latencySigma());
        double firstTokenShare = streamed ? 0.2 + 0.13 * random.nextDouble() : 0.6;
        sleep(seconds * firstTokenShare);
        if (random.nextDouble() < model.failureRate()) {
            throw new SimulatedFailure(ERRORS.get(random.nextInt(ERRORS.size())));
        }
        if (streamed) {
            call.firstToken();
        }
        sleep(seconds * (1 - firstTokenShare));
        return usage(model, tools, random);
    }

    /** Token usage; a third of the prompts of the models with prompt caching partly served from the provider's cache. */
    private static Usage usage(Model model, int tools, ThreadLocalRandom random) {
        int prompt = (int) lognormal(random, model.medianPromptTokens(), 0.6);
        int completion = (int) lognormal(random, model.medianCompletionTokens(), 0.7);
        Usage usage = Usage.of(prompt, completion, tools > 0 && random.nextDouble() < 0.35);
        if (model.promptCaching() && random.nextInt(3) == 0) {
            usage = usage.withCachedTokens((int) (prompt * (0.3 + 0.6 * random.nextDouble())));
        }
        return usage;
    }

    private void sleep(double simulatedSeconds) throws InterruptedException {
        Thread.sleep(Duration.ofNanos((long) (simulatedSeconds * timeScale * 1e9)));
    }

    private String sessionFor(int slot) {
        if (callsLeft.get(slot).decrementAndGet() <= 0) {
            bus.publish(LlmRequestScored.builder(sessions.get(slot), "session_rating",
                    1 + ThreadLocalRandom.current().nextInt(5)).build());
            sessions.set(slot, newSessionId());
            callsLeft.set(slot, new AtomicInteger(CALLS_PER_SESSION));
        }
        return sessions.get(slot);
    }

    private String newSessionId() {
        return "demo-session-" + sessionSerial.incrementAndGet();
    }

    private static double lognormal(ThreadLocalRandom random, double median, double sigma) {
        return median * Math.exp(sigma * random.nextGaussian());
    }

    /** A simulated provider error; its failure becomes the FAILED event's error, type and status. */
    private static final class SimulatedFailure extends RuntimeException {
        final transient Failure failure;

        SimulatedFailure(Failure failure) {
            super(failure.error(), null, false, false);
            this.failure = failure;
        }
    }
}
