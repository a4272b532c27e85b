package io.s3cache.train;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** The models s3cache-train offers: a small MLP, a small CNN, and ResNet-18 (CIFAR-style stem). */
public final class Models {

  public static final List<String> NAMES = List.of("mlp", "cnn", "resnet18");

  private Models() {}

  public static Block build(String name, int classes) throws TrainException {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "mlp" -> new SequentialBlock()
          .add(Blocks.batchFlattenBlock())
          .add(Linear.builder().setUnits(128).build())
          .add(Activation::relu)
          .add(Linear.builder().setUnits(classes).build());
      case "cnn" -> new SequentialBlock()
          .add(conv(16, 3, 1)).add(Activation::relu).add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
          .add(conv(32, 3, 1)).add(Activation::relu).add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
          .add(Blocks.batchFlattenBlock())
          .add(Linear.builder().setUnits(64).build()).add(Activation::relu)
          .add(Linear.builder().setUnits(classes).build());
      case "resnet18" -> resnet18(classes);
      default -> throw new TrainException("unknown model '" + name + "': expected one of " + String.join(", ", NAMES));
    };
  }

  private static Block resnet18(int classes) {
    SequentialBlock net = new SequentialBlock()
        .add(conv(64, 3, 1)).add(BatchNorm.builder().build()).add(Activation::relu);
    int[] widths = {64, 128, 256, 512};
    int in = 64;
    for (int stage = 0; stage < widths.length; stage++) {
      for (int b = 0; b < 2; b++) {
        int stride = stage > 0 && b == 0 ? 2 : 1;
        net.add(basicBlock(widths[stage], stride, in != widths[stage] || stride != 1));
        in = widths[stage];
      }
    }
    return net.add(Pool.globalAvgPool2dBlock())
        .add(Blocks.batchFlattenBlock())
        .add(Linear.builder().setUnits(classes).build());
  }

  private static Block basicBlock(int filters, int stride, boolean project) {
    SequentialBlock main = new SequentialBlock()
        .add(conv(filters, 3, stride)).add(BatchNorm.builder().build()).add(Activation::relu)
        .add(conv(filters, 3, 1)).add(BatchNorm.builder().build());
    Block shortcut = project
        ? new SequentialBlock().add(Conv2d.builder().setFilters(filters).setKernelShape(new Shape(1, 1))
            .optStride(new Shape(stride, stride)).build()).add(BatchNorm.builder().build())
        : Blocks.identityBlock();
    return new SequentialBlock()
        .add(new ParallelBlock(
            list -> new NDList(list.get(0).singletonOrThrow().add(list.get(1).singletonOrThrow())),
            Arrays.asList(main, shortcut)))
        .add(Activation::relu);
  }

  private static Block conv(int filters, int kernel, int stride) {
    return Conv2d.builder().setFilters(filters).setKernelShape(new Shape(kernel, kernel))
        .optStride(new Shape(stride, stride)).optPadding(new Shape(kernel / 2, kernel / 2)).build();
  }
}
