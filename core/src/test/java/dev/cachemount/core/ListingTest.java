package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ls}: the entries of the stored snapshot a pull would restore, all or at and below some paths, from the index alone. */
class ListingTest {
  private static final Instant WHEN = Instant.parse("2026-01-02T03:04:05.123456789Z");

  @TempDir Path dir;
  Cachemount client;
  Path tree;

  @BeforeEach
  void setUp() throws IOException {
    client = Cachemount.builder().home(dir).env(Map.of()).workers(2).build();
    tree = dir.resolve("tree");
    Files.createDirectories(tree.resolve("org/acme/lib/1.0"));
    Files.createDirectories(tree.resolve("org/acme/library"));
    Files.writeString(tree.resolve("org/acme/lib/1.0/lib-1.0.jar"), "x".repeat(1234));
    Files.writeString(tree.resolve("org/acme/library/other.jar"), "y");
    Files.writeString(tree.resolve("tool.sh"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(tree.resolve("tool.sh"), PosixFilePermissions.fromString("rwxr-x---"));
    Files.createSymbolicLink(tree.resolve("latest"), Path.of("org/acme/lib/1.0"));
    for (String p : List.of("org/acme/lib/1.0/lib-1.0.jar", "org/acme/library/other.jar", "tool.sh")) {
      Files.setLastModifiedTime(tree.resolve(p), FileTime.from(WHEN));
    }
  }

  private CacheSpec spec() {
    return client.parseSpec("id=c,dir=" + dir.resolve("store") + ",target=" + tree);
  }

  private List<String> paths(Listing l) {
    return l.entries().stream().map(Listing.Item::path).toList();
  }

  @Test
  void listsEveryEntryOrThoseAtAndBelowAPathButNotASiblingThatSharesItsPrefix() {
    assertTrue(client.list(spec(), List.of(), OperationListener.NONE).isEmpty(), "nothing stored: a miss");
    OperationResult pushed = client.push(spec(), OperationListener.NONE);
    Listing all = client.list(spec(), List.of(), OperationListener.NONE).orElseThrow();
    assertEquals(pushed.digest(), all.digest());
    assertEquals(List.of("latest", "org", "org/acme", "org/acme/lib", "org/acme/lib/1.0", "org/acme/lib/1.0/lib-1.0.jar", "org/acme/library",
        "org/acme/library/other.jar", "tool.sh"), paths(all));
    Listing lib = client.list(spec(), Listing.paths(List.of("./org/acme/lib/", "tool.sh", "org/nothing")), OperationListener.NONE).orElseThrow();
    assertEquals(List.of("org/acme/lib", "org/acme/lib/1.0", "org/acme/lib/1.0/lib-1.0.jar", "tool.sh"), paths(lib));
    assertEquals(List.of("org/nothing"), lib.notFound());
    assertEquals(paths(all), paths(client.list(spec(), Listing.paths(List.of(".")), OperationListener.NONE).orElseThrow()));
  }

  @Test
  void linesAsLsPrintsThem() {
    client.push(spec(), OperationListener.NONE);
    Listing l = client.list(spec(), Listing.paths(List.of("org/acme/lib/1.0", "tool.sh", "latest")), OperationListener.NONE).orElseThrow();
    assertEquals(List.of("latest -> org/acme/lib/1.0", "org/acme/lib/1.0/", "org/acme/lib/1.0/lib-1.0.jar", "tool.sh"), l.lines(false, ""));
    List<String> details = l.lines(true, "c: ");
    // A link's time and a directory's are when the test made them; its permissions the umask's.
    assertTrue(details.get(0).matches("c: lrwxrwxrwx      0  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  latest -> org/acme/lib/1.0"), details.toString());
    assertTrue(details.get(1).matches("c: drwx[r-]-[x-][r-]-[x-]      -  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  org/acme/lib/1.0/"), details.toString());
    assertEquals("c: -rw-r--r--  1,234  2026-01-02 03:04:05  org/acme/lib/1.0/lib-1.0.jar", details.get(2).replaceFirst("-rw-[r-]--[r-]--", "-rw-r--r--"));
    assertEquals("c: -rwxr-x---     10  2026-01-02 03:04:05  tool.sh", details.get(3));
    Listing.Item jar = l.entries().get(2);
    assertEquals(new Listing.Item("org/acme/lib/1.0/lib-1.0.jar", "file", jar.mode(), 1234, "2026-01-02T03:04:05.123456789Z", null), jar);
    assertEquals("0750", l.entries().get(3).mode());
  }

  @Test
  void aPathNoEntryCouldHaveIsAUsageError() {
    for (String bad : List.of("/etc", "../up", "a//b", "a/../b")) {
      CachemountException e = assertThrows(CachemountException.class, () -> Listing.paths(List.of(bad)), bad);
      assertEquals(FailureKind.USAGE, e.kind());
      assertTrue(e.getMessage().startsWith("'" + bad + "' cannot name an entry of a snapshot ("), e.getMessage());
    }
  }

  @Test
  void withAFallbackItListsWhatAPullWouldRestore() {
    client.push(client.parseSpec("id=m2-old,dir=" + dir.resolve("store") + ",target=" + tree), OperationListener.NONE);
    CacheSpec keyed = client.parseSpec("id=m2-new,dir=" + dir.resolve("store") + ",fallback=m2-");
    Listing l = client.list(keyed, List.of(), OperationListener.NONE).orElseThrow();
    assertTrue(l.fallback() != null && l.fallback().endsWith(":m2-old"), l.toString());
    assertTrue(paths(l).contains("tool.sh"));
  }

  @Test
  void permissionsOfEachType() {
    assertEquals("drwxr-xr-x", Listing.permissions(new Listing.Item("d", "directory", "0755", 0, WHEN.toString(), null)));
    assertEquals("-rw-------", Listing.permissions(new Listing.Item("f", "file", "0600", 0, WHEN.toString(), null)));
    assertEquals("lrwxrwxrwx", Listing.permissions(new Listing.Item("l", "symlink", "0777", 0, WHEN.toString(), "t")));
  }

  /** A name of more than 300 chars is shown whole (the message escaping stops there), control characters escaped. */
  @Test
  void aLongNameIsShownWholeAndEscaped() {
    String deep = String.join("/", java.util.Collections.nCopies(4, "d".repeat(100)));
    Listing l = new Listing("r", "d", null, List.of(new Listing.Item(deep, "directory", "0755", 0, WHEN.toString(), null),
        new Listing.Item(deep + "/new\nline", "file", "0644", 0, WHEN.toString(), null)), List.of());
    assertEquals(List.of(deep + "/", deep + "/new\\x0aline"), l.lines(false, ""));
  }

  /** A time an index holds but no LocalDateTime does (a file on tmpfs can have it), and one before year 1: -l shows them, as the JSON does. */
  @Test
  void longTimesOfAnyYear() {
    Listing l = new Listing("r", "d", null, List.of(new Listing.Item("far", "file", "0644", 0, Instant.MAX.toString(), null),
        new Listing.Item("old", "file", "0644", 0, Instant.ofEpochSecond(-62198000000L).toString(), null)), List.of());
    assertEquals(List.of("-rw-r--r--  0  +1000000000-12-31 23:59:59  far", "-rw-r--r--  0  -0001-01-09 17:46:40  old"), l.lines(true, ""));
  }

  @Test
  void sizesAreGroupedAsFormatGroupsThem() {
    for (long n : new long[] {0, 7, 999, 1000, 12_345, 999_999, 1_000_000, 1_234_567_890L, Long.MAX_VALUE}) {
      assertEquals(String.format(java.util.Locale.ROOT, "%,d", n), Listing.grouped(n));
    }
  }

  @Test
  void controlCharactersOfBothSetsAreEscaped() {
    assertEquals("a\\x1b[31mb\\u009bc\\x7fd\u00e9", dev.cachemount.core.index.SnapshotIndex.escaped("a\u001b[31mb\u009bc\u007fd\u00e9"));
  }
}
