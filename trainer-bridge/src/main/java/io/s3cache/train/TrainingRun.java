package io.s3cache.train;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.s3cache.control.PlanStatus;
import io.s3cache.control.StatsSnapshot;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Trains one model over one dataset for some epochs, printing an {@link EpochReport} per epoch.
 * Before each epoch the sampler's order goes to the daemon as a plan (when plans are on); after it
 * the plan is ended and the daemon's figures are read.
 */
public final class TrainingRun {

  /** Everything one run needs. */
  public record Options(Path data, String model, int epochs, int batch, int workers, boolean plan, int imageSize,
      long seed, float learningRate, Path checkpoint) {}

  /** Told of each checkpoint once it is saved (and closed), while the trained model is still open. */
  @FunctionalInterface
  public interface CheckpointListener {
    /** {@code epoch} counts from 1; {@code file} is the saved {@code .params} file. */
    void saved(int epoch, Model model, Path file);
  }

  private final Options options;
  private final DaemonLink daemon;
  private final PrintStream out;
  private final String label;
  /** Each epoch's dataset indices in the order the loader handed them out (for tests). */
  private final List<List<Long>> loadedOrders = new ArrayList<>();
  private final List<int[]> plannedOrders = new ArrayList<>();
  private final List<PlanStatus> plans = new ArrayList<>();
  private CheckpointListener checkpointListener;

  public TrainingRun(Options options, DaemonLink daemon, PrintStream out, String label) {
    this.options = options;
    this.daemon = daemon;
    this.out = out;
    this.label = label;
  }

  public List<List<Long>> loadedOrders() {
    return loadedOrders;
  }

  public List<int[]> plannedOrders() {
    return plannedOrders;
  }

  /** Calls {@code listener} after each checkpoint is saved (e.g. to evaluate or compare it). */
  public TrainingRun onCheckpoint(CheckpointListener listener) {
    this.checkpointListener = listener;
    return this;
  }

  /** Final figures of each epoch's plan (null entries where no plan was sent). */
  public List<PlanStatus> plans() {
    return plans;
  }

  public List<EpochReport> run() throws TrainException {
    SampleList samples = SampleList.open(options.data());
    if (samples.classes().size() < 2) {
      throw new TrainException(options.data() + " has " + samples.classes().size()
          + " class; training needs at least 2");
    }
    EpochPlanner planner = new EpochPlanner(options.seed(), samples.size());
    PlanSampler sampler = new PlanSampler(planner, options.batch());
    ImageFileDataset dataset = ImageFileDataset.builder(samples, options.imageSize()).setSampling(sampler).build();
    int classes = samples.classes().size();
    AtomicInteger n = new AtomicInteger();
    ExecutorService workers = Executors.newFixedThreadPool(options.workers(), r -> {
      Thread t = new Thread(r, "decode-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    Engine.getInstance().setRandomSeed((int) options.seed());
    List<EpochReport> reports = new ArrayList<>();
    try (Model model = Model.newInstance("s3cache-" + options.model())) {
      model.setBlock(Models.build(options.model(), classes));
      DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
          .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(options.learningRate())).build())
          .optDevices(Engine.getInstance().getDevices(1));
      try (Trainer trainer = model.newTrainer(config)) {
        trainer.initialize(new Shape(1, 3, options.imageSize(), options.imageSize()));
        for (int epoch = 0; epoch < options.epochs(); epoch++) {
          sampler.setEpoch(epoch);
          EpochReport r = epoch(trainer, dataset, sampler, workers, epoch);
          reports.add(r);
          out.println(r.line());
          if (options.checkpoint() != null) {
            String name = "s3cache-" + options.model();
            try {
              model.setProperty("Epoch", String.valueOf(epoch + 1));
              model.save(options.checkpoint(), name);
            } catch (IOException e) {
              throw new TrainException("cannot save a checkpoint in " + options.checkpoint() + ": " + e.getMessage(), e);
            }
            if (checkpointListener != null) {
              checkpointListener.saved(epoch + 1, model,
                  options.checkpoint().resolve(String.format(Locale.ROOT, "%s-%04d.params", name, epoch + 1)));
            }
          }
        }
      }
    } finally {
      workers.shutdownNow();
    }
    return reports;
  }

  /** The device training runs on (a GPU when the engine has one). */
  public static Device device() {
    return Engine.getInstance().defaultDevice();
  }

  private EpochReport epoch(Trainer trainer, ImageFileDataset dataset, PlanSampler sampler, ExecutorService workers,
      int epoch) throws TrainException {
    int[] order = sampler.order();
    plannedOrders.add(order);
    // Counted from before the plan goes out: the epoch's S3 traffic includes its plan's prefetch,
    // which can be over before the loader's first read (a small epoch on a fast store).
    StatsSnapshot before = daemon.stats();
    boolean planned = options.plan() && daemon.sendPlan(epoch, dataset.samples().paths(order));
    long start = System.nanoTime();
    BatchLoader loader = new BatchLoader(dataset, sampler, workers, 2 * options.workers());
    long correct = 0;
    long seen = 0;
    double lossSum = 0;
    int steps = 0;
    int size = options.imageSize();
    try {
      while (loader.hasNext()) {
        BatchLoader.LoadedBatch batch = loader.next();
        int b = batch.labels().length;
        if (b == 0) {
          continue;
        }
        float[] flat = new float[b * 3 * size * size];
        for (int i = 0; i < b; i++) {
          System.arraycopy(batch.images().get(i), 0, flat, i * 3 * size * size, 3 * size * size);
        }
        try (NDManager m = trainer.getManager().newSubManager()) {
          NDArray x = m.create(flat, new Shape(b, 3, size, size));
          NDArray y = m.create(batch.labels());
          try (GradientCollector gc = trainer.newGradientCollector()) {
            NDList preds = trainer.forward(new NDList(x));
            NDArray loss = trainer.getLoss().evaluate(new NDList(y), preds);
            gc.backward(loss);
            lossSum += loss.getFloat();
            NDArray predicted = preds.singletonOrThrow().argMax(1).toType(DataType.INT64, false);
            correct += predicted.eq(y.toType(DataType.INT64, false)).countNonzero().getLong();
          }
          trainer.step();
        }
        seen += b;
        steps++;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      loader.cancel();
      throw new TrainException("training interrupted");
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    PlanStatus plan = planned ? daemon.endPlan() : null;
    plans.add(plan);
    StatsSnapshot after = daemon.stats();
    loadedOrders.add(List.copyOf(loader.order()));
    if (!loader.skipped().isEmpty()) {
      out.println(label + " epoch " + (epoch + 1) + ": skipped " + loader.skipped().size() + " unreadable images, first: "
          + loader.skipped().get(0));
    }
    double hit = Double.NaN;
    long fromS3 = -1;
    io.s3cache.s3.RequestCounts requests = null;
    if (before != null && after != null) {
      requests = after.requests().minus(before.requests());
      long blocks = after.blocksRead() - before.blocksRead();
      long fetched = after.blocksFetchedByReaders() - before.blocksFetchedByReaders();
      hit = blocks == 0 ? Double.NaN : 1 - fetched / (double) blocks;
      fromS3 = after.bytesFromS3() - before.bytesFromS3();
    }
    return new EpochReport(label, epoch, options.epochs(), (int) seen, seconds,
        loader.waitNanos() / 1e9 / Math.max(seconds, 1e-9), hit, fromS3, requests, plan == null ? -1 : plan.onDemandGets(),
        seen == 0 ? 0 : correct / (double) seen, steps == 0 ? 0 : lossSum / steps, loader.skipped().size());
  }
}
