package dev.exitflow.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.model.InvalidInputException;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class InferenceFlowTest {
  private static RuntimeFixture served;
  private static EncoderRuntime runtime;

  @BeforeAll
  static void start() {
    served = RuntimeFixture.start(ConfigFactory.load());
    runtime = served.runtime();
  }

  @AfterAll
  static void stop() {
    served.stop();
  }

  @Test
  void keepsInputOrderAndTurnsBadInputIntoElements() throws Exception {
    List<Job<Integer>> jobs = IntStream.range(0, 300).mapToObj(i -> switch (i % 50) {
      case 7 -> Job.<Integer>invalid(i, new InvalidInputException("bad_json", "line " + i + " is not JSON"));
      case 13 -> Job.of(i, EmbeddingRequest.of("   ", ExitPolicy.Deep.INSTANCE));
      default -> Job.of(i, EmbeddingRequest.of("sentence number " + i, i % 2 == 0 ? ExitPolicy.Shallow.INSTANCE : ExitPolicy.Deep.INSTANCE));
    }).toList();

    List<Scored<Integer>> out = Source.from(jobs)
        .via(InferenceFlow.<Integer>ordered(runtime, 64))
        .runWith(Sink.seq(), served.system())
        .toCompletableFuture().get(60, java.util.concurrent.TimeUnit.SECONDS);

    assertEquals(300, out.size());
    for (int i = 0; i < 300; i++) {
      Scored<Integer> s = out.get(i);
      assertEquals(i, s.context(), "input order");
      if (i % 50 == 7 || i % 50 == 13) {
        assertInstanceOf(InvalidInputException.class, s.error());
      } else {
        assertTrue(s.ok(), String.valueOf(s.error()));
        assertEquals(i % 2 == 0 ? 2 : 6, s.result().exitLayer());
      }
    }
  }
}
