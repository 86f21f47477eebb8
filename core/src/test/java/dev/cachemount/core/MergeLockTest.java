package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.internal.ExclusiveLock;
import dev.cachemount.core.store.LayoutStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two merge pushes of one tag of a directory store take turns, the second building on the first,
 * whatever cache directory each process has: the lock lives in the store.
 */
class MergeLockTest {
  @TempDir Path dir;

  @Test
  void aLockDirectoryThatCannotBeMadeIsNamedWithWhatToDo() throws IOException {
    Path store = dir.resolve("store");
    Path tree = Files.createDirectories(dir.resolve("tree"));
    Files.writeString(tree.resolve("a"), "a");
    Cachemount client = Cachemount.builder().home(dir).env(Map.of()).build();
    client.push(client.parseSpec("id=shared,dir=" + store + ",target=" + tree), OperationListener.NONE);
    Files.writeString(store.resolve(MergeLock.DIRECTORY), "a file where the lock directory goes");
    CachemountException e = assertThrows(CachemountException.class,
        () -> client.push(client.parseSpec("id=shared,dir=" + store + ",target=" + tree + ",mode=merge"), OperationListener.NONE));
    assertEquals(FailureKind.OPERATIONAL, e.kind());
    assertTrue(e.getMessage().contains(store.resolve(MergeLock.DIRECTORY).toString()) && e.getMessage().contains("fix or remove it")
        && e.getMessage().contains("without mode=merge"), e.getMessage());
  }

  @Test
  void aMergePushWaitsForAnotherMergeOfTheSameTag() throws IOException {
    Path store = dir.resolve("store");
    Path tree = dir.resolve("tree");
    Files.createDirectories(tree);
    Files.writeString(tree.resolve("a"), "a");
    Cachemount client = Cachemount.builder().home(dir).env(Map.of()).targetLockTimeout(Duration.ofMillis(300)).build();
    // A process whose user cache directory differs (another XDG_CACHE_HOME) waits all the same.
    Cachemount elsewhere = Cachemount.builder().home(dir.resolve("other-home"))
        .env(Map.of("XDG_CACHE_HOME", dir.resolve("other-xdg").toString())).targetLockTimeout(Duration.ofMillis(300)).build();
    CacheSpec merge = client.parseSpec("id=shared,dir=" + store + ",target=" + tree + ",mode=merge");
    List<String> warnings = new ArrayList<>();
    OperationListener listening = new OperationListener() {
      @Override
      public void warning(String message) {
        warnings.add(message);
      }
    };
    try (LayoutStore layout = new LayoutStore(store);
        ExclusiveLock.Held other = MergeLock.acquire(merge, layout, Duration.ZERO, OperationListener.NONE)) {
      // Another thread (a thread re-entering a lock it holds gets it).
      java.util.concurrent.CompletableFuture<OperationResult> waiting =
          java.util.concurrent.CompletableFuture.supplyAsync(() -> client.push(merge, listening));
      java.util.concurrent.CompletionException failed = assertThrows(java.util.concurrent.CompletionException.class, waiting::join);
      CachemountException e = assertInstanceOf(CachemountException.class, failed.getCause());
      assertEquals(FailureKind.OPERATIONAL, e.kind());
      // Both wait for another operation of this process (a program that embeds cachemount), for 300 ms (not "0 s").
      assertTrue(e.getMessage().contains("another cachemount operation of this process kept merging into " + store + ":")
          && e.getMessage().contains(" for 300 ms"), e.getMessage());
      assertTrue(warnings.stream().anyMatch(w -> w.startsWith("another cachemount operation of this process is merging into")
          && w.contains("waiting for it (at most 300 ms)")), warnings.toString());
      java.util.concurrent.CompletionException failedToo = assertThrows(java.util.concurrent.CompletionException.class,
          java.util.concurrent.CompletableFuture.supplyAsync(() -> elsewhere.push(merge, OperationListener.NONE))::join);
      assertTrue(failedToo.getCause().getMessage().contains("another cachemount operation of this process kept merging into"),
          failedToo.getCause().getMessage());
      // A plain push, or a merge of another tag, does not wait.
      client.push(client.parseSpec("id=shared,dir=" + store + ",target=" + tree), OperationListener.NONE);
      client.push(client.parseSpec("id=other,dir=" + store + ",target=" + tree + ",mode=merge"), OperationListener.NONE);
      assertNull(MergeLock.acquire(client.parseSpec("id=shared,dir=" + store + ",target=" + tree), layout, Duration.ZERO, OperationListener.NONE));
    }
    client.push(merge, OperationListener.NONE);
  }

  @Test
  void aWrongStoreDirectoryIsRefusedBeforeTheLockPutsAnythingInIt() throws IOException {
    Path tree = Files.createDirectories(dir.resolve("tree"));
    Files.writeString(tree.resolve("a"), "a");
    Path busy = Files.createDirectories(dir.resolve("busy"));
    Files.writeString(busy.resolve("notes.txt"), "not a store");
    Path file = Files.writeString(dir.resolve("file"), "x");
    Cachemount client = Cachemount.builder().home(dir).env(Map.of()).build();
    for (Path store : List.of(busy, file.resolve("store"))) {
      CachemountException e = assertThrows(CachemountException.class,
          () -> client.push(client.parseSpec("id=shared,dir=" + store + ",target=" + tree + ",mode=merge"), OperationListener.NONE));
      assertEquals(FailureKind.USAGE, e.kind(), e.getMessage());
    }
    assertEquals(List.of(busy.resolve("notes.txt")), Files.list(busy).toList(), "nothing was added to the user's directory");
  }
}
