package dev.exitflow.research;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The report's chart: Spearman against sentences/s, one point per plan and exit, the Pareto front joined. */
final class ParetoChart {
  private ParetoChart() {}

  static void write(List<ReportCommand.Row> rows, ReportCommand.Baseline baseline, Path file) throws IOException {
    XYChart chart = new XYChartBuilder().width(1100).height(700)
        .title("STS-B test: quality against speed, one point per plan and exit")
        .xAxisTitle("sentences/s").yAxisTitle("Spearman x100").build();
    chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
    chart.getStyler().setMarkerSize(9);
    Map<String, List<ReportCommand.Row>> byPlan = new LinkedHashMap<>();
    rows.forEach(r -> byPlan.computeIfAbsent(r.plan(), k -> new ArrayList<>()).add(r));
    byPlan.forEach((plan, points) -> chart.addSeries(plan,
        points.stream().mapToDouble(ReportCommand.Row::sentencesPerS).toArray(),
        points.stream().mapToDouble(ReportCommand.Row::spearman).toArray()));
    List<ReportCommand.Row> front = rows.stream().filter(ReportCommand.Row::pareto)
        .sorted(Comparator.comparingDouble(ReportCommand.Row::sentencesPerS)).toList();
    if (front.size() > 1) {
      XYSeries line = chart.addSeries("Pareto front",
          front.stream().mapToDouble(ReportCommand.Row::sentencesPerS).toArray(),
          front.stream().mapToDouble(ReportCommand.Row::spearman).toArray());
      line.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
      line.setMarker(SeriesMarkers.NONE);
      line.setLineColor(Color.GRAY);
    }
    if (baseline != null) { // the moonshot: 5x the fp32 deep exit at Spearman >= 77
      chart.addAnnotation(new AnnotationLine(5 * baseline.sentencesPerS(), true, false));
      chart.addAnnotation(new AnnotationLine(77, false, false));
    }
    Files.createDirectories(file.toAbsolutePath().getParent());
    BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
  }
}
