package dev.exitflow.gateway.http;

import dev.exitflow.streams.kafka.KafkaPipelineStats;
import dev.exitflow.streams.kafka.KafkaService;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * The Kafka pipeline in Prometheus, read from its status at each scrape: records consumed, results
 * and dead letters produced, overload retries, stream restarts, the consumer group's commit lag,
 * and the state as one gauge per state (1 for the current one).
 */
final class KafkaMetrics {
  private KafkaMetrics() {}

  static void register(PrometheusRegistry registry, Supplier<Optional<KafkaService.Status>> status) {
    counter(registry, status, "exitflow_kafka_records_consumed", "Request records consumed from Kafka",
        KafkaPipelineStats::consumed);
    counter(registry, status, "exitflow_kafka_results_produced", "Results produced to the results topic",
        KafkaPipelineStats::results);
    counter(registry, status, "exitflow_kafka_dead_letters_produced", "Records produced to the dead-letter topic",
        KafkaPipelineStats::deadLetters);
    counter(registry, status, "exitflow_kafka_overload_retries",
        "Submissions retried after the runtime refused them as overloaded (Kafka backpressure)",
        KafkaPipelineStats::overloadRetries);
    counter(registry, status, "exitflow_kafka_stream_restarts", "Restarts of the Kafka stream after a failure",
        KafkaPipelineStats::restarts);
    GaugeWithCallback.builder().name("exitflow_kafka_commit_lag")
        .help("Records of the requests topic not yet committed by the consumer group (last measurement)")
        .callback(cb -> status.get().flatMap(KafkaService.Status::stats)
            .filter(s -> s.lag() >= 0).ifPresent(s -> cb.call(s.lag())))
        .register(registry);
    GaugeWithCallback.builder().name("exitflow_kafka_state")
        .help("State of the Kafka pipeline: 1 for the current state, 0 for the others").labelNames("state")
        .callback(cb -> status.get().ifPresent(s -> {
          for (KafkaService.State state : KafkaService.State.values()) {
            cb.call(state == s.state() ? 1 : 0, state.name().toLowerCase(Locale.ROOT));
          }
        }))
        .register(registry);
  }

  private static void counter(PrometheusRegistry registry, Supplier<Optional<KafkaService.Status>> status,
      String name, String help, ToLongFunction<KafkaPipelineStats> value) {
    CounterWithCallback.builder().name(name).help(help)
        .callback(cb -> status.get().flatMap(KafkaService.Status::stats).ifPresent(s -> cb.call(value.applyAsLong(s))))
        .register(registry);
  }
}
