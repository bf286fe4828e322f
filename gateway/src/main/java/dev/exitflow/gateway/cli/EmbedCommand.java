package dev.exitflow.gateway.cli;

import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.runtime.Embedding;
import dev.exitflow.model.runtime.StagedEncoder;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "embed", mixinStandardHelpOptions = true, description = "Print the embedding of a text as JSON.")
final class EmbedCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "TEXT", description = "The text to embed")
  String text;

  @Option(names = "--exit", defaultValue = "deep", description = "Exit layer, 'shallow' or 'deep' (default: ${DEFAULT-VALUE})")
  String exit;

  @Option(names = "--dimensions", description = "Matryoshka truncation to the first N dimensions, renormalised")
  Integer dimensions;

  @Mixin ModelOption model;

  @Spec CommandSpec spec;

  record Output(String model, int exitLayer, int dimensions, int tokens, boolean truncated, float[] embedding) {}

  @Override
  public Integer call() throws Exception {
    ModelDescriptor descriptor = model.resolve();
    try (StagedEncoder encoder = StagedEncoder.open(descriptor, model.settings())) {
      Embedding e = encoder.embed(List.of(text), exit, dimensions).get(0);
      spec.commandLine().getOut().println(Json.of(
          new Output(descriptor.name(), e.exitLayer(), e.vector().length, e.tokens(), e.truncated(), e.vector())));
      return 0;
    }
  }
}
