package dev.exitflow.streams.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class ReorderWindowTest {
  private static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void restoresOrderAfterUnorderedWorkAndBoundsWhatIsBetween() throws Exception {
    int window = 64;
    ReorderWindow w = new ReorderWindow(window);
    AtomicInteger between = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    List<Long> out = Source.from(LongStream.range(0, 5000).boxed().toList())
        .via(w.<Long>admit())
        .map(i -> {
          most.accumulateAndGet(between.incrementAndGet(), Math::max);
          return i;
        })
        .mapAsyncUnordered(16, i -> CompletableFuture.supplyAsync(() -> i,
            CompletableFuture.delayedExecutor(ThreadLocalRandom.current().nextInt(3), TimeUnit.MILLISECONDS)))
        .via(w.resequence(i -> i))
        .map(i -> {
          between.decrementAndGet();
          return i;
        })
        .runWith(Sink.seq(), testKit.system())
        .toCompletableFuture().get(60, TimeUnit.SECONDS);
    assertEquals(LongStream.range(0, 5000).boxed().toList(), out);
    assertTrue(most.get() <= window, "at most the window between admission and resequencing: " + most.get());
  }
}
