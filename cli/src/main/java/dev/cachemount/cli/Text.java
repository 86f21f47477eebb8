package dev.cachemount.cli;

import dev.cachemount.core.CacheSpec;
import dev.cachemount.core.OperationResult;
import dev.cachemount.core.ResultText;
import dev.cachemount.core.SnapshotSummary;
import dev.cachemount.core.oci.SnapshotConfig;
import java.util.Locale;

/** Human-readable lines for results: presentation only. */
final class Text {
  private Text() {}

  static String describe(OperationResult r, CacheSpec spec) {
    return ResultText.describe(r, spec);
  }

  static String describe(String id, SnapshotSummary s) {
    SnapshotConfig c = s.config();
    SnapshotConfig.Counts n = c.counts();
    StringBuilder b = new StringBuilder();
    b.append(id).append('\n');
    line(b, "ref", s.ref() + (s.fallback() == null ? "" : " (a fallback: this id's own tag holds no snapshot)"));
    line(b, "digest", s.digest());
    line(b, "created", c.created());
    line(b, "written by", c.tool().name() + " " + c.tool().version() + ", format " + c.formatVersion());
    line(b, "entries", String.format(Locale.ROOT, "%,d (%s, %s, %s)", n.entries(), ResultText.count(n.files(), "file", "files"),
        ResultText.count(n.directories(), "directory", "directories"), ResultText.count(n.symlinks(), "symlink", "symlinks")));
    line(b, "tree", bytes(n.bytes()) + " in files");
    line(b, "chunks", String.format(Locale.ROOT, "%,d distinct, %s uncompressed, in %,d frames", n.chunks(), bytes(n.chunkBytes()), n.frames()));
    line(b, "stored", String.format(Locale.ROOT, "%s: %,d pack%s (%s) and the index (%s)", bytes(s.storedBytes()), s.packs().size(),
        s.packs().size() == 1 ? "" : "s",
        bytes(n.packBytes()), bytes(s.indexBytes())));
    line(b, "chunker", c.chunker().algorithm() + " " + c.chunker().minSize() + "/" + c.chunker().avgSize() + "/" + c.chunker().maxSize());
    line(b, "packing", c.packing().compression() + " level " + c.packing().level() + ", frames of about " + bytes(c.packing().frameTarget())
        + ", packs of about " + bytes(c.packing().packTarget()));
    return b.toString().stripTrailing();
  }

  private static void line(StringBuilder b, String key, String value) {
    b.append(String.format(Locale.ROOT, "  %-11s %s%n", key + ":", value));
  }

  static String bytes(long n) {
    return ResultText.bytes(n);
  }
}
