package dev.exitflow.gateway.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.actors.ClusterSettings;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.Priority;
import dev.exitflow.gateway.http.BulkApi;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.streams.request.RequestDecoder;
import dev.exitflow.streams.request.RequestDefaults;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import me.tongfei.progressbar.ProgressBar;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.javadsl.FileIO;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code exitflow score}: the bulk flow of {@code POST /v1/bulk} without a server. Reads NDJSON or
 * plain-text lines, appends NDJSON results in input order. Rerun with the same files to resume
 * after the last line written.
 */
@Command(name = "score", mixinStandardHelpOptions = true, description = "Embed every line of a file (NDJSON or plain text) into an NDJSON file.")
final class ScoreCommand implements Callable<Integer> {
  @Option(names = "--in", required = true, description = "Input: one request per line, JSON or plain text")
  Path in;

  @Option(names = "--out", required = true, description = "Output NDJSON; appended to, so a rerun resumes")
  Path out;

  @Option(names = "--exit", defaultValue = "deep", description = "Exit for lines that name none (default: ${DEFAULT-VALUE})")
  String exit;

  @Option(names = "--dimensions", description = "Matryoshka truncation for lines that name none")
  Integer dimensions;

  @Mixin ModelOption model;

  @Override
  public Integer call() throws Exception {
    ExitPolicy policy = ExitPolicy.parse(exit);
    long done = lastLineWritten(out);
    long total;
    try (Stream<String> lines = Files.lines(in)) {
      total = lines.count();
    }
    Config config = ConfigFactory.load();
    GatewaySettings settings = GatewaySettings.create(config);
    ModelDescriptor descriptor = model.resolve();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "exitflow-score",
        ClusterSettings.create(config).actorSystemConfig(config));
    try {
      EncoderRuntime runtime = EncoderRuntime.start(system, descriptor, config);
      runtime.ready().toCompletableFuture().join();
      if (done > 0) {
        System.err.printf("resuming after line %d of %d%n", done, total);
      }
      long start = System.nanoTime();
      BufferedReader reader = Files.newBufferedReader(in, StandardCharsets.UTF_8);
      try (reader; ProgressBar bar = Progress.bar("score", total - done, "lines")) {
        Source.fromIterator(() -> reader.lines().skip(done).iterator())
            .map(line -> ByteString.fromString(line + "\n"))
            .via(BulkApi.flow(runtime, RequestDecoder.forRuntime(runtime, settings.requests()),
                new RequestDefaults(policy, Priority.BULK, dimensions, null), settings.bulkParallelism(),
                settings.maxBulkLineBytes(), done + 1, code -> { }))
            .wireTap(b -> bar.step())
            .runWith(FileIO.toPath(out, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)), system)
            .toCompletableFuture().join();
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      System.err.printf("scored %d lines in %.1f s: %.1f lines/s%n", total - done, seconds, (total - done) / seconds);
      runtime.stop().toCompletableFuture().join();
      return 0;
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().join();
    }
  }

  /** The input line number of the last complete output line, 0 when there is none. */
  static long lastLineWritten(Path out) throws IOException {
    if (!Files.exists(out) || Files.size(out) == 0) {
      return 0;
    }
    try (RandomAccessFile f = new RandomAccessFile(out.toFile(), "rw")) {
      long end = f.length();
      // A crash can leave a partial last line: cut it off, it will be scored again.
      long pos = end - 1;
      f.seek(pos);
      if (f.read() != '\n') {
        while (pos > 0) {
          f.seek(--pos);
          if (f.read() == '\n') {
            break;
          }
        }
        f.setLength(pos == 0 ? 0 : pos + 1);
        end = f.length();
        if (end == 0) {
          return 0;
        }
      }
      long lineStart = end - 1;
      while (lineStart > 0) {
        f.seek(lineStart - 1);
        if (f.read() == '\n') {
          break;
        }
        lineStart--;
      }
      byte[] last = new byte[(int) (end - lineStart)];
      f.seek(lineStart);
      f.readFully(last);
      return new ObjectMapper().readTree(last).path("line").asLong(0);
    }
  }
}
