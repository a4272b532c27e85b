package io.s3cache.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.Counter;
import io.s3cache.cache.BlockKey;
import io.s3cache.readahead.Prefetcher;
import io.s3cache.s3.ObjectMeta;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Several plans on one mount: which plan an open advances, the shared prefetch pool, follow-on
 * plans, ending plans by id and by client process. Fetches are recorded and completed by hand.
 */
class MountPlansTest {

  private static final int BLOCK = 1 << 20;

  /** A prefetcher stand-in: records each start, completes it when told. */
  private static final class Starts {
    final List<String> started = new ArrayList<>();
    final Map<String, Prefetcher.Completion> pending = new HashMap<>();
    final Map<String, BlockKey> keys = new HashMap<>();

    Prefetcher.Outcome start(BlockKey key, int length, Prefetcher.Completion done) {
      String k = key.key();
      started.add(k);
      pending.put(k, done);
      keys.put(k, key);
      return Prefetcher.Outcome.STARTED;
    }

    void complete(String key) {
      pending.remove(key).done(keys.get(key), 1000, true);
    }

    void completeAll() {
      while (!pending.isEmpty()) {
        complete(pending.keySet().iterator().next());
      }
    }
  }

  private final Starts starts = new Starts();
  private final Counter onDemand = new Counter();
  private final MountPlans plans = new MountPlans(onDemand);

  private static List<PlannedFile> files(String prefix, int n) {
    List<PlannedFile> files = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      files.add(new PlannedFile("/" + prefix + i, new ObjectMeta(prefix + i, 1000, Instant.EPOCH, "\"e\"")));
    }
    return files;
  }

  private EpochPlan plan(String id, String name, List<PlannedFile> files, int window, PlanShare share) {
    return new EpochPlan(new EpochPlan.Identity(id, name, null), "/mnt", "bkt", 1, files, BLOCK,
        new PlanLimits(window, 1L << 30, 8L * BLOCK, 1), starts::start, share, new Counter(), new Counter());
  }

  private EpochPlan plan(String id, String name, List<PlannedFile> files, int window) {
    return plan(id, name, files, window, PlanShare.unlimited());
  }

  @Test
  void plansOfTwoNamesAdvanceIndependentlyByTheFilesTheyHold() {
    EpochPlan a = plan("p1", "rank0", files("a", 10), 2);
    EpochPlan b = plan("p2", "rank1", files("b", 10), 2);
    assertEquals(List.of(), plans.install(a, false));
    assertEquals(List.of(), plans.install(b, false), "another name runs beside it");
    assertEquals(List.of(a, b), plans.active());
    plans.onOpen("/b0");
    plans.onOpen("/b1");
    plans.onOpen("/a0");
    assertEquals(1, a.status().readerPosition());
    assertEquals(2, b.status().readerPosition());
    starts.completeAll();
    assertEquals(List.of("a0", "a1", "b0", "b1", "b2", "b3", "a2"), starts.started);
  }

  @Test
  void anOpenOfAFileTwoPlansHoldAdvancesThePlanWhoseReaderIsNearestToIt() {
    // Both plans hold every file; rank 0 reads x0.., rank 1 reads x9 down to x0.
    List<PlannedFile> up = files("x", 10);
    List<PlannedFile> down = new ArrayList<>(up);
    java.util.Collections.reverse(down);
    EpochPlan a = plan("p1", "rank0", up, 2);
    EpochPlan b = plan("p2", "rank1", down, 2);
    plans.install(a, false);
    plans.install(b, false);
    plans.onOpen("/x9"); // next for b, 9 files ahead for a
    plans.onOpen("/x0"); // next for a, 8 files ahead for b now
    plans.onOpen("/x8");
    assertEquals(1, a.status().readerPosition());
    assertEquals(2, b.status().readerPosition());
  }

  @Test
  void plansShareThePrefetchPoolFairly() {
    PlanShare share = new PlanShare(4);
    EpochPlan a = plan("p1", "rank0", files("a", 10), 10, share);
    plans.install(a, false);
    assertEquals(4, a.status().inflightBlocks(), "alone it has the whole pool");
    EpochPlan b = plan("p2", "rank1", files("b", 10), 10, share);
    plans.install(b, false);
    assertEquals(2, b.status().inflightBlocks(), "a second plan gets half");
    starts.complete("a0");
    starts.complete("a1");
    starts.complete("a2");
    assertEquals(2, a.status().inflightBlocks(), "the first starts no more than its half");
    starts.complete("b0");
    assertEquals(2, b.status().inflightBlocks());
    plans.endAll("rank1");
    assertEquals(1, share.running());
    starts.complete("a3");
    assertEquals(4, a.status().inflightBlocks(), "alone again: the whole pool");
  }

  @Test
  void aFollowOnPrefetchesWhenThePlanBeforeItHasAskedForEverythingAndTakesOverAtItsEnd() {
    EpochPlan epoch1 = plan("p1", "rank0", files("f", 4), 2);
    plans.install(epoch1, false);
    EpochPlan epoch2 = plan("p2", "rank0", files("f", 4), 2); // the same files, next epoch
    assertEquals(List.of(), plans.install(epoch2, true));
    assertEquals("queued", epoch2.status().state());
    starts.completeAll();
    assertEquals(List.of("f0", "f1"), starts.started, "the follow-on waits while epoch 1 has files to ask for");

    plans.onOpen("/f0");
    plans.onOpen("/f1"); // epoch 1 has now asked for f2 and f3: the follow-on starts its window
    starts.completeAll();
    assertEquals(List.of("f0", "f1", "f2", "f3", "f0", "f1"), starts.started);
    assertEquals(0, epoch2.status().readerPosition(), "epoch 1's opens do not move epoch 2");
    assertEquals("queued", epoch2.status().state());

    plans.onOpen("/f3"); // epoch 1's last file: epoch 2 takes over
    assertEquals("finished", epoch1.status().state());
    assertEquals("active", epoch2.status().state());
    assertEquals(List.of(epoch2), plans.active());
    plans.onOpen("/f0");
    assertEquals(1, epoch2.status().readerPosition());
    assertSame(epoch1, plans.find("p1"), "a finished plan is kept for its figures");
  }

  @Test
  void endingAPlanByIdLetsItsFollowOnTakeOverAndAPlainPlanReplacesBoth() {
    EpochPlan epoch1 = plan("p1", "r", files("f", 4), 1);
    EpochPlan epoch2 = plan("p2", "r", files("f", 4), 1);
    plans.install(epoch1, false);
    plans.install(epoch2, true);
    assertSame(epoch1, plans.end("p1"));
    assertEquals("ended", epoch1.status().state());
    assertTrue(epoch2.active());

    EpochPlan epoch3 = plan("p3", "r", files("f", 4), 1);
    plans.install(epoch3, true);
    EpochPlan replacement = plan("p4", "r", files("g", 4), 1);
    assertEquals(List.of(epoch2, epoch3), plans.install(replacement, false));
    assertEquals(List.of(replacement), plans.active());
    assertEquals(List.of("p4", "p1", "p2", "p3"), plans.all().stream().map(p -> p.identity().id()).toList());
    assertNull(plans.end("nope"));
  }

  @Test
  void aFollowOnTakesOverWhenAFetchCompletionFinishesThePlanBeforeIt() {
    EpochPlan epoch1 = plan("p1", "r", files("f", 3), 3, new PlanShare(1)); // one fetch at a time
    plans.install(epoch1, false);
    EpochPlan epoch2 = plan("p2", "r", files("f", 3), 3);
    plans.install(epoch2, true);
    plans.onOpen("/f2"); // the last file, opened first by another worker: asked for at once, f1 not yet
    assertEquals(List.of("f0", "f2"), starts.started);
    assertEquals("active", epoch1.status().state());
    starts.complete("f0");
    assertEquals("active", epoch1.status().state(), "its share is one fetch: f2's is still running");
    starts.complete("f2"); // f1 is asked for: every block was, and the last file is open
    assertEquals("finished", epoch1.status().state());
    assertEquals("active", epoch2.status().state(), "promoted from the completion, with no open");
    assertEquals(List.of(epoch2), plans.active());
    assertSame(epoch1, plans.end("p1"), "ending a finished plan answers it...");
    assertSame(epoch1, plans.find("p1"), "...and keeps its figures");
    assertEquals("finished", epoch1.status().state());
  }

  @Test
  void aFollowOnWithNoActivePlanOfItsNameStartsAtOnce() {
    EpochPlan p = plan("p1", "r", files("f", 4), 1);
    plans.install(p, true);
    assertTrue(p.active());
    assertEquals(List.of("f0"), starts.started);
  }

  @Test
  void onDemandGetsCountAgainstThePlanThatHoldsTheFile() {
    EpochPlan a = plan("p1", "rank0", files("a", 4), 1);
    EpochPlan b = plan("p2", "rank1", files("b", 4), 1);
    plans.install(a, false);
    plans.install(b, false);
    plans.onReaderFetches("/b2", 3);
    assertEquals(0, a.status().onDemandGets());
    assertEquals(3, b.status().onDemandGets());
    assertEquals(3, onDemand.getCount());
  }

  @Test
  void plansWhoseClientProcessExitedEnd() throws Exception {
    Process client = new ProcessBuilder("sleep", "60").start();
    try {
      ClientProcess c = ClientProcess.of((int) client.pid());
      assertTrue(c.alive());
      EpochPlan owned = new EpochPlan(new EpochPlan.Identity("p1", "rank0", c), "/mnt", "bkt", 1, files("a", 4),
          BLOCK, new PlanLimits(1, 1L << 30, 8L * BLOCK, 1), starts::start, PlanShare.unlimited(), new Counter(),
          new Counter());
      EpochPlan other = plan("p2", "rank1", files("b", 4), 1);
      plans.install(owned, false);
      plans.install(other, false);
      assertTrue(plans.watchesClients());
      assertEquals(List.of(), plans.endOrphans(), "its client still runs");
      client.destroy();
      client.waitFor();
      assertFalse(c.alive());
      assertEquals(List.of(owned), plans.endOrphans());
      assertEquals("ended", owned.status().state());
      assertEquals(List.of(other), plans.active());
      assertFalse(plans.watchesClients());
    } finally {
      client.destroyForcibly();
    }
  }

  @Test
  void aReusedPidIsNotTheSameClient() {
    ClientProcess self = ClientProcess.of((int) ProcessHandle.current().pid());
    assertTrue(self.alive());
    assertFalse(new ClientProcess(self.pid(), self.startTicks() + 1).alive(), "another start time");
    assertFalse(ClientProcess.of(0).alive());
  }

  @Test
  void onlyTheLastEndedPlansAreKept() {
    for (int i = 0; i < MountPlans.KEPT + 5; i++) {
      plans.install(plan("p" + i, "r", files("f", 2), 1), false);
    }
    assertEquals(MountPlans.KEPT + 1, plans.all().size());
    assertNull(plans.find("p0"));
  }
}
