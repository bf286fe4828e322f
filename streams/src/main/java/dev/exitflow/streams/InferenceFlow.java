package dev.exitflow.streams;

import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.model.Failures;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Flow;

/**
 * The flow every source uses to reach the actor runtime (Kafka, WebSocket, bulk). Errors become
 * elements ({@link Scored#error()}), never stream failures: one bad request must not stop the
 * others.
 *
 * <p>Emits each result once its request completes ({@code ordered}: in input order; {@code
 * unordered}: as soon as done). Backpressures when {@code parallelism} requests are in flight and
 * when downstream backpressures. Completes when upstream completes and every request in flight
 * has been answered. Cancels upstream when downstream cancels.
 */
public final class InferenceFlow {
  private InferenceFlow() {}

  public static <C> Flow<Job<C>, Scored<C>, NotUsed> ordered(EncoderRuntime runtime, int parallelism) {
    return Flow.<Job<C>>create().mapAsync(parallelism, job -> submit(runtime, job));
  }

  public static <C> Flow<Job<C>, Scored<C>, NotUsed> unordered(EncoderRuntime runtime, int parallelism) {
    return Flow.<Job<C>>create().mapAsyncUnordered(parallelism, job -> submit(runtime, job));
  }

  private static <C> CompletionStage<Scored<C>> submit(EncoderRuntime runtime, Job<C> job) {
    if (job.invalid() != null) {
      return CompletableFuture.completedFuture(new Scored<>(job.context(), null, job.invalid()));
    }
    return Chunking.submit(runtime, job.request(), job.windows())
        .handle((result, error) -> new Scored<>(job.context(), result, Failures.unwrap(error)));
  }
}
