package dev.cachemount.core.restore;

import dev.cachemount.core.index.Entry;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file being restored: a temporary file beside its final path, created on the first write, filled
 * chunk by chunk in any order and renamed into place once every byte has been written. Its channel
 * may be closed and reopened any number of times. Used by the restore's writing thread only.
 */
final class PendingFile {
  final Entry entry;
  final Path target;
  long remaining;
  private final TempFiles temps;
  private Path temp;
  private FileChannel channel;
  private boolean renamed;

  /** The temporary files of the restore this file belongs to. */
  TempFiles temps() {
    return temps;
  }

  PendingFile(Entry entry, Path target, TempFiles temps) {
    this.entry = entry;
    this.target = target;
    this.temps = temps;
    this.remaining = entry.size();
  }

  /** The open channel to the temporary file, creating or reopening it as needed. */
  FileChannel channel() throws IOException {
    if (channel == null) {
      if (temp == null) {
        TempFiles.Created created = temps.createFile(target.getParent());
        temp = created.path();
        channel = created.channel();
      } else {
        channel = FileChannel.open(temp, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
      }
    }
    return channel;
  }

  /** The temporary file, created (empty) if it does not exist yet. */
  Path temp() throws IOException {
    if (temp == null) {
      channel();
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

  /** Records that the temporary file became the final file. */
  void markRenamed() {
    renamed = true;
    temps.forget(temp);
  }

  /** Closes the channel and removes the temporary file unless it became the final file. */
  void discard() throws IOException {
    try {
      closeChannel();
    } finally {
      if (temp != null && !renamed) {
        Files.deleteIfExists(temp);
        temps.forget(temp);
      }
    }
  }
}
