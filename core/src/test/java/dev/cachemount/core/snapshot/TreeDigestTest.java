package dev.cachemount.core.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryType;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The tree digest is the SHA-256 of the byte sequence docs/format.md describes ({@code treeDigest}). */
class TreeDigestTest {
  /** docs/format.md's encoding, spelled out as strings. */
  private static String asFormatSays(List<ScannedEntry> entries) {
    StringBuilder all = new StringBuilder();
    for (ScannedEntry e : entries) {
      String x = (e.mode() & 0100) != 0 ? "x" : "-";
      all.append(switch (e.type()) {
        case FILE -> "f\0" + e.path() + "\0" + x + " " + e.mtimeSeconds() + " " + e.mtimeNanos() + " " + e.size();
        case DIRECTORY -> "d\0" + e.path() + "\0" + x + " " + e.mtimeSeconds() + " " + e.mtimeNanos();
        case SYMLINK -> "l\0" + e.path() + "\0" + x + " " + e.mtimeSeconds() + " " + (e.mtimeNanos() / 1000) + "\0" + e.linkTarget();
      }).append('\0');
    }
    MessageDigest md = Digest.newMessageDigest();
    return "sha256:" + HexFormat.of().formatHex(md.digest(all.toString().getBytes(StandardCharsets.UTF_8)));
  }

  private static final String[] NAMES = {"a", "org", "Ä", "日本語", "emoji-\uD83D\uDE00", "tab\tname", "x".repeat(300), "é".repeat(5000)};

  private static List<ScannedEntry> randomTree(long seed, int count) {
    Random random = new Random(seed);
    List<ScannedEntry> entries = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String path = NAMES[random.nextInt(NAMES.length)] + "/" + i + "/" + NAMES[random.nextInt(NAMES.length)];
      long seconds = random.nextBoolean() ? random.nextLong() : random.nextInt(2_000_000_000) - 1_000_000_000L;
      int nanos = random.nextInt(1_000_000_000);
      int mode = random.nextBoolean() ? 0755 : 0644;
      EntryType type = EntryType.values()[random.nextInt(EntryType.values().length)];
      entries.add(switch (type) {
        case FILE -> new ScannedEntry(path, type, mode, random.nextLong() & Long.MAX_VALUE, seconds, nanos, null);
        case DIRECTORY -> new ScannedEntry(path, type, mode, 0, seconds, nanos, null);
        case SYMLINK -> new ScannedEntry(path, type, mode, 0, seconds, nanos, "../" + NAMES[random.nextInt(NAMES.length)]);
      });
    }
    return entries;
  }

  @Test
  void aScanIsDigestedAsTheFormatDescribes() {
    for (long seed = 1; seed <= 20; seed++) {
      List<ScannedEntry> tree = randomTree(seed, (int) seed * 97);
      assertEquals(asFormatSays(tree), TreeDigest.ofScan(tree), "seed " + seed);
    }
  }

  @Test
  void anEmptyTreeIsTheDigestOfNothing() {
    assertEquals("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", TreeDigest.ofScan(List.of()));
  }

  @Test
  void anIndexAndItsScanHaveOneDigest() {
    List<ScannedEntry> scan = List.of(
        new ScannedEntry("org", EntryType.DIRECTORY, 0755, 0, 1_700_000_000, 5, null),
        new ScannedEntry("org/a.jar", EntryType.FILE, 0644, 12, -3, 999_999_999, null),
        new ScannedEntry("org/run", EntryType.FILE, 0755, 0, 0, 0, null),
        new ScannedEntry("org/ünï", EntryType.SYMLINK, 0777, 0, 1_700_000_001, 123_456_789, "a.jar"));
    List<Entry> index = List.of(
        Entry.directory("org", 0755, 1_700_000_000, 5),
        Entry.file("org/a.jar", 0644, 12, -3, 999_999_999, new int[] {0}),
        Entry.file("org/run", 0755, 0, 0, 0, new int[0]),
        Entry.symlink("org/ünï", 0777, 1_700_000_001, 123_456_789, "a.jar"));
    // The bytes docs/format.md describes, written out by hand, hashed by sha256sum:
    // printf 'd\0org\0x 1700000000 5\0f\0org/a.jar\0- -3 999999999 12\0f\0org/run\0x 0 0 0\0l\0org/\xc3\xbcn\xc3\xaf\0x 1700000001 123456\0a.jar\0' | sha256sum
    assertEquals("sha256:471792ff2f90b866aaf49ace61466834aa9d1d524f51b08da63d5332a658827a", TreeDigest.ofIndex(index));
    assertEquals(asFormatSays(scan), TreeDigest.ofIndex(index));
    assertEquals(TreeDigest.ofScan(scan), TreeDigest.ofIndex(index));
    // A link's time counts to the microsecond, a file's to the nanosecond.
    List<Entry> linkNanos = new ArrayList<>(index);
    linkNanos.set(3, Entry.symlink("org/ünï", 0777, 1_700_000_001, 123_456_000, "a.jar"));
    assertEquals(TreeDigest.ofIndex(index), TreeDigest.ofIndex(linkNanos));
    List<Entry> fileNanos = new ArrayList<>(index);
    fileNanos.set(1, Entry.file("org/a.jar", 0644, 12, -3, 999_999_998, new int[] {0}));
    assertNotEquals(TreeDigest.ofIndex(index), TreeDigest.ofIndex(fileNanos));
  }
}
