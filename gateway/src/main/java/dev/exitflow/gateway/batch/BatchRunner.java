package dev.exitflow.gateway.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.streams.request.ErrorCode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.Done;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.FileIO;
import org.apache.pekko.stream.javadsl.Framing;
import org.apache.pekko.stream.javadsl.FramingTruncation;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs batches, one at a time in the order they were created, and keeps each in
 * {@code <data-dir>/batches/<id>/} ({@link BatchFiles}): {@code batch.json} (the batch object), {@code checkpoint.json},
 * {@code output.jsonl} and {@code errors.jsonl}. A batch is validated, then its lines go through
 * the {@link LineEmbedder} ({@code parallelism} at a time, results written in input order), then
 * its two files become files of the {@link FileStore} ({@code output_file_id}, {@code error_file_id}).
 *
 * <p>Durable: results are written before the checkpoint that counts them (at least every
 * {@code checkpoint-interval}), so after SIGTERM, SIGKILL or a crash, {@link #start()} truncates
 * the files to the checkpoint and goes on after its line; lines in flight at a crash are computed
 * again, and each line's result appears once. {@link #stop()} (on SIGTERM) lets the lines in
 * flight finish and checkpoints; the batch stays {@code in_progress} for the next start.
 *
 * <p>A batch not done when its {@code completion_window} closes ({@code expires_at}) stops and
 * becomes {@code expired}: its computed lines stay in the output file, the rest go to the error
 * file as {@code batch_expired}, as OpenAI's Batch API does.
 */
public final class BatchRunner {
  private static final Logger log = LoggerFactory.getLogger(BatchRunner.class);
  /** File writes and forces block. */
  private static final String BLOCKING_IO = "pekko.stream.materializer.blocking-io-dispatcher";

  private final FileStore files;
  private final BatchFiles store;
  private final LineEmbedder embedder;
  private final Materializer materializer;
  private final BatchSettings settings;
  private final ExecutorService runner = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "exitflow-batch");
    t.setDaemon(true);
    return t;
  });
  /** Ends the running batch when its completion window closes. */
  private final ScheduledExecutorService expiry = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "exitflow-batch-expiry");
    t.setDaemon(true);
    return t;
  });
  private final Map<String, ObjectNode> batches = new ConcurrentHashMap<>();
  private final Map<String, Progress> progress = new ConcurrentHashMap<>();
  private volatile Running running;
  private volatile boolean stopping;

  /** A batch's progress while it runs, for metrics. */
  public record Progress(String id, long total, long done, double linesPerSecond) {}

  private record Running(String id, UniqueKillSwitch stop, CompletionStage<Done> finished) {}

  /** What runLines reached, and whether the completion window closed before the last line. */
  private record Reached(Checkpoint checkpoint, boolean expired) {}

  public BatchRunner(FileStore files, Path dir, LineEmbedder embedder, Materializer materializer, BatchSettings settings) {
    this.files = files;
    this.store = new BatchFiles(dir);
    this.embedder = embedder;
    this.materializer = materializer;
    this.settings = settings;
  }

  /** Loads every batch and queues the unfinished ones (oldest first) to run again. */
  public void start() {
    for (ObjectNode b : store.loadAll()) {
      batches.put(b.get("id").asText(), b);
    }
    batches.values().stream().filter(b -> BatchState.UNFINISHED.contains(BatchState.status(b)))
        .sorted(Comparator.comparingLong((ObjectNode b) -> b.get("created_at").asLong()).thenComparing(b -> b.get("id").asText()))
        .forEach(b -> {
          log.info("batch {} resumes ({})", b.get("id").asText(), BatchState.status(b));
          runner.execute(() -> run(b.get("id").asText()));
        });
  }

  /** Creates a batch (validating) and queues it. Throws {@link BatchException} for what cannot be accepted. */
  public ObjectNode create(String inputFileId, String endpoint, String window, JsonNode metadata) {
    if (!"/v1/embeddings".equals(endpoint)) {
      throw new BatchException(ErrorCode.INVALID_BATCH, "endpoint must be \"/v1/embeddings\", got " + endpoint);
    }
    Duration completionWindow = CompletionWindow.parse(window);
    StoredFile input = files.get(String.valueOf(inputFileId)).orElseThrow(() ->
        new BatchException(ErrorCode.FILE_NOT_FOUND, "no file " + inputFileId));
    if (!"batch".equals(input.purpose())) {
      throw new BatchException(ErrorCode.INVALID_BATCH, "file " + inputFileId + " has purpose " + input.purpose()
          + "; a batch's input file needs purpose \"batch\"");
    }
    String id = "batch_" + UUID.randomUUID().toString().replace("-", "");
    ObjectNode b = BatchState.create(id, inputFileId, endpoint, window, completionWindow, metadata);
    save(b);
    runner.execute(() -> run(id));
    return b.deepCopy();
  }

  public Optional<ObjectNode> get(String id) {
    return Optional.ofNullable(batches.get(id)).map(ObjectNode::deepCopy);
  }

  /** Newest first, after the batch {@code after} (if given), at most {@code limit}; and whether there are more. */
  public Pair<List<ObjectNode>, Boolean> list(String after, int limit) {
    List<ObjectNode> all = new ArrayList<>(batches.values());
    all.sort(Comparator.comparingLong((ObjectNode b) -> b.get("created_at").asLong()).reversed()
        .thenComparing(b -> b.get("id").asText(), Comparator.reverseOrder()));
    int from = 0;
    if (after != null) {
      for (int i = 0; i < all.size(); i++) {
        if (all.get(i).get("id").asText().equals(after)) {
          from = i + 1;
        }
      }
    }
    List<ObjectNode> page = all.subList(Math.min(from, all.size()), Math.min(from + limit, all.size()))
        .stream().map(ObjectNode::deepCopy).toList();
    return Pair.create(page, from + limit < all.size());
  }

  /** Cancels a batch that has not finished: it stops after the lines in flight; its partial results are kept. */
  public ObjectNode cancel(String id) {
    ObjectNode b = batches.get(id);
    if (b == null) {
      throw new BatchException(ErrorCode.BATCH_NOT_FOUND, "no batch " + id);
    }
    synchronized (b) {
      String status = BatchState.status(b);
      if (status.equals("validating") || status.equals("in_progress")) {
        BatchState.status(b, "cancelling");
        save(b);
        Running r = running;
        if (r != null && r.id().equals(id)) {
          r.stop().shutdown();
        }
      } else if (!status.equals("cancelling") && !status.equals("cancelled")) {
        throw new BatchException(ErrorCode.INVALID_BATCH, "batch " + id + " is " + status + " and cannot be cancelled");
      }
    }
    return b.deepCopy();
  }

  public List<Progress> progress() {
    return List.copyOf(progress.values());
  }

  /** On SIGTERM: the running batch finishes its lines in flight and checkpoints; queued ones wait for the next start. */
  public CompletionStage<Done> stop() {
    stopping = true;
    Running r = running;
    if (r != null) {
      r.stop().shutdown();
    }
    CompletableFuture<Done> done = new CompletableFuture<>();
    runner.execute(() -> done.complete(Done.getInstance())); // after the running batch's run() returned
    runner.shutdown();
    expiry.shutdownNow();
    return done;
  }

  /** Runs on the runner thread: validation, the lines, finalizing; each step saved before the next. */
  private void run(String id) {
    ObjectNode b = batches.get(id);
    if (stopping || b == null) {
      return;
    }
    try {
      if (BatchState.status(b).equals("cancelling")) {
        finish(b, "cancelled", Checkpoint.START);
        return;
      }
      Path input = files.data(b.get("input_file_id").asText());
      if (BatchState.status(b).equals("validating")) {
        if (!validate(b, input)) {
          return;
        }
      }
      if (BatchState.status(b).equals("finalizing")) { // a crash while finalizing: finish again
        finish(b, b.get("expired_at").isNull() ? "completed" : "expired", store.readCheckpoint(id));
        return;
      }
      Reached reached = runLines(b, input);
      if (BatchState.status(b).equals("cancelling")) {
        finish(b, "cancelled", reached.checkpoint());
      } else if (reached.expired()) {
        expire(b, input, reached.checkpoint());
      } else if (!stopping) {
        finish(b, "completed", reached.checkpoint());
      } // else stopped on SIGTERM: resumes at the next start
    } catch (Exception e) {
      log.error("batch {} failed: {}", id, e.toString(), e);
      synchronized (b) {
        b.set("errors", BatchLines.errors(ErrorCode.INTERNAL_ERROR.code(), e.toString()));
        BatchState.status(b, "failed");
        save(b);
      }
    } finally {
      progress.remove(id);
    }
  }

  private boolean validate(ObjectNode b, Path input) throws IOException {
    if (!Files.exists(input)) {
      synchronized (b) {
        b.set("errors", BatchLines.errors(ErrorCode.FILE_NOT_FOUND.code(), "the input file was deleted"));
        BatchState.status(b, "failed");
        save(b);
      }
      return false;
    }
    BatchValidator.Result result = BatchValidator.validate(input, b.get("endpoint").asText());
    synchronized (b) {
      if (!result.valid()) {
        ObjectNode errors = FileStore.JSON.createObjectNode().put("object", "list");
        errors.set("data", result.errors());
        b.set("errors", errors);
        BatchState.status(b, "failed");
        save(b);
        return false;
      }
      BatchState.counts(b, result.requests(), 0, 0);
      if (!BatchState.status(b).equals("cancelling")) {
        BatchState.status(b, "in_progress");
      }
      save(b);
    }
    return true;
  }

  private long lineCount(ObjectNode b) {
    return b.path("request_counts").path("total").asLong();
  }

  /**
   * Computes the lines after the checkpoint until the last one, a stop, a cancel or the end of the
   * completion window (if that is already past, say after a long stop, it computes nothing).
   */
  private Reached runLines(ObjectNode b, Path input) throws Exception {
    String id = b.get("id").asText();
    Checkpoint from = store.readCheckpoint(id);
    long untilExpiry = b.get("expires_at").asLong() * 1000 - System.currentTimeMillis();
    if (untilExpiry <= 0) {
      return new Reached(from, true);
    }
    BatchOutput out = BatchOutput.open(store.dir(id), from, settings.checkpointInterval(), c -> saveCheckpoint(id, b, c));
    AtomicBoolean expired = new AtomicBoolean();
    try {
      long started = System.nanoTime();
      long total = lineCount(b);
      Pair<UniqueKillSwitch, CompletionStage<Done>> run = FileIO.fromPath(input)
          .via(Framing.delimiter(ByteString.fromString("\n"), Integer.MAX_VALUE, FramingTruncation.ALLOW))
          .zipWithIndex()
          .drop(from.line())
          .viaMat(KillSwitches.single(), Keep.right())
          .mapAsync(settings.parallelism(), p -> line(p.first(), p.second()))
          .toMat(Sink.<BatchOutput.Line>foreach(result -> {
            out.write(result);
            long done = out.completed() + out.failed();
            double seconds = (System.nanoTime() - started) / 1e9;
            progress.put(id, new Progress(id, total, done,
                (done - from.completed() - from.failed()) / Math.max(seconds, 1e-3)));
          }).async(BLOCKING_IO), Keep.both())
          .run(materializer);
      running = new Running(id, run.first(), run.second());
      if (stopping || BatchState.status(b).equals("cancelling")) {
        run.first().shutdown();
      }
      ScheduledFuture<?> timer = expiry.schedule(() -> {
        expired.set(true);
        run.first().shutdown();
      }, untilExpiry, TimeUnit.MILLISECONDS);
      run.second().toCompletableFuture().get();
      timer.cancel(false);
    } finally {
      running = null;
      out.close(); // the last checkpoint, also when the stream failed
    }
    return new Reached(out.lastCheckpoint(), expired.get() && !stopping);
  }

  /**
   * The completion window closed: every line not computed goes to the error file as OpenAI's
   * {@code batch_expired} (with {@code response: null}); what was computed stays in the output
   * file. Durable like the lines: a crash here redoes it from the checkpoint.
   */
  private void expire(ObjectNode b, Path input, Checkpoint from) throws IOException {
    String id = b.get("id").asText();
    synchronized (b) {
      b.put("expired_at", java.time.Instant.now().getEpochSecond());
      save(b);
    }
    BatchOutput out = BatchOutput.open(store.dir(id), from, settings.checkpointInterval(), c -> saveCheckpoint(id, b, c));
    try (out; var lines = Files.newBufferedReader(input)) {
      long index = 0;
      for (String line = lines.readLine(); line != null; line = lines.readLine(), index++) {
        if (index >= from.line()) {
          out.write(new BatchOutput.Line(index, line.isBlank() ? null : BatchLines.expired(line), true));
        }
      }
    }
    finish(b, "expired", out.lastCheckpoint());
  }

  /** One input line's result: blank lines count as lines but produce nothing. */
  private CompletionStage<BatchOutput.Line> line(ByteString bytes, long index) {
    if (bytes.utf8String().isBlank()) {
      return CompletableFuture.completedFuture(new BatchOutput.Line(index, null, false));
    }
    JsonNode request;
    try {
      request = FileStore.JSON.readTree(bytes.toArray());
    } catch (IOException e) {
      throw new UncheckedIOException(e); // validated before: the file changed under us
    }
    String customId = request.get("custom_id").asText();
    byte[] body;
    try {
      body = FileStore.JSON.writeValueAsBytes(request.get("body"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return submit(body, 0).thenApply(answer -> new BatchOutput.Line(index, BatchLines.output(customId, index, answer),
        answer.status() != 200));
  }

  /** Overload and transient unavailability are waited out (as the Kafka pipeline does), unless stopping. */
  private CompletionStage<LineEmbedder.Answer> submit(byte[] body, int attempt) {
    return embedder.embed(body).thenCompose(answer -> {
      if (!answer.transientFailure() || stopping && attempt > 0) {
        return CompletableFuture.completedFuture(answer);
      }
      Duration wait = answer.retryAfter() == null ? Duration.ofMillis(100) : answer.retryAfter();
      long ms = Math.min(Math.max(wait.toMillis(), 20), 5_000);
      return CompletableFuture.supplyAsync(() -> null, CompletableFuture.delayedExecutor(ms, TimeUnit.MILLISECONDS))
          .thenCompose(x -> submit(body, attempt + 1));
    });
  }

  /** Registers the output and error files and ends the batch as {@code status}. */
  private void finish(ObjectNode b, String status, Checkpoint reached) throws IOException {
    String id = b.get("id").asText();
    synchronized (b) {
      if (!BatchState.status(b).equals("finalizing")) {
        BatchState.status(b, "finalizing");
        save(b);
      }
      Path batchDir = store.dir(id);
      b.put("output_file_id", register(batchDir.resolve("output.jsonl"), reached.outputBytes(), id + "_output.jsonl"));
      b.put("error_file_id", register(batchDir.resolve("errors.jsonl"), reached.errorBytes(), id + "_error.jsonl"));
      BatchState.counts(b, lineCount(b), reached.completed(), reached.failed());
      BatchState.status(b, status);
      save(b);
      log.info("batch {} {}: {} completed, {} failed", id, status, reached.completed(), reached.failed());
    }
  }

  /** The file as a stored file (null if it holds nothing); idempotent if a crash repeats it. */
  private String register(Path file, long bytes, String name) throws IOException {
    if (!Files.exists(file) || bytes == 0) {
      return null;
    }
    try (var channel = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
      channel.truncate(bytes);
    }
    Path upload = files.newUpload();
    Files.move(file, upload, StandardCopyOption.ATOMIC_MOVE);
    return files.add(upload, name, "batch_output").id();
  }

  private void saveCheckpoint(String id, ObjectNode b, Checkpoint c) {
    store.writeCheckpoint(id, c);
    synchronized (b) {
      BatchState.counts(b, lineCount(b), c.completed(), c.failed());
      save(b);
    }
  }

  private void save(ObjectNode b) {
    batches.put(b.get("id").asText(), b);
    store.save(b);
  }
}
