package dev.cachemount.core.restore;

import dev.cachemount.core.index.Entry;
import dev.cachemount.core.snapshot.TreeScanner;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A file being restored: a temporary file beside its final path, created on the first write, filled
 * chunk by chunk in any order and renamed into place once every byte has been written. Its channel
 * may be closed and reopened any number of times. Not thread-safe.
 */
final class PendingFile {
  /** Shared with the scanner, which keeps leftovers of interrupted pulls out of snapshots. */
  static final String TEMP_PREFIX = TreeScanner.TEMP_PREFIX;

  final Entry entry;
  final Path target;
  long remaining;
  private Path temp;
  private FileChannel channel;
  private boolean renamed;

  PendingFile(Entry entry, Path target) {
    this.entry = entry;
    this.target = target;
    this.remaining = entry.size();
  }

  /** The open channel to the temporary file, creating or reopening it as needed. */
  FileChannel channel() throws IOException {
    if (channel == null) {
      if (temp == null) {
        createTempOpen();
      } else {
        channel = FileChannel.open(temp, StandardOpenOption.WRITE, java.nio.file.LinkOption.NOFOLLOW_LINKS);
      }
    }
    return channel;
  }

  /** Creates the temporary file (O_EXCL, so never through a link) and keeps it open. */
  private void createTempOpen() throws IOException {
    while (true) {
      Path candidate = tempName(target.getParent());
      try {
        channel = FileChannel.open(candidate, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        temp = candidate;
        return;
      } catch (FileAlreadyExistsException e) {
        // another name
      }
    }
  }

  /** The temporary file, created (empty) if it does not exist yet. */
  Path temp() throws IOException {
    if (temp == null) {
      createTempOpen();
      closeChannel();
    }
    return temp;
  }

  boolean isOpen() {
    return channel != null;
  }

  void closeChannel() throws IOException {
    if (channel != null) {
      FileChannel c = channel;
      channel = null;
      c.close();
    }
  }

  void markRenamed() {
    renamed = true;
  }

  /** Closes the channel and removes the temporary file unless it became the final file. */
  void discard() throws IOException {
    try {
      closeChannel();
    } finally {
      if (temp != null && !renamed) {
        Files.deleteIfExists(temp);
      }
    }
  }

  static Path tempName(Path dir) {
    return dir.resolve(TEMP_PREFIX + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE));
  }
}
