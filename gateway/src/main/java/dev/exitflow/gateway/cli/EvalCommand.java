package dev.exitflow.gateway.cli;

import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.compile.Drop;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsEvaluator;
import dev.exitflow.model.eval.SpearmanRecord;
import dev.exitflow.model.eval.StsFiles;
import dev.exitflow.model.eval.StsReport;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.runtime.ExitHead;
import dev.exitflow.model.runtime.StagedEncoder;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "eval", mixinStandardHelpOptions = true, description = "Spearman correlation and speed of every exit on an STS-B CSV.")
final class EvalCommand implements Callable<Integer> {
  @Option(names = "--dataset", defaultValue = "sts-test.csv",
      description = "STS CSV (sentence1,sentence2,score); a bare name is one shipped in data/stsbenchmark "
          + "(default: ${DEFAULT-VALUE})")
  String dataset;

  @Option(names = "--json", description = "Print the report as one JSON object, last on stdout")
  boolean json;

  @Option(names = "--no-adapters", description = "Pool every exit plainly, ignoring calibrated adapters")
  boolean noAdapters;

  @Option(names = "--plan", paramLabel = "FILE",
      description = "Run as this plan says (model, exits, adapters, keep ratios, drops; see plans/); "
          + "instead of --model")
  Path plan;

  @Mixin ModelOption model;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Plan p = model.plan(plan, spec);
    ModelDescriptor descriptor = p.apply(model.resolve(p.model()));
    StsDataset data = StsDataset.read(StsFiles.locate(dataset));
    StsReport report;
    Double[] branchFidelity; // per exit: its distilled branch's fidelity (NaN: not recorded), null: no branch
    try (StagedEncoder encoder = StagedEncoder.open(descriptor, model.settings().withAdapters(!noAdapters && model.settings().adaptersEnabled()), p);
        ProgressBar bar = Progress.bar("eval " + p.name(),
            (long) data.sentences().size() * descriptor.exitLayers().size(), "sentences")) {
      report = StsEvaluator.evaluate(encoder, data, bar::stepBy);
      branchFidelity = new Double[descriptor.exitLayers().size()];
      boolean branched = false;
      for (int s = 0; s < branchFidelity.length; s++) {
        ExitHead head = encoder.head(s);
        branchFidelity[s] = head.branch() == null ? null : head.fidelity();
        branched |= head.branch() != null;
      }
      if ((!encoder.adapters().isEmpty() || branched) && p.keepRatios().isEmpty()) {
        SpearmanRecord.record(encoder.compiled(), report); // shown per exit by GET /v1/models
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    out.printf("%s (%s) on %s (%d pairs)%n", report.model(), report.precision(), report.dataset(), report.pairs());
    out.printf("plan %s: keep ratios %s, drops %s%n", p.name(), p.keepRatios().isEmpty() ? "none" : p.keepRatios(),
        p.drops().isEmpty() ? "none" : p.drops().stream().map(Drop::label).toList());
    out.printf("%-6s %10s %9s %14s %12s %12s  %s%n", "exit", "spearman", "fidelity", "sentences/s", "mean tokens",
        "at exit", "adapter");
    for (int k = 0; k < report.exits().size(); k++) {
      StsReport.Exit e = report.exits().get(k);
      boolean branch = branchFidelity[k] != null;
      String adapter = branch ? "distilled branch (exitflow distill)" : e.adapter() == null ? "none"
          : String.format("%s, %d features, penalty %g, %d sentences", e.adapter().kind(), e.adapter().features(),
              e.adapter().penalty(), e.adapter().corpusSentences());
      String fidelity = e.layer() == report.exits().get(report.exits().size() - 1).layer() ? "1"
          : branch ? (Double.isNaN(branchFidelity[k]) ? "-" : String.format("%.4f", branchFidelity[k]))
          : e.adapter() == null || Double.isNaN(e.adapter().fidelity()) ? "-" : String.format("%.4f", e.adapter().fidelity());
      out.printf("%-6d %10.2f %9s %14.1f %12.1f %12.1f  %s%n", e.layer(), e.spearman() * 100, fidelity,
          e.sentencesPerS(), e.meanTokens(), e.meanTokensAtExit(), adapter);
    }
    if (json) {
      out.println(Json.of(report));
    }
    out.flush();
    return 0;
  }
}
