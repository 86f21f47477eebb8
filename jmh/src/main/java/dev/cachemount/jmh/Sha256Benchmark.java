package dev.cachemount.jmh;

import dev.cachemount.core.blob.Digest;
import java.security.DigestException;
import java.security.MessageDigest;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * SHA-256 with the {@link MessageDigest} the code uses ({@link Digest#newMessageDigest()}, one
 * reused instance as a worker keeps), over the 64 MiB random corpus cut into 4 KiB chunks (the
 * average chunk) and into 1 MiB buffers. SHA-256 does not depend on the content, so one corpus is
 * enough. One op = 1 MiB of input: ops/s = MiB/s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@State(Scope.Thread)
public class Sha256Benchmark {
  private byte[] data;
  private MessageDigest md;
  private final byte[] out = new byte[Digest.LENGTH];

  @Setup
  public void setup() {
    data = Corpus.of(Corpus.RANDOM);
    md = Digest.newMessageDigest();
  }

  @Benchmark
  @OperationsPerInvocation(Corpus.OPS)
  public byte[] chunks4KiB() throws DigestException {
    return hashBlocks(4 << 10);
  }

  @Benchmark
  @OperationsPerInvocation(Corpus.OPS)
  public byte[] buffers1MiB() throws DigestException {
    return hashBlocks(1 << 20);
  }

  private byte[] hashBlocks(int block) throws DigestException {
    byte[] d = data;
    for (int offset = 0; offset < d.length; offset += block) {
      md.update(d, offset, block);
      md.digest(out, 0, Digest.LENGTH);
    }
    return out;
  }
}
