package io.s3cache.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.github.benmanes.caffeine.cache.Ticker;
import io.s3cache.testing.InMemoryObjectClient;
import io.s3cache.testing.ManualExecutor;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Past metadata_ttl, answers are served stale while their directory is re-listed in the background
 * (issue 14: a warm epoch made a serial HEAD + LIST per open once the TTL had run out).
 */
class StaleWhileRevalidateTest {

  private static final Duration TTL = Duration.ofSeconds(60);
  private static final Duration MAX_STALE = Duration.ofMinutes(10);

  private final AtomicLong nanos = new AtomicLong();
  private final Ticker ticker = nanos::get;
  private final InMemoryObjectClient client = new InMemoryObjectClient("bkt");
  private final ManualExecutor background = new ManualExecutor();

  private Namespace namespace(Duration ttl, Duration maxStale) {
    return new Namespace(client, "", new MetadataCache(ttl, maxStale, 1000, ticker, null, "bkt", "",
        Clock.systemUTC()), Instant.now(), background);
  }

  private void advance(Duration d) {
    nanos.addAndGet(d.toNanos());
  }

  private static String etag(Node node) {
    return ((Node.File) node).meta().etag();
  }

  @Test
  void staleAnswersComeAtOnceAndOneListRefreshesTheWholeDirectory() throws Exception {
    for (int i = 0; i < 50; i++) {
      client.put("d/f" + i, new byte[] {(byte) i});
    }
    Namespace ns = namespace(TTL, MAX_STALE);
    ns.list("/d");
    advance(TTL.plusSeconds(1));
    int before = client.requests();

    String oldEtag = etag(ns.resolve("/d/f7"));
    client.put("d/f7", new byte[] {1, 2, 3}); // changed in S3 meanwhile
    for (int i = 0; i < 50; i++) {
      ns.resolve("/d/f" + i); // every open of the epoch: answered from the stale cache
    }
    assertEquals(before, client.requests(), "stale answers must not wait on S3");
    assertEquals(1, background.pending(), "one re-list of the directory, not one per file");

    background.runAll();
    assertEquals(before + 1, client.requests(), "one LIST refreshes 50 entries");
    assertEquals(3, ((Node.File) ns.resolve("/d/f7")).meta().size());
    assertEquals(false, oldEtag.equals(etag(ns.resolve("/d/f7"))));
    assertEquals(0, background.pending(), "fresh again: nothing more to refresh");
  }

  @Test
  void aReListForgetsChildrenThatAreGone() throws Exception {
    client.put("d/a", new byte[] {1});
    client.put("d/gone", new byte[] {1});
    Namespace ns = namespace(TTL, MAX_STALE);
    ns.list("/d");
    advance(TTL.plusSeconds(1));
    client.delete("d/gone");
    ns.list("/d");
    background.runAll();
    assertSame(Node.ABSENT, ns.resolve("/d/gone"));
    assertEquals(0, background.pending());
  }

  @Test
  void pastTheStaleWindowALookupWaitsForS3() throws Exception {
    client.put("d/a", new byte[] {1});
    Namespace ns = namespace(TTL, MAX_STALE);
    ns.list("/d");
    advance(TTL.plus(MAX_STALE).plusSeconds(1));
    int before = client.requests();
    client.delete("d/a");
    assertSame(Node.ABSENT, ns.resolve("/d/a"));
    assertEquals(0, background.pending());
    assertEquals(true, client.requests() > before);
  }

  @Test
  void zeroMaxStaleKeepsTheStrictTtl() throws Exception {
    client.put("d/a", new byte[] {1});
    Namespace ns = namespace(TTL, Duration.ZERO);
    ns.list("/d");
    advance(TTL.plusSeconds(1));
    client.delete("d/a");
    assertSame(Node.ABSENT, ns.resolve("/d/a"));
    assertEquals(0, background.pending());
  }

  @Test
  void aPathNeverListedIsLookedUpAgainOnItsOwn() throws Exception {
    client.put("d/a", new byte[] {1});
    Namespace ns = namespace(TTL, MAX_STALE);
    assertInstanceOf(Node.File.class, ns.resolve("/d/a"));
    advance(TTL.plusSeconds(1));
    client.delete("d/a");
    assertInstanceOf(Node.File.class, ns.resolve("/d/a"), "stale answer first");
    int lists = client.lists.get();
    background.runAll();
    assertEquals(lists + 1, client.lists.get(), "only this path is asked about, not its directory");
    assertSame(Node.ABSENT, ns.resolve("/d/a"));
  }

  @Test
  void aBackgroundRelistNeverUndoesAWriteMadeMeanwhile() throws Exception {
    client.put("d/a", new byte[] {1});
    Namespace ns = namespace(TTL, MAX_STALE);
    ns.list("/d");
    advance(TTL.plusSeconds(1));
    ns.resolve("/d/a"); // queues the re-list; S3 has no "d/new" yet when it runs
    ns.written("/d/new", new Node.File(new io.s3cache.s3.ObjectMeta("d/new", 1, Instant.now(), "e1")));
    background.runAll();
    assertInstanceOf(Node.File.class, ns.resolve("/d/new"));
    assertEquals(true, ns.list("/d").children().containsKey("new"));
  }

  /** A cold epoch opening files without a readdir made a LIST and a HEAD per file (issue 14). */
  @Test
  void lookupsInANeverListedDirectoryCostOneListForTheWholeDirectory() throws Exception {
    for (int i = 0; i < 300; i++) {
      client.put("small/f" + i, new byte[] {(byte) i});
    }
    Namespace ns = namespace(TTL, MAX_STALE);
    for (int i = 0; i < 300; i++) {
      assertInstanceOf(Node.File.class, ns.resolve("/small/f" + i));
    }
    assertSame(Node.ABSENT, ns.resolve("/small/none"));
    assertEquals(1, client.lists.get(), "one LIST page answers every lookup in the directory");
    assertEquals(0, client.heads.get());
  }

  @Test
  void aDirectoryLargerThanOnePageIsLookedUpPathByPath() throws Exception {
    for (int i = 0; i < 1001; i++) {
      client.put("big/f" + i, new byte[] {1});
    }
    Namespace ns = namespace(TTL, MAX_STALE);
    assertInstanceOf(Node.File.class, ns.resolve("/big/f1"));
    int afterFirst = client.requests();
    assertInstanceOf(Node.File.class, ns.resolve("/big/f2"));
    assertEquals(afterFirst + 2, client.requests(), "a LIST and a HEAD, no second page listing");
  }

  @Test
  void indefiniteTtlNeverGoesStale() throws Exception {
    client.put("d/a", new byte[] {1});
    Namespace ns = namespace(Duration.ofSeconds(Long.MAX_VALUE), MAX_STALE);
    ns.list("/d");
    advance(Duration.ofDays(3650));
    ns.resolve("/d/a");
    assertEquals(0, background.pending());
  }
}
