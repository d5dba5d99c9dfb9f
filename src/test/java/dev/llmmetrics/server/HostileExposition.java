package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * A second, independent and strict reader of the Prometheus text exposition format 0.0.4, written from the
 * format's description rather than from {@link PrometheusText}: a character-level state machine per line
 * with the format's own rules on top. It rejects anything the format does not allow: bytes that are not
 * UTF-8, bad metric or label names, reserved {@code __} label names, a label twice in one sample, escapes
 * other than {@code \\}, {@code \"} and {@code \n}, values that are not Go floats, a {@code TYPE} after the
 * family's first sample or twice, a family whose lines are not together, the same series twice, histogram
 * buckets out of order, without {@code +Inf}, decreasing, or disagreeing with {@code _count}, and summary
 * quantiles outside [0, 1].
 *
 * <p>{@link #check(byte[])} also runs {@code promtool check metrics} and requires both parsers to agree
 * on every sample.
 */
final class HostileExposition {

    /** One sample. */
    record Sample(String name, Map<String, String> labels, double value, Long timestampMs) {
    }

    private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Pattern FLOAT = Pattern.compile("[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?");
    private static final Pattern INT = Pattern.compile("-?[0-9]+");
    private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");

    private final List<Sample> samples = new ArrayList<>();
    private final Map<String, String> typeOf = new HashMap<>();
    private final Set<String> helped = new HashSet<>();
    private final Set<String> finishedFamilies = new HashSet<>();
    private final Set<String> series = new HashSet<>();
    private String currentFamily;
    private int lineNumber;

    private HostileExposition() {
    }

    /** Parses a whole exposition given as bytes, which must be valid UTF-8; fails on the first violation. */
    static List<Sample> parse(byte[] exposition) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(exposition)).toString();
        } catch (CharacterCodingException e) {
            throw new AssertionError("the exposition is not valid UTF-8", e);
        }
        return parse(text);
    }

    static List<Sample> parse(String text) {
        HostileExposition p = new HostileExposition();
        if (!text.isEmpty() && !text.endsWith("\n")) {
            throw new AssertionError("the exposition does not end with a line feed");
        }
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length - 1; i++) {
            p.lineNumber = i + 1;
            p.line(lines[i]);
        }
        p.checkHistogramsAndSummaries();
        return p.samples;
    }

    /**
     * The checks after a run: {@code promtool check metrics} prints nothing and exits 0, this parser and
     * {@link PrometheusText} both parse every line and agree on every sample. Returns the samples.
     */
    static List<Sample> check(byte[] exposition) {
        promtool(exposition);
        List<Sample> mine = parse(exposition);
        List<PrometheusText.Sample> theirs = PrometheusText.parse(new String(exposition, StandardCharsets.UTF_8)).samples();
        assertEquals(theirs.size(), mine.size(), "the two parsers found different numbers of samples");
        for (int i = 0; i < mine.size(); i++) {
            Sample a = mine.get(i);
            PrometheusText.Sample b = theirs.get(i);
            boolean same = a.name().equals(b.name()) && a.labels().equals(b.labels())
                    && Double.compare(a.value(), b.value()) == 0;
            assertTrue(same, "the parsers disagree on sample " + i + ": " + a + " vs " + b);
        }
        return mine;
    }

    /** Runs {@code promtool check metrics} on the exposition: it must exit 0 and print nothing. */
    static void promtool(byte[] exposition) {
        try {
            Process process = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
            CompletableFuture<byte[]> output = CompletableFuture.supplyAsync(() -> readAll(process.getInputStream()));
            try (OutputStream in = process.getOutputStream()) {
                in.write(exposition);
            }
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("promtool check metrics did not finish in 60 s");
            }
            String printed = new String(output.join(), StandardCharsets.UTF_8);
            assertEquals("", printed, "promtool check metrics complained");
            assertEquals(0, process.exitValue(), "promtool check metrics failed: " + printed);
        } catch (IOException e) {
            throw new UncheckedIOException("promtool must be installed (bin/test installs it)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static byte[] readAll(InputStream in) {
        try (in) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------------------------------------

    private AssertionError error(String what, String line) {
        return new AssertionError("line " + lineNumber + ": " + what + ": " + HostileSupport.abbreviate(line));
    }

    private void line(String line) {
        if (line.isEmpty()) {
            return;
        }
        if (line.charAt(0) == '#') {
            comment(line);
            return;
        }
        sample(line);
    }

    private void comment(String line) {
        String[] parts = line.split(" ", 4);
        if (parts.length < 3 || !parts[0].equals("#") || !(parts[1].equals("HELP") || parts[1].equals("TYPE"))) {
            return; // an ordinary comment
        }
        String name = parts[2];
        if (!METRIC_NAME.matcher(name).matches()) {
            throw error("bad metric name in " + parts[1], line);
        }
        if (parts[1].equals("HELP")) {
            if (!helped.add(name)) {
                throw error("second HELP for " + name, line);
            }
            String doc = parts.length > 3 ? parts[3] : "";
            for (int i = 0; i < doc.length(); i++) {
                if (doc.charAt(i) == '\\') {
                    if (i + 1 >= doc.length() || (doc.charAt(i + 1) != '\\' && doc.charAt(i + 1) != 'n')) {
                        throw error("bad escape in HELP", line);
                    }
                    i++;
                }
            }
            return;
        }
        if (parts.length != 4 || !TYPES.contains(parts[3])) {
            throw error("bad TYPE line", line);
        }
        if (typeOf.containsKey(name)) {
            throw error("second TYPE for " + name, line);
        }
        if (finishedFamilies.contains(name) || name.equals(currentFamily)) {
            throw error("TYPE after samples of " + name, line);
        }
        typeOf.put(name, parts[3]);
    }

    private enum State { NAME, BEFORE_LABEL, LABEL_NAME, AFTER_LABEL_NAME, BEFORE_VALUE_QUOTE, LABEL_VALUE, ESCAPE, AFTER_LABEL_VALUE, AFTER_LABELS }

    private void sample(String line) {
        StringBuilder name = new StringBuilder();
        Map<String, String> labels = new LinkedHashMap<>();
        StringBuilder labelName = new StringBuilder();
        StringBuilder labelValue = new StringBuilder();
        State state = State.NAME;
        int i = 0;
        scan:
        for (; i < line.length(); i++) {
            char c = line.charAt(i);
            switch (state) {
                case NAME -> {
                    if (c == '{') {
                        state = State.BEFORE_LABEL;
                    } else if (c == ' ' || c == '\t') {
                        state = State.AFTER_LABELS;
                        break scan;
                    } else {
                        name.append(c);
                    }
                }
                case BEFORE_LABEL -> {
                    if (c == '}') {
                        state = State.AFTER_LABELS;
                        i++;
                        break scan;
                    } else if (c != ' ' && c != '\t') {
                        labelName.setLength(0);
                        labelName.append(c);
                        state = State.LABEL_NAME;
                    }
                }
                case LABEL_NAME -> {
                    if (c == '=') {
                        state = State.BEFORE_VALUE_QUOTE;
                    } else if (c == ' ' || c == '\t') {
                        state = State.AFTER_LABEL_NAME;
                    } else {
                        labelName.append(c);
                    }
                }
                case AFTER_LABEL_NAME -> {
                    if (c == '=') {
                        state = State.BEFORE_VALUE_QUOTE;
                    } else if (c != ' ' && c != '\t') {
                        throw error("expected = after label name", line);
                    }
                }
                case BEFORE_VALUE_QUOTE -> {
                    if (c == '"') {
                        labelValue.setLength(0);
                        state = State.LABEL_VALUE;
                    } else if (c != ' ' && c != '\t') {
                        throw error("expected \" to open a label value", line);
                    }
                }
                case LABEL_VALUE -> {
                    if (c == '\\') {
                        state = State.ESCAPE;
                    } else if (c == '"') {
                        String key = labelName.toString();
                        if (!LABEL_NAME.matcher(key).matches()) {
                            throw error("bad label name " + key, line);
                        }
                        if (key.startsWith("__")) {
                            throw error("reserved label name " + key, line);
                        }
                        if (labels.put(key, labelValue.toString()) != null) {
                            throw error("label " + key + " twice", line);
                        }
                        state = State.AFTER_LABEL_VALUE;
                    } else {
                        labelValue.append(c);
                    }
                }
                case ESCAPE -> {
                    switch (c) {
                        case '\\' -> labelValue.append('\\');
                        case '"' -> labelValue.append('"');
                        case 'n' -> labelValue.append('\n');
                        default -> throw error("bad escape \\" + c + " in a label value", line);
                    }
                    state = State.LABEL_VALUE;
                }
                case AFTER_LABEL_VALUE -> {
                    if (c == ',') {
                        state = State.BEFORE_LABEL;
                    } else if (c == '}') {
                        state = State.AFTER_LABELS;
                        i++;
                        break scan;
                    } else if (c != ' ' && c != '\t') {
                        throw error("expected , or } after a label value", line);
                    }
                }
                default -> throw new IllegalStateException(state.name());
            }
        }
        if (state != State.AFTER_LABELS) {
            throw error("sample line ends in state " + state, line);
        }
        String metric = name.toString();
        if (!METRIC_NAME.matcher(metric).matches()) {
            throw error("bad metric name " + metric, line);
        }
        String rest = line.substring(i);
        if (rest.isEmpty() || (rest.charAt(0) != ' ' && rest.charAt(0) != '\t')) {
            throw error("no blank before the value", line);
        }
        String[] tokens = rest.trim().split("[ \t]+");
        if (tokens.length < 1 || tokens.length > 2 || tokens[0].isEmpty()) {
            throw error("expected a value and an optional timestamp", line);
        }
        double value = value(tokens[0], line);
        Long timestamp = null;
        if (tokens.length == 2) {
            if (!INT.matcher(tokens[1]).matches()) {
                throw error("bad timestamp", line);
            }
            timestamp = Long.parseLong(tokens[1]);
        }
        String family = family(metric, labels, line);
        if (!family.equals(currentFamily)) {
            if (finishedFamilies.contains(family)) {
                throw error("the lines of family " + family + " are not together", line);
            }
            if (currentFamily != null) {
                finishedFamilies.add(currentFamily);
            }
            currentFamily = family;
        }
        if (!series.add(metric + new TreeMap<>(labels))) {
            throw error("the same series twice", line);
        }
        samples.add(new Sample(metric, labels, value, timestamp));
    }

    private double value(String token, String line) {
        return switch (token) {
            case "NaN" -> Double.NaN;
            case "+Inf", "Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            default -> {
                if (!FLOAT.matcher(token).matches()) {
                    throw error("bad value " + token, line);
                }
                yield Double.parseDouble(token);
            }
        };
    }

    /** The family a sample belongs to, by its TYPE; a sample of no declared family is untyped. */
    private String family(String metric, Map<String, String> labels, String line) {
        String type = typeOf.get(metric);
        if (type != null) {
            if (type.equals("histogram")) {
                throw error("a histogram's own name carries no sample", line);
            }
            if (type.equals("summary") && !labels.containsKey("quantile")) {
                throw error("a summary sample without quantile", line);
            }
            return metric;
        }
        for (String suffix : List.of("_bucket", "_sum", "_count")) {
            if (metric.endsWith(suffix)) {
                String base = metric.substring(0, metric.length() - suffix.length());
                String baseType = typeOf.get(base);
                if ("histogram".equals(baseType) || ("summary".equals(baseType) && !suffix.equals("_bucket"))) {
                    if (suffix.equals("_bucket") && !labels.containsKey("le")) {
                        throw error("a bucket without le", line);
                    }
                    return base;
                }
            }
        }
        return metric; // untyped
    }

    /** Histogram buckets in increasing {@code le}, cumulative, ending in {@code +Inf} equal to {@code _count}. */
    private void checkHistogramsAndSummaries() {
        Map<String, List<Sample>> buckets = new LinkedHashMap<>();
        Map<String, Double> counts = new HashMap<>();
        for (Sample s : samples) {
            Map<String, String> rest = new TreeMap<>(s.labels());
            String le = rest.remove("le");
            for (Map.Entry<String, String> t : typeOf.entrySet()) {
                String base = t.getKey();
                if (t.getValue().equals("histogram") && s.name().equals(base + "_bucket")) {
                    buckets.computeIfAbsent(base + rest, k -> new ArrayList<>()).add(s);
                    Objects.requireNonNull(le);
                } else if (t.getValue().equals("histogram") && s.name().equals(base + "_count")) {
                    counts.put(base + new TreeMap<>(s.labels()), s.value());
                } else if (t.getValue().equals("summary") && s.name().equals(base) && s.labels().containsKey("quantile")) {
                    double q = Double.parseDouble(s.labels().get("quantile"));
                    if (!(q >= 0 && q <= 1)) {
                        throw new AssertionError("quantile outside [0, 1]: " + s);
                    }
                }
            }
        }
        for (Map.Entry<String, List<Sample>> e : buckets.entrySet()) {
            double previousLe = Double.NEGATIVE_INFINITY;
            double previousCount = 0;
            for (Sample b : e.getValue()) {
                String le = b.labels().get("le");
                double bound = le.equals("+Inf") ? Double.POSITIVE_INFINITY : value(le, le);
                if (!(bound > previousLe)) {
                    throw new AssertionError("buckets not in increasing le order: " + e.getKey());
                }
                if (b.value() < previousCount) {
                    throw new AssertionError("buckets not cumulative: " + e.getKey());
                }
                previousLe = bound;
                previousCount = b.value();
            }
            if (previousLe != Double.POSITIVE_INFINITY) {
                throw new AssertionError("no +Inf bucket: " + e.getKey());
            }
            Double count = counts.get(e.getKey());
            if (count == null || Double.compare(count, previousCount) != 0) {
                throw new AssertionError("the +Inf bucket (" + previousCount + ") is not _count (" + count + "): " + e.getKey());
            }
        }
    }
}
