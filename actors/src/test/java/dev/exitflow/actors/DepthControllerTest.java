package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The controller on made-up pressures and on a simple model of a runtime whose queue it drives. */
class DepthControllerTest {
  private final RuntimeSettings.Controller settings = new RuntimeSettings.Controller(Duration.ofMillis(50),
      Duration.ofMillis(40), Duration.ofMillis(200), 0.2, 3.0, 0.25, 1.0, 0.85, 1.2);

  @Test
  void aLoadStepRaisesTheLevelAtOnceToWhatTheArrivalsNeed() {
    DepthController c = new DepthController(3, 0, settings);
    double[] ms = {1e6, 1e6, 1e6}; // 1 ms of compute per request at each stage, one batch at a time
    c.feedForward(new double[] {180, 180}, ms, 1); // all deep: 1.08 of the node, under the 1.2 that engages it
    assertEquals(0, c.level(), 1e-9);
    c.feedForward(new double[] {300, 300}, ms, 1); // all deep: 1.8
    // Bulk leaves after stage 0 at level 2; then interactive too, a fifth of it at level 3.2: 0.84 of the node.
    assertEquals(3.2, c.level(), 0.051);
    assertTrue(c.utilizationAt(c.level(), new double[] {300, 300}, ms, 1) <= 0.85);
    c.update(0.0); // the queues are empty: the feedback may not lower it under the arrivals' need
    assertTrue(c.level() >= 3.15, "held at the feed-forward floor: " + c.level());
    c.feedForward(new double[] {100, 100}, ms, 1); // the load fell: no floor, the feedback brings depth back
    for (int i = 0; i < 200; i++) {
      c.update(0.0);
    }
    assertEquals(0, c.level(), 1e-9);
  }

  @Test
  void loadNeverSendsTrafficToAReserveExit() {
    DepthController c = new DepthController(4, 1, settings); // a reserve stage 0, then exits at stages 1, 2, 3
    assertEquals(4, c.maxLevel(), 1e-9, "two steps per exit beyond the first, as without the reserve");
    for (int i = 0; i < 400; i++) {
      c.update(10.0);
    }
    assertEquals(4, c.level(), 1e-9);
    assertEquals(1, c.allowedStage(Priority.BULK, 0.5), "the first exit, not the reserve");
    assertEquals(1, c.allowedStage(Priority.INTERACTIVE, 0.5));
    double[] ms = {1e6, 1e6, 1e6, 1e6};
    // At the last level every auto request still computes stages 0 and 1: 2 ms each.
    assertEquals(0.4, c.utilizationAt(c.maxLevel(), new double[] {100, 100}, ms, 1), 1e-9);
  }

  @Test
  void degradesBulkBeforeInteractiveAndRecovers() {
    DepthController c = new DepthController(3, 0, settings); // stages 0, 1, 2
    assertEquals(2, c.allowedStage(Priority.BULK, 0.99));
    assertEquals(2, c.allowedStage(Priority.INTERACTIVE, 0.99));

    double level = 0;
    for (int i = 0; c.level() < 1.5; i++) {
      c.update(3.0);
      assertTrue(c.level() >= level && i < 40, "rises while the queues are over their target: " + c.level());
      level = c.level();
    }
    assertTrue(c.allowedStage(Priority.BULK, 0.99) < 2, "bulk loses depth first");
    assertEquals(2, c.allowedStage(Priority.INTERACTIVE, 0.99), "interactive untouched below level 2");

    for (int i = 0; i < 100; i++) {
      c.update(10.0);
    }
    assertEquals(4, c.level(), 1e-9, "capped at 2 x (stages - 1)");
    assertEquals(0, c.allowedStage(Priority.INTERACTIVE, 0.99));
    assertEquals(0, c.allowedStage(Priority.BULK, 0.99));

    for (int i = 0; i < 200; i++) { // 10 s
      c.update(0.0);
    }
    assertEquals(0, c.level(), 1e-9, "back to full depth once the queues are empty");
    assertEquals(2, c.allowedStage(Priority.INTERACTIVE, 0.0));
  }

  /**
   * A runtime whose queueing delay is proportional to the load it keeps (a 3-stage model at 2x
   * its deep capacity, where the level trades depth for load), seen one check late: the level
   * must settle, not saw-tooth, with the pressure near its target.
   */
  @Test
  void settlesWithoutOscillatingAtSteadyOverload() {
    DepthController c = new DepthController(3, 0, settings);
    double pressure = 0;
    double min = Double.MAX_VALUE;
    double max = 0;
    for (int tick = 0; tick < 400; tick++) { // 20 s of checks
      c.update(pressure);
      // Work per request falls from 1 (deep) to 1/3 (first exit) as the level goes 0 -> 4.
      double work = 2.0 * (1 - c.level() / 6);
      pressure = Math.max(0, 1 + 8 * (work - 1.0)); // over capacity the queue, and pressure, grow
      if (tick >= 200) {
        min = Math.min(min, c.level());
        max = Math.max(max, c.level());
      }
    }
    assertTrue(max - min < 0.05, "level steady in the last 10 s: " + min + " .. " + max);
    assertEquals(1.0, c.pressure(), 0.1, "queues held at their target delay");
  }

  /**
   * A runtime whose queue stays empty until its compute is saturated, offered 1.6x its deep
   * capacity: the queue delay alone says nothing until the cores are full, utilization does. The
   * level settles where utilization is at its target, with no queue at all.
   */
  @Test
  void holdsUtilizationAtItsTargetBeforeAnyQueueForms() {
    DepthController c = new DepthController(3, 0, settings);
    double utilization = 0;
    double queueMs = 0;
    double min = Double.MAX_VALUE;
    double max = 0;
    for (int tick = 0; tick < 400; tick++) {
      c.update((long) (queueMs * 1e6), false, utilization);
      double work = 1.6 * (1 - c.level() / 6); // work per request falls from 1 (deep) to 1/3 (first exit)
      utilization = Math.min(1, work);
      queueMs = Math.max(0, queueMs + 50 * (work - 1)); // a queue grows only past saturation
      if (tick >= 200) {
        min = Math.min(min, c.level());
        max = Math.max(max, c.level());
        assertEquals(0, queueMs, 1e-9, "no queue once settled");
      }
    }
    assertTrue(max - min < 0.05, "level steady in the last 10 s: " + min + " .. " + max);
    assertEquals(0.85, 1.6 * (1 - c.level() / 6), 0.02, "the compute in use at its target share");
  }

  @Test
  void aLullWithinAnOverloadGivesBackLittleDepth() {
    DepthController c = new DepthController(3, 0, settings);
    for (int i = 0; i < 60; i++) {
      c.update(5.0); // 3 s far over target
    }
    assertEquals(4, c.level(), 1e-9);
    for (int i = 0; i < 6; i++) {
      c.update(0.0); // a 300 ms lull
    }
    assertTrue(c.level() > 3.7, "a lull is not a recovery: " + c.level());
  }

  @Test
  void aFractionalLevelSendsThatFractionOneExitShallower() {
    DepthController c = new DepthController(3, 0, settings);
    while (c.level() < 0.5) {
      c.update(1.5);
    }
    double fraction = c.level();
    int shallower = 0;
    for (int i = 0; i < 1000; i++) {
      if (c.allowedStage(Priority.BULK, i / 1000.0) == 1) { // one exit shallower than the deep one
        shallower++;
      }
    }
    assertEquals(Math.round(fraction * 1000), shallower, 1);
  }
}
