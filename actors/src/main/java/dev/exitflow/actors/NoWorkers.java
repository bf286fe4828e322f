package dev.exitflow.actors;

import dev.exitflow.model.ExitflowException;
import java.util.List;

/**
 * In a cluster, no worker serves some stage right now (their nodes left, or have not joined yet),
 * so the request was not admitted. Nothing is wrong with it: send it again once workers are back.
 */
public final class NoWorkers extends ExitflowException {
  public NoWorkers(List<Integer> stagesWithoutWorkers) {
    super("no_workers", "no worker serves stage" + (stagesWithoutWorkers.size() == 1 ? " " : "s ")
        + stagesWithoutWorkers + " right now; the cluster has lost them or not found them yet", null);
  }
}
