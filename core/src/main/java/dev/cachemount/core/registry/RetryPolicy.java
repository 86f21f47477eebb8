package dev.cachemount.core.registry;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How often and how patiently registry requests are retried: exponential back-off with jitter
 * for connection errors, 408, 429 and 5xx, and a server's {@code Retry-After} honoured up to a cap.
 *
 * @param attempts tries in all, at least 1
 * @param firstDelay the back-off before the second try
 * @param maxDelay the back-off never grows past this
 * @param maxRetryAfter a longer {@code Retry-After} is cut to this, so that one slow answer cannot stall a CI job
 */
public record RetryPolicy(int attempts, Duration firstDelay, Duration maxDelay, Duration maxRetryAfter) {
  /** 5 tries, 0.5 s doubling (4 s before the last try), Retry-After up to 60 s: at most 7.5 s of back-off per request without Retry-After. */
  public static final RetryPolicy DEFAULT = new RetryPolicy(5, Duration.ofMillis(500), Duration.ofSeconds(8), Duration.ofSeconds(60));

  public RetryPolicy {
    Objects.requireNonNull(firstDelay, "firstDelay");
    Objects.requireNonNull(maxDelay, "maxDelay");
    Objects.requireNonNull(maxRetryAfter, "maxRetryAfter");
    if (attempts < 1 || firstDelay.isNegative() || maxDelay.compareTo(firstDelay) < 0 || maxRetryAfter.isNegative()) {
      throw new IllegalArgumentException("retry policy out of range: " + attempts + " attempts, " + firstDelay + " to " + maxDelay);
    }
  }

  /**
   * The pause before try {@code attempt + 1}.
   *
   * @param attempt the try that just failed, from 1
   * @param retryAfter what the server asked for, or null
   */
  Duration delayAfter(int attempt, Duration retryAfter) {
    if (retryAfter != null) {
      return retryAfter.compareTo(maxRetryAfter) > 0 ? maxRetryAfter : retryAfter;
    }
    long cap = firstDelay.toMillis() << Math.min(20, attempt - 1);
    cap = Math.min(cap, maxDelay.toMillis());
    // Jitter (half to all of the delay): concurrent clients that failed together do not come back together.
    return Duration.ofMillis(cap <= 0 ? 0 : ThreadLocalRandom.current().nextLong(cap / 2, cap + 1));
  }
}
