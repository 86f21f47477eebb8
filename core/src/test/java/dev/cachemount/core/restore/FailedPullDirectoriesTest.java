package dev.cachemount.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.internal.CleanupOnExit;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.testing.ForwardingStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pull that fails before it writes a file (a pack it cannot read; a disk too small, found before
 * any write) left the snapshot's whole directory tree behind, empty. The directories it created
 * that are still empty now go; the target's own stay.
 */
class FailedPullDirectoriesTest {
  @TempDir Path dir;

  @Test
  void theEmptyDirectoriesAFailedPullCreatedGoAndTheTargetsOwnStay() throws IOException {
    Path target = pull(() -> {});
    assertEquals(List.of("", "org", "org/mine", "org/mine/notes"), listing(target));
  }

  /**
   * SIGTERM or Ctrl-C in the middle of a pull (a cancelled CI job): its hook removes the empty
   * directories the pull created, as a failure does, before the JVM exits. It left thousands.
   */
  @Test
  void aPullCancelledByItsExitHookLeavesNoEmptyDirectoryItCreated() throws IOException {
    AtomicReference<List<String>> afterHook = new AtomicReference<>();
    Path target = dir.resolve("target");
    pull(() -> {
      CleanupOnExit.runAllAsOnExit(); // what the JVM runs on SIGTERM, while the pull goes on
      afterHook.set(listing(target));
    });
    assertEquals(List.of("", "org", "org/mine", "org/mine/notes"), afterHook.get());
  }

  /**
   * The target has a symlink {@code cache -> elsewhere/real} where the snapshot has the directory
   * {@code cache/tmp}: the pull moves the link aside and creates both directories. Failed or
   * cancelled, it removed its empty {@code cache/tmp} after putting the link back, by its path,
   * through the link: the user's own empty {@code elsewhere/real/tmp} went (review).
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
  void theUsersDirectoryBehindALinkPutBackStays(boolean cancel) throws IOException {
    Path source = Files.createDirectories(dir.resolve("source"));
    Files.writeString(Files.createDirectories(source.resolve("cache/tmp")).resolve("f"), "x\n");
    Path store = dir.resolve("store");
    Cachemount.builder().home(dir).env(Map.of()).build().push(CacheSpec.local("c", store, source), OperationListener.NONE);
    Path elsewhere = Files.createDirectories(dir.resolve("elsewhere/real/tmp")); // the user's, empty
    Path target = Files.createDirectories(dir.resolve("target"));
    Files.createSymbolicLink(target.resolve("cache"), dir.resolve("elsewhere/real"));
    AtomicReference<Boolean> keptThroughHook = new AtomicReference<>();
    try (LayoutStore layout = new LayoutStore(store)) {
      LoadedSnapshot snapshot = new SnapshotReader(layout, layout).load("c", "c").orElseThrow();
      ForwardingStore failing = new ForwardingStore(layout) {
        @Override
        public InputStream openBlob(Digest digest, long size) throws IOException {
          if (cancel && keptThroughHook.get() == null) {
            CleanupOnExit.runAllAsOnExit(); // SIGTERM now
            keptThroughHook.set(Files.isDirectory(elsewhere));
          }
          throw new IOException("the store went away");
        }
      };
      Restorer restorer = new Restorer(failing, OperationListener.NONE, 1, Restorer.Options.defaults(ChunkerParameters.DEFAULT));
      assertThrows(IOException.class, () -> restorer.restore(snapshot.index(), target, "c"));
    }
    if (cancel) {
      assertEquals(Boolean.TRUE, keptThroughHook.get(), "the exit hook removed the user's " + elsewhere);
    }
    assertTrue(Files.isSymbolicLink(target.resolve("cache")), "the link is back");
    assertTrue(Files.isDirectory(elsewhere), "the failed pull removed the user's " + elsewhere);
  }

  /**
   * A failed pull into a target that did not exist left that target behind, empty: the next build
   * (or a CI step that checks for the directory) took an empty cache for a restored one. A target
   * the pull made now goes again while it is empty; the parents it made for it stay.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
  void aTargetAFailedPullMadeGoesAgain(boolean cancel) throws IOException {
    Path source = Files.createDirectories(dir.resolve("source"));
    Files.writeString(Files.createDirectories(source.resolve("org/example")).resolve("lib.jar"), "a jar\n");
    Path store = dir.resolve("store");
    Cachemount.builder().home(dir).env(Map.of()).build().push(CacheSpec.local("c", store, source), OperationListener.NONE);
    Path target = dir.resolve("new/parent/target");
    AtomicReference<Boolean> afterHook = new AtomicReference<>();
    try (LayoutStore layout = new LayoutStore(store)) {
      LoadedSnapshot snapshot = new SnapshotReader(layout, layout).load("c", "c").orElseThrow();
      ForwardingStore failing = failingOnPacks(layout, () -> {
        if (cancel) {
          CleanupOnExit.runAllAsOnExit(); // SIGTERM now
          afterHook.set(Files.exists(target));
        }
      });
      Restorer restorer = new Restorer(failing, OperationListener.NONE, 1, Restorer.Options.defaults(ChunkerParameters.DEFAULT));
      assertThrows(IOException.class, () -> restorer.restore(snapshot.index(), target, "c"));
    }
    if (cancel) {
      assertEquals(Boolean.FALSE, afterHook.get(), "the exit hook left the target it made");
    }
    assertTrue(Files.notExists(target), "the failed pull left the target it made");
    assertTrue(Files.isDirectory(dir.resolve("new/parent")), "the parents it made stay");
  }

  /** Pulls a snapshot of a few directories into a target that has its own, through a store that runs {@code beforeFailing} and fails on the first pack. */
  private Path pull(IoAction beforeFailing) throws IOException {
    Path source = Files.createDirectories(dir.resolve("source"));
    Files.writeString(Files.createDirectories(source.resolve("org/example/lib/1.0")).resolve("lib.jar"), "a jar\n");
    Files.writeString(Files.createDirectories(source.resolve("com/other")).resolve("x.pom"), "a pom\n");
    Files.createDirectories(source.resolve("keep/empty"));
    Path store = dir.resolve("store");
    Cachemount.builder().home(dir).env(Map.of()).build().push(CacheSpec.local("c", store, source), OperationListener.NONE);
    Path target = Files.createDirectories(dir.resolve("target/org/mine"));
    Files.writeString(target.resolve("notes"), "the user's\n");
    target = dir.resolve("target");

    try (LayoutStore layout = new LayoutStore(store)) {
      LoadedSnapshot snapshot = new SnapshotReader(layout, layout).load("c", "c").orElseThrow();
      ForwardingStore failing = failingOnPacks(layout, beforeFailing);
      Restorer restorer = new Restorer(failing, OperationListener.NONE, 1, Restorer.Options.defaults(ChunkerParameters.DEFAULT));
      Path into = target;
      assertThrows(IOException.class, () -> restorer.restore(snapshot.index(), into, "c"));
    }
    return target;
  }

  /** The store seen through a wrapper that runs {@code beforeFailing} and fails on reading any pack. */
  private static ForwardingStore failingOnPacks(LayoutStore layout, IoAction beforeFailing) {
    return new ForwardingStore(layout) {
      @Override
      public InputStream openBlob(Digest digest, long size) throws IOException {
        beforeFailing.run();
        throw new IOException("the store went away");
      }
    };
  }

  private static List<String> listing(Path target) throws IOException {
    try (Stream<Path> all = Files.walk(target)) {
      return all.map(target::relativize).map(Path::toString).sorted().toList();
    }
  }

  private interface IoAction {
    void run() throws IOException;
  }
}
