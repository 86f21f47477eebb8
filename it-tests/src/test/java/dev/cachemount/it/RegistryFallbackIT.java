package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.Cachemount;
import dev.cachemount.core.OperationListener;
import dev.cachemount.core.OperationResult;
import dev.cachemount.core.Outcome;
import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code fallback=PREFIX} (actions/cache's {@code restore-keys}) against a real registry, through the
 * client's public API: a pull of a tag that holds nothing restores the newest snapshot (by the time
 * its push began) of the tags the prefix starts, listed with {@code tags/list} and its {@code Link}
 * pages; a push to such a tag builds on that snapshot; a repository that does not exist yet is a miss.
 */
class RegistryFallbackIT {
  private static final String REPOSITORY = "team/cache";

  @TempDir Path dir;

  /** Every message of an operation, for the assertions' messages. */
  private static final class Messages implements OperationListener {
    final List<String> lines = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void info(String message) {
      lines.add("info: " + message);
    }

    @Override
    public void warning(String message) {
      lines.add("warning: " + message);
    }

    @Override
    public String toString() {
      return String.join("\n", lines);
    }
  }

  /**
   * A client of the test registry, configured as the CLI's environment configures it, whose clock
   * runs {@code offset} from this machine's: a snapshot it pushes is stamped as made then.
   */
  private static Cachemount client(RegistryAccess access, Duration offset) {
    return Cachemount.builder().home(access.home()).env(access.env()).registry(access.settings())
        .clock(Clock.offset(Clock.systemUTC(), offset)).build();
  }

  /** Pushes {@code tree} as cache id {@code id} to {@code host}'s {@link #REPOSITORY}, made at now + {@code offset}. */
  private static OperationResult push(RegistryAccess access, String host, String id, Path tree, Duration offset) {
    Cachemount client = client(access, offset);
    Messages messages = new Messages();
    OperationResult pushed = client.push(client.parseSpec("id=" + id + ",ref=" + host + "/" + REPOSITORY + ",target=" + tree), messages);
    assertEquals(Outcome.PUSHED, pushed.result(), id + ": " + pushed + "\n" + messages);
    return pushed;
  }

  /** A small tree of its own for each seed. */
  private Path tree(String name, long seed) throws Exception {
    return RandomTrees.write(dir.resolve(name), seed, 12, 3, 2_000, 8_000);
  }

  /** {@code docker://HOST/team/cache:TAG}, as results name snapshots. */
  private static String ref(String host, String tag) {
    return "docker://" + host + "/" + REPOSITORY + ":" + tag;
  }

  /**
   * The chooser against the registry's list: of three m2- tags, the one whose snapshot was made last
   * is restored, although it was pushed first and is not the greatest tag (m2-c is), and a newer
   * snapshot under another prefix (npm-) is passed over. The result names it as the fallback while
   * its ref stays the id's own, and the listing was the registry's (one {@code tags/list}), read with
   * a token for pull alone: a pull asks for no more.
   */
  @ParameterizedTest
  @EnumSource(value = RegistryMode.class, names = {"PLAIN", "TOKEN"})
  void aPullOfAnEmptyTagRestoresTheNewestSnapshotThePrefixMatches(RegistryMode mode) throws Exception {
    Path a = tree("a", 1);
    Path b = tree("b", 2);
    Path c = tree("c", 3);
    Path npm = tree("npm", 4);
    try (TestRegistry registry = TestRegistry.start(mode, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      String host = registry.host();
      push(access, host, "m2-b", b, Duration.ofHours(2)); // the newest m2- snapshot, pushed first
      push(access, host, "m2-c", c, Duration.ofHours(1)); // the greatest tag
      push(access, host, "m2-a", a, Duration.ZERO); // pushed last
      push(access, host, "npm-z", npm, Duration.ofHours(3)); // newer still, of another prefix

      registry.clearLog();
      int scopesBefore = mode == RegistryMode.TOKEN ? registry.issuer().scopesRequested().size() : 0;
      Cachemount client = client(access, Duration.ZERO);
      Messages messages = new Messages();
      Path restored = dir.resolve("restored");
      OperationResult pulled = client.pull(client.parseSpec("id=m2-new,ref=" + access.ref(REPOSITORY) + ",fallback=m2-,target=" + restored),
          messages);

      assertEquals(Outcome.RESTORED, pulled.result(), pulled + "\n" + messages);
      TreeCompare.assertSameTree(b, restored);
      assertEquals(ref(host, "m2-b"), pulled.fallback(), "the snapshot restored: " + messages);
      assertEquals(ref(host, "m2-new"), pulled.ref(), "the ref stays the id's own");
      assertEquals(1, registry.countRequests("GET", "/v2/" + REPOSITORY + "/tags/list\\?n=\\d+"), String.join("\n", registry.logLines()));
      if (mode == RegistryMode.TOKEN) {
        List<String> scopes = registry.issuer().scopesRequested();
        List<String> asked = scopes.subList(scopesBefore, scopes.size());
        assertFalse(asked.isEmpty(), "the pull's client asked for a token");
        assertTrue(asked.stream().allMatch(s -> s.equals("repository:" + REPOSITORY + ":pull")), "a pull asks to read only: " + asked);
      }
    }
  }

  /**
   * {@code tags/list} in pages: with the proxy asking the registry for two tags a page, six m2- tags
   * come in three pages joined by {@code Link} headers, and the newest snapshot (m2-e, not the
   * greatest tag) is on the last; the pull follows every link and restores it. A pull that read the
   * first page only would restore m2-b.
   */
  @Test
  void theNewestSnapshotOnTheLastPageOfThePagedTagListIsFound() throws Exception {
    List<String> ids = List.of("m2-a", "m2-b", "m2-c", "m2-d", "m2-e", "m2-f");
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"));
        FaultProxy proxy = new FaultProxy(registry.host())) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      List<Path> trees = new ArrayList<>();
      for (int i = 0; i < ids.size(); i++) {
        trees.add(tree(ids.get(i), 10 + i));
        Duration made = ids.get(i).equals("m2-e") ? Duration.ofHours(1) : Duration.ofMinutes(i);
        push(access, proxy.host(), ids.get(i), trees.get(i), made);
      }

      proxy.pageTagLists(2);
      registry.clearLog();
      Cachemount client = client(access, Duration.ZERO);
      Messages messages = new Messages();
      Path restored = dir.resolve("restored");
      OperationResult pulled = client.pull(client.parseSpec("id=m2-new,ref=" + proxy.host() + "/" + REPOSITORY + ",fallback=m2-,target=" + restored),
          messages);

      assertEquals(Outcome.RESTORED, pulled.result(), pulled + "\n" + messages);
      assertEquals(ref(proxy.host(), "m2-e"), pulled.fallback(), "the newest, on the last page: " + messages);
      TreeCompare.assertSameTree(trees.get(ids.indexOf("m2-e")), restored);
      assertEquals(3, proxy.tagListRequests(), "six tags, two a page: three pages, each asked once (" + proxy.tagPagesCut()
          + " cut by the proxy from the registry's whole list)");
      assertEquals(3, registry.countRequests("GET", "/v2/" + REPOSITORY + "/tags/list\\?n=2(&last=.*)?"),
          "each page was asked of the registry, two tags at a time:\n" + String.join("\n", registry.logLines()));
    }
  }

  /**
   * A push to an empty tag builds on the snapshot its fallback names: after pulling it and changing
   * one file of forty, the push uploads a small part of what the fallback's own push did (its packs
   * are reused, not uploaded again), stores a snapshot under the id (pushed, not unchanged) and says
   * which one it built on; a pull of the id afterwards, without fallback, restores the changed tree.
   */
  @ParameterizedTest
  @EnumSource(value = RegistryMode.class, names = {"PLAIN", "TOKEN"})
  void aPushToAnEmptyTagBuildsOnTheFallbackAndUploadsOnlyWhatChanged(RegistryMode mode) throws Exception {
    Path old = RandomTrees.write(dir.resolve("old"), 5, 40, 4, 50_000, 100_000);
    try (TestRegistry registry = TestRegistry.start(mode, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      String host = registry.host();
      OperationResult first = push(access, host, "m2-old", old, Duration.ZERO);

      Cachemount client = client(access, Duration.ZERO);
      String spec = "id=m2-new,ref=" + access.ref(REPOSITORY) + ",fallback=m2-,target=";
      Path work = dir.resolve("work");
      Messages pullMessages = new Messages();
      OperationResult pulled = client.pull(client.parseSpec(spec + work), pullMessages);
      assertEquals(ref(host, "m2-old"), pulled.fallback(), pulled + "\n" + pullMessages);
      byte[] changed = new byte[60_000];
      new Random(99).nextBytes(changed);
      Files.write(work.resolve("g1").resolve("f5.jar"), changed);

      Messages pushMessages = new Messages();
      OperationResult second = client.push(client.parseSpec(spec + work), pushMessages);
      assertEquals(Outcome.PUSHED, second.result(), second + "\n" + pushMessages);
      assertEquals(ref(host, "m2-old"), second.fallback(), "the snapshot built on: " + pushMessages);
      assertEquals(ref(host, "m2-new"), second.ref(), "pushed under the id's own tag");
      assertTrue(second.bytesTransferred() < first.bytesTransferred() / 5,
          "one changed file uploads " + second.bytesTransferred() + " bytes of the first push's " + first.bytesTransferred() + "\n" + pushMessages);

      Messages again = new Messages();
      Path restored = dir.resolve("restored");
      OperationResult own = client.pull(client.parseSpec("id=m2-new,ref=" + access.ref(REPOSITORY) + ",target=" + restored), again);
      assertEquals(Outcome.RESTORED, own.result(), own + "\n" + again);
      assertNull(own.fallback(), "the id's own tag holds the snapshot now");
      TreeCompare.assertSameTree(work, restored);
    }
  }

  /**
   * A push of exactly the tree the fallback holds still fills the empty tag: equal to another tag's
   * snapshot is no reason to leave the id's own empty (the next pull would fall back again), and
   * building on it uploads none of its packs.
   */
  @Test
  void aPushOfTheFallbacksOwnTreeStillStoresItUnderTheId() throws Exception {
    Path old = RandomTrees.write(dir.resolve("old"), 6, 40, 4, 50_000, 100_000);
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      String host = registry.host();
      OperationResult first = push(access, host, "m2-old", old, Duration.ZERO);

      Cachemount client = client(access, Duration.ZERO);
      Messages messages = new Messages();
      OperationResult second = client.push(client.parseSpec("id=m2-new,ref=" + access.ref(REPOSITORY) + ",fallback=m2-,target=" + old), messages);
      assertEquals(Outcome.PUSHED, second.result(), second + "\n" + messages);
      assertEquals(ref(host, "m2-old"), second.fallback(), messages.toString());
      assertTrue(second.bytesTransferred() < first.bytesTransferred() / 20,
          "the same tree uploads " + second.bytesTransferred() + " bytes of the first push's " + first.bytesTransferred() + "\n" + messages);
      Path restored = dir.resolve("restored");
      OperationResult own = client.pull(client.parseSpec("id=m2-new,ref=" + access.ref(REPOSITORY) + ",target=" + restored), OperationListener.NONE);
      assertNull(own.fallback(), "the id's own tag holds the snapshot now");
      TreeCompare.assertSameTree(old, restored);
    }
  }

  /**
   * A repository nothing was pushed to yet, as on a project's first CI run: its {@code tags/list}
   * answers 404, which means no tags, so the pull with a fallback is a plain miss that leaves the
   * target alone, not a failure.
   */
  @ParameterizedTest
  @EnumSource(value = RegistryMode.class, names = {"PLAIN", "TOKEN"})
  void aPullWithAFallbackFromARepositoryNotCreatedYetIsAMiss(RegistryMode mode) throws Exception {
    try (TestRegistry registry = TestRegistry.start(mode, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      registry.clearLog();
      Cachemount client = client(access, Duration.ZERO);
      Messages messages = new Messages();
      Path target = dir.resolve("target");
      OperationResult pulled = client.pull(client.parseSpec("id=m2-new,ref=" + access.ref("nobody/yet") + ",fallback=m2-,target=" + target),
          messages);

      assertEquals(Outcome.MISS, pulled.result(), pulled + "\n" + messages);
      assertNull(pulled.fallback(), messages.toString());
      assertEquals("docker://" + access.ref("nobody/yet") + ":m2-new", pulled.ref());
      assertFalse(Files.exists(target), "a miss leaves the target alone");
      assertEquals(1, registry.countRequests("GET", "/v2/nobody/yet/tags/list\\?n=\\d+"),
          "the tags were asked for, and the 404 taken for none:\n" + String.join("\n", registry.logLines()));
    }
  }
}
