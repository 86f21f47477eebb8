package dev.cachemount.core.restore;

import dev.cachemount.core.snapshot.TreeScanner;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The temporary files of one restore, each created beside its final path with O_EXCL (never through
 * a link). {@link #cancel()} — from a shutdown hook, on SIGTERM — deletes every one not yet renamed
 * into place and refuses new ones, so that a cancelled pull leaves none behind. Thread-safe.
 */
final class TempFiles {
  /** Shared with the scanner, which keeps leftovers of killed pulls out of snapshots. */
  static final String PREFIX = TreeScanner.TEMP_PREFIX;

  private final Set<Path> live = new HashSet<>();
  private boolean cancelled;

  /** A new, empty temporary file in {@code dir}, open for writing. */
  synchronized Created createFile(Path dir) throws IOException {
    refuseIfCancelled();
    while (true) {
      Path candidate = name(dir);
      try {
        FileChannel channel = FileChannel.open(candidate, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        live.add(candidate);
        return new Created(candidate, channel);
      } catch (FileAlreadyExistsException e) {
        // another name
      }
    }
  }

  /** A new temporary symlink in {@code dir} pointing at {@code target}. */
  synchronized Path createSymlink(Path dir, Path target) throws IOException {
    refuseIfCancelled();
    while (true) {
      Path candidate = name(dir);
      try {
        Files.createSymbolicLink(candidate, target);
        live.add(candidate);
        return candidate;
      } catch (FileAlreadyExistsException e) {
        // another name
      }
    }
  }

  /** The temporary file is gone: renamed into place, or deleted. */
  synchronized void forget(Path temp) {
    live.remove(temp);
  }

  /** Deletes every temporary file still here and refuses new ones. */
  synchronized void cancel() {
    cancelled = true;
    for (Path p : live) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException | RuntimeException e) {
        // best effort: the JVM is exiting
      }
    }
    live.clear();
  }

  /** A created file and its open channel. */
  record Created(Path path, FileChannel channel) {}

  private void refuseIfCancelled() throws IOException {
    if (cancelled) {
      throw new IOException("the restore was cancelled");
    }
  }

  private static Path name(Path dir) {
    return dir.resolve(PREFIX + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE));
  }
}
