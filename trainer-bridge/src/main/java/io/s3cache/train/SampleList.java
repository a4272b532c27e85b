package io.s3cache.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The files of a dataset and their labels, in a fixed order (the planner permutes indices into it).
 * Two layouts: an image folder ({@code DIR/CLASS/*.jpg|png}, classes in name order) and a labels
 * file (CSV lines {@code path,label}; paths relative to the file's directory; labels are class
 * names or numbers; a first line {@code path,label} is a header).
 */
public record SampleList(List<Sample> samples, List<String> classes) {

  /** One file and its class index. */
  public record Sample(Path path, int label) {}

  public SampleList {
    samples = List.copyOf(samples);
    classes = List.copyOf(classes);
  }

  public int size() {
    return samples.size();
  }

  /** The paths in the order of {@code indices} (e.g. an epoch's order). */
  public List<String> paths(int[] indices) {
    List<String> paths = new ArrayList<>(indices.length);
    for (int i : indices) {
      paths.add(samples.get(i).path().toString());
    }
    return paths;
  }

  /** A labels file if {@code data} is one (a regular file), else an image folder. */
  public static SampleList open(Path data) throws TrainException {
    return Files.isRegularFile(data) ? labelsFile(data) : imageFolder(data);
  }

  public static SampleList imageFolder(Path dir) throws TrainException {
    if (!Files.exists(dir)) {
      throw new TrainException("data directory " + dir + " does not exist");
    }
    if (!Files.isDirectory(dir)) {
      throw new TrainException(dir + " is not a directory (expected DIR/CLASS/*.jpg or a labels CSV)");
    }
    List<Path> classDirs;
    try (Stream<Path> s = Files.list(dir)) {
      classDirs = s.filter(Files::isDirectory).sorted().toList();
    } catch (IOException e) {
      throw new TrainException("cannot list " + dir + ": " + e.getMessage(), e);
    }
    if (classDirs.isEmpty()) {
      throw new TrainException(dir + " has no class directories (expected " + dir + "/CLASS/IMAGE.jpg)");
    }
    List<Sample> samples = new ArrayList<>();
    List<String> classes = new ArrayList<>();
    for (Path c : classDirs) {
      List<Path> images;
      try (Stream<Path> s = Files.list(c)) {
        images = s.filter(p -> isImage(p) && Files.isRegularFile(p)).sorted().toList();
      } catch (IOException e) {
        throw new TrainException("cannot list " + c + ": " + e.getMessage(), e);
      }
      if (images.isEmpty()) {
        throw new TrainException("class directory " + c + " has no JPEG or PNG images");
      }
      int label = classes.size();
      classes.add(c.getFileName().toString());
      images.forEach(p -> samples.add(new Sample(p, label)));
    }
    return new SampleList(samples, classes);
  }

  public static SampleList labelsFile(Path csv) throws TrainException {
    List<String> lines;
    try {
      lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new TrainException("labels file " + csv + " does not exist");
    } catch (IOException e) {
      throw new TrainException("cannot read labels file " + csv + ": " + e.getMessage(), e);
    }
    Path base = csv.toAbsolutePath().getParent();
    Map<String, Integer> classIndex = new LinkedHashMap<>();
    List<String[]> rows = new ArrayList<>();
    for (int n = 0; n < lines.size(); n++) {
      String line = lines.get(n).strip();
      if (line.isEmpty() || (n == 0 && line.toLowerCase(Locale.ROOT).equals("path,label"))) {
        continue;
      }
      int comma = line.lastIndexOf(',');
      if (comma <= 0 || comma == line.length() - 1) {
        throw new TrainException(csv + " line " + (n + 1) + ": expected 'path,label', got '" + line + "'");
      }
      rows.add(new String[] {line.substring(0, comma).strip(), line.substring(comma + 1).strip(), String.valueOf(n + 1)});
    }
    if (rows.isEmpty()) {
      throw new TrainException("labels file " + csv + " lists no images");
    }
    boolean numeric = rows.stream().allMatch(r -> r[1].matches("\\d+"));
    if (numeric) {
      int max = rows.stream().mapToInt(r -> Integer.parseInt(r[1])).max().orElse(0);
      for (int i = 0; i <= max; i++) {
        classIndex.put(String.valueOf(i), i);
      }
    } else {
      rows.stream().map(r -> r[1]).sorted().distinct().forEach(c -> classIndex.put(c, classIndex.size()));
    }
    List<Sample> samples = new ArrayList<>(rows.size());
    for (String[] r : rows) {
      samples.add(new Sample(base.resolve(r[0]).normalize(), classIndex.get(r[1])));
    }
    return new SampleList(samples, List.copyOf(classIndex.keySet()));
  }

  private static boolean isImage(Path p) {
    String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
    return name.endsWith(".jpg") || name.endsWith(".jpeg") || name.endsWith(".png");
  }
}
