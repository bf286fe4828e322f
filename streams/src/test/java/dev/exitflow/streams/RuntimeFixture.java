package dev.exitflow.streams;

import com.typesafe.config.Config;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.streams.kafka.EmbeddedKafka;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;

/**
 * The set-up the streams tests share: a test kit's actor system serving the built-in
 * all-minilm-l6-v2 through the actor runtime and, for the Kafka tests, an embedded broker
 * ({@code exitflow.kafka.embedded}). Start it before the class, stop it after.
 */
public final class RuntimeFixture {
  private final ActorTestKit testKit;
  private final EncoderRuntime runtime;
  private final EmbeddedKafka kafka;

  private RuntimeFixture(ActorTestKit testKit, EncoderRuntime runtime, EmbeddedKafka kafka) {
    this.testKit = testKit;
    this.runtime = runtime;
    this.kafka = kafka;
  }

  /** The runtime in a new test kit; its workers may still be opening their sessions (requests wait for them). */
  public static RuntimeFixture start(Config config) {
    ActorTestKit testKit = ActorTestKit.create(config);
    try {
      return new RuntimeFixture(testKit, EncoderRuntime.start(testKit.system(),
          new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2"), config), null);
    } catch (RuntimeException e) {
      testKit.shutdownTestKit();
      throw e;
    }
  }

  /** As {@link #start} with an embedded broker too; returns once the runtime is ready. */
  public static RuntimeFixture withKafka(Config config) {
    RuntimeFixture started = start(config);
    try {
      EmbeddedKafka kafka = EmbeddedKafka.start(config);
      started.runtime.ready().toCompletableFuture().join();
      return new RuntimeFixture(started.testKit, started.runtime, kafka);
    } catch (RuntimeException e) {
      started.stop();
      throw e;
    }
  }

  public ActorSystem<Void> system() {
    return testKit.system();
  }

  public EncoderRuntime runtime() {
    return runtime;
  }

  /** The embedded broker ({@link #withKafka} only). */
  public EmbeddedKafka kafka() {
    return kafka;
  }

  public void stop() {
    if (kafka != null) {
      kafka.close();
    }
    testKit.shutdownTestKit();
  }
}
