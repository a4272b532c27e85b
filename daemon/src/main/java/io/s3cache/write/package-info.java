/**
 * The write path of a writable ({@code -o rw}) mount, in one place: staging on the cache disk, the
 * journal, the live stages, uploads (single PUT, multipart, streaming), recovery at mount and what
 * unmount leaves behind. {@code io.s3cache.fs} calls it through {@link io.s3cache.write.WritePath}
 * (and its handles, {@link io.s3cache.write.WriteStage}); the write path reaches the namespace
 * through {@link io.s3cache.write.NamespacePort}, which {@code fs} implements. Everything else here
 * is package-private, except what mounting builds: {@link io.s3cache.write.WriteConfig}, {@link
 * io.s3cache.write.StagingArea} and {@link io.s3cache.write.ObjectUploader}.
 *
 * <p>Words: a <em>stage</em> ({@code WriteStage}) is a path of the mount being written or waiting
 * for its upload, in memory, with its lock; its <em>staged file</em> ({@code StagedFile}) is its
 * bytes and journal entry on the cache disk.
 *
 * <h2>How a close becomes an object in S3</h2>
 *
 * <ol>
 *   <li><b>Open.</b> {@code WritePath.open} finds the path's stage in {@code WriteStages} (the live
 *       stages by path) or makes one: a new file, or an existing object whose bytes are copied onto
 *       the cache disk at the first write into it ({@code StageIo}, up to {@code write_copy_max}).
 *   <li><b>Stage on the cache disk.</b> {@code StagingArea} (the {@code staging/} directory under
 *       the cache directory) creates the staged file: {@code ID.data} and its journal entry {@code
 *       ID.meta} (bucket, key, state). Writes go to {@code ID.data} at their offsets ({@code
 *       StageIo}); a full disk is ENOSPC and marks the stage so it is never uploaded.
 *   <li><b>Journal states.</b> The journal says {@code OPEN} before the bytes change (a crash from
 *       then on must not upload them), {@code CLOSED} once the writer closed or fsynced (the upload
 *       is owed) and {@code UPLOADED} once S3 has the bytes. It is rewritten only when the key or
 *       state changes, never per write.
 *   <li><b>Streaming parts.</b> A file written in order from offset 0 (not temp-named) starts a
 *       {@code StreamingUpload} at its first write: each part is sent ({@code upload-BUCKET-N})
 *       while the file is still written, and its upload id is journaled so a restart can abort it.
 *       Any other write pattern, a truncate, rename or unlink breaks it off and aborts it.
 *   <li><b>Upload on close or fsync.</b> {@code WritePath.flush} (FUSE flush of a writer, or fsync)
 *       calls {@code CloseUploads.upload} under the stage's write lock and a {@code KeyLocks}
 *       stripe of its key: journal {@code CLOSED}, then the streaming upload's remaining parts and
 *       completion, or else {@code ObjectUploader} (one PUT below {@code multipart_threshold},
 *       parallel multipart above), then journal {@code UPLOADED}; the call returns once S3 has it.
 *       Temp-named files are only journaled {@code CLOSED} and go up once, at rename ({@code
 *       NamespaceChanges}), or after {@code temp_upload_delay}.
 *   <li><b>Cache fill.</b> After the close returned, {@code cache-fill-BUCKET} copies the uploaded
 *       bytes from the staged file into the block cache under the new ETag, stopping when the
 *       stage's generation moves; then the stage is dropped and its staged file deleted.
 *   <li><b>Recovery at mount.</b> {@code Leftovers.recover} reads the journal entries this mount's
 *       bucket and prefix left: {@code CLOSED} ones are uploaded now, {@code OPEN} ones (maybe
 *       incomplete) are moved to {@code staging/incomplete/} with a WARN, {@code UPLOADED} ones are
 *       deleted, and multipart uploads left by streaming are aborted.
 *   <li><b>Leftovers at unmount.</b> {@code Leftovers.unmount} uploads the closed files nobody holds
 *       whose bytes S3 lacks (temp files nobody renamed); what is still owed after that (a failed
 *       upload, a file still open) stays staged for the next mount to recover.
 * </ol>
 *
 * <p>unlink, mkdir, rmdir and rename act on S3 directly ({@code NamespaceChanges}), keeping the
 * stages and the metadata cache in step. Locks and threads: docs/THREADING.md, item 10.
 */
package io.s3cache.write;
