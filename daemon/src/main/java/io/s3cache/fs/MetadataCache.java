package io.s3cache.fs;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Stat results and directory listings, each trusted for {@code metadata_ttl} after it was fetched.
 * Keys are mount paths ("/a/b"). A zero TTL caches nothing.
 */
final class MetadataCache {

  /** A directory's children by name, in listing order. */
  record Listing(Map<String, Node> children) {}

  private final Cache<String, Node> nodes;
  private final Cache<String, Listing> listings;

  MetadataCache(Duration ttl, long maxNodes, Ticker ticker) {
    this.nodes = Caffeine.newBuilder().expireAfterWrite(ttl).maximumSize(maxNodes).ticker(ticker)
        .executor(Runnable::run).build();
    this.listings = Caffeine.newBuilder().expireAfterWrite(ttl).maximumSize(Math.max(1, maxNodes / 64))
        .ticker(ticker).executor(Runnable::run).build();
  }

  Node node(String path) {
    return nodes.getIfPresent(path);
  }

  void putNode(String path, Node node) {
    nodes.put(path, node);
  }

  Listing listing(String dir) {
    return listings.getIfPresent(dir);
  }

  /** Caches a listing and, for each child, its node (so a stat after readdir asks S3 nothing). */
  void putListing(String dir, Listing listing) {
    listings.put(dir, listing);
    String base = dir.equals("/") ? "/" : dir + "/";
    listing.children().forEach((name, node) -> nodes.put(base + name, node));
  }

  /** Forgets a path and, if a directory, its listing. */
  void invalidate(String path) {
    nodes.invalidate(path);
    listings.invalidate(path);
  }

  static List<String> parentAndName(String path) {
    int slash = path.lastIndexOf('/');
    String parent = slash == 0 ? "/" : path.substring(0, slash);
    return List.of(parent, path.substring(slash + 1));
  }
}
