/**
 * Where the process logs and at which levels: the journal (stdout, under systemd), the console
 * (stderr) or a rotating file (a detached daemon), with per-logger levels from {@code log_level}.
 */
package io.s3cache.logging;
