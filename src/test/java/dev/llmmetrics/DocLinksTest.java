package dev.llmmetrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every relative link of the project's Markdown (the README, {@code docs/}, the clients' READMEs) leads to a
 * file of the repository and, where it names an anchor of a Markdown file, to a heading of that file, as
 * GitHub renders them: a reader following the README's path never meets a dead link. Every table row is read as
 * one, with its table's cells.
 */
class DocLinksTest {

    /** An inline link or image: its target up to the first space (a title may follow) or the closing parenthesis. */
    private static final Pattern LINK = Pattern.compile("!?\\[[^\\]]*\\]\\(<?([^)\\s>]+)>?(?:\\s+\"[^\"]*\")?\\)");
    private static final Pattern HEADING = Pattern.compile("^#{1,6}\\s+(.+?)\\s*#*\\s*$");
    private static final Pattern CODE_SPAN = Pattern.compile("(`+).*?\\1");
    private static final Pattern TABLE_DELIMITER = Pattern.compile("^\\|\\s*:?-{3,}.*");
    /** A cell boundary: a pipe not escaped (GitHub splits cells at one inside a code span too). */
    private static final Pattern CELL_PIPE = Pattern.compile("(?<!\\\\)\\|");

    @Test
    void everyRelativeLinkLeadsToAFileAndEveryAnchorToAHeading() throws IOException {
        List<Path> documents = documents();
        assertTrue(documents.contains(Path.of("README.md")) && documents.size() >= 10, "documents found: " + documents);
        Map<Path, Set<String>> anchors = new HashMap<>();
        List<String> dead = new ArrayList<>();
        int checked = 0;
        for (Path document : documents) {
            for (String target : links(document)) {
                if (target.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*")) {
                    continue; // https:, mailto:: not the repository's to keep
                }
                checked++;
                int hash = target.indexOf('#');
                String file = hash < 0 ? target : target.substring(0, hash);
                Path resolved = file.isEmpty() ? document : document.resolveSibling(file).normalize();
                if (!Files.exists(resolved)) {
                    dead.add(document + ": " + target + " (no " + resolved + ")");
                } else if (hash >= 0 && resolved.toString().endsWith(".md")) {
                    String anchor = target.substring(hash + 1);
                    Set<String> headings = anchors.computeIfAbsent(resolved, DocLinksTest::anchorsOf);
                    if (!headings.contains(anchor)) {
                        dead.add(document + ": " + target + " (no heading of " + resolved + " has that anchor)");
                    }
                }
            }
        }
        assertTrue(checked >= 50, "relative links checked: " + checked);
        assertEquals(List.of(), dead, "dead links");
    }

    /**
     * A row after a blank line is a paragraph of pipes, not a row, unless a delimiter row makes it a table's
     * header; a row with more or fewer cells than its header loses cells or shows empty ones.
     */
    @Test
    void everyTableRowIsReadAsARowOfItsTable() throws IOException {
        List<String> problems = new ArrayList<>();
        int rows = 0;
        for (Path document : documents()) {
            List<String> lines = Files.readAllLines(document);
            boolean fenced = false;
            int cells = -1;
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (line.stripLeading().startsWith("```")) {
                    fenced = !fenced;
                }
                if (fenced || !line.startsWith("|")) {
                    cells = -1;
                    continue;
                }
                rows++;
                long pipes = CELL_PIPE.matcher(line).results().count();
                if (cells < 0) {
                    if (i + 1 == lines.size() || !TABLE_DELIMITER.matcher(lines.get(i + 1)).matches()) {
                        problems.add(document + ":" + (i + 1) + " is a row outside a table (a blank line or text above it, no header): " + line);
                    }
                    cells = (int) pipes;
                } else if (pipes != cells) {
                    problems.add(document + ":" + (i + 1) + " has " + (pipes - 1) + " cells, its table " + (cells - 1) + ": " + line);
                }
            }
        }
        assertTrue(rows >= 100, "table rows checked: " + rows);
        assertEquals(List.of(), problems, "table rows");
    }

    @Test
    void anchorsAreMadeAsGitHubMakesThem() {
        assertEquals(List.of("where-the-gap-to-the-floor-comes-from", "on-a-host-where-the-floor-is-faster-the-meters-alone-pass-the-budget",
                        "quiet-runs-on-main-after-issues-17-and-19-c8b3539", "post-events", "post-events-1"),
                new ArrayList<>(anchorsOf(List.of("# Where the gap to the floor comes from",
                        "### On a host where the floor is faster: the meters alone pass the budget",
                        "## Quiet runs on main after issues 17 and 19 (`c8b3539`)", "## `POST /events`", "## POST /events"))));
    }

    /** The Markdown files of the repository that a reader opens, in a stable order. */
    private static List<Path> documents() throws IOException {
        List<Path> documents = new ArrayList<>(List.of(Path.of("README.md")));
        try (Stream<Path> docs = Files.list(Path.of("docs"));
             Stream<Path> clients = Files.walk(Path.of("clients"), 2)) {
            Stream.concat(docs, clients).filter(p -> p.toString().endsWith(".md")).sorted().forEach(documents::add);
        }
        return documents;
    }

    /** The link targets of {@code document}, outside fenced code blocks and code spans. */
    private static List<String> links(Path document) throws IOException {
        List<String> targets = new ArrayList<>();
        boolean fenced = false;
        for (String line : Files.readAllLines(document)) {
            if (line.stripLeading().startsWith("```")) {
                fenced = !fenced;
                continue;
            }
            if (!fenced) {
                Matcher link = LINK.matcher(CODE_SPAN.matcher(line).replaceAll(""));
                while (link.find()) {
                    targets.add(link.group(1));
                }
            }
        }
        return targets;
    }

    private static Set<String> anchorsOf(Path document) {
        try {
            return anchorsOf(Files.readAllLines(document));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * The anchors GitHub gives the headings of {@code lines}: the heading's text lower-cased, without its Markdown
     * (code marks, emphasis, a link's target), every character but letters, digits, spaces, hyphens and
     * underscores dropped, spaces made hyphens; a repeated anchor takes {@code -1}, {@code -2}, and so on.
     */
    private static Set<String> anchorsOf(List<String> lines) {
        Set<String> anchors = new LinkedHashSet<>();
        Map<String, Integer> seen = new HashMap<>();
        boolean fenced = false;
        for (String line : lines) {
            if (line.stripLeading().startsWith("```")) {
                fenced = !fenced;
                continue;
            }
            Matcher heading = HEADING.matcher(line);
            if (fenced || !heading.matches()) {
                continue;
            }
            String text = heading.group(1).replaceAll("\\[([^\\]]*)\\]\\([^)]*\\)", "$1").toLowerCase(Locale.ROOT);
            StringBuilder slug = new StringBuilder();
            text.codePoints().forEach(c -> {
                if (Character.isLetterOrDigit(c) || c == '-' || c == '_') {
                    slug.appendCodePoint(c);
                } else if (c == ' ') {
                    slug.append('-');
                }
            });
            String base = slug.toString();
            int repeat = seen.merge(base, 1, Integer::sum) - 1;
            anchors.add(repeat == 0 ? base : base + "-" + repeat);
        }
        return anchors;
    }
}
