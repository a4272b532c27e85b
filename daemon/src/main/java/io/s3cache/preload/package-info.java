/** Preload: list a prefix in parallel and load every block not yet cached into the disk tier. */
package io.s3cache.preload;
