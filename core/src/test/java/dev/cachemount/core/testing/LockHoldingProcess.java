package dev.cachemount.core.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Another process that holds a lock file, as another cachemount process would: a JVM of its own that
 * takes the file lock, says so, and lets it go when the test closes its standard input (or dies).
 */
public final class LockHoldingProcess implements AutoCloseable {
  private final Process process;

  private LockHoldingProcess(Process process) {
    this.process = process;
  }

  /** Starts the process and returns once it holds the lock on {@code lockFile}. */
  public static LockHoldingProcess holding(Path lockFile) throws IOException {
    Process process = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), LockHoldingProcess.class.getName(), lockFile.toString()))
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    LockHoldingProcess holder = new LockHoldingProcess(process);
    String line = new BufferedReader(new InputStreamReader(process.getInputStream())).readLine();
    if (!"locked".equals(line)) {
      holder.close();
      throw new IOException("the lock-holding process did not take the lock " + lockFile + ": " + line);
    }
    return holder;
  }

  @Override
  public void close() throws IOException {
    process.getOutputStream().close();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  public static void main(String[] args) throws IOException {
    try (FileChannel channel = FileChannel.open(Path.of(args[0]), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = channel.lock()) {
      System.out.println("locked");
      System.out.flush();
      while (System.in.read() >= 0) {
        // held until the test closes our standard input
      }
    }
  }
}
