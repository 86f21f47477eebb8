package dev.cachemount.core.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.luben.zstd.ZstdInputStream;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.store.ManifestBytes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Reads an image view back from a layout store as an image tool would: the index under the tag, the
 * manifest of linux/amd64, its config, and its layers extracted in order into one directory (as an
 * overlay stacks them). Checks on the way what every reader relies on: digests, diff ids, ownership.
 */
public final class ImageViews {
  private ImageViews() {}

  /** A view as stored: the index, the platforms' manifests, and the layers' digests. */
  public record Read(JsonNode index, Map<String, JsonNode> manifests, List<Digest> layers, List<String> keys) {}

  public static Read read(Path store, String tag) throws IOException {
    try (LayoutStore s = new LayoutStore(store)) {
      ManifestBytes indexBytes = s.fetchManifest(tag).orElseThrow();
      assertEquals(MediaTypes.OCI_INDEX, indexBytes.mediaType());
      JsonNode index = Json.mapper().readTree(indexBytes.bytes());
      LayerCompression compression = compressionOf(index);
      Map<String, JsonNode> manifests = new LinkedHashMap<>();
      List<Digest> layers = null;
      List<String> keys = new ArrayList<>();
      for (JsonNode d : index.path("manifests")) {
        JsonNode p = d.path("platform");
        String platform = p.path("os").asText() + "/" + p.path("architecture").asText() + (p.has("variant") ? "/" + p.path("variant").asText() : "");
        byte[] mb = blob(s, Digest.parse(d.path("digest").asText()), d.path("size").asLong());
        JsonNode m = Json.mapper().readTree(mb);
        manifests.put(platform, m);
        JsonNode cd = m.path("config");
        JsonNode config = Json.mapper().readTree(blob(s, Digest.parse(cd.path("digest").asText()), cd.path("size").asLong()));
        assertEquals(p.path("architecture").asText(), config.path("architecture").asText());
        assertEquals("linux", config.path("os").asText());
        List<Digest> these = new ArrayList<>();
        int i = 0;
        for (JsonNode l : m.path("layers")) {
          assertEquals(compression.mediaType(), l.path("mediaType").asText());
          Digest digest = Digest.parse(l.path("digest").asText());
          these.add(digest);
          if (layers == null) {
            keys.add(l.path("annotations").path(ImageView.LAYER_KEY).asText());
            // The diff id is the digest of the uncompressed tar.
            byte[] tar = decompress(blob(s, digest, l.path("size").asLong()), compression);
            assertEquals(config.path("rootfs").path("diff_ids").get(i).asText(), Digest.of(tar).toString(), "diff id of layer " + i);
          }
          i++;
        }
        assertEquals(these.size(), config.path("rootfs").path("diff_ids").size());
        if (layers == null) {
          layers = these;
        } else {
          assertEquals(layers, these, "every platform has the same layers");
        }
      }
      return new Read(index, manifests, layers, keys);
    }
  }

  /** Extracts the view's layers, in order, into {@code into}: files, directories, symlinks, modes and times. */
  public static void extract(Path store, String tag, Path into) throws IOException {
    Read view = read(store, tag);
    JsonNode amd64 = view.manifests().get("linux/amd64");
    Files.createDirectories(into);
    try (LayoutStore s = new LayoutStore(store)) {
      for (JsonNode l : amd64.path("layers")) {
        // Per layer, as GNU tar and an overlay do: a later layer that writes into a directory it does
        // not name leaves that directory with the time of the extraction.
        Map<Path, FileTime> directoryTimes = new LinkedHashMap<>();
        byte[] tar = decompress(blob(s, Digest.parse(l.path("digest").asText()), l.path("size").asLong()), compressionOf(view.index()));
        try (TarArchiveInputStream in = new TarArchiveInputStream(new java.io.ByteArrayInputStream(tar), "UTF-8")) {
          TarArchiveEntry e;
          while ((e = in.getNextEntry()) != null) {
            assertEquals(0L, e.getLongUserId(), e.getName());
            assertEquals(0L, e.getLongGroupId(), e.getName());
            String name = e.getName().endsWith("/") ? e.getName().substring(0, e.getName().length() - 1) : e.getName();
            assertTrue(!name.startsWith("/") && !name.contains(".."), name);
            Path p = into.resolve(name);
            if (e.isDirectory()) {
              Files.createDirectories(p);
              directoryTimes.put(p, e.getLastModifiedTime());
            } else if (e.isSymbolicLink()) {
              Files.deleteIfExists(p);
              Files.createSymbolicLink(p, Path.of(e.getLinkName()));
              Files.getFileAttributeView(p, java.nio.file.attribute.BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                  .setTimes(e.getLastModifiedTime(), null, null);
            } else {
              assertTrue(e.isFile(), name);
              Files.copy(in, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
              Files.setPosixFilePermissions(p, PosixFilePermissions.fromString((e.getMode() & 0100) != 0 ? "rwxr-xr-x" : "rw-r--r--"));
              Files.setLastModifiedTime(p, e.getLastModifiedTime());
            }
            int mode = e.getMode() & 07777;
            assertTrue(mode == 0644 || mode == 0755 || mode == 0777, name + " mode " + Integer.toOctalString(mode));
          }
        }
        List<Path> dirs = new ArrayList<>(directoryTimes.keySet());
        dirs.sort(Comparator.comparingInt(Path::getNameCount).reversed());
        for (Path d : dirs) {
          Files.setLastModifiedTime(d, directoryTimes.get(d));
        }
      }
    }
  }

  /**
   * A tree's listing ({@link dev.cachemount.core.testing.TreeListing}) with times cut to 100 ns: the
   * precision of the PAX times commons-compress writes.
   */
  public static List<String> listing(Path root) throws IOException {
    return dev.cachemount.core.testing.TreeListing.of(root).stream()
        .map(line -> line.replaceFirst("\\| (-?\\d+)\\.(\\d{7})\\d{2} \\|", "| $1.$200 |")).toList();
  }

  static byte[] blob(LayoutStore s, Digest digest, long size) throws IOException {
    byte[] b;
    try (InputStream in = s.openBlob(digest, size)) {
      b = in.readAllBytes();
    }
    assertEquals(size, b.length);
    assertEquals(digest, Digest.of(b), "blob digest");
    return b;
  }

  /** How the view's layers are compressed, by its index's annotation: zstd where it has none (an earlier version's view). */
  static LayerCompression compressionOf(JsonNode index) {
    return LayerCompression.named(index.path("annotations").path(ImageView.COMPRESSION).asText("zstd")).orElseThrow();
  }

  static byte[] decompress(byte[] compressed, LayerCompression compression) throws IOException {
    try (InputStream in = compression == LayerCompression.GZIP ? new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(compressed))
        : new ZstdInputStream(new java.io.ByteArrayInputStream(compressed))) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      in.transferTo(out);
      return out.toByteArray();
    }
  }

  static boolean exists(Path p) {
    return Files.exists(p, LinkOption.NOFOLLOW_LINKS);
  }
}
