package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.javadsl.Framing;
import org.apache.pekko.stream.javadsl.FramingTruncation;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

/** POST /v1/bulk streams both ways: 200,000 lines in, 200,000 lines out, in order, in bounded memory. */
class BulkRouteTest {
  private static final int LINES = 200_000;

  @Test
  void streamsAHugeBodyInOrderWithErrorLinesInPlace() throws Exception {
    try (RunningServer s = new RunningServer(
        "exitflow.gateway.bulk-parallelism = 256\nexitflow.actors.batching.max-batch-size = 64")) {
      AtomicBoolean uploadDone = new AtomicBoolean();
      AtomicBoolean answeredBeforeUploadDone = new AtomicBoolean();
      Source<ByteString, ?> body = Source.range(1, LINES)
          .map(i -> ByteString.fromString(i % 10_000 == 0 ? "{\"input\": oops}\n" : "{\"id\": " + i + ", \"input\": \"w" + (i % 97) + "\"}\n"))
          .watchTermination((m, done) -> done.thenRun(() -> uploadDone.set(true)));
      HttpRequest request = HttpRequest.create(s.base() + "/v1/bulk?exit=shallow&dimensions=2")
          .withMethod(HttpMethods.POST)
          .withEntity(HttpEntities.createChunked(ExitflowRoutes.NDJSON, body));

      // The sampler counts its samples and keeps its first failure: a scheduled task that throws
      // stops silently, and the bound below would then check nothing.
      AtomicLong maxInFlight = new AtomicLong();
      AtomicInteger samples = new AtomicInteger();
      AtomicReference<RuntimeException> samplerFailure = new AtomicReference<>();
      ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
      sampler.scheduleAtFixedRate(() -> {
        try {
          maxInFlight.accumulateAndGet(s.runtime.stats().toCompletableFuture().join().inFlight(), Math::max);
          samples.incrementAndGet();
        } catch (RuntimeException e) {
          samplerFailure.compareAndSet(null, e);
        }
      }, 100, 100, TimeUnit.MILLISECONDS);

      AtomicInteger next = new AtomicInteger(1);
      AtomicInteger errors = new AtomicInteger();
      HttpResponse response = Http.get(s.system).singleRequest(request).toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertEquals(200, response.status().intValue());
      long lines = response.entity().getDataBytes()
          .via(Framing.delimiter(ByteString.fromString("\n"), 1 << 20, FramingTruncation.DISALLOW))
          .map(b -> HttpJson.parse(b.decodeString(StandardCharsets.UTF_8)))
          .map(json -> {
            if (!uploadDone.get()) {
              answeredBeforeUploadDone.set(true);
            }
            int expected = next.getAndIncrement();
            assertEquals(expected, json.get("line").asInt(), "input order");
            if (expected % 10_000 == 0) {
              assertEquals("invalid_json", json.get("error").get("code").asText());
              errors.incrementAndGet();
            } else {
              assertEquals(expected, json.get("id").asInt());
              assertEquals(2, json.get("embedding").size());
            }
            return json;
          })
          .runWith(Sink.fold(0L, (n, j) -> n + 1), s.system)
          .toCompletableFuture().get(10, TimeUnit.MINUTES);
      sampler.shutdownNow();

      assertEquals(LINES, lines);
      assertEquals(LINES / 10_000, errors.get());
      assertTrue(answeredBeforeUploadDone.get(), "results stream out while the body is still streaming in");
      assertNull(samplerFailure.get(), "the in-flight sampler failed");
      assertTrue(samples.get() >= 5, "the in-flight sampler ran " + samples.get() + " times");
      assertTrue(maxInFlight.get() > 0, "the sampler saw the runtime at work");
      assertTrue(maxInFlight.get() <= 256, "in flight bounded by bulk-parallelism: " + maxInFlight.get());
    }
  }
}
