package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * The console in a real browser: Debian's headless Chromium driven through its chromedriver (no
 * driver download; {@code .ci/run} installs both when missing), against a real server under a
 * short, bounded loopback load: the page loads without console errors, the charts receive data
 * points, the exit-mix chart shows a shallow share once {@code auto} load exceeds capacity, and
 * "try it" returns each exit's cosine to the deep result. Screenshots go to {@code target/}.
 */
class ConsoleBrowserTest {
  private static final Path DRIVER = Path.of(System.getProperty("exitflow.test.chromedriver", "/usr/bin/chromedriver"));
  private static final Path BROWSER = Path.of(System.getProperty("exitflow.test.chromium", "/usr/bin/chromium"));
  /** Offered load / measured deep capacity: the overload factor of docs/overload.md. */
  private static final double FACTOR = 2.0;
  private static final int INPUTS_PER_REQUEST = 16;

  private static RunningServer server;
  private static ChromeDriver driver;

  @BeforeAll
  static void start() {
    // A missing browser is a failure, not a skip: CI must show the console was tested.
    assertTrue(Files.isExecutable(DRIVER) && Files.isExecutable(BROWSER), "no headless browser: " + DRIVER + " or "
        + BROWSER + " is missing; install Debian's packages (as root: apt-get install -y chromium chromium-driver; "
        + ".ci/run does it when they are missing)");
    // Calibrated as serve is out of the box (auto never leaves at an exit without adapter), in a
    // cache of its own: the shared test cache stays without adapters, as other tests expect. The
    // first run fits the adapters (about 20 s); later runs find them.
    server = new RunningServer("exitflow.gateway.console { interval = 500ms, latency-window = 2s }\n"
        + "exitflow.model.cache-dir = \"" + Path.of("target", "console-test-cache").toAbsolutePath() + "\"\n"
        + "exitflow.model.adapters.calibrate-on-start = true");
    ChromeOptions options = new ChromeOptions();
    options.setBinary(BROWSER.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1500,1420", "--hide-scrollbars");
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile())
        .usingAnyFreePort().build();
    driver = new ChromeDriver(service, options);
  }

  @AfterAll
  static void stop() {
    if (driver != null) {
      driver.quit();
    }
    if (server != null) {
      server.close();
    }
  }

  private static Object js(String script) {
    return ((JavascriptExecutor) driver).executeScript(script);
  }

  private static double number(String script) {
    Object v = js("return " + script);
    return v == null ? Double.NaN : ((Number) v).doubleValue();
  }

  private static void await(String what, Duration limit, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + limit.toSeconds() + " s: " + what);
      }
      Thread.sleep(100);
    }
  }

  private static void screenshot(String name) throws Exception {
    Path file = Path.of("target", name);
    Files.createDirectories(file.getParent());
    Files.copy(((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE).toPath(), file,
        StandardCopyOption.REPLACE_EXISTING);
  }

  private static String body(String exit, String priority) {
    StringBuilder b = new StringBuilder("{\"exit\": \"" + exit + "\", \"priority\": \"" + priority
        + "\", \"deadline_ms\": 250, \"input\": [");
    for (int i = 0; i < INPUTS_PER_REQUEST; i++) {
      b.append(i == 0 ? "" : ", ").append("\"sentence ").append(i).append(" of a console test that keeps the stages busy\"");
    }
    return b.append("]}").toString();
  }

  /** Deep inputs per second over HTTP, closed loop: the capacity the load is a multiple of. */
  private static double deepCapacity(Duration length) throws Exception {
    AtomicLong inputs = new AtomicLong();
    long end = System.nanoTime() + length.toNanos();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread thread = new Thread(() -> {
        while (System.nanoTime() < end) {
          try {
            if (server.post("/v1/embed", body("deep", "interactive")).statusCode() == 200) {
              inputs.addAndGet(INPUTS_PER_REQUEST);
            }
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }
      });
      thread.start();
      threads.add(thread);
    }
    long start = System.nanoTime();
    for (Thread t : threads) {
      t.join();
    }
    return inputs.get() / ((System.nanoTime() - start) / 1e9);
  }

  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void showsDepthGivingWayUnderOverloadAndTriesATextAtEveryExit() throws Exception {
    driver.get(server.base() + "/");
    await("the page has its charts and three samples", Duration.ofSeconds(30),
        () -> number("window.exitflowConsole && window.exitflowConsole.charts.rps ? "
            + "exitflowConsole.charts.rps.data[0].length : 0") >= 3);
    assertEquals(9.0, number("Object.keys(exitflowConsole.charts).length"), "charts on the page");

    deepCapacity(Duration.ofSeconds(2)); // warm-up
    double capacity = deepCapacity(Duration.ofSeconds(4));
    double rate = capacity * FACTOR / INPUTS_PER_REQUEST; // requests per second
    System.out.printf("deep capacity %.0f inputs/s; offering auto at %.0f inputs/s (%.1f requests/s)%n",
        capacity, capacity * FACTOR, rate);

    // Open loop, bounded in time: auto requests at FACTOR x capacity until the page shows a shallow share.
    Map<Integer, AtomicLong> statuses = new ConcurrentHashMap<>();
    List<CompletableFuture<?>> sent = new ArrayList<>();
    long start = System.nanoTime();
    long limit = TimeUnit.SECONDS.toNanos(40);
    boolean shallowSeen = false;
    long shallowAt = 0;
    // as the overload load test does: half interactive, half bulk (which loses depth first)
    List<HttpRequest> requests = new ArrayList<>();
    for (String priority : List.of("interactive", "bulk")) {
      requests.add(HttpRequest.newBuilder(URI.create(server.base() + "/v1/embed")).header("Content-Type",
          "application/json").POST(HttpRequest.BodyPublishers.ofString(body("auto", priority))).build());
    }
    for (long i = 0; System.nanoTime() - start < limit; i++) {
      long due = start + (long) (i * 1e9 / rate);
      while (System.nanoTime() < due) {
        java.util.concurrent.locks.LockSupport.parkNanos(200_000);
      }
      sent.add(server.http.sendAsync(requests.get((int) (i % 2)), HttpResponse.BodyHandlers.discarding())
          .thenAccept(r -> statuses.computeIfAbsent(r.statusCode(), k -> new AtomicLong()).incrementAndGet()));
      if (i % Math.max(1, (long) rate / 4) == 0) {
        if (!shallowSeen && shallowShare() > 0.05) { // of the inputs completed in a sample
          shallowSeen = true;
          shallowAt = System.nanoTime();
        }
        // overload for a while after the shift too (15 s in all at least), so the screenshot shows it
        if (shallowSeen && System.nanoTime() - shallowAt > TimeUnit.SECONDS.toNanos(6)
            && System.nanoTime() - start > TimeUnit.SECONDS.toNanos(15)) {
          break;
        }
      }
    }
    screenshot("console-overload.png");
    double loadSeconds = (System.nanoTime() - start) / 1e9;
    CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    System.out.printf("offered %d requests in %.1f s; statuses %s; on the page: max share of exits before the deep "
        + "one %.2f (exit 2: %.2f), max depth level %.2f%n", sent.size(), loadSeconds, statuses, shallowShare(),
        maxOf("exits", 1), maxOf("exits", 4));
    assertTrue(shallowSeen, "the exit-mix chart never showed a shallow share under " + FACTOR + "x load; statuses "
        + statuses);

    // Try it, once the load is over: three exits, each with its cosine to the deep result and its time.
    driver.findElement(By.id("try-text")).clear();
    driver.findElement(By.id("try-text")).sendKeys("The queue fills up and the requests leave early.");
    driver.findElement(By.id("try-run")).click();
    await("try it shows a row per exit", Duration.ofSeconds(30),
        () -> number("exitflowConsole.tryResult ? exitflowConsole.tryResult.length : 0") == 3);
    assertEquals(3, driver.findElements(By.cssSelector("#try-result tbody tr")).size());
    assertEquals("", driver.findElement(By.id("try-error")).getText());
    assertEquals(1.0, number("exitflowConsole.tryResult[2].cosine"), 1e-4, "deep vs itself");
    double shallow = number("exitflowConsole.tryResult[0].cosine");
    assertTrue(shallow > 0.3 && shallow < 0.9999, "exit 2's cosine to the deep result: " + shallow);
    assertTrue(number("exitflowConsole.tryResult[0].computeMs") > 0);
    screenshot("console.png");

    assertEquals("[]", js("return JSON.stringify(exitflowConsole.errors)").toString(), "errors the page caught");
    List<String> severe = driver.manage().logs().get(LogType.BROWSER).getAll().stream()
        .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue()).map(LogEntry::getMessage).toList();
    assertEquals(List.of(), severe, "the browser console's errors");
  }

  /**
   * The largest share of the exits before the deep one in the exit-mix chart's data: its series are
   * stacked shallow to deep, so the second from the top (series 2 of exits 2, 4, 6) is their sum.
   */
  private static double shallowShare() {
    return maxOf("exits", 2);
  }

  private static double maxOf(String chart, int series) {
    return number("Math.max(0, ...exitflowConsole.charts." + chart + ".data[" + series + "].filter(v => v != null))");
  }
}
