package dev.exitflow.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * `exitflow serve` as two cluster nodes configured only through `exitflow.cluster`: a gateway that
 * seeds the cluster and runs no workers, and a worker-only node. Embeddings requested over HTTP
 * at the gateway are computed on the worker node.
 */
class ServeClusterTest {
  private final List<ExitflowService> services = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (ExitflowService s : services) {
      s.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
  }

  @Test
  void aGatewayNodeServesWithTheWorkersOfAWorkerNode() throws Exception {
    int seedPort = freePort();
    ExitflowService gateway = serve("gateway", seedPort, seedPort);
    ExitflowService worker = serve("worker", 0, seedPort);
    assertNull(worker.runtime(), "a worker-only node has no runtime of its own");
    gateway.ready().toCompletableFuture().get(90, TimeUnit.SECONDS);
    worker.ready().toCompletableFuture().get(30, TimeUnit.SECONDS);

    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> ready = http.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + worker.server().port() + "/health/ready")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ready.statusCode(), ready.body());
    assertTrue(ready.body().contains("\"role\":\"worker\""), ready.body());

    HttpResponse<String> embedded = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + gateway.server().port() + "/v1/embeddings"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"input\": [\"a gateway asks\", \"a worker answers\"]}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, embedded.statusCode(), embedded.body());
    assertTrue(embedded.body().contains("\"embedding\""), embedded.body());
    var byNode = gateway.runtime().stats().toCompletableFuture().get().batchesByNode();
    assertEquals(1, byNode.size(), byNode.toString());
    assertTrue(byNode.keySet().iterator().next().endsWith(":" + workerPort(worker)), byNode + " ran on the worker node");
  }

  /**
   * The same two nodes without seed nodes: Pekko Management's Cluster Bootstrap finds the contact
   * points (here through config discovery of two management ports on loopback, where Kubernetes
   * would use its API) and forms the cluster. On loopback the two management ports differ, so
   * contact points are not filtered to the default port as they are on Kubernetes.
   */
  @Test
  void nodesFormTheClusterThroughClusterBootstrap() throws Exception {
    int[] management = {freePort(), freePort()};
    String discovery = "exitflow.cluster.pekko {\n"
        + "discovery.config.services.exitflow.endpoints = [{host = \"127.0.0.1\", port = "
        + management[0] + "}, {host = \"127.0.0.1\", port = " + management[1] + "}]\n"
        + "management.cluster.bootstrap.contact-point-discovery.discovery-method = config\n"
        + "management.cluster.bootstrap.contact-point.filter-on-fallback-port = false\n}\n";
    // Remoting ports chosen here, apart from the management ones: with port 0 the system could be
    // given a management port that was free a moment ago, and Bootstrap then refuses to probe it.
    int[] remoting = new int[2];
    for (int i = 0; i < 2; i++) {
      do {
        remoting[i] = freePort();
      } while (remoting[i] == management[0] || remoting[i] == management[1] || (i == 1 && remoting[1] == remoting[0]));
    }
    ExitflowService gateway = serve("gateway", "bootstrap = on, port = " + remoting[0],
        discovery + "exitflow.cluster.pekko.management.http.port = " + management[0]);
    ExitflowService worker = serve("worker", "bootstrap = on, port = " + remoting[1],
        discovery + "exitflow.cluster.pekko.management.http.port = " + management[1]);
    gateway.ready().toCompletableFuture().get(90, TimeUnit.SECONDS);
    worker.ready().toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertEquals(6, gateway.runtime().submit(dev.exitflow.actors.EmbeddingRequest.of("found by bootstrap",
        dev.exitflow.actors.ExitPolicy.Deep.INSTANCE)).toCompletableFuture().get(30, TimeUnit.SECONDS).exitLayer());
  }

  private ExitflowService serve(String role, int clusterPort, int seedPort) {
    return serve(role, "port = " + clusterPort + ", seed-nodes = \"pekko://exitflow@127.0.0.1:" + seedPort + "\"", "");
  }

  private ExitflowService serve(String role, String cluster, String more) {
    Config config = ConfigFactory.parseString("exitflow.gateway { port = 0, kafka = off }\n"
            + "exitflow.cluster { enabled = on, roles = \"" + role + "\", " + cluster + " }\n"
            + (cluster.contains("port =") ? "" : "exitflow.cluster.port = 0\n")
            + "exitflow.cluster.pekko.cluster.jmx.multi-mbeans-in-same-jvm = on\n"
            + "pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off\n" + more)
        .withFallback(ConfigFactory.load());
    ExitflowService service = ExitflowService.start(config,
        new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2"), GatewaySettings.create(config));
    services.add(service);
    return service;
  }

  private static int workerPort(ExitflowService worker) {
    return org.apache.pekko.cluster.typed.Cluster.get(worker.system()).selfMember().address().getPort().get();
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
