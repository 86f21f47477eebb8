package dev.cachemount.core.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * An exclusive lock named by a file: held while a layout store's {@code index.json} is rewritten, and
 * while a pull restores into a target directory. Two layers: an in-process lock per file (a JVM may
 * hold only one file lock per file) and an advisory file lock ({@code fcntl}) for other processes,
 * which the kernel releases when a holder dies, however it dies.
 */
public final class ExclusiveLock {
  /**
   * The in-process locks, each while a thread holds or waits for it: a long-running JVM (a build
   * daemon) pulls into ever new targets, and an entry per file ever locked would stay for its life.
   */
  private static final ConcurrentHashMap<Object, Local> IN_PROCESS = new ConcurrentHashMap<>();
  private static final long POLL_MILLIS = 100;

  private ExclusiveLock() {}

  /** Who kept a lock from a thread that wanted it: what the thread waits for, told to the user. */
  public enum Holder {
    /** Another thread of this JVM (another operation of a program that embeds cachemount). */
    THIS_PROCESS,
    /** Another process. */
    OTHER_PROCESS
  }

  /**
   * A held lock; closing releases it. Closing again does nothing, so that a holder may let it go early
   * (by the thread that took it) and still close it with try-with-resources.
   */
  public interface Held extends AutoCloseable {
    @Override
    void close() throws IOException;
  }

  /** An in-process lock and the threads that hold or wait for it, counted under the map's lock of its key. */
  private static final class Local {
    final ReentrantLock lock = new ReentrantLock();
    int users;
  }

  /** A lock taken, or who kept it. */
  private record Attempt(Held held, Holder holder) {}

  /** Waits for the lock as long as it takes. */
  public static Held acquire(Path lockFile) throws IOException {
    return tryAcquire(lockFile, null).orElseThrow();
  }

  /**
   * Waits for the lock at most {@code timeout} (null: as long as it takes).
   *
   * @return empty when another holder kept it all that time
   */
  public static Optional<Held> tryAcquire(Path lockFile, Duration timeout) throws IOException {
    return Optional.ofNullable(attempt(lockFile, timeout).held());
  }

  /**
   * The lock at once if it is free; else {@code waiting} runs (to tell the user who holds it), and the
   * lock is waited for at most {@code timeout}, after which {@code tooLong} is thrown, told who kept it
   * last.
   */
  public static Held acquireOrFail(Path lockFile, Duration timeout, Consumer<Holder> waiting, Function<Holder, RuntimeException> tooLong)
      throws IOException {
    Attempt attempt = attempt(lockFile, Duration.ZERO);
    if (attempt.held() == null) {
      waiting.accept(attempt.holder());
      attempt = attempt(lockFile, timeout);
    }
    if (attempt.held() == null) {
      throw tooLong.apply(attempt.holder());
    }
    return attempt.held();
  }

  private static Attempt attempt(Path lockFile, Duration timeout) throws IOException {
    long deadline = timeout == null ? Long.MAX_VALUE : System.nanoTime() + timeout.toNanos();
    FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    Object key;
    Local local;
    try {
      // Keyed by the file's identity (device and inode), so that every spelling of the path,
      // bind mounts included, shares the in-process lock.
      Object fileKey = Files.readAttributes(lockFile, BasicFileAttributes.class).fileKey();
      key = fileKey != null ? fileKey : lockFile.toRealPath();
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
    local = use(key);
    try {
      if (!local.lock.tryLock(remaining(deadline), TimeUnit.NANOSECONDS)) {
        channel.close();
        release(key, local, false);
        return new Attempt(null, Holder.THIS_PROCESS);
      }
    } catch (InterruptedException e) {
      channel.close();
      release(key, local, false);
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for the lock " + lockFile);
    } catch (RuntimeException e) {
      channel.close();
      release(key, local, false);
      throw e;
    }
    try {
      FileLock fileLock;
      while ((fileLock = channel.tryLock()) == null) {
        if (System.nanoTime() >= deadline) {
          channel.close();
          release(key, local, true);
          return new Attempt(null, Holder.OTHER_PROCESS);
        }
        Thread.sleep(Math.min(POLL_MILLIS, Math.max(1, remaining(deadline) / 1_000_000)));
      }
      FileLock held = fileLock;
      AtomicBoolean released = new AtomicBoolean();
      return new Attempt(() -> {
        if (released.getAndSet(true)) {
          return;
        }
        try {
          held.release();
        } finally {
          try {
            channel.close();
          } finally {
            release(key, local, true);
          }
        }
      }, null);
    } catch (InterruptedException e) {
      channel.close();
      release(key, local, true);
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for the lock " + lockFile);
    } catch (IOException | RuntimeException e) {
      try {
        channel.close();
      } finally {
        release(key, local, true);
      }
      throw e;
    }
  }

  /** The in-process lock of {@code key}, counted as used by this thread until {@link #release}. */
  private static Local use(Object key) {
    return IN_PROCESS.compute(key, (k, local) -> {
      Local used = local != null ? local : new Local();
      used.users++;
      return used;
    });
  }

  /**
   * Unlocks (if {@code locked}) and stops counting this thread; the last user removes the entry. The
   * count changes only under the map's lock of the key, so a thread that finds the entry has counted
   * itself before anyone can remove it, and one that comes after the removal makes a new, free lock.
   */
  private static void release(Object key, Local local, boolean locked) {
    if (locked) {
      local.lock.unlock();
    }
    IN_PROCESS.computeIfPresent(key, (k, current) -> current != local || --current.users > 0 ? current : null);
  }

  /** Whether the in-process map has an entry for the file (tests). */
  static boolean tracks(Path lockFile) throws IOException {
    Object fileKey = Files.readAttributes(lockFile, BasicFileAttributes.class).fileKey();
    return IN_PROCESS.containsKey(fileKey != null ? fileKey : lockFile.toRealPath());
  }

  private static long remaining(long deadline) {
    return deadline == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, deadline - System.nanoTime());
  }
}
