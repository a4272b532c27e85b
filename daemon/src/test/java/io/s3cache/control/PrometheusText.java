package io.s3cache.control;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of Prometheus text exposition format 0.0.4, as far as s3cache emits it: every
 * line must be a HELP, a TYPE or a sample of the family last typed; anything else fails with the
 * line number.
 */
final class PrometheusText {

  private static final String NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  private static final Pattern HELP = Pattern.compile("# HELP (" + NAME + ") (.*)");
  private static final Pattern TYPE = Pattern.compile("# TYPE (" + NAME + ") (counter|gauge|summary|untyped|histogram)");
  private static final String LABEL = "[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\"";
  private static final String FLOAT = "[-+]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?Inf|NaN";
  private static final Pattern SAMPLE = Pattern.compile(
      "(" + NAME + ")(\\{(?:" + LABEL + "(?:," + LABEL + ")*,?)?\\})? (" + FLOAT + ")(?: -?[0-9]+)?");
  private static final List<String> SUFFIXES = List.of("", "_total", "_count", "_sum", "_bucket", "_created");

  private PrometheusText() {}

  /** Samples by "name{labels}" (labels as written, less a trailing comma), in order; throws AssertionError on any bad line. */
  static Map<String, Double> parse(String text) {
    if (!text.isEmpty() && !text.endsWith("\n")) {
      throw new AssertionError("exposition does not end with a newline");
    }
    Map<String, Double> samples = new LinkedHashMap<>();
    Set<String> typed = new HashSet<>();
    String family = null;
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length - 1; i++) {
      String line = lines[i];
      String where = "line " + (i + 1) + " \"" + line + "\": ";
      Matcher m;
      if ((m = HELP.matcher(line)).matches()) {
        family = m.group(1);
      } else if ((m = TYPE.matcher(line)).matches()) {
        if (!m.group(1).equals(family)) {
          throw new AssertionError(where + "TYPE does not follow the HELP of the same name " + family);
        }
        if (!typed.add(family)) {
          throw new AssertionError(where + "family typed twice");
        }
      } else if ((m = SAMPLE.matcher(line)).matches()) {
        String name = m.group(1);
        String f = family;
        if (f == null || !typed.contains(f) || SUFFIXES.stream().noneMatch(s -> name.equals(f + s))) {
          throw new AssertionError(where + "sample outside its family " + family);
        }
        String labels = m.group(2) == null ? "" : m.group(2).replaceFirst(",}$", "}"); // key without the optional trailing comma
        String key = name + labels;
        if (samples.put(key, value(m.group(3))) != null) {
          throw new AssertionError(where + "duplicate sample");
        }
      } else {
        throw new AssertionError(where + "neither HELP, TYPE nor a sample");
      }
    }
    return samples;
  }

  private static double value(String s) {
    return switch (s) {
      case "+Inf", "Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> Double.parseDouble(s);
    };
  }
}
