package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DepthControllerTest {
  private final RuntimeSettings.Controller settings =
      new RuntimeSettings.Controller(Duration.ofMillis(50), Duration.ofMillis(40), 1.0, 0.5, 0.5);

  @Test
  void degradesBulkBeforeInteractiveAndRecoversWithHysteresis() {
    DepthController c = new DepthController(3, settings); // stages 0, 1, 2
    assertEquals(2, c.allowedStage(Priority.BULK, 0.99));
    assertEquals(2, c.allowedStage(Priority.INTERACTIVE, 0.99));

    c.update(3.0);
    c.update(3.0); // level 1
    assertEquals(1, c.level(), 1e-9);
    assertEquals(1, c.allowedStage(Priority.BULK, 0.99));
    assertEquals(2, c.allowedStage(Priority.INTERACTIVE, 0.99));

    c.update(3.0);
    c.update(3.0); // level 2: bulk at the first exit, interactive untouched
    assertEquals(0, c.allowedStage(Priority.BULK, 0.99));
    assertEquals(2, c.allowedStage(Priority.INTERACTIVE, 0.99));

    for (int i = 0; i < 10; i++) {
      c.update(3.0);
    }
    assertEquals(4, c.level(), 1e-9, "capped at 2 x (stages - 1)");
    assertEquals(0, c.allowedStage(Priority.INTERACTIVE, 0.99));

    c.update(0.7); // between the thresholds: holds
    assertEquals(4, c.level(), 1e-9);
    c.update(0.1); // below: recovers by half a step
    assertEquals(3.75, c.level(), 1e-9);
    for (int i = 0; i < 20; i++) {
      c.update(0.0);
    }
    assertEquals(0, c.level(), 1e-9);
    assertEquals(2, c.allowedStage(Priority.INTERACTIVE, 0.0));
  }

  @Test
  void aFractionalLevelSendsThatFractionOneExitShallower() {
    DepthController c = new DepthController(3, settings);
    c.update(3.0); // level 0.5
    int shallower = 0;
    for (int i = 0; i < 1000; i++) {
      if (c.allowedStage(Priority.BULK, i / 1000.0) == 1) {
        shallower++;
      }
    }
    assertEquals(500, shallower);
  }
}
