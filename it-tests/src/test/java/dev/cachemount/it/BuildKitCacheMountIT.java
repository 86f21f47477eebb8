package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code image=}, used as the user guide says, by a real BuildKit: a cache mount seeded from the image
 * view ({@code RUN --mount=type=cache,...,from=VIEW}) holds the tree pushed, a build writes into it,
 * the guide's copy stage gets it out ({@code --output type=local}), and a push of that stores only what
 * the build added. The engine is Debian 12's Docker Engine 20.10 (package {@code docker.io}), whose
 * BuildKit predates zstd layers: the view is written with {@code image-compression=gzip}, which every
 * image tool reads. The build runs with no network; the engine reaches the test registry on loopback.
 */
class BuildKitCacheMountIT {
  private static final String BASE = "cachemount-it-busybox:1";

  static String busybox;
  static String tar;
  @TempDir Path dir;

  @BeforeAll
  static void requireTools() {
    // A static busybox is the base image's shell and tools (sh, cp, find, sha256sum): no image is pulled.
    busybox = "/bin/busybox";
    assertTrue(Files.isExecutable(Path.of(busybox)), "this test builds its base image from a static busybox: apt-get install -y busybox-static");
    tar = Processes.require("tar", "apt-get install -y tar");
  }

  @Test
  void aCacheMountSeededFromTheViewHoldsTheTreeAndWhatTheBuildAddsIsAllTheNextPushStores() throws Exception {
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"));
        DockerDaemon docker = DockerDaemon.start()) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("home"));
      Path tree = tree(dir.resolve("tree"));
      String ref = access.ref("team/build-cache");
      Cli.Result push = access.cli("push", "id=m2,ref=" + ref + ",target=" + tree + ",image=m2-image,image-compression=gzip");
      assertEquals(0, push.exitCode(), push.toString());
      JsonNode image = push.json().get(0).get("image");
      assertTrue(image != null && image.get("layers").asInt() >= 1, push.toString());

      importBase(docker);
      // Unique per run: an engine the test found running keeps its cache mounts between builds.
      String mountId = "cachemount-it-" + Long.toHexString(System.nanoTime());
      String mount = "--mount=type=cache,id=" + mountId + ",target=/root/.m2/repository,from=" + ref + ":m2-image";
      Path context = Files.createDirectories(dir.resolve("context"));
      // The user guide's stages: the build, then the copy of the same cache mount into a stage's files.
      Files.writeString(context.resolve("Dockerfile"), String.join("\n",
          "FROM " + BASE + " AS build",
          "RUN " + mount + " \\",
          "    cd /root/.m2/repository && find . -mindepth 1 | sort | while read -r p; do stat -c '%n|%F|%a|%u:%g|%s|%y' \"$p\"; done > /seeded"
              + " && echo built > new-artifact.jar",
          "FROM build AS m2-copy",
          "RUN " + mount + " \\",
          "    mkdir -p /m2 && cp -a /root/.m2/repository/. /m2/",
          "FROM scratch AS m2",
          "COPY --from=m2-copy /m2 /",
          "FROM scratch AS seeded",
          "COPY --from=build /seeded /",
          ""));
      Path out = dir.resolve("m2-out");
      Processes.Result build = docker.docker(context, "build", "--network", "none", "--target", "m2", "--output", "type=local,dest=" + out, ".");
      assertEquals(0, build.exitCode(), "the build (engine " + docker.serverVersion() + "):\n" + build + "\n--- engine log\n" + docker.logTail());

      // The cache mount, as the build saw it, held the tree pushed: every file, link and empty
      // directory, with the snapshot's times (to 100 ns, as the view's tars hold them), modes, and root as owner.
      Path seeded = dir.resolve("seeded-out");
      Processes.Result listed = docker.docker(context, "build", "--network", "none", "--target", "seeded", "--output", "type=local,dest=" + seeded, ".");
      assertEquals(0, listed.exitCode(), listed.toString());
      TreeCompare.assertSameListing(expectedMount(tree), mountListing(Files.readAllLines(seeded.resolve("seeded"))));

      // Copied out (the guide's stage), it is the tree pushed and the build's file: contents, links,
      // executable bits; files' times to the second (busybox's cp -a; GNU cp keeps nanoseconds), while
      // the exporter gives directories that hold files the time of the export.
      assertEquals("built\n", Files.readString(out.resolve("new-artifact.jar")));
      Files.delete(out.resolve("new-artifact.jar"));
      Processes.Result diff = Processes.run(List.of("diff", "-r", "--no-dereference", tree.toString(), out.toString()));
      assertEquals(0, diff.exitCode(), "the copied-out cache mount differs from the tree pushed:\n" + diff);
      TreeCompare.assertSameListing(copiedListing(tree), copiedListing(out));

      // The guide's way back: the copied-out directory, with the build's file, pushed to the snapshot's tag.
      Files.writeString(out.resolve("new-artifact.jar"), "built\n");
      Cli.Result back = access.cli("push", "id=m2,ref=" + ref + ",target=" + out + ",image=m2-image,image-compression=gzip");
      assertEquals(0, back.exitCode(), back.toString());
      JsonNode backed = back.json().get(0);
      assertEquals("pushed", backed.get("result").asText(), back.toString());
      long treeBytes = sizeOf(tree);
      long uploaded = backed.get("bytesTransferred").asLong();
      assertTrue(uploaded < treeBytes / 10, "only the build's file and a new index are stored in the snapshot: " + uploaded + " of " + treeBytes + " bytes");
      // Not in the view: the export gave directories new times, busybox's cp -a cut files' times to the
      // second, and every layer's key holds its entries' times, so the view is written again (user guide).
      Path restored = dir.resolve("restored");
      Cli.Result pull = access.cli("pull", "id=m2,ref=" + ref + ",target=" + restored);
      assertEquals(0, pull.exitCode(), pull.toString());
      TreeCompare.assertSameTree(out, restored);
    }
  }

  /** A base image of one static busybox and its applets' names, imported from a tar: nothing is pulled. */
  private void importBase(DockerDaemon docker) throws Exception {
    Path root = Files.createDirectories(dir.resolve("base/bin"));
    Files.copy(Path.of(busybox), root.resolve("busybox"));
    for (String applet : List.of("sh", "cp", "mkdir", "ls", "echo", "find", "sort", "stat")) {
      Files.createSymbolicLink(root.resolve(applet), Path.of("busybox"));
    }
    Files.createDirectories(dir.resolve("base/tmp"));
    Processes.Result archive = Processes.run(List.of(tar, "-C", dir.resolve("base").toString(), "-cf", "-", "."));
    assertEquals(0, archive.exitCode(), archive.toString());
    Processes.Result imported = docker.docker(null, Duration.ofMinutes(2), archive.stdout(), "import", "-", BASE);
    assertEquals(0, imported.exitCode(), imported + "\n--- engine log\n" + docker.logTail());
  }

  /**
   * What {@code stat -c '%n|%F|%a|%u:%g|%s|%y'} in the cache mount should print for {@code tree}: the
   * view's modes (directories 755, files 755 or 644 by the owner's executable bit, links 777), owner
   * root, sizes of files, and times cut to 100 ns.
   */
  private static List<String> expectedMount(Path tree) throws Exception {
    List<String> lines = new ArrayList<>();
    try (var all = Files.walk(tree)) {
      for (Path p : all.filter(p -> !p.equals(tree)).sorted().toList()) {
        var a = Files.readAttributes(p, java.nio.file.attribute.PosixFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        String type = a.isDirectory() ? "d" : a.isSymbolicLink() ? "l" : "f";
        String mode = a.isDirectory() ? "755" : a.isSymbolicLink() ? "777"
            : a.permissions().contains(java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE) ? "755" : "644";
        Instant t = a.lastModifiedTime().toInstant();
        lines.add(tree.relativize(p) + "|" + type + "|" + mode + "|0:0|" + (type.equals("f") ? a.size() : "-") + "|"
            + t.getEpochSecond() + "." + String.format("%09d", t.getNano() / 100 * 100));
      }
    }
    return lines;
  }

  /** busybox's {@code stat -c '%n|%F|%a|%u:%g|%s|%y'} lines of the mount, in {@link #expectedMount}'s form. */
  private static List<String> mountListing(List<String> stat) {
    java.time.format.DateTimeFormatter format = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSSSSS xx");
    List<String> lines = new ArrayList<>();
    for (String line : stat) {
      String[] f = line.split("\\|");
      assertEquals(6, f.length, line);
      String type = f[1].startsWith("regular") ? "f" : f[1].equals("directory") ? "d" : f[1].equals("symbolic link") ? "l" : f[1];
      Instant t = java.time.OffsetDateTime.parse(f[5], format).toInstant();
      lines.add(f[0].replaceFirst("^\\./", "") + "|" + type + "|" + f[2] + "|" + f[3] + "|" + (type.equals("f") ? f[4] : "-") + "|"
          + t.getEpochSecond() + "." + String.format("%09d", t.getNano()));
    }
    return lines;
  }

  /** Path, type, owner's executable bit, size, and files' times to the second (directories' and links' left out). */
  private static List<String> copiedListing(Path root) throws Exception {
    List<String> lines = new ArrayList<>();
    for (String line : TreeCompare.findListing(root)) {
      String[] f = line.split(" ");
      String time = f[f.length - 1];
      f[f.length - 1] = !f[1].equals("f") ? "-" : time.contains(".") ? time.substring(0, time.indexOf('.')) : time;
      lines.add(String.join(" ", f));
    }
    return lines;
  }

  private static long sizeOf(Path root) throws Exception {
    try (var files = Files.walk(root)) {
      return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  /** Jars in groups, an executable, a link, an empty directory, a deep path, and old directory times. */
  private static Path tree(Path root) throws Exception {
    RandomTrees.write(root, 41, 80, 5, 2_000, 200_000);
    RandomTrees.addLibWithExecutableLinkAndEmptyDirectory(root);
    Path deep = Files.createDirectories(root.resolve("deep/" + "d".repeat(60) + "/" + "e".repeat(60)));
    Files.write(deep.resolve("f".repeat(50) + ".pom"), "<project/>\n".getBytes(StandardCharsets.UTF_8));
    Files.setLastModifiedTime(deep.resolve("f".repeat(50) + ".pom"), FileTime.from(Instant.parse("2020-05-06T07:08:09.987654321Z")));
    FileTime old = FileTime.from(Instant.parse("2021-02-03T04:05:06.123456789Z"));
    for (String d : List.of("lib/bin", "lib/empty", "lib", "g1", "deep/" + "d".repeat(60) + "/" + "e".repeat(60), "deep/" + "d".repeat(60), "deep")) {
      Files.setLastModifiedTime(root.resolve(d), old);
    }
    return root;
  }
}
