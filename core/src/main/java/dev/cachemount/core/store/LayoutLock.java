package dev.cachemount.core.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The exclusive lock of one OCI layout directory, held while {@code index.json} is rewritten, while
 * unreferenced blobs are collected, and while an existing blob is claimed by a push. Two layers: an
 * in-process lock per directory (a JVM may hold only one file lock per file) and an advisory file
 * lock ({@code fcntl}) for other processes.
 */
final class LayoutLock {
  private static final ConcurrentHashMap<Object, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();

  private LayoutLock() {}

  /** A held lock; closing releases it. */
  interface Held extends AutoCloseable {
    @Override
    void close() throws IOException;
  }

  static Held acquire(Path lockFile) throws IOException {
    FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    ReentrantLock local;
    try {
      // Keyed by the file's identity (device and inode), so that every spelling of one store's path,
      // bind mounts included, shares the in-process lock.
      Object key = Files.readAttributes(lockFile, BasicFileAttributes.class).fileKey();
      local = IN_PROCESS.computeIfAbsent(key != null ? key : lockFile.toRealPath(), k -> new ReentrantLock());
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
    local.lock();
    try {
      FileLock fileLock = channel.lock();
      return () -> {
        try {
          fileLock.release();
        } finally {
          try {
            channel.close();
          } finally {
            local.unlock();
          }
        }
      };
    } catch (IOException | RuntimeException e) {
      try {
        channel.close();
      } finally {
        local.unlock();
      }
      throw e;
    }
  }
}
