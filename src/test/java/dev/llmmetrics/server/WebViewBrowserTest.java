package dev.llmmetrics.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web view at {@code /} in a real browser: Debian's chromium, headless, driven through Debian's
 * chromedriver by Selenium, against the real server in demo mode. Selenium Manager is never asked for
 * anything (the driver's path is given, so nothing is downloaded); a missing chromium or chromedriver
 * fails the test.
 */
class WebViewBrowserTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String INSTALL = "This test drives a real browser: bin/test installs Debian's 'chromium' and "
            + "'chromium-driver' packages (apt-get install chromium chromium-driver).";

    /** Held strongly: a logger's level and handlers are lost when it is collected. */
    private static final Logger DRIVER_FINDER = Logger.getLogger("org.openqa.selenium.remote.service.DriverFinder");
    private static final Logger SELENIUM_MANAGER = Logger.getLogger("org.openqa.selenium.manager.SeleniumManager");
    private static final List<String> seleniumLog = new CopyOnWriteArrayList<>();
    private static final Handler seleniumCapture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            seleniumLog.add(record.getLoggerName() + ": " + record.getMessage());
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    private static TestServer demo;
    private static Path profile;
    private static ChromeDriver driver;

    @BeforeAll
    static void start() throws IOException {
        String chromium = Tools.executable("chromium", INSTALL);
        String chromedriver = Tools.executable("chromedriver", INSTALL);
        for (Logger logger : List.of(DRIVER_FINDER, SELENIUM_MANAGER)) {
            logger.setLevel(Level.FINE);
            logger.setUseParentHandlers(false);
            logger.addHandler(seleniumCapture);
        }
        demo = TestServer.startWithDemo();
        profile = Files.createTempDirectory("llm-metrics-chromium-");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(chromedriver))
                .usingAnyFreePort()
                .withLogFile(Tools.repoRoot().resolve("target/chromedriver.log").toFile())
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium);
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile, "--window-size=1280,900");
        driver = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() throws IOException {
        try {
            if (driver != null) {
                driver.quit();
            }
        } finally {
            if (demo != null) {
                demo.close();
            }
            for (Logger logger : List.of(DRIVER_FINDER, SELENIUM_MANAGER)) {
                logger.removeHandler(seleniumCapture);
                logger.setUseParentHandlers(true);
            }
            if (profile != null) {
                Tools.deleteTree(profile);
            }
        }
    }

    // ---- helpers ----

    private static WebDriverWait waiting() {
        return new WebDriverWait(driver, WAIT, Duration.ofMillis(100));
    }

    private static Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    private static long rowCount() {
        return (Long) js("return document.querySelectorAll('#sessions tbody tr').length");
    }

    /** The cells of the sessions row of {@code sessionId} by column, read in one step; {@code null} when absent. */
    @SuppressWarnings("unchecked")
    private static Map<String, String> row(String sessionId) {
        return (Map<String, String>) js("""
                const tr = [...document.querySelectorAll('#sessions tbody tr')].find(r => r.dataset.sessionId === arguments[0]);
                if (!tr) return null;
                const cells = {id: tr.querySelector('th button').textContent};
                for (const td of tr.querySelectorAll('td')) cells[td.dataset.col] = td.textContent;
                return cells;""", sessionId);
    }

    private static WebElement rowButton(String sessionId) {
        return (WebElement) js("""
                const tr = [...document.querySelectorAll('#sessions tbody tr')].find(r => r.dataset.sessionId === arguments[0]);
                return tr ? tr.querySelector('th button') : null;""", sessionId);
    }

    /**
     * Does {@code action} to the session's button, again when a live redraw replaced the row between
     * finding the button and using it.
     */
    private static void onRowButton(String sessionId, Consumer<WebElement> action) {
        waiting().ignoring(StaleElementReferenceException.class).until(d -> {
            WebElement button = rowButton(sessionId);
            if (button == null) {
                return false;
            }
            action.accept(button);
            return true;
        });
    }

    private static boolean dialogOpen() {
        return (Boolean) js("return document.getElementById('detail').open");
    }

    private static String jsonString(String value) {
        return TestServer.JSON.valueToTree(value).toString();
    }

    private static String session(String sessionId, int completed, List<String> errors) {
        List<String> events = new ArrayList<>();
        for (int i = 0; i < completed; i++) {
            events.add("{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":" + jsonString(sessionId) + ",\"model\":\"gpt-4o\","
                    + "\"duration_ms\":" + (400 + 150 * i) + ",\"prompt_tokens\":100,\"completion_tokens\":40,\"has_tool_calls\":"
                    + (i == 0) + "}");
        }
        for (String error : errors) {
            events.add("{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":" + jsonString(sessionId)
                    + ",\"model\":\"gpt-4o\",\"duration_ms\":250,\"error\":" + jsonString(error) + "}");
        }
        return "[" + String.join(",", events) + "]";
    }

    private static void openPage(TestServer server) {
        driver.get(server.uri("/").toString());
    }

    /** Leaves a picture of the page in target/ for a human to look at; the assertions never read it. */
    private static void snapshot(String name) {
        try {
            Files.write(Tools.repoRoot().resolve("target/web-view-" + name + ".png"), driver.getScreenshotAs(OutputType.BYTES));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Types into the filter box once it takes input: not before the page shows it, nor while a dialog is modal. */
    private static void filter(String text) {
        WebElement filter = waiting().until(ExpectedConditions.elementToBeClickable(By.id("filter")));
        filter.clear();
        filter.sendKeys(text);
    }

    // ---- behaviours ----

    @Test
    void theSessionsTableAndTheModelTilesFillFromTheDemoTraffic() {
        openPage(demo);
        waiting().until(d -> rowCount() >= 5);
        waiting().until(d -> (Long) js("return document.querySelectorAll('#models li.tile').length") == 3);
        assertEquals("Live, every 2.5 s", driver.findElement(By.id("status")).getText());
        assertTrue(driver.findElement(By.id("sessions-caption")).getText().startsWith("Sessions, most recently active first"));
        List<WebElement> headers = driver.findElements(By.cssSelector("#sessions thead th[scope=col] button"));
        assertTrue(headers.size() >= 7, "sortable headers are buttons");
        WebElement tile = driver.findElement(By.cssSelector("#models li.tile"));
        String text = tile.getText();
        for (String label : List.of("Requests/s", "Errors", "p50 latency", "p95 latency", "Tokens/s", "In flight")) {
            assertTrue(text.contains(label), text);
        }
        assertTrue(seleniumLog.stream().anyMatch(l -> l.contains("Skipping Selenium Manager")), seleniumLog.toString());
        assertTrue(seleniumLog.stream().noneMatch(l -> l.startsWith("org.openqa.selenium.manager")), seleniumLog.toString());
    }

    @Test
    void aSessionPostedThroughEventsAppearsWithoutReloadAndOpensItsRequestsFromTheKeyboard() {
        openPage(demo);
        waiting().until(d -> rowCount() > 0);
        js("window.notReloaded = true");
        String id = "browser-" + UUID.randomUUID();
        demo.postEvents(session(id, 3, List.of("RateLimitError: 429 Too Many Requests", "APITimeoutError: timed out")));

        waiting().until(d -> row(id) != null);
        assertEquals(Boolean.TRUE, js("return window.notReloaded === true"), "the page was reloaded");
        JsonNode json = TestServer.json(demo.get("/events/metrics/session/" + id));
        Map<String, String> cells = row(id);
        assertEquals(json.get("total_requests").asText(), cells.get("requests"));
        assertEquals(json.get("failed_requests").asText(), cells.get("failures"));
        assertEquals("2", cells.get("failures"));
        assertEquals("40.0 %", cells.get("error"));

        filter(id.substring(0, 16)); // the filter reaches the server: the demo keeps adding sessions
        waiting().until(d -> rowCount() == 1 && row(id) != null);
        onRowButton(id, button -> button.sendKeys(Keys.ENTER));
        waiting().until(d -> dialogOpen()
                && (Long) js("return document.querySelectorAll('#requests tbody tr').length") == json.get("requests").size());
        assertEquals("detail-heading", js("return document.activeElement.id"));
        assertEquals("Session " + id, driver.findElement(By.id("detail-heading")).getText());
        List<WebElement> failed = driver.findElements(By.cssSelector("#requests tbody tr.failed"));
        assertEquals(json.get("failed_requests").asInt(), failed.size());
        List<String> errors = new ArrayList<>();
        json.get("requests").forEach(r -> {
            if (!r.get("success").asBoolean()) {
                errors.add(0, r.get("error").asText()); // the page lists the newest first
            }
        });
        assertEquals(errors, failed.stream().map(tr -> tr.findElement(By.cssSelector(".error-text")).getText()).toList());
        assertTrue(failed.stream().allMatch(tr -> tr.getText().contains("Failed")));
        assertEquals("2", driver.findElement(By.cssSelector("#detail-figures [data-figure=Failures] dd")).getText());
        assertEquals(2L, js("return document.querySelectorAll('#sparkline svg circle').length"));
        String sparkTitle = (String) js("return document.querySelector('#sparkline svg title').textContent");
        assertTrue(sparkTitle.startsWith("Latency of the last 5 requests") && sparkTitle.endsWith("2 failed."), sparkTitle);
        snapshot("session");

        driver.switchTo().activeElement().sendKeys(Keys.ESCAPE);
        waiting().until(d -> !dialogOpen());
        assertEquals(id, js("const e = document.activeElement; return e.closest('tr') ? e.closest('tr').dataset.sessionId : null"),
                "the focus returns to the session's button");
        filter("");
    }

    @Test
    void aStreamedPricedSessionShowsItsCostAndItsTimeToFirstToken() {
        String id = "streamed-" + UUID.randomUUID();
        // gpt-4o in the demo's sample prices: 500 × 2.50 + 1 500 × 1.25 + 500 × 10.00 per million = $0.008125.
        demo.postEvents("[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":" + jsonString(id) + ",\"model\":\"gpt-4o\","
                + "\"duration_ms\":900,\"time_to_first_token_ms\":300,\"prompt_tokens\":2000,\"cached_tokens\":1500,"
                + "\"completion_tokens\":500}]");
        openPage(demo);
        filter(id.substring(0, 20));
        waiting().until(d -> rowCount() == 1 && row(id) != null);
        JsonNode json = TestServer.json(demo.get("/events/metrics/session/" + id));
        assertEquals(0.008125, json.get("total_cost_usd").asDouble());
        assertEquals("$0.0081", row(id).get("cost"));

        onRowButton(id, WebElement::click);
        waiting().until(d -> (Long) js("return document.querySelectorAll('#requests tbody tr').length") == 1);
        assertEquals(Boolean.FALSE, js("return document.querySelector('#requests th[data-col=\"ttft\"]').hidden"));
        String request = driver.findElement(By.cssSelector("#requests tbody tr")).getText();
        assertTrue(request.contains("300 ms") && request.contains("$0.0081"), request);
        assertEquals("$0.0081", driver.findElement(By.cssSelector("#detail-figures [data-figure=Cost] dd")).getText());
        driver.findElement(By.id("detail-close")).click();
        waiting().until(d -> !dialogOpen());
        filter("");
    }

    /**
     * A session of a few small calls of a cheap model costs less than the hundredth of a cent the column shows:
     * it says so, where it used to show "$0.0000", which read as no cost (a cost of 0 shows "$0.00").
     */
    @Test
    void aCostTooSmallForTheColumnIsShownAsLessThanItNotAsNothing() {
        String tag = UUID.randomUUID().toString().substring(0, 8);
        List<String> costs = List.of("0.0000125", "0", "0.00005", "0.5");
        for (int i = 0; i < costs.size(); i++) {
            demo.postEvents("[{\"type\":\"LLM_REQUEST_COMPLETED\",\"session_id\":\"cost-" + tag + "-" + i + "\",\"model\":"
                    + "\"gpt-4o-mini\",\"duration_ms\":300,\"prompt_tokens\":50,\"completion_tokens\":5,\"cost_usd\":"
                    + costs.get(i) + "}]");
        }
        openPage(demo);
        filter("cost-" + tag);
        waiting().until(d -> rowCount() == costs.size());
        assertEquals("< $0.0001", row("cost-" + tag + "-0").get("cost"));
        assertEquals("$0.00", row("cost-" + tag + "-1").get("cost"));
        assertEquals("$0.0001", row("cost-" + tag + "-2").get("cost"));
        assertEquals("$0.5000", row("cost-" + tag + "-3").get("cost"));
        onRowButton("cost-" + tag + "-0", WebElement::click);
        waiting().until(d -> (Long) js("return document.querySelectorAll('#requests tbody tr').length") == 1);
        assertEquals("< $0.0001", driver.findElement(By.cssSelector("#detail-figures [data-figure=Cost] dd")).getText());
        driver.findElement(By.id("detail-close")).click();
        waiting().until(d -> !dialogOpen());
        filter("");
    }

    @Test
    void aHostileSessionIdAndErrorAreShownAsTextNeverAsMarkup() {
        String id = "<img src=x onerror=alert(1)>" + UUID.randomUUID();
        String error = "<script>alert(2)</script><b>bold</b>";
        demo.postEvents(session(id, 1, List.of(error)));
        openPage(demo);
        filter(id.substring(0, 20));
        waiting().until(d -> rowCount() == 1 && row(id) != null);
        assertEquals(id, row(id).get("id"));
        onRowButton(id, WebElement::click);
        waiting().until(d -> (Long) js("return document.querySelectorAll('#requests tbody tr.failed').length") == 1);
        assertEquals("Session " + id, driver.findElement(By.id("detail-heading")).getText());
        assertEquals(error, driver.findElement(By.cssSelector("#requests tbody tr.failed .error-text")).getText());
        assertEquals(0L, js("return document.querySelectorAll('img, script:not([src]), b').length"),
                "an id or error became markup");
        driver.findElement(By.id("detail-close")).click();
        waiting().until(d -> !dialogOpen());
        filter("");
    }

    /**
     * Ids a URL gives meaning to (a slash, a percent sign, a hash, a question mark), quotes, emoji and the longest id
     * open their own session, whose model and error (markup) show as text; the longest id wraps in its cell.
     */
    @Test
    void everyAwkwardSessionIdOpensItsOwnRequestsAndItsModelAndErrorShowAsText() {
        String tag = UUID.randomUUID().toString().substring(0, 8);
        String model = "<svg onload=alert(3)>\"m'";
        List<String> ids = new ArrayList<>(List.of("a/b/" + tag, "50%25%" + tag, "x#y" + tag, "q?z=1&" + tag,
                "it's \"" + tag + "\"", "emoji-\uD83D\uDE00-\uD83C\uDDEB\uD83C\uDDF7" + tag, "%2E%2E" + tag));
        ids.add(tag + "x".repeat(256 - tag.length()));
        for (String id : ids) {
            demo.postEvents("[{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":" + jsonString(id) + ",\"model\":"
                    + jsonString(model) + ",\"duration_ms\":7,\"error\":" + jsonString("<i>" + id + "</i>") + "}]");
        }
        openPage(demo);
        filter(tag);
        waiting().until(d -> rowCount() == ids.size());
        for (String id : ids) {
            onRowButton(id, WebElement::click);
            waiting().until(d -> (Long) js("return document.querySelectorAll('#requests tbody tr.failed').length") == 1);
            assertEquals("Session " + id, driver.findElement(By.id("detail-heading")).getText());
            assertEquals("<i>" + id + "</i>", driver.findElement(By.cssSelector("#requests tbody tr.failed .error-text")).getText());
            assertEquals(model, driver.findElement(By.cssSelector("#requests tbody tr.failed td:nth-child(2)")).getText());
            driver.findElement(By.id("detail-close")).click();
            waiting().until(d -> !dialogOpen());
        }
        assertEquals(0L, js("return document.querySelectorAll('svg:not(.spark), i, img').length"), "an id, model or error became markup");
        assertEquals(Boolean.TRUE, js("return document.documentElement.scrollWidth <= document.documentElement.clientWidth"),
                "the longest id widened the page");
        filter("");
    }

    /**
     * Text of the longest lengths without a space wraps where it is shown: a model name of 256 characters, in the
     * requests of a session, leaves the error in view (it widened the table to thousands of pixels, the error at its
     * far end); a filter of 256 characters, echoed in "No session id contains", does not widen the page.
     */
    @Test
    void aLongModelNameOrFilterWrapsInsteadOfPushingTheErrorOrThePageSideways() {
        String tag = UUID.randomUUID().toString().substring(0, 8);
        String id = "long-model-" + tag;
        demo.postEvents("[{\"type\":\"LLM_REQUEST_FAILED\",\"session_id\":" + jsonString(id) + ",\"model\":"
                + jsonString("m".repeat(256)) + ",\"duration_ms\":7,\"error\":\"boom\"}]");
        openPage(demo);
        filter(tag);
        onRowButton(id, WebElement::click);
        waiting().until(d -> (Long) js("return document.querySelectorAll('#requests tbody tr.failed').length") == 1);
        assertEquals(Boolean.TRUE, js("""
                const scroll = document.querySelector('#detail .table-scroll');
                return scroll.scrollWidth <= scroll.clientWidth;"""), "the model name widened the requests table");
        driver.findElement(By.id("detail-close")).click();
        waiting().until(d -> !dialogOpen());

        filter("x".repeat(256));
        waiting().until(d -> (Boolean) js("""
                const empty = document.getElementById('sessions-empty');
                return !empty.hidden && empty.textContent.includes('x'.repeat(256));"""));
        assertEquals(Boolean.TRUE, js("return document.documentElement.scrollWidth <= document.documentElement.clientWidth"),
                "the filter, echoed, widened the page");
        filter("");
    }

    /**
     * A control character pasted into the filter (a tab, U+0085) is in no session id, and the server refuses it as a
     * parameter: the table shows no session, the page stays live, rather than a 400 at every poll beside the rows of
     * the filter before.
     */
    @Test
    void aFilterHoldingAControlCharacterMatchesNoSessionAndKeepsThePageLive() {
        openPage(demo);
        waiting().until(d -> rowCount() >= 1);
        String paste = "const f = document.getElementById('filter'); f.value = arguments[0]; f.dispatchEvent(new Event('input'));";
        for (String pasted : List.of("a\tb", "demo\u0085")) {
            js(paste, pasted);
            waiting().until(d -> rowCount() == 0 && (Boolean) js("return !document.getElementById('sessions-empty').hidden"));
            assertEquals("Live, every 2.5 s", driver.findElement(By.id("status")).getText());
            js(paste, "");
            waiting().until(d -> rowCount() >= 1);
        }
    }

    /** An error of several lines (a traceback, which events may carry) shows its lines and their indents. */
    @Test
    void aMultiLineErrorShowsItsLines() {
        String id = "multi-line-error-" + UUID.randomUUID();
        String error = "Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n\tcall()\nValueError: bad";
        demo.postEvents(session(id, 0, List.of(error)));
        openPage(demo);
        filter(id.substring(0, 30));
        onRowButton(id, WebElement::click);
        waiting().until(d -> (Long) js("return document.querySelectorAll('#requests tbody tr.failed').length") == 1);
        assertEquals(error, js("return document.querySelector('#requests tbody tr.failed .error-text').innerText"));
        driver.findElement(By.id("detail-close")).click();
        waiting().until(d -> !dialogOpen());
        filter("");
    }

    @Test
    void aSessionNamedOneOrTwoDotsSaysWhyItsRequestsCannotBeShownInsteadOfAnotherRoutesAnswer() {
        // "." and ".." are valid session ids, but a browser reads them in a path (even as %2E) as dot-segments
        // and asks for another route: /events/metrics/session/ (a 404) or /events/metrics/ (a 200 that is no
        // session). The dialog says so rather than "no longer holds" or another route's figures as the session's.
        for (String id : List.of(".", "..")) {
            demo.postEvents(session(id, 2, List.of("the error of session " + id)));
            openPage(demo);
            filter(id);
            onRowButton(id, WebElement::click);
            WebElement message = driver.findElement(By.id("detail-message"));
            waiting().until(d -> message.isDisplayed());
            assertEquals("Session " + id, driver.findElement(By.id("detail-heading")).getText());
            assertTrue(message.getText().startsWith("A browser cannot ask for the session \u201c" + id + "\u201d"), message.getText());
            assertTrue(message.getText().contains("/events/metrics/session/" + (id.equals(".") ? "%2E " : "%2E%2E ")),
                    message.getText());
            assertEquals(0L, js("return document.querySelectorAll('#requests tbody tr, #detail-figures > *').length"),
                    "another route's answer was shown as the session");
            driver.findElement(By.id("detail-close")).click();
            waiting().until(d -> !dialogOpen());
            filter("");
        }
        // The server itself answers those ids when their dots are percent-encoded.
        assertEquals(200, demo.get("/events/metrics/session/%2E%2E").statusCode());
        assertEquals(200, demo.get("/events/metrics/session/%2E").statusCode());
    }

    /**
     * Installed before the page's own script: while {@code window.answer503} is set, the summaries the page polls
     * are answered 503 as the server answers when its store is unavailable. (Through the DevTools protocol, which
     * the page's Content-Security-Policy does not apply to.)
     */
    private static final String FETCH_503 = """
            const realFetch = window.fetch.bind(window);
            window.answer503 = false;
            window.fetch = (input, init) => window.answer503 && String(input).startsWith('/events/metrics/summaries')
                ? Promise.resolve(new Response(JSON.stringify({error: 'store_unavailable',
                    detail: 'the session store is unavailable'}), {status: 503, headers: {'Content-Type': 'application/json'}}))
                : realFetch(input, init);""";

    /**
     * A session deleted while its dialog is open leaves nothing of it shown under "no longer holds" (its figures,
     * sparkline and requests used to stay, looking current); a server answering 503 is named as such in the status
     * line, with its detail, not as a server that cannot be reached; the page recovers by itself.
     */
    @Test
    void aGoneSessionLeavesNothingOfItShownAndAnErrorAnswerIsNamedInTheStatus() {
        String id = "gone-" + UUID.randomUUID();
        demo.postEvents(session(id, 2, List.of("boom")));
        Object script = driver.executeCdpCommand("Page.addScriptToEvaluateOnNewDocument", Map.of("source", FETCH_503))
                .get("identifier");
        try {
            openPage(demo);
            filter(id.substring(0, 20));
            waiting().until(d -> rowCount() == 1 && row(id) != null);
            onRowButton(id, WebElement::click);
            waiting().until(d -> (Long) js("return document.querySelectorAll('#requests tbody tr').length") == 3);
            assertEquals(200, demo.delete("/events/metrics/session/" + id).statusCode());
            WebElement message = driver.findElement(By.id("detail-message"));
            waiting().until(d -> message.isDisplayed());
            assertTrue(message.getText().startsWith("The server no longer holds this session"), message.getText());
            assertEquals(0L, js("return document.querySelectorAll('#requests tbody tr, #detail-figures > *, #sparkline svg').length"),
                    "the deleted session's figures or requests are still shown");
            driver.findElement(By.id("detail-close")).click();
            waiting().until(d -> !dialogOpen());

            js("window.answer503 = true");
            WebElement status = driver.findElement(By.id("status"));
            waiting().until(d -> status.getText().startsWith("The server answered"));
            assertEquals("The server answered 503: the session store is unavailable; retrying\u2026", status.getText());
            js("window.answer503 = false");
            waiting().until(d -> "Live, every 2.5 s".equals(status.getText()));

            // The server takes id_contains up to the longest session id: the box takes no more, where a longer
            // filter used to be a 400 that the page called an unreachable server.
            filter("x".repeat(300));
            assertEquals(256, ((String) js("return document.getElementById('filter').value")).length());
            waiting().until(d -> (Boolean) js("return document.getElementById('sessions-empty').textContent.startsWith('No session id contains')"));
            assertEquals("Live, every 2.5 s", status.getText());
            filter("");
        } finally {
            driver.executeCdpCommand("Page.removeScriptToEvaluateOnNewDocument", Map.of("identifier", script));
        }
    }

    /**
     * Installed before the page's own script: the summaries the page polls are answered 200 with an HTML page, as a
     * login proxy in front of the server answers once its session has expired.
     */
    private static final String FETCH_HTML = """
            const fetchBeforeHtml = window.fetch.bind(window);
            window.fetch = (input, init) => String(input).startsWith('/events/metrics/summaries')
                ? Promise.resolve(new Response('<!doctype html><title>Sign in</title>', {status: 200,
                    headers: {'Content-Type': 'text/html; charset=utf-8'}}))
                : fetchBeforeHtml(input, init);""";

    /**
     * An answer that is not the server's JSON (a login proxy's page in front of it) is named as such in the status
     * line, with the status and type it came with, where the page said that the server could not be reached.
     */
    @Test
    void anAnswerThatIsNotJsonIsNamedInTheStatusNotCalledAnUnreachableServer() {
        Object script = driver.executeCdpCommand("Page.addScriptToEvaluateOnNewDocument", Map.of("source", FETCH_HTML))
                .get("identifier");
        try {
            openPage(demo);
            WebElement status = driver.findElement(By.id("status"));
            waiting().until(d -> status.getText().endsWith("retrying\u2026"));
            assertEquals("The server answered 200 with text/html, not its JSON (a proxy's page in front of it?); retrying\u2026",
                    status.getText());
        } finally {
            driver.executeCdpCommand("Page.removeScriptToEvaluateOnNewDocument", Map.of("identifier", script));
        }
    }

    /** Installed before the page's script: the status of every answer to a session's read, in order. */
    private static final String RECORD_SESSION_READS = """
            const fetchForReads = window.fetch.bind(window);
            window.sessionReads = [];
            window.fetch = (input, init) => fetchForReads(input, init).then((response) => {
                if (String(input).startsWith('/events/metrics/session/')) window.sessionReads.push(response.status);
                return response;
            });""";

    /**
     * An open session is polled with the ETag of what is drawn: unchanged, the server answers 304 without a body
     * (it used to send the whole session, records and attributes, every 2.5 s); changed, the dialog shows it.
     */
    @Test
    void anOpenSessionUnchangedIsAnswered304AndItsNextRequestStillShows() {
        String id = "etag-" + UUID.randomUUID();
        demo.postEvents(session(id, 2, List.of()));
        Object script = driver.executeCdpCommand("Page.addScriptToEvaluateOnNewDocument",
                Map.of("source", RECORD_SESSION_READS)).get("identifier");
        try {
            openPage(demo);
            filter(id.substring(0, 20));
            waiting().until(d -> rowCount() == 1 && row(id) != null);
            onRowButton(id, WebElement::click);
            waiting().until(d -> (Long) js("return document.querySelectorAll('#requests tbody tr').length") == 2);
            waiting().until(d -> (Long) js("return window.sessionReads.filter(s => s === 304).length") >= 2);
            assertEquals(200L, js("return window.sessionReads[0]"));
            assertEquals(2L, js("return document.querySelectorAll('#requests tbody tr').length"), "a 304 emptied the dialog");

            demo.postEvents(session(id, 1, List.of("late failure")));
            waiting().until(d -> (Long) js("return document.querySelectorAll('#requests tbody tr').length") == 4);
            assertEquals("1", driver.findElement(By.cssSelector("#detail-figures [data-figure=Failures] dd")).getText());
            driver.findElement(By.id("detail-close")).click();
            waiting().until(d -> !dialogOpen());
            filter("");
        } finally {
            driver.executeCdpCommand("Page.removeScriptToEvaluateOnNewDocument", Map.of("identifier", script));
        }
    }

    /** Installed before the page's script: the status of every answer to a read of the sessions' page, in order. */
    private static final String RECORD_PAGE_READS = """
            const fetchForPages = window.fetch.bind(window);
            window.pageReads = [];
            window.fetch = (input, init) => fetchForPages(input, init).then((response) => {
                if (String(input).startsWith('/events/metrics/summaries')) window.pageReads.push(response.status);
                return response;
            });""";

    /**
     * The sessions' page is polled with the ETag of the page the table holds: unchanged, the server answers 304
     * without a body (it sent up to 100 summaries every 2.5 s) and the table keeps its rows; changed, the table
     * shows it; a filter whose page is the same bytes keeps the rows and names the filter now in the table's text.
     */
    @Test
    void anUnchangedPageOfSessionsIsAnswered304AndTheTableKeepsItsRows() {
        String id = "page-" + UUID.randomUUID();
        demo.postEvents(session(id, 2, List.of()));
        Object script = driver.executeCdpCommand("Page.addScriptToEvaluateOnNewDocument",
                Map.of("source", RECORD_PAGE_READS)).get("identifier");
        try {
            openPage(demo);
            filter(id);
            waiting().until(d -> rowCount() == 1 && row(id) != null);
            long before = (Long) js("return window.pageReads.filter(s => s === 304).length");
            waiting().until(d -> (Long) js("return window.pageReads.filter(s => s === 304).length") >= before + 2);
            assertEquals(1L, rowCount(), "a 304 emptied the table");
            assertEquals("2", row(id).get("requests"));

            demo.postEvents(session(id, 1, List.of()));
            waiting().until(d -> row(id) != null && "3".equals(row(id).get("requests")));

            String none = "none-" + UUID.randomUUID();
            filter(none + "-a");
            waiting().until(d -> (Boolean) js("return document.getElementById('sessions-empty').textContent.includes(arguments[0])",
                    none + "-a"));
            long empty = (Long) js("return window.pageReads.filter(s => s === 304).length");
            filter(none + "-b"); // the same empty page, the same bytes: 304
            waiting().until(d -> (Long) js("return window.pageReads.filter(s => s === 304).length") > empty);
            waiting().until(d -> (Boolean) js("return document.getElementById('sessions-empty').textContent.includes(arguments[0])",
                    none + "-b"));
            assertEquals(0L, rowCount());
            filter("");
        } finally {
            driver.executeCdpCommand("Page.removeScriptToEvaluateOnNewDocument", Map.of("identifier", script));
        }
    }

    @Test
    void sortingByFailuresOrdersTheRowsAndSaysSoToAssistiveTechnology() {
        openPage(demo);
        waiting().until(d -> rowCount() >= 5);
        WebElement failures = driver.findElement(By.cssSelector("#sessions th[data-col=failures] button"));
        WebElement header = driver.findElement(By.cssSelector("#sessions th[data-col=failures]"));

        failures.click();
        waiting().until(d -> "descending".equals(header.getAttribute("aria-sort")));
        assertSorted(false);
        assertTrue(driver.findElement(By.id("sessions-caption")).getText().contains("sorted by failures, descending"));

        failures.click();
        waiting().until(d -> "ascending".equals(header.getAttribute("aria-sort")));
        assertSorted(true);

        failures.click();
        waiting().until(d -> header.getAttribute("aria-sort") == null);
        assertTrue(driver.findElement(By.id("sessions-caption")).getText().startsWith("Sessions, most recently active first"));
    }

    /**
     * Rows sorted by a column keep their places across polls: ties go by session id, not by recency, so a tied
     * session that becomes active again does not move. A model shows a tile while a call of it is in flight.
     */
    @Test
    void sortedRowsKeepTheirPlacesAcrossPollsAndTiesGoBySessionId() {
        try (TestServer server = TestServer.start()) {
            for (String id : List.of("tie-c", "two-fail", "tie-a", "tie-b")) {
                assertEquals(202, server.post("/events", session(id, 1, id.equals("two-fail") ? List.of("e1", "e2") : List.of("e1")))
                        .statusCode());
            }
            assertEquals(202, server.post("/events",
                    "{\"type\":\"LLM_REQUEST_STARTED\",\"session_id\":\"tie-a\",\"model\":\"slow-model\"}").statusCode());
            openPage(server);
            waiting().until(d -> rowCount() == 4);
            driver.findElement(By.cssSelector("#sessions th[data-col=failures] button")).click();
            List<String> expected = List.of("two-fail", "tie-a", "tie-b", "tie-c");
            waiting().until(d -> expected.equals(rowIds()));

            // tie-c becomes the most recently active session, its failures unchanged: it keeps its place.
            assertEquals(202, server.post("/events", session("tie-c", 1, List.of())).statusCode());
            waiting().until(d -> "3".equals(row("tie-c").get("requests")));
            assertEquals(expected, rowIds());

            waiting().until(d -> (Boolean) js("return [...document.querySelectorAll('#models li.tile')]"
                    + ".some(t => t.dataset.model === 'slow-model' && t.textContent.includes('In flight'))"));
        }
    }

    @SuppressWarnings("unchecked")
    private static List<String> rowIds() {
        return (List<String>) js("return [...document.querySelectorAll('#sessions tbody tr')].map(r => r.dataset.sessionId)");
    }

    /** The failures column, read in one step (the table redraws live), is in order. */
    @SuppressWarnings("unchecked")
    private static void assertSorted(boolean ascending) {
        List<Long> values = ((List<String>) js("return [...document.querySelectorAll('#sessions tbody td[data-col=failures]')]"
                + ".map(td => td.textContent)")).stream().map(s -> Long.parseLong(s.replace(",", ""))).toList();
        assertFalse(values.isEmpty());
        List<Long> expected = new ArrayList<>(values);
        expected.sort(ascending ? Comparator.naturalOrder() : Comparator.reverseOrder());
        assertEquals(expected, values);
    }

    @Test
    void aNarrowWindowNeedsNoSidewaysScrollingOfThePage() {
        Dimension before = driver.manage().window().getSize();
        try {
            driver.manage().window().setSize(new Dimension(380, 800));
            openPage(demo);
            waiting().until(d -> rowCount() >= 5);
            assertEquals(Boolean.TRUE, js("return document.documentElement.scrollWidth <= document.documentElement.clientWidth"),
                    "the page is wider than the window");
            assertEquals("1", String.valueOf(js("""
                    const tiles = [...document.querySelectorAll('#models li.tile')];
                    return new Set(tiles.map(t => t.getBoundingClientRect().left)).size;""")), "tiles are one column");
            snapshot("narrow");
        } finally {
            driver.manage().window().setSize(before);
        }
    }

    @Test
    void aTokenProtectedServerAsksForTheTokenOnceAndSendsItOnlyAsAHeader() {
        String token = "web-view-" + UUID.randomUUID();
        try (TestServer secured = TestServer.start(Map.of("llm.metrics.auth.token", token))) {
            String id = "secured-session";
            secured.postEvents(session(id, 2, List.of("boom")), "x-internal-auth", token);
            openPage(secured);
            WebElement form = driver.findElement(By.id("auth"));
            waiting().until(d -> form.isDisplayed());
            assertFalse(driver.findElement(By.id("dashboard")).isDisplayed());
            assertEquals("token", js("return document.activeElement.id"), "the token field has the focus");
            assertEquals("password", driver.findElement(By.id("token")).getAttribute("type"));

            // A curly quote that came with a copy: no header can carry it. Refused here in words, where it used to
            // leave the form up under "Cannot reach the server".
            driver.findElement(By.id("token")).sendKeys("\u201c" + token + "\u201d", Keys.ENTER);
            waiting().until(d -> driver.findElement(By.id("auth-error")).getText().startsWith("This token holds a character"));
            driver.findElement(By.id("token")).clear();
            // An accented letter: the browser sends it, but the server reads headers as ASCII and no server can hold it.
            js("document.getElementById('auth-error').textContent = ''");
            driver.findElement(By.id("token")).sendKeys("t\u00f6k", Keys.ENTER);
            waiting().until(d -> driver.findElement(By.id("auth-error")).getText().startsWith("This token holds a character"));
            driver.findElement(By.id("token")).clear();

            driver.findElement(By.id("token")).sendKeys("wrong-token", Keys.ENTER);
            waiting().until(d -> driver.findElement(By.id("auth-error")).getText().equals("The server refused this token."));
            snapshot("token");
            // Back from another tab (where the token is looked up): the form and its message stay, where a poll
            // without a token was answered 401 and the message cleared.
            ((JavascriptExecutor) driver).executeAsyncScript("""
                    document.dispatchEvent(new Event('visibilitychange'));
                    setTimeout(arguments[arguments.length - 1], 700);""");
            assertEquals("The server refused this token.", driver.findElement(By.id("auth-error")).getText());

            driver.findElement(By.id("token")).sendKeys(token, Keys.ENTER);
            waiting().until(d -> row(id) != null);
            assertEquals("1", row(id).get("failures"));
            assertFalse(form.isDisplayed());
            assertEquals(secured.uri("/").toString(), driver.getCurrentUrl());
            assertEquals(token, js("return sessionStorage.getItem('llm-metrics.token')"));

            driver.navigate().refresh(); // asked once: the tab remembers it
            waiting().until(d -> row(id) != null);
            assertFalse(driver.findElement(By.id("auth")).isDisplayed());
            assertFalse(driver.getCurrentUrl().contains(token));

            driver.findElement(By.id("forget-token")).click();
            waiting().until(d -> driver.findElement(By.id("auth")).isDisplayed());
            assertNotNull(js("return document.getElementById('token')"));
            assertEquals(null, js("return sessionStorage.getItem('llm-metrics.token')"));
        }
    }
}
