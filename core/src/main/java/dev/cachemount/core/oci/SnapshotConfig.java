package dev.cachemount.core.oci;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.cachemount.core.chunk.ChunkerParameters;

/**
 * The config blob of a snapshot, media type {@value MediaTypes#SNAPSHOT_CONFIG}: small, readable
 * JSON that says how the snapshot was made and what it holds (docs/format.md, "Config").
 *
 * @param formatVersion the snapshot format; a reader refuses versions it does not know
 * @param id the cache id that pushed it
 * @param created when the push began scanning, RFC 3339 in UTC; files modified at or after it may
 *     have changed during the scan
 * @param tool who wrote it
 * @param chunker the chunker parameters, needed to deduplicate against this snapshot
 * @param packing how chunks were compressed and packed
 * @param counts what the snapshot holds
 * @param lineage what earlier snapshots it references; absent when it references none
 * @param treeDigest what a restore reproduces of the tree apart from content, hashed
 *     ({@code snapshot.TreeDigest}); absent in snapshots of earlier versions
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record SnapshotConfig(
    int formatVersion, String id, String created, Tool tool, Chunker chunker, Packing packing, Counts counts, Lineage lineage,
    String treeDigest) {

  /** The format version this code writes and the highest it reads. */
  public static final int FORMAT_VERSION = 1;

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Tool(String name, String version) {
    static Tool read(JsonFields f) {
      return new Tool(f.text("name"), f.text("version"));
    }
  }

  /** The chunker parameters; the gear seed as 16 hex digits (JSON numbers lose 64-bit precision). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Chunker(String algorithm, int minSize, int avgSize, int maxSize, int normalization, String gearSeed) {
    public static Chunker of(ChunkerParameters p) {
      return new Chunker(p.algorithm(), p.minSize(), p.avgSize(), p.maxSize(), p.normalization(), String.format("%016x", p.gearSeed()));
    }

    static Chunker read(JsonFields f) {
      return new Chunker(f.text("algorithm"), f.intValue("minSize"), f.intValue("avgSize"), f.intValue("maxSize"), f.intValue("normalization"),
          f.text("gearSeed"));
    }

    /** The parameters, validated. */
    public ChunkerParameters toParameters() {
      return new ChunkerParameters(algorithm, minSize, avgSize, maxSize, normalization, Long.parseUnsignedLong(gearSeed, 16));
    }
  }

  /**
   * @param compression {@code zstd}
   * @param level the zstd level frames were compressed at
   * @param frameTarget frames hold about this many bytes on average (docs/format.md, "Pack blob")
   * @param packTarget packs hold about this many bytes on average
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Packing(String compression, int level, int frameTarget, long packTarget) {
    static Packing read(JsonFields f) {
      return new Packing(f.text("compression"), f.intValue("level"), f.intValue("frameTarget"), f.longValue("packTarget"));
    }
  }

  /**
   * @param entries all entries: files, directories and symlinks
   * @param bytes logical bytes: the sum of the file sizes
   * @param chunks distinct chunks
   * @param chunkBytes bytes of the distinct chunks, uncompressed
   * @param packBytes bytes of the pack blobs
   */
  /**
   * What a snapshot took from earlier ones.
   *
   * @param parent the manifest digest of the snapshot the tag named before this push, when the push referenced it
   * @param from the {@code from=} snapshots it could reference, as {@code REF@DIGEST}
   * @param reusedPacks how many of its packs an earlier snapshot stored
   * @param liveBytes stored bytes of the frames it uses, in all its packs
   * @param garbageRatio the share of its packs' bytes it does not use: {@code 1 - liveBytes / packBytes}
   */
  @JsonInclude(JsonInclude.Include.NON_EMPTY)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Lineage(String parent, java.util.List<String> from, long reusedPacks, long liveBytes, double garbageRatio) {
    static Lineage read(JsonFields f) {
      return new Lineage(f.text("parent"), f.texts("from"), f.longValue("reusedPacks"), f.longValue("liveBytes"), f.doubleValue("garbageRatio"));
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Counts(
      long entries, long files, long directories, long symlinks, long bytes, long chunks, long chunkBytes, long frames, long packs, long packBytes) {
    static Counts read(JsonFields f) {
      return new Counts(f.longValue("entries"), f.longValue("files"), f.longValue("directories"), f.longValue("symlinks"), f.longValue("bytes"),
          f.longValue("chunks"), f.longValue("chunkBytes"), f.longValue("frames"), f.longValue("packs"), f.longValue("packBytes"));
    }
  }

  static SnapshotConfig read(JsonFields f) {
    return new SnapshotConfig(f.intValue("formatVersion"), f.text("id"), f.text("created"), f.object("tool", Tool::read),
        f.object("chunker", Chunker::read), f.object("packing", Packing::read), f.object("counts", Counts::read), f.object("lineage", Lineage::read),
        f.text("treeDigest"));
  }
}
