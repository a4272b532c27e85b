package io.s3cache.train;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.training.dataset.Record;
import ai.djl.util.Progress;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;

/**
 * A DJL dataset of image files ({@link SampleList}): each record is a float image {@code (3, S, S)}
 * in [0, 1], resized to S x S, and its class index. {@link #decode} is plain Java (ImageIO), so
 * worker threads decode without touching native memory; {@link #get} wraps it for DJL's own
 * iteration ({@code trainer.iterateDataset}). Files are opened when decoded: on an s3cache mount,
 * each decode is one open, which moves the daemon's plan window.
 */
public final class ImageFileDataset extends RandomAccessDataset {

  private final SampleList samples;
  private final int imageSize;

  private ImageFileDataset(Builder builder) {
    super(builder);
    this.samples = builder.samples;
    this.imageSize = builder.imageSize;
  }

  public static Builder builder(SampleList samples, int imageSize) {
    return new Builder(samples, imageSize);
  }

  public SampleList samples() {
    return samples;
  }

  public int imageSize() {
    return imageSize;
  }

  /** One decoded sample: pixels in CHW order. */
  public record Decoded(float[] chw, int label) {}

  /**
   * Reads and decodes sample {@code index}.
   *
   * @throws IOException when the file cannot be read or is not a JPEG/PNG image
   */
  public Decoded decode(int index) throws IOException {
    SampleList.Sample s = samples.samples().get(index);
    BufferedImage img;
    try (InputStream in = Files.newInputStream(s.path())) {
      img = javax.imageio.ImageIO.read(in);
    }
    if (img == null) {
      throw new IOException(s.path() + " is not a JPEG or PNG image");
    }
    BufferedImage scaled = new BufferedImage(imageSize, imageSize, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = scaled.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
      g.drawImage(img, 0, 0, imageSize, imageSize, null);
    } finally {
      g.dispose();
    }
    int plane = imageSize * imageSize;
    float[] chw = new float[3 * plane];
    int[] rgb = scaled.getRGB(0, 0, imageSize, imageSize, null, 0, imageSize);
    for (int i = 0; i < plane; i++) {
      chw[i] = ((rgb[i] >> 16) & 0xff) / 255f;
      chw[plane + i] = ((rgb[i] >> 8) & 0xff) / 255f;
      chw[2 * plane + i] = (rgb[i] & 0xff) / 255f;
    }
    return new Decoded(chw, s.label());
  }

  @Override
  public Record get(NDManager manager, long index) throws IOException {
    Decoded d = decode((int) index);
    return new Record(new NDList(manager.create(d.chw(), new Shape(3, imageSize, imageSize))),
        new NDList(manager.create(d.label())));
  }

  @Override
  protected long availableSize() {
    return samples.size();
  }

  @Override
  public void prepare(Progress progress) {}

  /** Builds the dataset; set the sampler with {@code setSampling(sampler)}. */
  public static final class Builder extends BaseBuilder<Builder> {
    private final SampleList samples;
    private final int imageSize;

    Builder(SampleList samples, int imageSize) {
      if (imageSize < 4 || imageSize > 1024) {
        throw new IllegalArgumentException("image size must be from 4 to 1024, got " + imageSize);
      }
      this.samples = samples;
      this.imageSize = imageSize;
    }

    @Override
    protected Builder self() {
      return this;
    }

    public ImageFileDataset build() {
      return new ImageFileDataset(this);
    }
  }
}
