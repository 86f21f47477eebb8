package dev.cachemount.core.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** Processes a test started, or that what it ran started, looked at through /proc. */
public final class Processes {
  private Processes() {}

  /** Whether the process runs: not gone, nor a zombie (which a container's init may be slow to reap). */
  public static boolean alive(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
    } catch (IOException e) {
      return false;
    }
  }

  /** Whether the process has stopped running within {@code timeout}. */
  public static boolean endsWithin(long pid, Duration timeout) throws InterruptedException {
    for (long until = System.nanoTime() + timeout.toNanos(); alive(pid) && System.nanoTime() < until;) {
      Thread.sleep(10);
    }
    return !alive(pid);
  }
}
