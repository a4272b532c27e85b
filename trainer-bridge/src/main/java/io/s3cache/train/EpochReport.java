package io.s3cache.train;

import io.s3cache.config.ByteSize;
import io.s3cache.s3.RequestCounts;
import java.util.Locale;

/**
 * What one epoch did.
 *
 * @param dataWaitFraction time the trainer waited for data / epoch wall time
 * @param hitRatio of block reads through the mount, the share that did not wait for an S3 GET of
 *     the reader's own (NaN without daemon figures, or when the kernel page cache served every read)
 * @param bytesFromS3 bytes the daemon fetched from S3 during the epoch (-1 without a daemon)
 * @param requests S3 requests the daemon sent during the epoch, by kind (null without a daemon)
 * @param onDemandGets blocks readers fetched themselves during the epoch's plan (-1 without a plan)
 */
public record EpochReport(String label, int epoch, int epochs, int samples, double seconds, double dataWaitFraction,
    double hitRatio, long bytesFromS3, RequestCounts requests, long onDemandGets, double accuracy, double loss, int skipped) {

  public double samplesPerSecond() {
    return samples / Math.max(seconds, 1e-9);
  }

  public String line() {
    return String.format(Locale.ROOT,
        "%s epoch %d/%d: %.2f s, %.0f samples/s, data wait %.2f, cache hit %s, from S3 %s, on-demand GETs %s, "
            + "train acc %.3f, loss %.3f%s",
        label, epoch + 1, epochs, seconds, samplesPerSecond(), dataWaitFraction,
        Double.isNaN(hitRatio) ? "n/a" : String.format(Locale.ROOT, "%.3f", hitRatio),
        bytesFromS3 < 0 || requests == null ? "n/a"
            : ByteSize.format(bytesFromS3) + " (" + requests.describe() + ")",
        onDemandGets < 0 ? "n/a (no plan)" : String.valueOf(onDemandGets),
        accuracy, loss, skipped == 0 ? "" : ", skipped " + skipped + " unreadable images");
  }
}
