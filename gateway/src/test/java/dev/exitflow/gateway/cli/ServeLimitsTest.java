package dev.exitflow.gateway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.gateway.http.GatewaySettings;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** A configuration in which the largest legal request could never be admitted is refused at start-up. */
class ServeLimitsTest {
  private static final String CAPACITY = "exitflow.actors.admission.first-stage-queue-capacity";

  @Test
  void settingsNameBothKeys() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GatewaySettings.create(
        ConfigFactory.parseString(CAPACITY + " = 1024").withFallback(ConfigFactory.load())));
    assertTrue(e.getMessage().contains("exitflow.requests.max-inputs = 2048") && e.getMessage().contains(CAPACITY + " = 1024"),
        e.getMessage());
    IllegalArgumentException inFlight = assertThrows(IllegalArgumentException.class, () -> GatewaySettings.create(
        ConfigFactory.parseString("exitflow.actors.admission.max-in-flight = 100").withFallback(ConfigFactory.load())));
    assertTrue(inFlight.getMessage().contains("exitflow.actors.admission.max-in-flight = 100"), inFlight.getMessage());
  }

  @Test
  void serveRefusesToStart() {
    System.setProperty(CAPACITY, "1024");
    ConfigFactory.invalidateCaches();
    try {
      StringWriter err = new StringWriter();
      CommandLine cli = Main.commandLine();
      cli.setErr(new PrintWriter(err, true));
      int code = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> cli.execute("serve", "--port", "0"));
      assertEquals(2, code, err.toString());
      assertTrue(err.toString().contains("exitflow.requests.max-inputs") && err.toString().contains(CAPACITY), err.toString());
    } finally {
      System.clearProperty(CAPACITY);
      ConfigFactory.invalidateCaches();
    }
  }
}
