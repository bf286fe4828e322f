package dev.exitflow.gateway.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.streams.kafka.KafkaService;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * What {@code /health/ready} and {@code /health} say. Readiness is about serving HTTP only: the
 * runtime is ready and the server is not draining (so it is the last thing to turn on and the
 * first to turn off). {@code GET /health} is the component view: the runtime, the HTTP drain and
 * the Kafka pipeline's state with its last error and counters.
 */
public final class Health {
  private final EncoderRuntime runtime;
  private final HttpDrain drain;
  private final Supplier<Optional<KafkaService.Status>> kafka;

  public Health(EncoderRuntime runtime, HttpDrain drain, Supplier<Optional<KafkaService.Status>> kafka) {
    this.runtime = runtime;
    this.drain = drain;
    this.kafka = kafka;
  }

  public boolean ready() {
    return runtime.isReady() && !drain.draining();
  }

  ObjectNode components() {
    ObjectNode out = HttpJson.object().put("status", drain.draining() ? "draining" : ready() ? "ready" : "starting");
    ObjectNode c = out.putObject("components");
    c.putObject("runtime").put("ready", runtime.isReady()).put("model", runtime.model().name());
    c.putObject("http").put("draining", drain.draining()).put("in_flight", drain.inFlight());
    Optional<KafkaService.Status> k = kafka.get();
    if (k.isEmpty()) {
      c.putObject("kafka").put("state", "off");
    } else {
      KafkaService.Status s = k.get();
      ObjectNode n = c.putObject("kafka").put("state", s.state().name().toLowerCase(Locale.ROOT))
          .put("bootstrap_servers", s.bootstrapServers());
      s.lastError().ifPresent(e -> n.putObject("last_error").put("message", e.message()).put("at", e.at().toString()));
      s.stats().ifPresent(st -> n.put("consumed", st.consumed()).put("results", st.results())
          .put("dead_letters", st.deadLetters()).put("overload_retries", st.overloadRetries())
          .put("restarts", st.restarts()).put("commit_lag", st.lag()));
    }
    return out;
  }
}
