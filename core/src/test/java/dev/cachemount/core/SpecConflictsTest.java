package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Specs of one command that would undo each other are refused before anything runs. */
class SpecConflictsTest {
  @TempDir Path dir;

  private Cachemount client() {
    return Cachemount.builder().home(dir).env(Map.of("XDG_CACHE_HOME", dir.resolve("xdg").toString())).build();
  }

  private List<CacheSpec> specs(String... texts) {
    List<CacheSpec> specs = new ArrayList<>();
    for (String text : texts) {
      specs.add(client().parseSpec(text));
    }
    return specs;
  }

  private String refusedPush(String... texts) {
    CachemountException e = assertThrows(CachemountException.class, () -> client().checkPushes(specs(texts)));
    assertEquals(FailureKind.USAGE, e.kind(), e.getMessage());
    return e.getMessage();
  }

  private String refusedPull(String... texts) {
    CachemountException e = assertThrows(CachemountException.class, () -> client().checkPulls(specs(texts)));
    assertEquals(FailureKind.USAGE, e.kind(), e.getMessage());
    return e.getMessage();
  }

  @Test
  void twoPushesToOneLocalSnapshotAreRefused() throws IOException {
    Path a = Files.createDirectories(dir.resolve("a"));
    Path b = Files.createDirectories(dir.resolve("b"));
    String message = refusedPush("id=m2,target=" + a, "id=m2,target=" + b);
    assertTrue(message.contains("cache id 'm2' is given twice, with the targets " + a + " and " + b) && message.contains("replace"), message);
    // the default store named explicitly, through a link, is the same store
    Path store = client().defaultStoreDir();
    Files.createDirectories(store);
    Path link = Files.createSymbolicLink(dir.resolve("store-link"), store);
    refusedPush("id=m2,target=" + a, "id=m2,dir=" + link + ",target=" + b);
  }

  @Test
  void twoPushesToOneRegistryTagAreRefusedWhateverTheIds() {
    String message = refusedPush("id=one,ref=localhost:5000/cache:shared,target=/a", "id=two,ref=LOCALHOST:5000/cache:shared,target=/b");
    assertTrue(message.contains("'one' and 'two'") && message.contains("localhost:5000/cache:shared"), message);
    refusedPush("id=m2,ref=localhost:5000/cache,target=/a", "id=other,ref=localhost:5000/cache:m2,target=/b");
  }

  @Test
  void pushesToDistinctSnapshotsPass() throws IOException {
    client().checkPushes(specs(
        "id=m2,target=/a", "id=go,target=/a", "id=m2,dir=" + dir.resolve("other-store") + ",target=/b",
        "id=m2,ref=localhost:5000/cache,target=/a", "id=m2,ref=localhost:5000/other,target=/a", "id=m2,ref=localhost:5001/cache,target=/a"));
  }

  /**
   * image= writes a tag too: two specs of one push that write their image views to one tag would
   * keep the second's only, and a spec whose image view goes to another's snapshot tag makes one of
   * the two fail after the other was written (the view's tag is refused by the push, the snapshot's
   * by the view).
   */
  @Test
  void anImageViewTagThatAnotherSpecWritesIsRefused() {
    String twice = refusedPush("id=a,target=/a,image=view", "id=b,target=/b,image=view");
    assertTrue(twice.contains("'a' and 'b'") && twice.contains("image=view"), twice);
    String onSnapshot = refusedPush("id=a,target=/a,image=b", "id=b,target=/b");
    assertTrue(onSnapshot.contains("cache id 'a': image=b is where cache id 'b' pushes its snapshot"), onSnapshot);
    refusedPush("id=b,target=/b", "id=a,target=/a,image=b");
    refusedPush("id=a,ref=localhost:5000/cache:one,target=/a,image=view", "id=b,ref=LOCALHOST:5000/cache:two,target=/b,image=view");
    refusedPush("id=a,ref=localhost:5000/cache,target=/a,image=b", "id=b,ref=localhost:5000/cache,target=/b");
    // Other stores, other repositories: no conflict.
    client().checkPushes(specs("id=a,target=/a,image=view", "id=b,dir=" + dir.resolve("other-store") + ",target=/b,image=view",
        "id=a,ref=localhost:5000/cache,target=/a,image=view", "id=a,ref=localhost:5000/other,target=/a,image=view"));
  }

  @Test
  void twoPullsIntoOneTargetOrOneInsideAnotherAreRefused() throws IOException {
    Path target = Files.createDirectories(dir.resolve("t"));
    String same = refusedPull("id=a,target=" + target, "id=b,target=" + dir.resolve("x/../t"));
    assertTrue(same.contains("'a' and 'b'") && same.contains("both pull into " + target.toRealPath()), same);
    String nested = refusedPull("id=a,target=" + target.resolve("inner/deeper"), "id=b,target=" + target);
    assertTrue(nested.contains("lies inside " + target.toRealPath()), nested);
    Path link = Files.createSymbolicLink(dir.resolve("t-link"), target);
    refusedPull("id=a,target=" + target, "id=b,target=" + link);
  }

  @Test
  void pullsIntoSeparateTargetsPassEvenFromOneSnapshot() {
    client().checkPulls(specs("id=a,target=" + dir.resolve("t1"), "id=a,target=" + dir.resolve("t10"), "id=b,target=" + dir.resolve("t2")));
  }

  /**
   * A spec that cannot run (no target; a push to a pinned digest) is refused with the others, before
   * any runs: the ids before it ran, and then the command failed with exit 2.
   */
  @Test
  void aSpecThatCannotRunIsRefusedBeforeAnyRuns() {
    String noTarget = assertThrows(CachemountException.class,
        () -> client().checkPushes(specs("id=a,target=" + dir.resolve("t1"), "id=b"))).getMessage();
    assertTrue(noTarget.contains("cache id 'b': push needs target=DIR"), noTarget);
    String digest = assertThrows(CachemountException.class, () -> client().checkPushes(specs("id=a,target=" + dir.resolve("t1"),
        "id=b,ref=localhost:5000/cache@sha256:" + "a".repeat(64) + ",target=" + dir.resolve("t2")))).getMessage();
    assertTrue(digest.contains("cache id 'b'") && digest.contains("pins a digest"), digest);
    String pull = assertThrows(CachemountException.class,
        () -> client().checkPulls(specs("id=a,target=" + dir.resolve("t1"), "id=b"))).getMessage();
    assertTrue(pull.contains("cache id 'b': pull needs target=DIR"), pull);
  }

  /**
   * The keys a prune leaves alone: the own tags of the command's specs whose snapshots lie in the
   * pruned spec's store (the default store named by its path, the same repository of the same
   * registry, its host's case aside), and what their from= names there (a tag, or a pinned digest);
   * not those of another directory or repository.
   */
  @Test
  void thePruneOfASpecKeepsTheKeysInUseInItsStoreOnly() {
    Path store = client().defaultStoreDir();
    List<CacheSpec> local = specs("id=m2-own,fallback=m2-,from=m2-main", "id=m2-branch,dir=" + store, "id=m2-elsewhere,dir=" + dir.resolve("other"),
        "id=x,dir=" + dir.resolve("other") + ",from=m2-there");
    assertEquals(Set.of("m2-own", "m2-main", "m2-branch"), SpecConflicts.keysInUse(local.get(0), local, store));
    String pinned = "sha256:" + "ab".repeat(32);
    List<CacheSpec> registry = specs("id=m2-own,ref=Reg.example/team/cache,fallback=m2-,from=reg.example/team/cache:m2-main",
        "id=x,ref=reg.example/team/cache:m2-pinned,from=reg.example/team/cache@" + pinned + ",from=reg.example/team/other:m2-there",
        "id=m2-other-repo,ref=reg.example/team/other", "id=m2-local");
    assertEquals(Set.of("m2-own", "m2-main", "m2-pinned", pinned), SpecConflicts.keysInUse(registry.get(0), registry, store));
  }
}
