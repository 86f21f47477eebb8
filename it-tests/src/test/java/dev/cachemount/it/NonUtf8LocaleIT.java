package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM whose locale is not UTF-8 (Maven's, running the plugin, on a CI image without a UTF-8
 * locale) cannot name files whose names are not ASCII: a pull there restores the others and says
 * which it left out, as a push there leaves them out, instead of failing. The names are made and
 * compared by the shell, so that this test does not depend on its own JVM's locale.
 */
class NonUtf8LocaleIT {
  @TempDir Path dir;

  @Test
  void aPullInAJvmWithoutAUtf8LocaleRestoresTheAsciiNamesAndSaysWhatItLeftOut() throws Exception {
    Path tree = Files.createDirectories(dir.resolve("tree"));
    // café, a directory 日本 holding z, a link to café, and two ASCII names.
    Processes.Result made = Processes.run(tree, java.time.Duration.ofSeconds(30), List.of("sh", "-c",
        "echo x > \"$(printf 'caf\\303\\251')\" && mkdir \"$(printf '\\346\\227\\245\\346\\234\\254')\""
            + " && echo y > \"$(printf '\\346\\227\\245\\346\\234\\254')/z\" && ln -s \"$(printf 'caf\\303\\251')\" link"
            + " && echo a > plain && mkdir d && echo b > d/f"), Map.of(), new byte[0]);
    assertEquals(0, made.exitCode(), made.toString());
    Map<String, String> utf8 = Map.of("XDG_CACHE_HOME", dir.resolve("xdg").toString(), "LC_ALL", "C.UTF-8");
    Map<String, String> ascii = Map.of("XDG_CACHE_HOME", dir.resolve("xdg").toString(), "LC_ALL", "C");
    String store = "dir=" + dir.resolve("store");
    Cli.Result push = Cli.run(utf8, new byte[0], "push", "--cache-id", "id=u," + store + ",target=" + tree);
    assertEquals(0, push.exitCode(), push.toString());

    Path target = dir.resolve("target");
    Cli.Result pull = Cli.run(ascii, new byte[0], "pull", "--json", "--cache-id", "id=u," + store + ",target=" + target);
    assertEquals(0, pull.exitCode(), pull.toString());
    assertTrue(pull.err().contains("4 entries of the snapshot have names (or link targets) that this JVM cannot write")
        && pull.err().contains("LANG=C.UTF-8"), pull.err());
    assertEquals(2, pull.json().get(0).get("files").asLong(), pull.toString());
    Processes.Result listed = Processes.run(target, java.time.Duration.ofSeconds(30), List.of("sh", "-c", "find . | LC_ALL=C sort"),
        Map.of(), new byte[0]);
    assertEquals(".\n./d\n./d/f\n./plain\n", listed.out(), "the ASCII names only");

    // The same pull with a UTF-8 locale completes the tree.
    Cli.Result complete = Cli.run(utf8, new byte[0], "pull", "--cache-id", "id=u," + store + ",target=" + target);
    assertEquals(0, complete.exitCode(), complete.toString());
    assertSameTree(tree, target);

    // mode=mirror without a UTF-8 locale removes none of what it left out: the names it cannot decode,
    // nor the link whose name it can but whose target it cannot.
    Cli.Result mirror = Cli.run(ascii, new byte[0], "pull", "--cache-id", "id=u," + store + ",target=" + target + ",mode=mirror");
    assertEquals(0, mirror.exitCode(), mirror.toString());
    assertSameTree(tree, target);
  }

  private void assertSameTree(Path expected, Path actual) throws Exception {
    Processes.Result diff = Processes.run(dir, java.time.Duration.ofSeconds(30), List.of("diff", "-r", "--no-dereference", expected.toString(),
        actual.toString()), Map.of(), new byte[0]);
    assertEquals(0, diff.exitCode(), diff.toString());
  }
}
