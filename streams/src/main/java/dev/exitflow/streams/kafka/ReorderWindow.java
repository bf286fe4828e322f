package dev.exitflow.streams.kafka;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.ToLongFunction;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Flow;

/**
 * Puts results back in consumption order after they were computed out of order, within a bounded
 * window. Requests run unordered, so the runtime always has {@code parallelism} of them (as a
 * closed loop would), instead of an ordered {@code mapAsync} whose finished-but-waiting elements
 * hold slots while an earlier one is still being computed; the window bounds how many elements
 * may be between {@link #admit()} and {@link #resequence}.
 *
 * <p>One instance per stream materialization (it counts that stream's elements).
 */
final class ReorderWindow {
  private final int size;
  private final ArrayDeque<CompletableFuture<Void>> waiting = new ArrayDeque<>();
  private int used;

  ReorderWindow(int size) {
    this.size = size;
  }

  /**
   * Emits each element once the window has room for it ({@code mapAsync(1)}, so in order);
   * backpressures while the window is full or downstream backpressures; completes when upstream
   * completes and the last admission is granted; cancels upstream when downstream cancels.
   */
  <T> Flow<T, T, NotUsed> admit() {
    return Flow.<T>create().mapAsync(1, element -> acquire().thenApply(v -> element));
  }

  /**
   * Emits elements in the order of {@code sequence} (0, 1, 2, ... as numbered at admission),
   * each as soon as it and all before it have arrived, and frees its place in the window.
   * Backpressures when downstream backpressures (it always pulls otherwise: the element it waits
   * for must be able to arrive). Completes when upstream completes (emitting anything left, in
   * order); cancels upstream when downstream cancels.
   */
  <T> Flow<T, T, NotUsed> resequence(ToLongFunction<T> sequence) {
    return Flow.<T>create()
        .statefulMap(() -> new Buffer<T>(sequence),
            (buffer, element) -> Pair.create(buffer, buffer.offer(element)),
            buffer -> Optional.of(buffer.rest()))
        .mapConcat(ready -> {
          release(ready.size());
          return ready;
        });
  }

  private synchronized CompletionStage<Void> acquire() {
    if (used < size) {
      used++;
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    waiting.add(f);
    return f;
  }

  private void release(int n) {
    List<CompletableFuture<Void>> granted = new ArrayList<>();
    synchronized (this) {
      for (int i = 0; i < n; i++) {
        CompletableFuture<Void> next = waiting.poll();
        if (next != null) {
          granted.add(next); // the place passes straight to a waiting element
        } else {
          used--;
        }
      }
    }
    granted.forEach(f -> f.complete(null));
  }

  /** Out-of-order arrivals, by sequence number, and the next number to emit. */
  private static final class Buffer<T> {
    private final ToLongFunction<T> sequence;
    private final TreeMap<Long, T> pending = new TreeMap<>();
    private long next;

    Buffer(ToLongFunction<T> sequence) {
      this.sequence = sequence;
    }

    List<T> offer(T element) {
      pending.put(sequence.applyAsLong(element), element);
      List<T> ready = new ArrayList<>();
      while (!pending.isEmpty() && pending.firstKey() == next) {
        ready.add(pending.pollFirstEntry().getValue());
        next++;
      }
      return ready;
    }

    List<T> rest() {
      List<T> rest = new ArrayList<>(pending.values());
      pending.clear();
      return rest;
    }
  }
}
