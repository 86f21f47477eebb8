package dev.cachemount.jmh;

import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.chunk.FastCdcChunker;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * FastCDC cut points only (no hashing, no copy) over the whole 64 MiB corpus with the production
 * parameters ({@link ChunkerParameters#DEFAULT}: 1 KiB / 4 KiB / 32 KiB), exactly as the cut points of
 * one 64 MiB file. One op = 1 MiB of input: ops/s = MiB/s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@State(Scope.Thread)
public class ChunkerBenchmark {
  @Param({Corpus.RANDOM, Corpus.TEXT})
  public String corpus;

  private byte[] data;
  private FastCdcChunker chunker;

  @Setup
  public void setup() {
    data = Corpus.of(corpus);
    chunker = new FastCdcChunker(ChunkerParameters.DEFAULT);
  }

  /** Returns the number of chunks, so that the loop cannot be removed. */
  @Benchmark
  @OperationsPerInvocation(Corpus.OPS)
  public int cutPoints() {
    byte[] d = data;
    FastCdcChunker c = chunker;
    int length = d.length;
    int position = 0;
    int chunks = 0;
    while (position < length) {
      position += c.cut(d, position, length - position);
      chunks++;
    }
    return chunks;
  }
}
