package dev.exitflow.loadtests;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * The processes {@code transports} are measured against, started and warmed up: {@code exitflow
 * serve} for the HTTP ones; for Kafka, a broker and a serve with the Kafka pipeline on (with a
 * data directory of its own, so it can run beside the other). Each only if a transport needs it.
 */
final class OverheadServers implements AutoCloseable {
  private final List<String> overHttp;
  private ServerProcess http;
  private BrokerProcess broker;
  private ServerProcess kafka;

  OverheadServers(String model, List<String> transports) throws Exception {
    overHttp = transports.stream().filter(t -> !t.equals("kafka")).toList();
    try {
      if (!overHttp.isEmpty()) {
        http = new ServerProcess(model);
        http.warmUp(Duration.ofSeconds(5));
      }
      if (transports.contains("kafka")) {
        System.err.println("a Kafka broker in its own process, and serve with the Kafka pipeline...");
        broker = new BrokerProcess();
        kafka = new ServerProcess(model, List.of("-Dexitflow.gateway.kafka=on",
            "-Dexitflow.kafka.bootstrap-servers=" + broker.bootstrapServers), "server-kafka");
        kafka.warmUp(Duration.ofSeconds(5));
      }
    } catch (Exception e) {
      try {
        close();
      } catch (Exception alsoFailed) {
        e.addSuppressed(alsoFailed);
      }
      throw e;
    }
  }

  /** The rows at {@code exit}: each HTTP transport, then Kafka. */
  List<Slot> slots(String exit, IntFunction<String> text) {
    List<Slot> slots = new ArrayList<>();
    for (String t : overHttp) {
      String url = http.url();
      slots.add(new Slot(exit, t, url, http.process.toHandle(), null, () -> open(t, url, null, text, exit)));
    }
    if (kafka != null) {
      String url = kafka.url();
      String bootstrap = broker.bootstrapServers;
      slots.add(new Slot(exit, "kafka", url, kafka.process.toHandle(), broker.handle(),
          () -> open("kafka", url, bootstrap, text, exit)));
    }
    return slots;
  }

  @Override
  public void close() throws Exception {
    if (kafka != null) {
      kafka.close();
    }
    if (broker != null) {
      broker.close();
    }
    if (http != null) {
      http.close();
    }
  }

  /**
   * A row to measure: opens its transport (in-process: the runtime itself) against its processes,
   * whose base URL ({@code url}) is null in-process.
   */
  record Slot(String exit, String transport, String url, ProcessHandle server, ProcessHandle broker,
      Supplier<Transport> open) {}

  /** An HTTP transport's request: the path, and what its JSON body adds after the input and exit. */
  record HttpRoute(String path, String extra) {
    static HttpRoute of(String transport) {
      return switch (transport) {
        case "http-float" -> new HttpRoute("/v1/embeddings", "");
        case "http-base64" -> new HttpRoute("/v1/embeddings", ", \"encoding_format\": \"base64\"");
        case "native" -> new HttpRoute("/v1/embed", "");
        default -> null;
      };
    }
  }

  /** Transport {@code name} against a server at {@code base} (Kafka: the broker at {@code bootstrapServers}). */
  private static Transport open(String name, String base, String bootstrapServers, IntFunction<String> text, String exit) {
    HttpRoute route = HttpRoute.of(name);
    if (route != null) {
      return Transport.http(base, route.path(), text, exit, route.extra());
    }
    return switch (name) {
      case "websocket" -> Transport.webSocket(base, text, exit, 4);
      case "bulk" -> Transport.bulk(base, text, exit, Duration.ofMillis(200));
      case "kafka" -> Transport.kafka(bootstrapServers, "exitflow-requests", "exitflow-results", text, exit);
      default -> throw new IllegalArgumentException("unknown transport " + name + "; known: "
          + OverheadCommand.TRANSPORTS);
    };
  }
}
