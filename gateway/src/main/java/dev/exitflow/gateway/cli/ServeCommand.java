package dev.exitflow.gateway.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.gateway.ExitflowService;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.plan.Plan;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code exitflow serve}: the HTTP and WebSocket gateway in front of the actor runtime, until
 * SIGTERM, which unbinds, finishes what is in flight and exits.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, description = "Serve the model over HTTP and WebSocket (default 127.0.0.1:8080); "
    + "with exitflow.cluster.enabled (EXITFLOW_CLUSTER=on), as a gateway and/or worker node of a Pekko Cluster.")
final class ServeCommand implements Callable<Integer> {
  @Option(names = "--port", description = "Port (default: exitflow.gateway.port, 8080; 0 picks a free one)")
  Integer port;

  @Option(names = "--host", description = "Bind address (default: exitflow.gateway.host, 127.0.0.1)")
  String host;

  @Option(names = "--plan", paramLabel = "FILE",
      description = "Serve the model as this plan says (its model, exits, adapters, keep ratios, drops; see plans/); "
          + "default: exitflow.model.plan")
  Path plan;

  @Mixin ModelOption model;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    model.refuseBoth(plan, spec);
    Config config = ConfigFactory.load();
    if (plan != null) {
      config = ConfigFactory.parseMap(Map.of("exitflow.model.plan", plan.toAbsolutePath().toString()))
          .withFallback(config);
    }
    String planFile = config.getString("exitflow.model.plan");
    Plan served = planFile.isEmpty() ? null : Plan.read(Path.of(planFile));
    GatewaySettings settings = GatewaySettings.create(config);
    if (port != null) {
      settings = settings.withPort(port);
    }
    if (host != null) {
      settings = settings.withHost(host);
    }
    // A plan names its model; the runtime checks that the two agree.
    ModelDescriptor descriptor = model.model == null && served != null ? model.resolve(served.model()) : model.resolve();
    if (Signals.received().isDone()) {
      return 0; // stopped before anything started
    }
    // A signal during the start (stages compiling) is acted on as soon as the start returns.
    ExitflowService service = ExitflowService.start(config, descriptor, settings);
    String where = "http://" + service.server().host() + ":" + service.server().port();
    System.err.printf("exitflow: listening on %s, loading %s...%n", where, descriptor.name());
    String as = served == null ? "" : " as plan " + served.name();
    service.ready().thenRun(() -> {
      if (!Signals.received().isDone()) {
        System.err.printf("exitflow: ready: %s%s on %s (exits %s)%s%n", descriptor.name(), as, where,
            service.runtime() == null ? "of the gateways" : service.runtime().exitLayers(),
            service.runtime() == null ? ", as a worker node" : "");
      }
    });
    service.kafka().ifPresent(k -> k.started().whenComplete((kafka, error) -> {
      if (error != null) {
        System.err.printf("exitflow: the Kafka pipeline did not start: %s%n", error.getMessage());
      } else {
        System.err.printf("exitflow: Kafka: requests from %s, results to %s, dead letters to %s at %s%n",
            kafka.settings().topics().requests(), kafka.settings().topics().results(),
            kafka.settings().topics().deadLetter(), kafka.bootstrapServers());
      }
    }));
    // Draining happens before the JVM starts shutting down (ONNX Runtime's shutdown hook would
    // release its environment under running batches); only then does the process exit.
    CompletableFuture<Integer> exit = new CompletableFuture<>();
    Signals.onSignal(name -> {
      System.err.printf("exitflow: SIG%s: finishing requests in flight, then exiting%n", name);
      service.shutdown().whenComplete((done, error) -> exit.complete(error == null ? 0 : 1));
    });
    service.system().getWhenTerminated().toCompletableFuture().join();
    // Terminated without a signal (a cluster node removed from the cluster): nothing failed here.
    return Signals.received().isDone() ? exit.get(30, TimeUnit.SECONDS) : 0;
  }
}
