package dev.cachemount.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One operation run for each of several cache specs, as every front runs it: each id in turn; one
 * failing does not stop the others; the first failure decides the outcome (its kind, the exit code).
 */
public final class SpecRuns {
  private SpecRuns() {}

  /**
   * How one id's operation ended.
   *
   * @param spec the spec it ran for
   * @param result its result; {@link Outcome#FAILED} with the error and exit code on a failure
   * @param failure the failure, or null on success
   * @param defect when the failure was not one the core classifies (a bug): what was thrown, for
   *     its stack trace; {@code failure} is then an operational "unexpected error" naming it
   */
  public record Run(CacheSpec spec, OperationResult result, CachemountException failure, RuntimeException defect) {
    public boolean failed() {
      return failure != null;
    }
  }

  /**
   * How one id's operation of any result type ended: its result, or its failure (the result is then
   * null). {@code defect} as in {@link Run}.
   */
  public record Attempt<R>(CacheSpec spec, R result, CachemountException failure, RuntimeException defect) {
    public boolean failed() {
      return failure != null;
    }
  }

  /**
   * Runs {@code operation} for one spec, as every front does: a failure the core classifies is the
   * attempt's failure, anything else a defect ({@link #unexpected}).
   */
  public static <R> Attempt<R> attempt(CacheSpec spec, Function<CacheSpec, R> operation) {
    try {
      return new Attempt<>(spec, operation.apply(spec), null, null);
    } catch (CachemountException e) {
      return new Attempt<>(spec, null, e, null);
    } catch (RuntimeException e) {
      return new Attempt<>(spec, null, unexpected(e), e);
    }
  }

  /**
   * Runs {@code operation} for each spec in turn, handing each end to {@code report} as it comes.
   *
   * @return one run per spec, in their order
   */
  public static List<Run> each(List<CacheSpec> specs, Function<CacheSpec, OperationResult> operation, Consumer<Run> report) {
    List<Run> runs = new ArrayList<>();
    for (CacheSpec spec : specs) {
      long started = System.nanoTime();
      Attempt<OperationResult> a = attempt(spec, operation);
      Run run = a.failed() ? new Run(spec, failedResult(spec, a.failure(), Engine.millisSince(started)), a.failure(), a.defect())
          : new Run(spec, a.result(), null, null);
      report.accept(run);
      runs.add(run);
    }
    return runs;
  }

  /** The result of a failed operation: what it had stored when it failed after that ({@link SnapshotStoredException}). */
  private static OperationResult failedResult(CacheSpec spec, CachemountException failure, long durationMs) {
    return failure instanceof SnapshotStoredException stored ? stored.stored().failedAfter(failure, durationMs)
        : OperationResult.failed(spec.id(), null, failure, durationMs);
  }

  /** A defect (what the core does not classify) as the operational failure the fronts report it as. */
  public static CachemountException unexpected(RuntimeException e) {
    return new CachemountException(FailureKind.OPERATIONAL, "unexpected error (please report it): " + e, e);
  }

  /** The failures of {@code runs}, in their order. */
  public static List<CachemountException> failures(List<Run> runs) {
    return runs.stream().filter(Run::failed).map(Run::failure).toList();
  }

  /** The first failure, whose kind decides how the whole run ends. */
  public static Optional<CachemountException> firstFailure(List<Run> runs) {
    return failures(runs).stream().findFirst();
  }
}
