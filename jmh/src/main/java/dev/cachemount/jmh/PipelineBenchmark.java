package dev.cachemount.jmh;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.chunk.ChunkReader;
import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.chunk.FastCdcChunker;
import dev.cachemount.core.pack.ChunkRef;
import dev.cachemount.core.pack.FrameCompressor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-chunk work of a push worker (Snapshotter.Worker) on one 64 MiB file read from memory: a
 * {@link ChunkReader} with a 1 MiB buffer over a channel that copies from the corpus (as a read from
 * the page cache copies), each chunk hashed into a {@link Digest} with one reused
 * {@link MessageDigest} and listed as the file's chunk.
 *
 * <ul>
 *   <li>{@link #chunkAndHash}: chunk + hash, the work of every push, whatever is new;
 *   <li>{@link #chunkHashCompress}: plus what a cold push (every chunk new) adds: each chunk copied
 *       into the frame, frames closed at 16 KiB and compressed at level 3 with {@link FrameCompressor}.
 * </ul>
 *
 * Not included: the shared map of chunks seen, the parent-snapshot lookup, writing packs. One op = 1
 * MiB of input: ops/s = MiB/s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@State(Scope.Thread)
public class PipelineBenchmark {
  @Param({Corpus.RANDOM, Corpus.TEXT})
  public String corpus;

  private byte[] data;
  private FastCdcChunker chunker;
  private ChunkReader reader;
  private final MessageDigest md = Digest.newMessageDigest();
  private final List<Digest> fileChunks = new ArrayList<>();
  private FrameCompressor compressor;
  private byte[] frame;
  private int frameLength;
  private final List<ChunkRef> frameChunks = new ArrayList<>();
  private long storedBytes;

  @Setup
  public void setup() {
    data = Corpus.of(corpus);
    chunker = new FastCdcChunker(ChunkerParameters.DEFAULT);
    reader = new ChunkReader(chunker, 1 << 20);
    compressor = new FrameCompressor(ZstdFrameBenchmark.LEVEL);
    frame = new byte[ZstdFrameBenchmark.FRAME + chunker.maxSize()];
  }

  @TearDown
  public void tearDown() {
    compressor.close();
  }

  /** Returns the number of chunks. */
  @Benchmark
  @OperationsPerInvocation(Corpus.OPS)
  public int chunkAndHash() throws IOException {
    fileChunks.clear();
    reader.read(new ArrayChannel(data), this::hash);
    return fileChunks.size();
  }

  /** Returns the stored bytes. */
  @Benchmark
  @OperationsPerInvocation(Corpus.OPS)
  public long chunkHashCompress() throws IOException {
    fileChunks.clear();
    storedBytes = 0;
    reader.read(new ArrayChannel(data), this::hashAndPack);
    flushFrame();
    return storedBytes;
  }

  private void hash(byte[] d, int offset, int length) {
    md.update(d, offset, length);
    fileChunks.add(Digest.finish(md));
  }

  private void hashAndPack(byte[] d, int offset, int length) {
    md.update(d, offset, length);
    Digest digest = Digest.finish(md);
    fileChunks.add(digest);
    System.arraycopy(d, offset, frame, frameLength, length);
    frameLength += length;
    frameChunks.add(new ChunkRef(digest, length));
    if (frameLength >= ZstdFrameBenchmark.FRAME) {
      flushFrame();
    }
  }

  private void flushFrame() {
    if (frameLength == 0) {
      return;
    }
    storedBytes += compressor.encode(frame, frameLength, frameChunks).storedLength();
    frameLength = 0;
    frameChunks.clear();
  }

  /** Reads a byte array as a file channel reads a cached file: one copy into the caller's buffer. */
  static final class ArrayChannel implements ReadableByteChannel {
    private final byte[] source;
    private int position;

    ArrayChannel(byte[] source) {
      this.source = source;
    }

    @Override
    public int read(ByteBuffer dst) {
      if (position == source.length) {
        return -1;
      }
      int n = Math.min(dst.remaining(), source.length - position);
      dst.put(source, position, n);
      position += n;
      return n;
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {}
  }
}
