package io.s3cache.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The two layouts, and bad input: each gets one message naming what is wrong. */
class SampleListTest {

  @TempDir Path dir;

  @Test
  void anImageFolderHasOneClassPerDirectoryInNameOrder() throws Exception {
    Files.createDirectories(dir.resolve("b"));
    Files.createDirectories(dir.resolve("a"));
    Files.write(dir.resolve("a/1.jpg"), new byte[1]);
    Files.write(dir.resolve("a/2.PNG"), new byte[1]);
    Files.write(dir.resolve("a/notes.txt"), new byte[1]);
    Files.write(dir.resolve("b/3.jpeg"), new byte[1]);
    SampleList s = SampleList.open(dir);
    assertEquals(List.of("a", "b"), s.classes());
    assertEquals(3, s.size());
    assertEquals(1, s.samples().get(2).label());
  }

  @Test
  void aLabelsFileTakesNamesOrNumbers() throws Exception {
    Files.writeString(dir.resolve("labels.csv"), "path,label\nx/1.jpg,cat\ny/2.jpg,dog\nz/3.jpg,cat\n");
    SampleList s = SampleList.open(dir.resolve("labels.csv"));
    assertEquals(List.of("cat", "dog"), s.classes());
    assertEquals(dir.resolve("y/2.jpg"), s.samples().get(1).path());
    assertEquals(1, s.samples().get(1).label());
    Files.writeString(dir.resolve("n.csv"), "a.jpg,0\nb.jpg,2\n");
    assertEquals(3, SampleList.open(dir.resolve("n.csv")).classes().size());
  }

  @Test
  void badInputIsNamed() throws Exception {
    assertEquals("data directory " + dir.resolve("nope") + " does not exist",
        assertThrows(TrainException.class, () -> SampleList.open(dir.resolve("nope"))).getMessage());
    assertEquals(dir + " has no class directories (expected " + dir + "/CLASS/IMAGE.jpg)",
        assertThrows(TrainException.class, () -> SampleList.open(dir)).getMessage());
    Files.createDirectories(dir.resolve("cats"));
    Files.write(dir.resolve("cats/1.jpg"), new byte[1]);
    Files.createDirectories(dir.resolve("dogs"));
    assertEquals("class directory " + dir.resolve("dogs") + " has no JPEG or PNG images",
        assertThrows(TrainException.class, () -> SampleList.open(dir)).getMessage());
    Files.writeString(dir.resolve("bad.csv"), "only-a-path\n");
    assertEquals(dir.resolve("bad.csv") + " line 1: expected 'path,label', got 'only-a-path'",
        assertThrows(TrainException.class, () -> SampleList.open(dir.resolve("bad.csv"))).getMessage());
  }
}
