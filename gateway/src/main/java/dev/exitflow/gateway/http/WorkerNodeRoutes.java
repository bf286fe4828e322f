package dev.exitflow.gateway.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;

import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * What a worker-only cluster node serves over HTTP: liveness, and readiness once the node is up in
 * the cluster (its workers then register as their sessions open). Requests go to gateways.
 */
final class WorkerNodeRoutes {
  private WorkerNodeRoutes() {}

  static Route routes(ActorSystem<?> system) {
    Cluster cluster = Cluster.get(Adapter.toClassic(system));
    return pathPrefix("health", () -> concat(
        path("live", () -> get(() -> complete(HttpJson.ok(Map.of("status", "live"))))),
        path("ready", () -> get(() -> cluster.selfMember().status().equals(MemberStatus.up())
            ? complete(HttpJson.ok(Map.of("status", "ready", "role", "worker", "node", cluster.selfAddress().toString())))
            : complete(HttpJson.error(ApiError.notReady()))))));
  }
}
