package dev.exitflow.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The application jar the launcher and the image run (gateway/target/exitflow.jar, built before
 * this module): it serves, and SIGTERM ends it cleanly. Catches packaging faults that in-module
 * tests cannot see, such as configuration files lost when the jar is shaded.
 */
class ApplicationJarTest {
  private static final Pattern READY = Pattern.compile("ready: .* on (http://127\\.0\\.0\\.1:\\d+)");

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void servesAndStopsCleanlyOnSigterm() throws Exception {
    Path jar = Path.of("../gateway/target/exitflow.jar");
    assertTrue(Files.isRegularFile(jar), "the application jar is built before this module's tests");
    Process p = new ProcessBuilder("java", "-Dexitflow.gateway.kafka=off",
        "-Dexitflow.model.cache-dir=" + System.getProperty("exitflow.model.cache-dir"),
        "-jar", jar.toString(), "serve", "--port", "0", "--model", "all-minilm-l6-v2-q")
        .redirectErrorStream(true).start();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String url = null;
      StringBuilder log = new StringBuilder();
      for (String line; url == null && (line = out.readLine()) != null; ) {
        log.append(line).append('\n');
        Matcher m = READY.matcher(line);
        if (m.find()) {
          url = m.group(1);
        }
      }
      assertTrue(url != null, "never ready:\n" + log);
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url + "/v1/embeddings"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"input\": \"packaged\", \"exit\": \"shallow\"}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode(), r.body());
      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "did not exit after SIGTERM");
      assertEquals(0, p.exitValue());
    } finally {
      p.destroyForcibly();
    }
  }
}
