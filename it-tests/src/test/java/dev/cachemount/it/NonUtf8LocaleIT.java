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

  /**
   * Under ISO-8859-1 every byte decodes to some character, so a UTF-8 name is read as another name
   * ("café" as "cafÃ©") and a snapshot's "café" is written as the byte 0xE9: nothing fails, and
   * names that are not ASCII would be stored wrong by a push, and removed and written under another
   * name by a pull with mode=mirror. Such a JVM leaves every name that is not ASCII alone.
   */
  @Test
  void aLatin1JvmLeavesNamesThatAreNotAsciiAloneInsteadOfReadingThemAsOtherNames() throws Exception {
    Path locales = Files.createDirectories(dir.resolve("locales"));
    Processes.Result defined = Processes.run(dir, java.time.Duration.ofSeconds(60),
        List.of("localedef", "-i", "en_US", "-f", "ISO-8859-1", locales.resolve("en_US.ISO-8859-1").toString()), Map.of(), new byte[0]);
    assertEquals(0, defined.exitCode(), "localedef (Debian package locales) makes the test's ISO-8859-1 locale: " + defined);
    Path tree = Files.createDirectories(dir.resolve("tree"));
    Processes.Result made = Processes.run(tree, java.time.Duration.ofSeconds(30), List.of("sh", "-c",
        "echo x > \"$(printf 'caf\\303\\251')\" && mkdir \"$(printf 'r\\303\\251p')\" && echo y > \"$(printf 'r\\303\\251p')/z\""
            + " && ln -s \"$(printf 'caf\\303\\251')\" link && echo a > plain"), Map.of(), new byte[0]);
    assertEquals(0, made.exitCode(), made.toString());
    Map<String, String> utf8 = Map.of("XDG_CACHE_HOME", dir.resolve("xdg").toString(), "LC_ALL", "C.UTF-8");
    Map<String, String> latin1 = Map.of("XDG_CACHE_HOME", dir.resolve("xdg").toString(), "LOCPATH", locales.toString(),
        "LC_ALL", "en_US.ISO-8859-1");
    String store = "dir=" + dir.resolve("store");

    // A push there stores the ASCII names only (before: "cafÃ©", "rÃ©p" and "rÃ©p/z", and a link to "cafÃ©").
    Cli.Result latinPush = Cli.run(latin1, new byte[0], "push", "--cache-id", "id=latin," + store + ",target=" + tree);
    assertEquals(0, latinPush.exitCode(), latinPush.toString());
    assertTrue(latinPush.err().contains("reads file names as ISO-8859-1"), "the JVM runs under ISO-8859-1: " + latinPush.err());
    Path fromLatin = dir.resolve("from-latin");
    Cli.Result pulled = Cli.run(utf8, new byte[0], "pull", "--cache-id", "id=latin," + store + ",target=" + fromLatin);
    assertEquals(0, pulled.exitCode(), pulled.toString());
    assertEquals(".\n./plain\n", list(fromLatin), "what the ISO-8859-1 push stored");

    // A pull there of what a UTF-8 push stored, into an empty directory, writes the ASCII names only
    // (before: "caf" followed by the byte 0xE9).
    Cli.Result push = Cli.run(utf8, new byte[0], "push", "--cache-id", "id=u," + store + ",target=" + tree);
    assertEquals(0, push.exitCode(), push.toString());
    Path target = dir.resolve("target");
    Cli.Result latinPull = Cli.run(latin1, new byte[0], "pull", "--cache-id", "id=u," + store + ",target=" + target);
    assertEquals(0, latinPull.exitCode(), latinPull.toString());
    assertTrue(latinPull.err().contains("4 entries of the snapshot have names (or link targets) that this JVM cannot write"), latinPull.err());
    assertEquals(".\n./plain\n", list(target), "the ASCII names only");

    // With mode=mirror, into the complete tree, it removes none of them and writes nothing under another name.
    Cli.Result complete = Cli.run(utf8, new byte[0], "pull", "--cache-id", "id=u," + store + ",target=" + target);
    assertEquals(0, complete.exitCode(), complete.toString());
    assertSameTree(tree, target);
    Cli.Result mirror = Cli.run(latin1, new byte[0], "pull", "--cache-id", "id=u," + store + ",target=" + target + ",mode=mirror");
    assertEquals(0, mirror.exitCode(), mirror.toString());
    assertSameTree(tree, target);
  }

  /** The tree's paths, sorted by byte, as the shell sees them. */
  private String list(Path root) throws Exception {
    Processes.Result listed = Processes.run(root, java.time.Duration.ofSeconds(30), List.of("sh", "-c", "find . | LC_ALL=C sort"),
        Map.of(), new byte[0]);
    assertEquals(0, listed.exitCode(), listed.toString());
    return listed.out();
  }

  private void assertSameTree(Path expected, Path actual) throws Exception {
    Processes.Result diff = Processes.run(dir, java.time.Duration.ofSeconds(30), List.of("diff", "-r", "--no-dereference", expected.toString(),
        actual.toString()), Map.of(), new byte[0]);
    assertEquals(0, diff.exitCode(), diff.toString());
  }
}
