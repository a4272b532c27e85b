/**
 * The host daemon: one shared cache, the mounts it serves, and the control API's operations
 * (mount, unmount, preload, stats, evict, health, shutdown).
 */
package io.s3cache.daemon;
