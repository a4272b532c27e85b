package io.s3cache.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The headline table: each row a figure, the reference measured in the same run, their ratio and
 * the target it is held to (issue 14's "Targets"). Rows whose reference is absolute (a rate, a
 * memory figure) compare the figure itself with the target.
 */
final class RatioTable {

  /** A target: the ratio (or, when {@code absolute}, the value) must be at least / at most {@code bound}. */
  record Goal(boolean atLeast, double bound, boolean absolute) {
    static Goal atLeast(double ratio) {
      return new Goal(true, ratio, false);
    }

    static Goal atMost(double ratio) {
      return new Goal(false, ratio, false);
    }

    static Goal valueAtLeast(double value) {
      return new Goal(true, value, true);
    }

    static Goal valueAtMost(double value) {
      return new Goal(false, value, true);
    }

    boolean met(double measured) {
      return atLeast ? measured >= bound : measured <= bound;
    }

    String describe(String unit) {
      String op = atLeast ? ">= " : "<= ";
      return absolute ? op + number(bound) + " " + unit : op + String.format(Locale.ROOT, "%.2fx", bound);
    }
  }

  /** One row; {@code reference} NaN (and {@code referenceName} a reason) when it was not measured. */
  record Row(String what, double value, String unit, double reference, String referenceName, Goal goal) {
    double ratio() {
      return value / reference;
    }

    /** What is held to the goal: the ratio, or the value itself. */
    double measured() {
      return goal.absolute() ? value : ratio();
    }
  }

  private final List<Row> rows = new ArrayList<>();

  void add(String what, double value, String unit, double reference, String referenceName, Goal goal) {
    rows.add(new Row(what, value, unit, reference, referenceName, goal));
  }

  boolean isEmpty() {
    return rows.isEmpty();
  }

  /** Markdown, one line per row: what | s3cache | reference | ratio | target | met. */
  String format() {
    StringBuilder s = new StringBuilder();
    s.append("| what | s3cache | reference (same run) | ratio | target | met |\n");
    s.append("|---|---|---|---|---|---|\n");
    for (Row r : rows) {
      boolean hasRef = !r.goal().absolute();
      String ref = hasRef ? (Double.isNaN(r.reference()) ? r.referenceName()
          : number(r.reference()) + " " + r.unit() + " " + r.referenceName()) : r.referenceName();
      String ratio = hasRef && !Double.isNaN(r.ratio()) ? String.format(Locale.ROOT, "%.2fx", r.ratio()) : "-";
      double m = r.measured();
      String met = Double.isNaN(m) ? "n/a" : r.goal().met(m) ? "yes" : "NO";
      s.append("| ").append(r.what()).append(" | ").append(number(r.value())).append(' ').append(r.unit())
          .append(" | ").append(ref).append(" | ").append(ratio).append(" | ").append(r.goal().describe(r.unit()))
          .append(" | ").append(met).append(" |\n");
    }
    return s.toString();
  }

  /** 1234 -> "1,234", 12.3 -> "12.3", 0.123 -> "0.123": enough digits to read, no more. */
  static String number(double v) {
    if (Double.isNaN(v)) {
      return "n/a";
    }
    double a = Math.abs(v);
    if (a >= 100) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    return String.format(Locale.ROOT, a >= 10 ? "%.1f" : "%.3g", v);
  }
}
