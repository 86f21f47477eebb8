package dev.cachemount.core;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.internal.ExclusiveLock;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.store.SnapshotStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One {@code mode=merge} push of a tag of a directory store at a time, on this machine: a merge reads
 * the stored snapshot and moves the tag to a snapshot built on it, and two merges at once would each
 * build on the same one, the last dropping what the other added. A registry offers no such lock
 * (docs/user-guide.md says so).
 */
final class MergeLock {
  private MergeLock() {}

  /** The lock for this push, or null when it needs none. */
  static ExclusiveLock.Held acquire(CacheSpec spec, SnapshotStore store, Path lockDirectory, Duration timeout, OperationListener listener)
      throws IOException {
    if (spec.mode().orElse(null) != CacheSpec.Mode.MERGE || !(store instanceof LayoutStore layout)) {
      return null;
    }
    String tag = StoreOverlap.real(layout.root()) + ":" + spec.storeReference();
    Files.createDirectories(lockDirectory);
    Path lockFile = lockDirectory.resolve("merge-" + Digest.of(tag.getBytes(StandardCharsets.UTF_8)).toString().substring(7, 39) + ".lock");
    return ExclusiveLock.acquireOrFail(lockFile, timeout,
        () -> listener.warning("another cachemount process is merging into " + tag + "; waiting for it (at most " + timeout.toSeconds() + " s)"),
        () -> new CachemountException(FailureKind.OPERATIONAL, "another cachemount process kept merging into " + tag
            + " for " + timeout.toSeconds() + " s (lock " + lockFile + "); let it finish, or push again"));
  }
}
