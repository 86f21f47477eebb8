package dev.cachemount.core;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.internal.ExclusiveLock;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * One cachemount process at a time restores into a target directory or pushes it, across processes:
 * a pull must not write while a push reads (the push would store half a tree), nor while another pull
 * writes. The lock is a file in cachemount's lock directory (not in the target, which stays the
 * user's), named by the target's real path; the kernel drops it when its holder dies.
 *
 * <p>The lock files stay, one empty file per target ever locked. Deleting one is safe only if every
 * process that may have it open checks, once it holds the lock, that the path still names the file it
 * locked; cachemount versions before this one do not check, and one of them waiting on a deleted file
 * would take it while another process holds the file made in its place.
 */
final class TargetLock {
  /** Where the wait is set: the command and the Maven plugin wait the default 10 minutes. */
  static final String TIMEOUT_SETTING = " (a program that embeds cachemount sets this wait with Cachemount.Builder.targetLockTimeout)";

  private final Path real;
  private final Path file;

  /**
   * @param lockDirectory cachemount's lock directory
   * @param real the real path of the target's longest existing part: a path through a link names the
   *     same lock before and after the target is made
   */
  TargetLock(Path lockDirectory, Path real) {
    this.real = real;
    this.file = lockDirectory.resolve(Digest.of(real.toString().getBytes(StandardCharsets.UTF_8)).toString().substring(7, 39) + ".lock");
  }

  Path file() {
    return file;
  }

  /**
   * Who holds the lock: in a program that embeds cachemount (a build daemon), often another of its own
   * operations, which is not "another process".
   */
  static String who(ExclusiveLock.Holder holder) {
    return holder == ExclusiveLock.Holder.THIS_PROCESS ? "another cachemount operation of this process" : "another cachemount process";
  }

  /**
   * Takes the lock, waiting at most {@code timeout} for another holder (told to the user).
   *
   * @param operation "pull" or "push": what waits
   * @param cannotLock told why, when the lock file cannot be made (the caller says what that means for it)
   * @return empty when the lock file cannot be made: it is made, or found, before any wait, so that a lock directory that cannot be written is told at once
   * @throws CachemountException (operational) when another holder kept it all that time
   */
  Optional<ExclusiveLock.Held> take(Duration timeout, OperationListener listener, String operation, Consumer<IOException> cannotLock)
      throws IOException {
    return take(timeout, listener, Progress.unobserved(), operation, cannotLock);
  }

  /**
   * As {@link #take(Duration, OperationListener, String, Consumer)}, showing a wait in {@code progress}
   * as its own step ({@link Progress.Step#WAITING}): the line said "scanning 0 entries" meanwhile.
   */
  Optional<ExclusiveLock.Held> take(Duration timeout, OperationListener listener, Progress progress, String operation,
      Consumer<IOException> cannotLock) throws IOException {
    try {
      Files.createDirectories(file.getParent());
      FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE).close();
    } catch (IOException e) {
      cannotLock.accept(e);
      return Optional.empty();
    }
    return Optional.of(ExclusiveLock.acquireOrFail(file, timeout,
        holder -> {
          progress.begin(Progress.Step.WAITING, 0, 0);
          listener.warning(who(holder) + " is restoring into or pushing " + real + "; this " + operation + " waits for it (at most "
              + Durations.text(timeout) + ")");
        },
        holder -> new CachemountException(FailureKind.OPERATIONAL, who(holder) + " kept restoring into or pushing " + real + " for "
            + Durations.text(timeout) + " (lock " + file + "); let it finish, or " + operation + " again then" + TIMEOUT_SETTING)));
  }
}
