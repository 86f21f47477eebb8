import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.chunk.FastCdcChunker;
import dev.cachemount.core.pack.ChunkRef;
import dev.cachemount.core.pack.EncodedFrame;
import dev.cachemount.core.pack.FrameCompressor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The study behind the format's default chunk and frame sizes: for a corpus, the bytes a snapshot
 * stores (distinct chunks, compressed in frames of a target size, plus the index's ~40 bytes per
 * distinct chunk) for several chunker settings, against {@code tar | zstd -3} of the same tree.
 *
 * <p>Run: {@code java -cp cli/target/cachemount.jar bench/ChunkingStudy.java DIR TAR_ZST_BYTES}
 * (the second argument is the size of {@code tar -C DIR -cf - . | zstd -3 -T0}).
 */
public class ChunkingStudy {
  public static void main(String[] args) throws IOException {
    Path root = Path.of(args[0]);
    long tarZst = Long.parseLong(args[1]);
    List<Path> files;
    try (Stream<Path> walk = Files.walk(root)) {
      files = walk.filter(Files::isRegularFile).sorted().toList();
    }
    int[][] settings = {{16384, 65536, 262144}, {4096, 16384, 65536}, {2048, 8192, 65536}, {1024, 4096, 32768}, {512, 2048, 16384}};
    int[] frameTargets = {1, 16384, 65536, 262144};
    System.out.printf("corpus %s: %d files; tar.zst %d bytes%n%n", root, files.size(), tarZst);
    System.out.println("| chunker min/avg/max | distinct chunks | distinct bytes | frame target | stored + index | vs tar.zst |");
    System.out.println("|---|---|---|---|---|---|");
    for (int[] s : settings) {
      FastCdcChunker chunker = new FastCdcChunker(new ChunkerParameters(ChunkerParameters.FASTCDC_2020, s[0], s[1], s[2], 2, ChunkerParameters.DEFAULT_GEAR_SEED));
      Set<Digest> seen = new HashSet<>();
      List<byte[]> distinct = new ArrayList<>();
      long distinctBytes = 0;
      for (Path f : files) {
        byte[] data = Files.readAllBytes(f);
        int off = 0;
        while (off < data.length) {
          int n = chunker.cut(data, off, data.length - off);
          if (seen.add(Digest.of(data, off, n))) {
            byte[] c = new byte[n];
            System.arraycopy(data, off, c, 0, n);
            distinct.add(c);
            distinctBytes += n;
          }
          off += n;
        }
      }
      long indexBytes = 40L * distinct.size();
      for (int target : frameTargets) {
        long stored = 0;
        try (FrameCompressor compressor = new FrameCompressor(3)) {
          byte[] frame = new byte[target + s[2]];
          int length = 0;
          List<ChunkRef> refs = new ArrayList<>();
          for (int i = 0; i < distinct.size(); i++) {
            byte[] c = distinct.get(i);
            System.arraycopy(c, 0, frame, length, c.length);
            length += c.length;
            refs.add(new ChunkRef(Digest.of(c), c.length));
            if (length >= target || i == distinct.size() - 1) {
              EncodedFrame e = compressor.encode(frame, length, refs);
              stored += e.storedLength();
              length = 0;
              refs.clear();
            }
          }
        }
        System.out.printf("| %d/%d/%d | %,d | %,d | %s | %,d | %.3fx |%n", s[0], s[1], s[2], distinct.size(), distinctBytes,
            target == 1 ? "one chunk" : (target / 1024) + " KiB", stored + indexBytes, (double) (stored + indexBytes) / tarZst);
      }
    }
  }
}
