package dev.cachemount.jmh;

import dev.cachemount.core.index.FrameEncoding;
import dev.cachemount.core.pack.EncodedFrame;
import dev.cachemount.core.pack.FrameCompressor;
import dev.cachemount.core.pack.FrameDecoder;
import java.util.Arrays;
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
 * zstd level 3 (the default level) over frames of 16 KiB (the default frame target) with
 * {@link FrameCompressor} (one reused context, as a worker keeps), and back with {@link FrameDecoder}.
 * The corpus is cut into 4,096 frames of exactly 16 KiB. Random frames do not shrink: the compressor
 * stores them RAW and decoding them is a copy. One op = 1 MiB of raw (uncompressed) bytes: ops/s =
 * MiB/s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@State(Scope.Thread)
public class ZstdFrameBenchmark {
  public static final int LEVEL = 3;
  public static final int FRAME = 16 << 10;

  @Param({Corpus.RANDOM, Corpus.TEXT})
  public String corpus;

  private byte[][] frames;
  private byte[][] stored;
  private FrameEncoding[] encodings;
  private final byte[] target = new byte[FRAME];
  private FrameCompressor compressor;
  private FrameDecoder decoder;

  @Setup
  public void setup() {
    byte[] data = Corpus.of(corpus);
    int n = data.length / FRAME;
    frames = new byte[n][];
    stored = new byte[n][];
    encodings = new FrameEncoding[n];
    compressor = new FrameCompressor(LEVEL);
    decoder = new FrameDecoder();
    for (int i = 0; i < n; i++) {
      frames[i] = Arrays.copyOfRange(data, i * FRAME, (i + 1) * FRAME);
      EncodedFrame e = compressor.encode(frames[i], FRAME, List.of());
      stored[i] = Arrays.copyOf(e.data(), e.storedLength());
      encodings[i] = e.encoding();
      decoder.decode(encodings[i], stored[i], 0, stored[i].length, target, FRAME, "frame " + i);
      if (!Arrays.equals(target, frames[i])) {
        throw new IllegalStateException("frame " + i + " does not round-trip");
      }
    }
  }

  @TearDown
  public void tearDown() {
    compressor.close();
    decoder.close();
  }

  /** Returns the stored bytes. */
  @Benchmark
  @OperationsPerInvocation(Corpus.OPS)
  public long compress() {
    long total = 0;
    for (byte[] frame : frames) {
      total += compressor.encode(frame, FRAME, List.of()).storedLength();
    }
    return total;
  }

  @Benchmark
  @OperationsPerInvocation(Corpus.OPS)
  public byte[] decompress() {
    for (int i = 0; i < stored.length; i++) {
      decoder.decode(encodings[i], stored[i], 0, stored[i].length, target, FRAME, "frame");
    }
    return target;
  }
}
