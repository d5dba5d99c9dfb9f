package dev.llmmetrics.server;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/** Generators of hostile and weird strings, shared by the {@code Hostile*} properties. */
final class HostileArbitraries {

    private HostileArbitraries() {
    }

    /** Pieces that are valid in an id but mean something to JSON, URLs, Prometheus or terminals. */
    static final List<String> WEIRD_FRAGMENTS = List.of(
            "\"", "\\", "\\\"", "\\n", "\\\\", "{", "}", "=", ",", "\"}", "{le=\"+Inf\"}", "\",le=\"0.5", "} 1",
            "# HELP llm_requests_total x", "# TYPE llm_requests_total counter", "# EOF", " 1 2", " NaN", "+Inf",
            "\uD83D\uDE00", "\uD83D\uDC68\u200D\uD83D\uDC69\u200D\uD83D\uDC67", "\uD834\uDD1E", "\u2028", "\u2029",
            "\uFEFF", "\uFFFD", "\uFFFF", "\u00A0", "\u200B", "\u202E", "e\u0301", "\u65E5\u672C", "\u0645\u0631\u062D\u0628\u0627",
            "/", "//", "%", "%2F", "%00", "%ZZ", "?", "#", "&", "+", ".", "..", "../", ";", ":", "@", "*", "'", "`",
            "<script>", "</", "${x}", "$(id)", "null", "a", "Z", "0", "_", "-", " ");

    /** Hand-picked valid ids, each one its own sharp edge. */
    static final List<String> HAND_PICKED_VALID = List.of(
            "\"", "\\", "\\\"", "\"\\", "{", "}", "=", "{}", "a=b", "x\"} 1", "x\",le=\"+Inf", "\\n", "\\\\n",
            "# HELP llm_requests_total injected", "# TYPE x counter", "\uD83D\uDE00", "..", ".", "/", "a/b", "a/../b",
            "%", "%2F", "%00", "%ZZ", "+", "a b", " leading", "trailing ", "?q=1", "#frag", ";p=1",
            "\uFEFF", "a\u2028b", "\u00A0", "\uFFFF", "a".repeat(256), "\uD83D\uDE00".repeat(128), "x".repeat(255) + "}",
            "\u202Eevil", "null", "_other", "NaN", "-1");

    /** Hand-picked invalid ids, each with the reason it must be rejected. */
    static final List<String> HAND_PICKED_INVALID = List.of(
            "", " ", "   ", "\t", "a".repeat(257), "a".repeat(10_000), "\uD83D\uDE00".repeat(128) + "a", "a\nb", "\n",
            "a\r", "\u0000", "a\u0000b", "\u007F", "\u0085", "\u009F", "\u001B[31mred", "\uD800", "a\uDC00b", "\uDBFF",
            "\uD83D", "x\u0008", "\u2028", "\u2003\u3000");

    /** Valid but weird: hand-picked, composed of weird fragments, or random printable Unicode. */
    static Arbitrary<String> weirdValidIds() {
        Arbitrary<String> composed = Arbitraries.of(WEIRD_FRAGMENTS).list().ofMinSize(1).ofMaxSize(16)
                .map(parts -> String.join("", parts))
                .map(s -> s.length() > 256 ? s.substring(0, 256) : s)
                .filter(HostileSupport::validId);
        Arbitrary<String> unicode = Arbitraries.strings()
                .withCharRange('\u0020', '\u007E')
                .withCharRange('\u00A0', '\uD7FF')
                .withCharRange('\uE000', '\uFFFF')
                .ofMinLength(1).ofMaxLength(256)
                .filter(HostileSupport::validId);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(2, Arbitraries.of(HAND_PICKED_VALID).filter(HostileSupport::validId)),
                net.jqwik.api.Tuple.of(5, composed),
                net.jqwik.api.Tuple.of(3, unicode));
    }

    /** A character no id may hold. */
    static Arbitrary<String> forbiddenChars() {
        return Arbitraries.oneOf(
                Arbitraries.chars().range('\u0000', '\u001F').map(String::valueOf),
                Arbitraries.chars().range('\u007F', '\u009F').map(String::valueOf),
                Arbitraries.chars().range('\uD800', '\uDFFF').map(String::valueOf));
    }

    /** Invalid ids: hand-picked, too long, blank, or a valid id with a forbidden character put in. */
    static Arbitrary<String> invalidIds() {
        Arbitrary<String> tooLong = Arbitraries.integers().between(257, 10_000).map("x"::repeat);
        Arbitrary<String> blank = Arbitraries.strings().withChars(' ', '\u2003', '\u3000').ofMinLength(0).ofMaxLength(8);
        Arbitrary<String> withForbidden = Combinators.combine(weirdValidIds(), forbiddenChars(), Arbitraries.integers().between(0, 256))
                .as((valid, bad, at) -> {
                    int i = Math.min(at, valid.length());
                    if (i > 0 && i < valid.length() && Character.isLowSurrogate(valid.charAt(i))) {
                        i--; // do not split a pair: the forbidden character is the point
                    }
                    String s = valid.substring(0, i) + bad + valid.substring(i);
                    return s.length() > 256 ? bad + valid.substring(0, 200) : s;
                })
                .filter(s -> !HostileSupport.validId(s));
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(2, Arbitraries.of(HAND_PICKED_INVALID)),
                net.jqwik.api.Tuple.of(1, tooLong),
                net.jqwik.api.Tuple.of(1, blank.filter(s -> !HostileSupport.validId(s))),
                net.jqwik.api.Tuple.of(4, withForbidden));
    }

    /** Anything: valid, invalid or null. */
    static Arbitrary<String> anyIds() {
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, weirdValidIds()),
                net.jqwik.api.Tuple.of(4, invalidIds()),
                net.jqwik.api.Tuple.of(1, Arbitraries.just(null)));
    }
}
