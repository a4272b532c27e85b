package io.s3cache.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;

class EpochPlannerTest {

  @Test
  void eachEpochIsAPermutationAndTheSameEveryTime() {
    EpochPlanner planner = new EpochPlanner(7, 1000);
    for (int epoch = 0; epoch < 3; epoch++) {
      int[] order = planner.order(epoch);
      assertArrayEquals(order, new EpochPlanner(7, 1000).order(epoch), "deterministic for (seed, epoch)");
      int[] sorted = order.clone();
      Arrays.sort(sorted);
      for (int i = 0; i < sorted.length; i++) {
        assertEquals(i, sorted[i], "a permutation of 0..n-1");
      }
    }
  }

  @Test
  void epochsAndSeedsShuffleDifferently() {
    EpochPlanner planner = new EpochPlanner(7, 1000);
    assertFalse(Arrays.equals(planner.order(0), planner.order(1)));
    assertFalse(Arrays.equals(planner.order(0), new EpochPlanner(8, 1000).order(0)));
    int[] identity = new int[1000];
    Arrays.setAll(identity, i -> i);
    assertFalse(Arrays.equals(identity, planner.order(0)), "shuffled");
  }

  @Test
  void theSamplerYieldsThePlannersOrderInBatches() throws Exception {
    EpochPlanner planner = new EpochPlanner(3, 10);
    PlanSampler sampler = new PlanSampler(planner, 4);
    SampleList samples = new SampleList(java.util.stream.IntStream.range(0, 10)
        .mapToObj(i -> new SampleList.Sample(java.nio.file.Path.of("/x/" + i + ".png"), i % 2)).toList(), List.of("a", "b"));
    ImageFileDataset dataset = ImageFileDataset.builder(samples, 8).setSampling(sampler).build();
    for (int epoch = 0; epoch < 2; epoch++) {
      sampler.setEpoch(epoch);
      List<Long> seen = new ArrayList<>();
      List<Integer> sizes = new ArrayList<>();
      for (Iterator<List<Long>> it = sampler.sample(dataset); it.hasNext(); ) {
        List<Long> batch = it.next();
        sizes.add(batch.size());
        seen.addAll(batch);
      }
      assertEquals(List.of(4, 4, 2), sizes);
      assertArrayEquals(planner.order(epoch), seen.stream().mapToInt(Long::intValue).toArray());
    }
  }
}
