package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code image=TAG}: the image view a push writes beside its snapshot is an ordinary multi-platform
 * image to clients nobody here wrote. skopeo reads its index and each platform's image from a real
 * registry and from our OCI layout directory, and copies it; GNU tar, extracting the copied layers
 * in the manifest's order into one directory (as an image's layers stack), gives back the tree
 * pushed. A second push keeps the view, or rewrites only the layer a changed file is in.
 */
class ImageViewIT {
  /** The platforms the view names: every one an image of the same layers. */
  private static final Set<String> PLATFORMS = Set.of("linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386",
      "linux/ppc64le", "linux/s390x", "linux/riscv64");
  private static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  private static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  private static final String LAYER = "application/vnd.oci.image.layer.v1.tar+zstd";
  /** A file this size ends a layer whatever its path: it is at least half of the smallest layer target (8 MiB). */
  private static final int LAYER_ENDING_FILE = (4 << 20) + 200_000;

  static String skopeo;
  static String tar;
  @TempDir Path dir;

  @BeforeAll
  static void requireTools() {
    skopeo = Processes.require("skopeo", "apt-get install -y skopeo");
    tar = Processes.require("tar", "apt-get install -y tar");
    // GNU tar's --zstd runs zstd
    Processes.require("zstd", "apt-get install -y zstd");
  }

  @Test
  void skopeoAndGnuTarReadTheViewFromARegistryAndASecondPushKeepsOrRewritesIt() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path tree = tree(dir.resolve("tree"));
      String spec = "id=m2,ref=" + access.ref("team/cache") + ",target=" + tree + ",image=m2-image";
      Cli.Result push = access.cli("push", spec);
      assertEquals(0, push.exitCode(), push.toString());
      JsonNode pushed = push.json().get(0);
      assertEquals("pushed", pushed.get("result").asText(), push.toString());
      String snapshot = pushed.get("digest").asText();
      JsonNode image = pushed.get("image");
      assertTrue(image != null && image.isObject(), "the result has an image object: " + push);
      String source = "docker://" + registry.host() + "/team/cache:m2-image";
      assertEquals(source, image.get("ref").asText(), "the ref, in skopeo's syntax");
      assertFalse(image.get("unchanged").asBoolean());
      assertEquals(0, image.get("layersReused").asInt());
      assertTrue(image.get("bytesWritten").asLong() > 0);
      int layers = image.get("layers").asInt();
      assertTrue(layers >= 3, "the tree's large files end layers: " + layers + " layers");

      Processes.Result raw = skopeo("inspect", "--raw", "--tls-verify=false", source);
      assertEquals(image.get("digest").asText(), Digest.of(raw.stdout()).toString(), "skopeo sees our index byte for byte");
      JsonNode index = Json.mapper().readTree(raw.stdout());
      assertEquals(OCI_INDEX, index.path("mediaType").asText());
      assertEquals("1", index.path("annotations").path("dev.cachemount.image.view").asText());
      assertEquals(snapshot, index.path("annotations").path("dev.cachemount.image.snapshot").asText(), "the view names the snapshot pushed");
      assertEquals(PLATFORMS, platforms(index));
      for (JsonNode d : index.path("manifests")) {
        assertEquals(OCI_MANIFEST, d.path("mediaType").asText());
      }

      // Without --raw skopeo resolves the index to one platform's image, reading its manifest and config.
      JsonNode arm64 = Json.mapper().readTree(skopeo("inspect", "--tls-verify=false", "--override-os", "linux", "--override-arch", "arm64", source).stdout());
      assertEquals("arm64", arm64.path("Architecture").asText());
      assertEquals("linux", arm64.path("Os").asText());
      assertEquals(layers, arm64.path("Layers").size());
      for (JsonNode l : arm64.path("LayersData")) {
        assertEquals(LAYER, l.path("MIMEType").asText());
      }

      Path layout = dir.resolve("copied");
      skopeo("copy", "--src-tls-verify=false", source, "oci:" + layout + ":img");
      List<String> layerDigests = extractWithGnuTar(layout, "img", dir.resolve("extracted"));
      assertEquals(arm64.path("Layers").toString(), Json.mapper().valueToTree(layerDigests).toString(), "every platform has the same layers");
      assertSameTree(tree, dir.resolve("extracted"));

      // Every platform of the index, copied to another repository, and each image read back from there.
      String other = "docker://" + registry.host() + "/other/view:copied";
      skopeo("copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false", source, other);
      assertEquals(image.get("digest").asText(), Digest.of(skopeo("inspect", "--raw", "--tls-verify=false", other).stdout()).toString(),
          "skopeo copies the index unchanged");
      for (String platform : PLATFORMS) {
        String[] p = platform.split("/");
        List<String> inspect = new ArrayList<>(List.of("inspect", "--tls-verify=false", "--override-os", p[0], "--override-arch", p[1]));
        if (p.length > 2) {
          inspect.addAll(List.of("--override-variant", p[2]));
        }
        inspect.add(other);
        JsonNode read = Json.mapper().readTree(skopeo(inspect.toArray(String[]::new)).stdout());
        assertEquals(p[1], read.path("Architecture").asText(), platform);
        assertEquals(arm64.path("Layers"), read.path("Layers"), platform + " has the same layers");
      }

      // The same tree again: the snapshot and the view are left as they are.
      Cli.Result again = access.cli("push", spec);
      assertEquals(0, again.exitCode(), again.toString());
      JsonNode unchanged = again.json().get(0);
      assertEquals("unchanged", unchanged.get("result").asText(), again.toString());
      assertEquals(snapshot, unchanged.get("digest").asText());
      assertTrue(unchanged.get("image").get("unchanged").asBoolean(), again.toString());
      assertEquals(image.get("digest").asText(), unchanged.get("image").get("digest").asText());
      assertEquals(0, unchanged.get("image").get("bytesWritten").asLong());

      // One file changed (same size, so every cut between layers stays where it was): only its layer is written again.
      Path changed = tree.resolve("g1/f1.jar");
      byte[] content = new byte[(int) Files.size(changed)];
      new Random(99).nextBytes(content);
      Files.write(changed, content);
      Files.setLastModifiedTime(changed, FileTime.from(Instant.parse("2026-03-04T05:06:07.123456789Z")));
      Cli.Result third = access.cli("push", spec);
      assertEquals(0, third.exitCode(), third.toString());
      JsonNode rewritten = third.json().get(0);
      assertEquals("pushed", rewritten.get("result").asText(), third.toString());
      JsonNode view = rewritten.get("image");
      assertFalse(view.get("unchanged").asBoolean());
      assertEquals(layers, view.get("layers").asInt());
      assertEquals(layers - 1, view.get("layersReused").asInt(), third.toString());
      assertTrue(view.get("bytesWritten").asLong() < image.get("bytesWritten").asLong() / 2, third.toString());
      JsonNode newIndex = Json.mapper().readTree(skopeo("inspect", "--raw", "--tls-verify=false", source).stdout());
      assertEquals(rewritten.get("digest").asText(), newIndex.path("annotations").path("dev.cachemount.image.snapshot").asText());

      Path layout2 = dir.resolve("copied-again");
      skopeo("copy", "--src-tls-verify=false", source, "oci:" + layout2 + ":img");
      List<String> newLayers = extractWithGnuTar(layout2, "img", dir.resolve("extracted-again"));
      assertEquals(layers, newLayers.size());
      Set<String> kept = new HashSet<>(layerDigests);
      kept.retainAll(newLayers);
      assertEquals(layers - 1, kept.size(), "the registry holds the same layers but one: " + layerDigests + " then " + newLayers);
      assertSameTree(tree, dir.resolve("extracted-again"));
    }
  }

  /**
   * A build that wrote into the directory after the push read it (a file cut short, another rewritten
   * with its size): the view, written through a real registry, shows the snapshot all the same, those
   * files read back from the snapshot's packs, as skopeo and GNU tar see it.
   */
  @Test
  void filesChangedAfterTheSnapshotAreShownFromItsPacksInARegistry() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry-changed"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home-changed"));
      Path tree = tree(dir.resolve("tree-changed"));
      Path asPushed = dir.resolve("as-pushed");
      assertEquals(0, Processes.run(List.of("cp", "-a", tree.toString(), asPushed.toString())).exitCode());
      Cli.Result push = access.cli("push", "id=m2,ref=" + access.ref("team/changed") + ",target=" + tree);
      assertEquals(0, push.exitCode(), push.toString());
      String snapshot = push.json().get(0).get("digest").asText();

      Files.write(tree.resolve("big/one.bin"), new byte[100]);
      Files.writeString(tree.resolve("lib/x.jar"), "JAR\n");
      Files.setLastModifiedTime(tree.resolve("lib/x.jar"), FileTime.from(Instant.parse("2026-05-06T07:08:09Z")));
      List<String> warnings = new ArrayList<>();
      registry.clearLog();
      try (dev.cachemount.core.registry.RegistryStore store = access.store("team/changed", dir.resolve("hints-changed"))) {
        dev.cachemount.core.snapshot.LoadedSnapshot loaded = dev.cachemount.core.snapshot.SnapshotReader.of(store).load("m2", "m2").orElseThrow();
        new dev.cachemount.core.image.ImageView(store, "m2-image", new dev.cachemount.core.OperationListener() {
          @Override
          public void warning(String message) {
            warnings.add(message);
          }
        }).publish(tree, Digest.parse(snapshot), () -> new dev.cachemount.core.image.ImageView.Snapshot(loaded.index(), loaded.config().created()), 3, 2);
      }
      assertEquals(1, warnings.size(), warnings.toString());
      assertTrue(warnings.get(0).startsWith("2 files changed in the directory after the snapshot was made;")
          && warnings.get(0).endsWith("read back from its packs: big/one.bin, lib/x.jar"), warnings.toString());
      assertTrue(registry.countRequests("GET", "/v2/team/changed/blobs/sha256:.*") >= 1, "the files came from the stored packs");

      Path layout = dir.resolve("copied-changed");
      skopeo("copy", "--src-tls-verify=false", "docker://" + registry.host() + "/team/changed:m2-image", "oci:" + layout + ":img");
      extractWithGnuTar(layout, "img", dir.resolve("extracted-changed"));
      assertSameTree(asPushed, dir.resolve("extracted-changed"));
    }
  }

  /**
   * Two projects merge into one cache in a registry, each push with image=: the view shows the whole
   * merge (the other project's files read back from the snapshot's packs), as skopeo and GNU tar
   * see it, and no push warns.
   */
  @Test
  void aMergedCachesViewInARegistryShowsTheWholeMerge() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry-merged"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home-merged"));
      Path a = RandomTrees.write(dir.resolve("merged-a/from-a"), 41, 40, 4, 1_000, 60_000).getParent();
      Path b = RandomTrees.write(dir.resolve("merged-b/from-b"), 42, 40, 4, 1_000, 60_000).getParent();
      String spec = "id=deps,ref=" + access.ref("team/merged") + ",mode=merge,image=deps-image,target=";
      for (Path project : List.of(a, b)) {
        Cli.Result push = access.cli("push", spec + project);
        assertEquals(0, push.exitCode(), push.toString());
        assertEquals(0, push.json().get(0).get("warnings").asInt(), push.toString());
      }
      Path restored = dir.resolve("merged-restored");
      assertEquals(0, access.cli("pull", spec + restored).exitCode());
      assertTrue(Files.isDirectory(restored.resolve("from-a")) && Files.isDirectory(restored.resolve("from-b")), "the merge holds both");
      Path layout = dir.resolve("copied-merged");
      skopeo("copy", "--src-tls-verify=false", "docker://" + registry.host() + "/team/merged:deps-image", "oci:" + layout + ":img");
      extractWithGnuTar(layout, "img", dir.resolve("extracted-merged"));
      assertSameTree(restored, dir.resolve("extracted-merged"));
    }
  }

  @Test
  void skopeoReadsTheViewFromOurLayoutDirectoryBesideTheSnapshot() throws Exception {
    Path tree = tree(dir.resolve("tree"));
    Path store = dir.resolve("store");
    Cli.Result push = Cli.run("push", "--json", "--cache-id", "id=m2,dir=" + store + ",target=" + tree + ",image=m2-image");
    assertEquals(0, push.exitCode(), push.toString());
    JsonNode image = push.json().get(0).get("image");
    assertEquals("oci:" + store + ":m2-image", image.get("ref").asText());

    Processes.Result raw = skopeo("inspect", "--raw", "oci:" + store + ":m2-image");
    assertEquals(image.get("digest").asText(), Digest.of(raw.stdout()).toString());
    assertEquals(PLATFORMS, platforms(Json.mapper().readTree(raw.stdout())));
    JsonNode inspected = Json.mapper().readTree(skopeo("inspect", "oci:" + store + ":m2-image").stdout());
    assertEquals(image.get("layers").asInt(), inspected.path("Layers").size());

    Path other = dir.resolve("other");
    skopeo("copy", "oci:" + store + ":m2-image", "oci:" + other + ":x");
    extractWithGnuTar(other, "x", dir.resolve("extracted"));
    assertSameTree(tree, dir.resolve("extracted"));
    skopeo("copy", "--all", "oci:" + store + ":m2-image", "oci:" + dir.resolve("all") + ":x");

    // The snapshot in the same directory still reads and restores.
    skopeo("inspect", "--raw", "oci:" + store + ":m2");
    Path restored = dir.resolve("restored");
    Cli.Result pull = Cli.run("pull", "--json", "--cache-id", "id=m2,dir=" + store + ",target=" + restored);
    assertEquals(0, pull.exitCode(), pull.toString());
    TreeCompare.assertSameTree(tree, restored);
  }

  @Test
  void anImageTagThatIsNotATagOfItsOwnIsAUsageErrorBeforeAnythingIsPushed() throws Exception {
    Path tree = dir.resolve("tree");
    RandomTrees.write(tree, 5, 3, 1, 100, 100);
    Path store = dir.resolve("store");
    String base = "id=m2,dir=" + store + ",target=" + tree;
    assertUsage(base + ",image=host/x:y", "is not a tag");
    assertUsage(base + ",image=m2", "the snapshot's own tag");
    // The same with a ref: the snapshot's own tag is the ref's (here the id's, the ref naming none).
    assertUsage("id=m2,ref=127.0.0.1:1/team/cache,target=" + tree + ",image=m2", "the snapshot's own tag");
    assertUsage("id=m2,ref=127.0.0.1:1/team/cache:snap,target=" + tree + ",image=snap", "the snapshot's own tag");
    assertFalse(Files.exists(store), "nothing was pushed");
  }

  private static void assertUsage(String spec, String message) throws Exception {
    Cli.Result r = Cli.run("push", "--json", "--cache-id", spec);
    assertEquals(2, r.exitCode(), r.toString());
    assertTrue(r.toString().contains(message), "says " + message + ": " + r);
  }

  /**
   * A tree of about 16 MB: small random files in g0..g5, three files that each end a layer, an
   * executable, a symbolic link, an empty directory, a path longer than ustar's 100 bytes, and old
   * directory times. {@code lib-big.bin} and {@code lib.txt} sort between {@code lib} and
   * {@code lib/...}, so the layer after {@code lib-big.bin} goes on into {@code lib}, which an earlier
   * layer holds: extracting it must not leave lib with the time of the extraction.
   */
  private static Path tree(Path root) throws Exception {
    RandomTrees.write(root, 31, 60, 6, 1_000, 60_000);
    Random random = new Random(32);
    for (String big : List.of("big/one.bin", "lib-big.bin", "zz/last-big.bin")) {
      byte[] b = new byte[LAYER_ENDING_FILE];
      random.nextBytes(b);
      Files.createDirectories(root.resolve(big).getParent());
      Files.write(root.resolve(big), b);
    }
    Files.writeString(root.resolve("lib.txt"), "beside lib\n");
    RandomTrees.addLibWithExecutableLinkAndEmptyDirectory(root);
    Path deep = root.resolve("deep/" + "d".repeat(60) + "/" + "e".repeat(60));
    Files.createDirectories(deep);
    Files.writeString(deep.resolve("f".repeat(50) + ".pom"), "<project/>\n");
    Files.writeString(root.resolve("zz/after.txt"), "after the last large file\n");
    FileTime old = FileTime.from(Instant.parse("2021-02-03T04:05:06.123456789Z"));
    for (String d : List.of("lib", "lib/bin", "lib/empty", "big", "g2", "deep")) {
      Files.setLastModifiedTime(root.resolve(d), old);
    }
    return root;
  }

  private static Set<String> platforms(JsonNode index) {
    Set<String> found = new TreeSet<>();
    for (JsonNode d : index.path("manifests")) {
      JsonNode p = d.path("platform");
      found.add(p.path("os").asText() + "/" + p.path("architecture").asText() + (p.has("variant") ? "/" + p.path("variant").asText() : ""));
    }
    assertEquals(index.path("manifests").size(), found.size(), "one manifest per platform: " + index);
    return found;
  }

  /**
   * Extracts the image {@code tag} of an OCI layout that skopeo wrote, layer by layer in the
   * manifest's order, into {@code into} with GNU tar, after checking with GNU tar what every layer
   * holds: owned by 0:0, files 0644 or 0755, directories 0755, POSIX (ustar/PAX) headers. Returns the
   * layers' digests.
   */
  private static List<String> extractWithGnuTar(Path layout, String tag, Path into) throws Exception {
    JsonNode layoutIndex = Json.mapper().readTree(Files.readAllBytes(layout.resolve("index.json")));
    JsonNode descriptor = null;
    for (JsonNode d : layoutIndex.path("manifests")) {
      if (tag.equals(d.path("annotations").path("org.opencontainers.image.ref.name").asText())) {
        descriptor = d;
      }
    }
    assertTrue(descriptor != null, "tag " + tag + " in " + layoutIndex);
    assertEquals(OCI_MANIFEST, descriptor.path("mediaType").asText(), "skopeo copied one platform's image");
    JsonNode manifest = Json.mapper().readTree(Files.readAllBytes(blob(layout, descriptor.path("digest").asText())));
    JsonNode config = Json.mapper().readTree(Files.readAllBytes(blob(layout, manifest.path("config").path("digest").asText())));
    assertEquals("linux", config.path("os").asText());
    assertEquals(manifest.path("layers").size(), config.path("rootfs").path("diff_ids").size());
    Files.createDirectories(into);
    List<String> digests = new ArrayList<>();
    int i = 0;
    for (JsonNode layer : manifest.path("layers")) {
      assertEquals(LAYER, layer.path("mediaType").asText());
      String digest = layer.path("digest").asText();
      digests.add(digest);
      Path blob = blob(layout, digest);
      // The diff id is the digest of the tar zstd gives back; the tar is POSIX (ustar magic and version "00").
      Processes.Result tarBytes = Processes.run(List.of("zstd", "-dcq", blob.toString()));
      assertEquals(0, tarBytes.exitCode(), tarBytes.stderr());
      assertEquals(config.path("rootfs").path("diff_ids").get(i++).asText(), Digest.of(tarBytes.stdout()).toString(), "diff id of " + digest);
      assertEquals("ustar\u000000", new String(Arrays.copyOfRange(tarBytes.stdout(), 257, 265), StandardCharsets.ISO_8859_1), "POSIX tar");

      Processes.Result list = Processes.run(List.of(tar, "--zstd", "--numeric-owner", "-tvf", blob.toString()));
      assertEquals(0, list.exitCode(), list.toString());
      for (String line : list.out().lines().toList()) {
        String[] f = line.split("\\s+");
        assertEquals("0/0", f[1], line);
        assertTrue(Set.of("-rw-r--r--", "-rwxr-xr-x", "drwxr-xr-x", "lrwxrwxrwx").contains(f[0]), line);
      }
      Processes.Result x = Processes.run(List.of(tar, "--zstd", "-xf", blob.toString(), "-C", into.toString()));
      assertEquals(0, x.exitCode(), x.toString());
    }
    return digests;
  }

  private static Path blob(Path layout, String digest) {
    return layout.resolve("blobs/sha256/" + Digest.parse(digest).hex());
  }

  /**
   * {@code diff -r} (paths, types, contents, symlink targets) and {@link TreeCompare}'s {@code find}
   * listing (type, executable bit, size, link target, modification time) with every time cut to 100
   * ns, the precision of the view's PAX times: GNU tar sets them on files, directories (once a layer
   * is extracted) and symbolic links.
   */
  private static void assertSameTree(Path expected, Path actual) throws Exception {
    Processes.Result diff = Processes.run(List.of("diff", "-r", "--no-dereference", expected.toString(), actual.toString()));
    assertEquals(0, diff.exitCode(), "diff -r found differences:\n" + diff);
    TreeCompare.assertSameListing(to100ns(TreeCompare.findListing(expected)), to100ns(TreeCompare.findListing(actual)));
  }

  private static List<String> to100ns(List<String> listing) {
    return listing.stream().map(line -> line.replaceFirst("(\\.\\d{1,7})\\d*$", "$1")).toList();
  }

  private static Processes.Result skopeo(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(skopeo));
    command.addAll(List.of(args));
    Processes.Result r = Processes.run(null, Duration.ofMinutes(2), command);
    assertEquals(0, r.exitCode(), String.join(" ", command) + "\n" + r);
    return r;
  }
}
