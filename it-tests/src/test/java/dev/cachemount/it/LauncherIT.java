package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./cachemount} launcher's choice of JVM and its ahead-of-time cache: on a machine with
 * JDK 25 or later the cache is made once per jar by the training run, reused, made again when the jar
 * changes, and never prints into the command's output; {@code CACHEMOUNT_AOT=off} runs without it.
 * Runs a private copy of the jar ({@code CACHEMOUNT_JAR}), so that the cache lands beside the copy.
 */
class LauncherIT {
  @TempDir Path dir;

  private Map<String, String> env = new HashMap<>();

  private Processes.Result launcher(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of(Cli.repoRoot().resolve("cachemount").toString()));
    command.addAll(List.of(args));
    return Processes.run(Cli.repoRoot(), Duration.ofMinutes(5), command, env, new byte[0]);
  }

  @Test
  void theAheadOfTimeCacheIsMadeOncePerJarAndKeptOutOfTheOutput() throws Exception {
    Path jar = dir.resolve("cachemount.jar");
    Files.copy(Cli.jar(), jar);
    env.put("CACHEMOUNT_JAR", jar.toString());
    env.put("XDG_CACHE_HOME", dir.resolve("xdg").toString());

    Processes.Result first = launcher("version");
    assertEquals(0, first.exitCode(), first.toString());
    String[] lines = first.out().split("\n");
    assertEquals(3, lines.length, "version prints three lines and nothing of the JVM's:\n" + first.out());
    Matcher java = Pattern.compile("java (\\d+)[.\\s].*").matcher(lines[2]);
    assertTrue(java.matches(), lines[2]);
    int major = Integer.parseInt(java.group(1));
    boolean newerJdkHere = Files.exists(Path.of("/usr/lib/jvm")) && hasJdk25OrLater();
    Path aot = dir.resolve("cachemount-jdk" + major + ".aot");
    if (major < 25) {
      assertFalse(newerJdkHere, "a JDK 25+ is installed under /usr/lib/jvm, but the launcher ran " + lines[2]);
      assertFalse(Files.exists(aot), "no ahead-of-time cache on JDK " + major);
      return;
    }
    assertTrue(first.stderr().contains("preparing the start-up cache for JDK " + major), first.stderr());
    assertTrue(Files.size(aot) > 1_000_000, "the cache was made beside the jar: " + aot);

    Processes.Result second = launcher("version");
    assertEquals(first.out(), second.out());
    assertFalse(second.stderr().contains("preparing"), "the cache is reused:\n" + second.stderr());

    Path tree = Files.createDirectories(dir.resolve("tree/a"));
    Files.writeString(tree.resolve("x.pom"), "<project/>\n".repeat(100));
    Processes.Result push = launcher("push", "--json", "--cache-id", "id=t,dir=" + dir.resolve("store") + ",target=" + dir.resolve("tree"));
    assertEquals(0, push.exitCode(), push.toString());
    assertTrue(push.out().startsWith("{\"id\":\"t\"") && push.out().strip().split("\n").length == 1,
        "--json output is one JSON line, nothing of the JVM's:\n" + push.out());

    Files.setLastModifiedTime(jar, FileTime.from(Files.getLastModifiedTime(aot).toInstant().plusSeconds(1)));
    Processes.Result rebuilt = launcher("version");
    assertEquals(0, rebuilt.exitCode(), rebuilt.toString());
    assertTrue(rebuilt.stderr().contains("preparing the start-up cache"), "a newer jar gets a new cache:\n" + rebuilt.stderr());
    assertTrue(Files.getLastModifiedTime(aot).compareTo(Files.getLastModifiedTime(jar)) >= 0, "the new cache is not older than the jar");

    Files.delete(aot);
    env.put("CACHEMOUNT_AOT", "off");
    Processes.Result off = launcher("version");
    assertEquals(0, off.exitCode(), off.toString());
    assertFalse(off.stderr().contains("preparing"), off.stderr());
    assertFalse(Files.exists(aot), "CACHEMOUNT_AOT=off makes no cache");
  }

  private static boolean hasJdk25OrLater() throws Exception {
    try (var jdks = Files.list(Path.of("/usr/lib/jvm"))) {
      for (Path jdk : jdks.toList()) {
        Path release = jdk.resolve("release");
        if (Files.isRegularFile(release)) {
          Matcher m = Pattern.compile("JAVA_VERSION=\"(\\d+)").matcher(Files.readString(release));
          if (m.find() && Integer.parseInt(m.group(1)) >= 25 && Files.isExecutable(jdk.resolve("bin/java"))) {
            return true;
          }
        }
      }
    }
    return false;
  }
}
