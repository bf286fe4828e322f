package dev.exitflow.loadtests;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

/** One PNG, three panels over time: p99 latency, queued requests, and auto's exit mix with the controller level and admission's share of the deadline. */
final class OverloadPlot {
  private static final int WIDTH = 900;
  private static final int HEIGHT = 300;

  private OverloadPlot() {}

  static void write(Map<String, List<OpenLoop.Sample>> timelines, long sloMs, int exits, Path file) throws IOException {
    XYChart latency = chart("p99 latency per 0.5 s window", "ms");
    XYChart queue = chart("requests queued in all stages", "requests");
    for (var e : timelines.entrySet()) {
      List<OpenLoop.Sample> s = e.getValue();
      if (s.isEmpty()) {
        continue;
      }
      latency.addSeries(e.getKey(), times(s), s.stream().mapToDouble(OpenLoop.Sample::p99Ms).toArray());
      queue.addSeries(e.getKey(), times(s), s.stream().mapToDouble(OpenLoop.Sample::queueDepth).toArray());
    }
    List<OpenLoop.Sample> auto = timelines.getOrDefault("auto", List.of());
    if (!auto.isEmpty()) {
      double[] t = times(auto);
      latency.addSeries("SLO", new double[] {t[0], t[t.length - 1]}, new double[] {sloMs, sloMs});
    }
    XYChart mix = chart("auto: share of requests per exit layer, controller level / max, admission's share of the deadline", "share");
    TreeSet<Integer> layers = new TreeSet<>();
    auto.forEach(s -> layers.addAll(s.exitMix().keySet()));
    for (int layer : layers) {
      mix.addSeries("exit " + layer, times(auto), auto.stream().mapToDouble(s -> s.exitMix().getOrDefault(layer, 0.0)).toArray());
    }
    if (!auto.isEmpty()) {
      // The controller's highest level is two steps per exit above the first, whichever exits served.
      double max = 2.0 * Math.max(1, exits - 1);
      mix.addSeries("controller level", times(auto), auto.stream().mapToDouble(s -> s.degradation() / max).toArray());
      mix.addSeries("deadline share", times(auto), auto.stream().mapToDouble(OpenLoop.Sample::deadlineShare).toArray());
    }

    BufferedImage out = new BufferedImage(WIDTH, 3 * HEIGHT, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, WIDTH, 3 * HEIGHT);
    int y = 0;
    for (XYChart c : List.of(latency, queue, mix)) {
      g.drawImage(BitmapEncoder.getBufferedImage(c), 0, y, null);
      y += HEIGHT;
    }
    g.dispose();
    Files.createDirectories(file.getParent());
    ImageIO.write(out, "png", file.toFile());
  }

  private static XYChart chart(String title, String yTitle) {
    return new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle("seconds").yAxisTitle(yTitle).build();
  }

  private static double[] times(List<OpenLoop.Sample> s) {
    return s.stream().mapToDouble(OpenLoop.Sample::tSeconds).toArray();
  }
}
