package dev.cachemount.core;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The result of one push or pull of one cache id, as the CLI prints it with {@code --json}.
 *
 * @param id the cache id
 * @param ref where the snapshot lives, in skopeo's syntax (e.g. {@code oci:/store:m2})
 * @param digest the manifest digest of the snapshot pushed, found unchanged or restored; null on a miss
 * @param files regular files in the snapshot
 * @param bytes logical bytes of the tree: the sum of the file sizes
 * @param bytesTransferred blob and manifest bytes written to the store (push) or read from it (pull)
 * @param blobsUploaded blobs the push wrote to the store
 * @param blobsSkipped blobs the push found already stored, and did not send
 * @param blobsMounted blobs the registry took from another of its repositories instead of an upload
 * @param evictedFiles push with {@code max-size=}: files left out of the snapshot, the least recently used
 * @param evictedBytes their bytes
 * @param filesUnchanged pull: files already in the target with the snapshot's content, not written
 * @param removed pull with {@code mode=mirror}: entries removed because the snapshot lacks them
 * @param error the failure message when {@code result} is {@code failed}
 * @param exitCode the exit code a failure maps to, when {@code result} is {@code failed}
 * @param fallback where the snapshot came from when the id's own tag held none and a {@code fallback=}
 *     prefix matched (in skopeo's syntax): the snapshot a pull restored, or the one a push built on;
 *     null when the id's own tag was used, or none was found
 * @param image push with {@code image=}: the image view written, or found showing this snapshot
 *     already; null without {@code image=}
 * @param warnings how many warnings the operation gave (files left out because a tool was writing
 *     them, entries skipped, ...), each told to the listener; null where not counted
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record OperationResult(
    String id,
    String ref,
    String digest,
    Outcome result,
    long files,
    long directories,
    long symlinks,
    long bytes,
    long bytesTransferred,
    Long blobsUploaded,
    Long blobsSkipped,
    Long blobsMounted,
    Long evictedFiles,
    Long evictedBytes,
    Long filesUnchanged,
    Long removed,
    long durationMs,
    String error,
    Integer exitCode,
    String fallback,
    dev.cachemount.core.image.ImageView.Result image,
    Long warnings) {

  /** A result without a fallback. */
  public OperationResult(String id, String ref, String digest, Outcome result, long files, long directories, long symlinks, long bytes,
      long bytesTransferred, Long blobsUploaded, Long blobsSkipped, Long blobsMounted, Long evictedFiles, Long evictedBytes,
      Long filesUnchanged, Long removed, long durationMs, String error, Integer exitCode) {
    this(id, ref, digest, result, files, directories, symlinks, bytes, bytesTransferred, blobsUploaded, blobsSkipped, blobsMounted,
        evictedFiles, evictedBytes, filesUnchanged, removed, durationMs, error, exitCode, null, null, null);
  }

  /**
   * The same result for the id's own {@code ownRef}, saying which snapshot a fallback found instead
   * (null: none, and the result stays as it is).
   */
  public OperationResult withFallback(String ownRef, String fallbackRef) {
    if (fallbackRef == null) {
      return this;
    }
    return new OperationResult(id, ownRef, digest, result, files, directories, symlinks, bytes, bytesTransferred, blobsUploaded, blobsSkipped,
        blobsMounted, evictedFiles, evictedBytes, filesUnchanged, removed, durationMs, error, exitCode, fallbackRef, image, warnings);
  }

  /**
   * The same result with the image view the push wrote or found, and the push's duration including it.
   * What the view wrote is its own ({@code image.bytesWritten}), not counted in {@link #bytesTransferred}.
   */
  public OperationResult withImage(dev.cachemount.core.image.ImageView.Result view, long totalDurationMs) {
    return new OperationResult(id, ref, digest, result, files, directories, symlinks, bytes, bytesTransferred, blobsUploaded,
        blobsSkipped, blobsMounted, evictedFiles, evictedBytes, filesUnchanged, removed, totalDurationMs, error, exitCode, fallback, view,
        warnings);
  }

  /** The same result, saying how many warnings the operation gave. */
  public OperationResult withWarnings(long count) {
    return new OperationResult(id, ref, digest, result, files, directories, symlinks, bytes, bytesTransferred, blobsUploaded,
        blobsSkipped, blobsMounted, evictedFiles, evictedBytes, filesUnchanged, removed, durationMs, error, exitCode, fallback, image, count);
  }

  /**
   * This result, failed by {@code e} after it was reached (a push whose snapshot was stored, whose
   * image view then failed): it keeps what it names and counts, with {@code failed}, the error and its exit code.
   */
  public OperationResult failedAfter(CachemountException e, long totalDurationMs) {
    return new OperationResult(id, ref, digest, Outcome.FAILED, files, directories, symlinks, bytes, bytesTransferred, blobsUploaded,
        blobsSkipped, blobsMounted, evictedFiles, evictedBytes, filesUnchanged, removed, totalDurationMs, e.getMessage(), e.kind().exitCode(),
        fallback, image, warnings);
  }

  /** A failed result for {@code id}. */
  public static OperationResult failed(String id, String ref, CachemountException e, long durationMs) {
    return new OperationResult(id, ref, null, Outcome.FAILED, 0, 0, 0, 0, 0, null, null, null, null, null, null, null, durationMs, e.getMessage(), e.kind().exitCode());
  }
}
