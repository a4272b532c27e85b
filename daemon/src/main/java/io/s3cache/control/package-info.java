/**
 * The control plane: HTTP/1.1 + JSON on the daemon's Unix domain socket (owner-only, peer uid
 * checked), and optionally on TCP. {@link io.s3cache.control.ControlApi} is what the daemon offers;
 * {@link io.s3cache.control.ControlServer} maps requests onto it and
 * {@link io.s3cache.control.ControlClient} is the CLI's side. The records of this package are the
 * JSON bodies, field for field (component names are the JSON names).
 *
 * <p>Routes (docs/CONTROL-API.md has examples and status codes):
 *
 * <pre>
 * GET    /health                  → Health
 * GET    /mounts                  → [MountInfo]
 * POST   /mounts   MountRequest   → MountInfo
 * DELETE /mounts?path=/abs/path   → {}
 * POST   /preload  PreloadRequest → 200 application/x-ndjson, one PreloadProgress per line
 * GET    /stats[?mount=/abs/path] → StatsSnapshot
 * POST   /evict    EvictRequest   → EvictResult
 * GET    /metrics                 → Prometheus text 0.0.4
 * POST   /shutdown                → {} (then ControlApi.shutdown())
 * </pre>
 *
 * <p>Errors are {@code {"error": "one line"}} with the status of the {@link
 * io.s3cache.control.ControlException}; 500 for anything unexpected.
 */
package io.s3cache.control;
