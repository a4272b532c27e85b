/**
 * Files only the daemon's user may read: the process umask (077), owner-only directories and
 * files created without following symbolic links, and tightening what an older version left open.
 */
package io.s3cache.files;
