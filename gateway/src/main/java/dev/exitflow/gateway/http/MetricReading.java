package dev.exitflow.gateway.http;

import dev.exitflow.actors.RuntimeStats;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Label;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * One reading of the gateway's Prometheus registry (the series {@code /metrics} exports, names
 * without the {@code _total} suffix), flattened so that the console can subtract two readings: a
 * counter or gauge value per label set, a classic histogram's cumulative bucket counts.
 */
final class MetricReading {
  record Series(Map<String, String> labels, double value) {}

  /** A classic histogram: upper bounds, cumulative counts (the last bound is +Inf), sum and count. */
  record Histogram(double[] bounds, long[] cumulative, double sum, long count) {
    static final Histogram EMPTY = new Histogram(new double[0], new long[0], 0, 0);

    /** This minus an earlier reading of the same series: what was observed in between. */
    Histogram minus(Histogram earlier) {
      if (earlier.bounds.length != bounds.length) {
        return this;
      }
      long[] c = new long[cumulative.length];
      for (int i = 0; i < c.length; i++) {
        c[i] = cumulative[i] - earlier.cumulative[i];
      }
      return new Histogram(bounds, c, sum - earlier.sum, count - earlier.count);
    }

    Histogram plus(Histogram other) {
      if (bounds.length == 0) {
        return other;
      }
      if (other.bounds.length != bounds.length) {
        return this;
      }
      long[] c = new long[cumulative.length];
      for (int i = 0; i < c.length; i++) {
        c[i] = cumulative[i] + other.cumulative[i];
      }
      return new Histogram(bounds, c, sum + other.sum, count + other.count);
    }

    /**
     * The q-quantile by linear interpolation inside its bucket, as Prometheus' histogram_quantile
     * does (NaN with no observations; the highest finite bound when it falls in the +Inf bucket).
     */
    double quantile(double q) {
      if (count <= 0) {
        return Double.NaN;
      }
      double rank = q * count;
      for (int i = 0; i < bounds.length; i++) {
        if (cumulative[i] >= rank) {
          if (Double.isInfinite(bounds[i])) {
            return i == 0 ? Double.NaN : bounds[i - 1];
          }
          double lower = i == 0 ? 0 : bounds[i - 1];
          long below = i == 0 ? 0 : cumulative[i - 1];
          long in = cumulative[i] - below;
          return in == 0 ? bounds[i] : lower + (bounds[i] - lower) * (rank - below) / in;
        }
      }
      return bounds.length == 0 ? Double.NaN : bounds[bounds.length - 1];
    }
  }

  final long nanos = System.nanoTime();
  final long epochMillis = System.currentTimeMillis();
  final RuntimeStats stats;
  private final Map<String, List<Series>> values = new HashMap<>();
  private final Map<String, Map<Map<String, String>, Histogram>> histograms = new HashMap<>();

  MetricReading(MetricSnapshots snapshots, RuntimeStats stats) {
    this.stats = stats;
    for (MetricSnapshot m : snapshots) {
      String name = m.getMetadata().getPrometheusName();
      for (DataPointSnapshot p : m.getDataPoints()) {
        Map<String, String> labels = new TreeMap<>();
        for (Label l : p.getLabels()) {
          labels.put(l.getName(), l.getValue());
        }
        if (p instanceof CounterSnapshot.CounterDataPointSnapshot c) {
          values.computeIfAbsent(name, k -> new ArrayList<>()).add(new Series(labels, c.getValue()));
        } else if (p instanceof GaugeSnapshot.GaugeDataPointSnapshot g) {
          values.computeIfAbsent(name, k -> new ArrayList<>()).add(new Series(labels, g.getValue()));
        } else if (p instanceof HistogramSnapshot.HistogramDataPointSnapshot h && h.hasClassicHistogramData()) {
          histograms.computeIfAbsent(name, k -> new HashMap<>()).put(labels, histogram(h));
        }
      }
    }
  }

  private static Histogram histogram(HistogramSnapshot.HistogramDataPointSnapshot h) {
    ClassicHistogramBuckets b = h.getClassicBuckets();
    double[] bounds = new double[b.size()];
    long[] cumulative = new long[b.size()];
    long running = 0;
    for (int i = 0; i < b.size(); i++) {
      bounds[i] = b.getUpperBound(i);
      running += b.getCount(i); // the snapshot holds each bucket's own count
      cumulative[i] = running;
    }
    return new Histogram(bounds, cumulative, h.hasSum() ? h.getSum() : 0, h.hasCount() ? h.getCount() : running);
  }

  List<Series> series(String name) {
    return values.getOrDefault(name, List.of());
  }

  /** The sum of a counter's or gauge's series whose labels pass {@code filter}. */
  double sum(String name, Predicate<Map<String, String>> filter) {
    return series(name).stream().filter(s -> filter.test(s.labels())).mapToDouble(Series::value).sum();
  }

  /** A counter's or gauge's series summed per value of one label. */
  Map<String, Double> byLabel(String name, String label) {
    Map<String, Double> out = new TreeMap<>();
    for (Series s : series(name)) {
      out.merge(s.labels().getOrDefault(label, ""), s.value(), Double::sum);
    }
    return out;
  }

  /** A histogram's series whose labels pass {@code filter}, merged. */
  Histogram histogram(String name, Predicate<Map<String, String>> filter) {
    Histogram out = Histogram.EMPTY;
    for (var e : histograms.getOrDefault(name, Map.of()).entrySet()) {
      if (filter.test(e.getKey())) {
        out = out.plus(e.getValue());
      }
    }
    return out;
  }
}
