package dev.cachemount.core.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The exclusive lock of one OCI layout directory, held while {@code index.json} is rewritten, while
 * unreferenced blobs are collected, and while an existing blob is claimed by a push. Two layers: an
 * in-process lock per directory (a JVM may hold only one file lock per file) and an advisory file
 * lock ({@code fcntl}) for other processes.
 */
final class LayoutLock {
  private static final ConcurrentHashMap<Path, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();

  private LayoutLock() {}

  /** A held lock; closing releases it. */
  interface Held extends AutoCloseable {
    @Override
    void close() throws IOException;
  }

  static Held acquire(Path lockFile) throws IOException {
    // The real path: two spellings of one store in one JVM must share the in-process lock.
    Path key = lockFile.getParent().toRealPath().resolve(lockFile.getFileName());
    ReentrantLock local = IN_PROCESS.computeIfAbsent(key, k -> new ReentrantLock());
    local.lock();
    FileChannel channel = null;
    try {
      channel = FileChannel.open(key, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock fileLock = channel.lock();
      FileChannel ch = channel;
      return () -> {
        try {
          fileLock.release();
          ch.close();
        } finally {
          local.unlock();
        }
      };
    } catch (IOException | RuntimeException e) {
      if (channel != null) {
        channel.close();
      }
      local.unlock();
      throw e;
    }
  }
}
