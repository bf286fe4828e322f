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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The application jar the launcher and the image run (gateway/target/exitflow.jar, built before
 * this module): it serves, and SIGTERM ends it cleanly. Catches packaging faults that in-module
 * tests cannot see, such as configuration files lost when the jar is shaded.
 */
class ApplicationJarTest {

  /** The jar serves a plan (the int8 model, pruning between its stages), and exits 0 on SIGTERM. */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void servesAPlanAndStopsCleanlyOnSigterm() throws Exception {
    Path jar = ClusterProcesses.JAR;
    assertTrue(Files.isRegularFile(jar), "the application jar is built before this module's tests");
    Path plan = Files.createDirectories(Path.of("target")).resolve("packaged-plan.json");
    Files.writeString(plan, "{\"name\": \"packaged\", \"model\": \"all-minilm-l6-v2-q\", \"keep_ratios\": [1.0, 0.75]}");
    Process p = new ProcessBuilder("java", "-Dexitflow.gateway.kafka=off",
        "-Dexitflow.model.cache-dir=" + System.getProperty("exitflow.model.cache-dir"),
        "-Dexitflow.data-dir=" + Path.of("target/packaged-plan-data").toAbsolutePath(),
        "-Dexitflow.model.adapters.calibrate-on-start=" + System.getProperty("exitflow.model.adapters.calibrate-on-start"),
        "-jar", jar.toString(), "serve", "--port", "0", "--plan", plan.toString())
        .redirectErrorStream(true).start();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String url = null;
      StringBuilder log = new StringBuilder();
      for (String line; url == null && (line = out.readLine()) != null; ) {
        log.append(line).append('\n');
        Matcher m = ClusterProcesses.READY.matcher(line);
        if (m.find()) {
          url = m.group(1);
        }
      }
      assertTrue(url != null, "never ready:\n" + log);
      assertTrue(log.toString().contains("all-minilm-l6-v2-q as plan packaged"), log.toString());
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

  /**
   * Two processes of the jar form a cluster: a gateway node seeding it and a worker node. A long
   * text's hidden state (well over Artery's ordinary 256 KiB frame) crosses between them, which
   * needs the cluster settings to survive shading.
   */
  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void aGatewayProcessServesWithAWorkerProcess() throws Exception {
    int seedPort = ClusterProcesses.freePort();
    Path logs = Files.createDirectories(Path.of("target/cluster-logs"));
    Process gateway = ClusterProcesses.node("gateway", seedPort, seedPort, logs.resolve("gateway.log"));
    Process worker = ClusterProcesses.node("worker", 0, seedPort, logs.resolve("worker.log"));
    try {
      String url = ClusterProcesses.awaitReady(logs.resolve("gateway.log"), gateway);
      String longText = "a worker on another node computes every layer of this long request ".repeat(30);
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url + "/v1/embed"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"input\": \"" + longText + "\", \"exit\": \"deep\"}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode(), r.body());
      assertTrue(r.body().contains("\"exit_layer\":6"), r.body());
      for (Process p : new Process[] {gateway, worker}) {
        p.destroy();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "did not exit after SIGTERM");
        assertEquals(0, p.exitValue());
      }
    } finally {
      gateway.destroyForcibly();
      worker.destroyForcibly();
    }
  }
}
