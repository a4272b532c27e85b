package io.s3cache.mount;

import com.codahale.metrics.MetricRegistry;
import io.s3cache.cache.TieredBlockCache;
import io.s3cache.fs.S3Filesystem;
import io.s3cache.fuse.FuseMount;
import io.s3cache.fuse.MountException;
import io.s3cache.metrics.MetricNames;
import io.s3cache.metrics.MetricsObserver;
import io.s3cache.plan.MountPlans;
import io.s3cache.cache.BlockCache;
import io.s3cache.s3.CountingObjectClient;
import io.s3cache.s3.MountCredentialsProvider;
import io.s3cache.s3.ReadGrants;
import io.s3cache.s3.ObjectClient;
import io.s3cache.s3.ObjectClientException;
import io.s3cache.s3.ObjectClients;
import io.s3cache.s3.RequestCounts;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;

/**
 * One bucket mounted: owns its S3 client, its filesystem and its FUSE mount, and uses a shared
 * {@link CacheRuntime} (or, standalone, one of its own). Opens in that order and closes in reverse;
 * a failure while opening closes whatever was opened, so nothing is left mounted or locked.
 */
public final class BucketMount implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(BucketMount.class);

  private final MountSpec spec;
  private final Deque<AutoCloseable> resources;
  private final FuseMount fuse;
  private final S3Filesystem filesystem;
  private final MountPlans plans;
  private final CountingObjectClient counted;
  private final ObjectClient client;
  private final BlockCache blocks;
  private final MountCredentialsProvider credentials;
  private final CacheRuntime runtime;

  private BucketMount(MountSpec spec, Deque<AutoCloseable> resources, FuseMount fuse, S3Filesystem filesystem,
      MountPlans plans, CountingObjectClient counted, ObjectClient client, BlockCache blocks,
      MountCredentialsProvider credentials, CacheRuntime runtime) {
    this.spec = spec;
    this.counted = counted;
    this.blocks = blocks;
    this.credentials = credentials;
    this.resources = resources;
    this.fuse = fuse;
    this.filesystem = filesystem;
    this.plans = plans;
    this.client = client;
    this.runtime = runtime;
  }

  /**
   * A mount with a cache of its own (built from {@code spec.cache()}), for a single-mount process
   * (the foreground mode, the demo, tests).
   *
   * @param credentials null for the SDK's default chain
   */
  public static BucketMount open(MountSpec spec, MetricRegistry metrics, AwsCredentialsProvider credentials)
      throws MountException {
    FuseMount.checkMountPoint(spec.mountPoint());
    CacheRuntime runtime;
    try {
      runtime = CacheRuntime.open(spec.cache(), spec.readAhead(), spec.s3().maxConnections(), metrics);
    } catch (IOException e) {
      throw new MountException(e.getMessage(), e);
    }
    try {
      BucketMount mount = attach(spec, runtime, metrics, credentials);
      mount.resources.addLast(runtime); // closed last, after the mount is gone
      return mount;
    } catch (MountException | RuntimeException e) {
      closeQuietly(runtime);
      throw e;
    }
  }

  /** Whether the SDK found no credentials anywhere (its message lists every provider it tried). */
  private static boolean noCredentials(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getMessage() != null && t.getMessage().startsWith("Unable to load credentials from any of the providers")) {
        return true;
      }
    }
    return e.getMessage() != null && e.getMessage().contains("Unable to load credentials from any of the providers");
  }

  /**
   * A mount over a shared cache. Checks the mount point and the bucket, then mounts. Every failure
   * is a {@link MountException} with one line a user can act on.
   *
   * @param credentials what the mount signs with: a {@link MountCredentialsProvider} becomes the
   *     mount's (closed with it); any other provider is used as given (not closed); null means the
   *     spec's profile if it names one, else the SDK's default chain
   */
  public static BucketMount attach(MountSpec spec, CacheRuntime runtime, MetricRegistry metrics,
      AwsCredentialsProvider credentials) throws MountException {
    Deque<AutoCloseable> opened = new ArrayDeque<>();
    try {
      MountCredentialsProvider signer = signer(spec, credentials);
      opened.push(signer); // closed on every failure below, a bad mount point too
      FuseMount.checkMountPoint(spec.mountPoint());
      signer.attach(spec.mountPoint().toString(), metrics.counter(MetricNames.S3_CREDENTIALS_REFUSED));
      CountingObjectClient counted =
          new CountingObjectClient(ObjectClients.create(spec.bucket(), spec.s3(), metrics, signer));
      opened.push(counted);
      // Every request of the mount goes through grants' client, so what its credentials read is known.
      ReadGrants grants = new ReadGrants(counted, 1_000_000);
      ObjectClient client = grants.client();
      client.checkBucket();
      runtime.register(spec.bucket(), spec.s3().endpointLabel());
      opened.push(() -> runtime.unregister(spec.bucket()));
      // This mount's view of the shared cache: the blocks it misses come through its own client,
      // and cached ones reach it only once its own credentials may read them.
      BlockCache blocks = new GrantedBlocks(runtime.cache().through(new MountSource(client)), grants);
      MountPlans plans = new MountPlans(metrics.counter(MetricNames.PLAN_ONDEMAND_GETS));
      S3Filesystem.Builder filesystem = S3Filesystem.builder(spec.fs(), client, blocks, metrics)
          .prefetcher(runtime.prefetcher())
          .metadataDb(runtime.database())
          .readObserver(plans);
      if (spec.writable()) {
        makeWritable(spec, runtime, client, filesystem, opened);
      }
      S3Filesystem fs = filesystem.build(); // a writable one uploads what an earlier run left staged
      opened.push(fs::close); // background metadata refreshes stop after the FUSE mount is gone
      if (spec.writable()) {
        opened.push(fs::closeWrites); // runs after the FUSE mount is gone, before the pools stop
      }
      FuseMount fuse = FuseMount.mount(fs, spec.mountPoint(), spec.fuseOptions(), new MetricsObserver(metrics),
          spec.mountTimeout());
      opened.push(fuse);
      if (spec.kernelReadAhead() > 0) {
        fuse.setKernelReadAhead(spec.kernelReadAhead());
      }
      return new BucketMount(spec, opened, fuse, fs, plans, counted, client, blocks, signer, runtime);
    } catch (ObjectClientException e) {
      closeAll(opened);
      if (noCredentials(e)) {
        throw new MountException("no AWS credentials for s3://" + spec.bucket() + ": set AWS_ACCESS_KEY_ID and "
            + "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) where you run mount, or give the daemon a profile or role", e);
      }
      throw new MountException(e.getMessage(), e);
    } catch (IOException e) {
      closeAll(opened);
      throw new MountException(e.getMessage(), e);
    } catch (MountException | RuntimeException e) {
      closeAll(opened);
      throw e;
    }
  }

  private static MountCredentialsProvider signer(MountSpec spec, AwsCredentialsProvider given) {
    if (given instanceof MountCredentialsProvider m) {
      return m;
    }
    if (given != null) {
      return MountCredentialsProvider.shared(given, "the credentials the mount was given");
    }
    return spec.profile() != null ? MountCredentialsProvider.profile(spec.profile())
        : MountCredentialsProvider.defaultChain();
  }

  /**
   * Makes the filesystem writable: an upload pool, a timer and a cache-fill thread of this mount's own (stopped after
   * the FUSE mount is gone and pending temp files are uploaded), staging under the shared cache dir.
   */
  private static void makeWritable(MountSpec spec, CacheRuntime runtime, ObjectClient client,
      S3Filesystem.Builder filesystem, Deque<AutoCloseable> opened) throws IOException {
    java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.ExecutorService parts = java.util.concurrent.Executors.newFixedThreadPool(
        spec.write().uploadThreads(), r -> {
          Thread t = new Thread(r, "upload-" + spec.bucket() + "-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    opened.push(() -> { // let queued aborts of uploads cut short by the unmount run
      parts.shutdown();
      if (!parts.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS)) {
        parts.shutdownNow();
      }
    });
    java.util.concurrent.ScheduledThreadPoolExecutor timer = new java.util.concurrent.ScheduledThreadPoolExecutor(1,
        r -> {
          Thread t = new Thread(r, "temp-upload-" + spec.bucket());
          t.setDaemon(true);
          return t;
        });
    opened.push(timer::shutdownNow);
    // One thread copies uploaded files into the block cache after their close returned.
    java.util.concurrent.ExecutorService fills = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "cache-fill-" + spec.bucket());
      t.setDaemon(true);
      return t;
    });
    opened.push(fills::shutdownNow);
    filesystem.writable(spec.write(), runtime.staging(),
        new io.s3cache.write.ObjectUploader(client, spec.write(), parts), timer, fills);
  }

  public MountSpec spec() {
    return spec;
  }

  public Path mountPoint() {
    return fuse.mountPoint();
  }

  public TieredBlockCache tieredCache() {
    return runtime.cache();
  }

  public S3Filesystem filesystem() {
    return filesystem;
  }

  /** This mount's epoch plan slot. */
  public MountPlans plans() {
    return plans;
  }

  /** This mount's client: its endpoint, settings and credentials. */
  public ObjectClient client() {
    return client;
  }

  /** The shared cache as this mount reads it: blocks it misses are fetched through {@link #client()}. */
  public BlockCache blocks() {
    return blocks;
  }

  /** What this mount signs its requests with; {@code s3cache credentials} replaces it. */
  public MountCredentialsProvider credentials() {
    return credentials;
  }

  /** The S3 requests this mount has sent since it was mounted. */
  public RequestCounts requests() {
    return counted.counts();
  }

  /**
   * {@code s3cache refresh}: drops cached metadata at or under {@code fsPath} (a path inside the
   * mount, "/" for its root), asks S3 again, and makes the kernel drop its entries for it.
   *
   * @return what was dropped, and whether the kernel could be told
   */
  public Refreshed refresh(String fsPath) throws io.s3cache.fuse.FsException {
    S3Filesystem.RefreshOutcome outcome = filesystem.refresh(fsPath);
    boolean kernel = true;
    for (String name : outcome.rootNames()) {
      kernel &= fuse.invalidateRootEntry(name);
    }
    return new Refreshed(outcome.dropped(), kernel);
  }

  /**
   * @param dropped cached metadata entries forgotten
   * @param kernelNotified whether the kernel dropped its cached entries too (if not, it keeps them
   *     until their timeouts run out)
   */
  public record Refreshed(int dropped, boolean kernelNotified) {}

  /** Completes when the mount goes away (s3cache unmount, umount, fusermount -u). */
  public CompletableFuture<Void> terminated() {
    return fuse.terminated();
  }

  /** Unmounts; fails with a clear message if the mount is busy, leaving it mounted and working. */
  public void unmount() throws MountException {
    fuse.unmount();
    close();
  }

  /** Unmounts (lazily if busy) and releases everything. Idempotent. */
  @Override
  public void close() {
    plans.endAll(null); // an epoch plan must not prefetch for a mount that is gone
    closeAll(resources);
  }

  private static void closeAll(Deque<AutoCloseable> resources) {
    synchronized (resources) {
      while (!resources.isEmpty()) {
        closeQuietly(resources.pop());
      }
    }
  }

  private static void closeQuietly(AutoCloseable r) {
    try {
      r.close();
    } catch (Exception e) {
      LOG.warn("closing {} failed: {}", r, e.toString());
    }
  }
}
