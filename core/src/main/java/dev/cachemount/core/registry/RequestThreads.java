package dev.cachemount.core.registry;

import com.google.cloud.tools.jib.api.RegistryException;
import dev.cachemount.core.internal.Workers;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs each try of a session's requests on a thread of its own, so that the thread waiting for it can
 * be interrupted. The HTTP client's socket reads and writes ignore interrupts: an operation whose
 * caller was interrupted while the registry did not answer went on waiting until the read timeout
 * (a minute), and then reported that timeout, not the interrupt; a worker stopped by its pool waited
 * as long. An interrupted wait abandons its try: the try's thread runs on until the session closes
 * its connections (or the timeout), and what it ends with is dropped, unreported.
 */
final class RequestThreads implements AutoCloseable {
  /** The abandoned flag of the try this thread runs, if it runs one. */
  private static final ThreadLocal<AtomicBoolean> TRY = new ThreadLocal<>();

  private final ExecutorService threads = Workers.elastic("cachemount-request");

  /**
   * What {@code attempt} returns or throws, run on a request thread.
   *
   * @param registry and {@code operation}: what the caller waits for, for the messages: "127.0.0.1:5000", "upload of blob sha256:..."
   * @throws InterruptedIOException when the calling thread is interrupted while it waits; the interrupt is kept
   */
  <T> T run(RegistrySession.Attempt<T> attempt, String registry, String operation) throws IOException, RegistryException {
    AtomicBoolean abandoned = new AtomicBoolean();
    Future<T> result;
    try {
      result = threads.submit(() -> {
        TRY.set(abandoned);
        try {
          return attempt.run();
        } finally {
          TRY.remove();
        }
      });
    } catch (RejectedExecutionException e) {
      throw RegistrySession.ended(registry, operation);
    }
    try {
      return result.get();
    } catch (InterruptedException e) {
      abandoned.set(true);
      result.cancel(true); // a try that waits for a nested one (a re-authentication) stops waiting
      Thread.currentThread().interrupt();
      throw RegistrySession.interrupted(registry, operation);
    } catch (ExecutionException e) {
      Throwable failure = e.getCause();
      if (failure instanceof RegistryException r) {
        throw r;
      }
      throw Workers.rethrow(failure);
    }
  }

  /** Whether the calling thread runs a try that its caller abandoned: what it has to say, nobody hears. */
  static boolean abandonedHere() {
    AtomicBoolean abandoned = TRY.get();
    return abandoned != null && abandoned.get();
  }

  /** Stops idle threads; abandoned tries are interrupted, and end when their connections close. */
  @Override
  public void close() {
    threads.shutdownNow();
  }
}
