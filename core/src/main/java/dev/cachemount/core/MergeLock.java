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
 * One {@code mode=merge} push of a tag of a directory store at a time: a merge reads the stored
 * snapshot and moves the tag to a snapshot built on it, and two merges at once would each build on
 * the same one, the last dropping what the other added. The lock is a file in the store itself
 * ({@code .cachemount-locks/}, which other tools ignore as they ignore {@code .cachemount.lock}), so
 * that every process that writes the store takes turns, whatever its user's cache directory. A
 * registry offers no such lock (docs/user-guide.md says so).
 */
final class MergeLock {
  static final String DIRECTORY = ".cachemount-locks";

  private MergeLock() {}

  /** The lock for this push, or null when it needs none. */
  static ExclusiveLock.Held acquire(CacheSpec spec, SnapshotStore store, Duration timeout, OperationListener listener) {
    if (spec.mode().orElse(null) != CacheSpec.Mode.MERGE || !(store instanceof LayoutStore layout)) {
      return null;
    }
    String tag = layout.root() + ":" + spec.storeReference();
    Path lockFile = layout.root().resolve(DIRECTORY)
        .resolve("merge-" + Digest.of(spec.storeReference().getBytes(StandardCharsets.UTF_8)).toString().substring(7, 39) + ".lock");
    try {
      layout.checkWritable(); // a wrong dir= is refused as such, before the lock puts anything in it
      Files.createDirectories(lockFile.getParent());
      return acquire(lockFile, tag, timeout, listener);
    } catch (IOException e) {
      throw CachemountException.operational("taking the merge lock " + lockFile + " of cache '" + spec.id() + "' failed: " + IoErrors.describe(e)
          + "; every process that merges into this store needs " + lockFile.getParent() + " to be a directory it can write"
          + " (fix or remove it), or push without mode=merge", e);
    }
  }

  private static ExclusiveLock.Held acquire(Path lockFile, String tag, Duration timeout, OperationListener listener) throws IOException {
    return ExclusiveLock.acquireOrFail(lockFile, timeout,
        holder -> listener.warning(TargetLock.who(holder) + " is merging into " + tag + "; waiting for it (at most " + Durations.text(timeout) + ")"),
        holder -> new CachemountException(FailureKind.OPERATIONAL, TargetLock.who(holder) + " kept merging into " + tag
            + " for " + Durations.text(timeout) + " (lock " + lockFile + "); let it finish, or push again" + TargetLock.TIMEOUT_SETTING));
  }
}
