package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpecRunsTest {
  private static CacheSpec spec(String id) {
    return CacheSpec.local(id, Path.of("/store"), Path.of("/target"));
  }

  private static OperationResult restored(String id) {
    return new OperationResult(id, "oci:/store:" + id, "sha256:x", Outcome.RESTORED, 1, 0, 0, 1, 1, null, null, null, null, null, null, null, 1, null, null);
  }

  @Test
  void everyIdRunsAndTheFirstFailureComesFirst() {
    IllegalStateException bug = new IllegalStateException("bug");
    List<String> ran = new ArrayList<>();
    List<SpecRuns.Run> reported = new ArrayList<>();
    List<SpecRuns.Run> runs = SpecRuns.each(List.of(spec("a"), spec("b"), spec("c")), s -> {
      ran.add(s.id());
      return switch (s.id()) {
        case "a" -> throw CachemountException.usage("store is not a directory");
        case "b" -> throw bug;
        default -> restored(s.id());
      };
    }, reported::add);
    assertEquals(List.of("a", "b", "c"), ran, "a failure does not stop the ids after it");
    assertEquals(runs, reported, "each run is reported as it ends");

    assertEquals(Outcome.FAILED, runs.get(0).result().result());
    assertEquals(2, runs.get(0).result().exitCode());
    assertNull(runs.get(0).defect());
    assertEquals(FailureKind.OPERATIONAL, runs.get(1).failure().kind(), "a defect is an operational failure");
    assertTrue(runs.get(1).failure().getMessage().contains("unexpected error (please report it): java.lang.IllegalStateException: bug"));
    assertSame(bug, runs.get(1).defect());
    assertTrue(!runs.get(2).failed() && runs.get(2).result().result() == Outcome.RESTORED);

    assertEquals(2, SpecRuns.failures(runs).size());
    assertEquals(FailureKind.USAGE, SpecRuns.firstFailure(runs).orElseThrow().kind(), "the first failure decides");
    assertTrue(SpecRuns.firstFailure(runs.subList(2, 3)).isEmpty());
  }
}
