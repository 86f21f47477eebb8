package dev.cachemount.jmh;

import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.chunk.FastCdcChunker;
import dev.cachemount.core.pack.FrameCompressor;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * Runs the benchmarks through the JMH Runner API and prints each result in MB/s per thread (one
 * thread = one core), 1 MB = 10^6 bytes. Takes the usual JMH options, which override the defaults
 * of the annotations (1 fork, 2 warm-up and 3 measured iterations of 2 s, 1 thread), for instance
 * {@code -f 3 -wi 3 -i 5 -r 5s}, a regular expression ({@code Chunker}) or {@code -p corpus=text};
 * {@code -h} lists them.
 */
public final class BenchMain {
  /** The chunker target of the performance issue: 1 GB/s per core. */
  static final double CHUNKER_TARGET_MB_S = 1000.0;

  private BenchMain() {}

  public static void main(String[] args) throws Exception {
    CommandLineOptions options;
    try {
      options = new CommandLineOptions(args);
    } catch (CommandLineOptionException e) {
      System.err.println("Error parsing command line: " + e.getMessage());
      System.exit(1);
      return;
    }
    if (options.shouldHelp() || options.shouldList() || options.shouldListWithParams() || options.shouldListProfilers()
        || options.shouldListResultFormats()) {
      org.openjdk.jmh.Main.main(args);
      return;
    }
    printCorpora();
    List<RunResult> results = new ArrayList<>(new Runner(options).run());
    results.sort(Comparator.comparing((RunResult r) -> r.getParams().getBenchmark()).thenComparing(r -> params(r.getParams())));
    printMegabytes(results);
  }

  /** What the inputs are: chunks found, mean chunk, zstd ratio of 16 KiB frames. */
  private static void printCorpora() {
    FastCdcChunker chunker = new FastCdcChunker(ChunkerParameters.DEFAULT);
    ChunkerParameters p = ChunkerParameters.DEFAULT;
    System.out.printf(Locale.ROOT, "# cachemount JMH: inputs of %d MiB; chunker %s %d/%d/%d; zstd level %d, frames of %d KiB%n",
        Corpus.SIZE >> 20, p.algorithm(), p.minSize(), p.avgSize(), p.maxSize(), ZstdFrameBenchmark.LEVEL, ZstdFrameBenchmark.FRAME >> 10);
    for (String name : List.of(Corpus.RANDOM, Corpus.TEXT)) {
      byte[] data = Corpus.of(name);
      long chunks = 0;
      for (int position = 0; position < data.length; chunks++) {
        position += chunker.cut(data, position, data.length - position);
      }
      long stored = 0;
      try (FrameCompressor compressor = new FrameCompressor(ZstdFrameBenchmark.LEVEL)) {
        for (int off = 0; off < data.length; off += ZstdFrameBenchmark.FRAME) {
          byte[] frame = java.util.Arrays.copyOfRange(data, off, off + ZstdFrameBenchmark.FRAME);
          stored += compressor.encode(frame, frame.length, List.of()).storedLength();
        }
      }
      System.out.printf(Locale.ROOT, "# corpus %-6s: %,d chunks, mean %,d bytes; zstd frames %.2fx smaller%n",
          name, chunks, data.length / chunks, (double) data.length / stored);
    }
    System.out.println();
  }

  private static void printMegabytes(List<RunResult> results) {
    System.out.println();
    System.out.println("# cachemount JMH results: MB/s per thread (= per core), 1 MB = 10^6 bytes; +- is JMH's 99.9% error");
    System.out.printf(Locale.ROOT, "%-44s %-14s %4s %10s %10s %10s%n", "benchmark", "params", "thr", "MB/s", "+-", "MiB/s");
    List<String> verdicts = new ArrayList<>();
    for (RunResult run : results) {
      BenchmarkParams b = run.getParams();
      Result<?> primary = run.getPrimaryResult();
      String name = b.getBenchmark().replaceFirst("^dev\\.cachemount\\.jmh\\.", "");
      if (b.getMode() != Mode.Throughput) {
        System.out.printf(Locale.ROOT, "%-44s %-14s %4d %s %s %s (not a throughput mode: no MB/s)%n", name, params(b), b.getThreads(),
            primary.getScore(), primary.getScoreError(), primary.getScoreUnit());
        continue;
      }
      // ops per second of all threads together; one op is BYTES_PER_OP bytes of input
      double perSecond = (double) TimeUnit.SECONDS.toNanos(1) / b.getTimeUnit().toNanos(1);
      double scale = perSecond * Corpus.BYTES_PER_OP / b.getThreads();
      double mb = primary.getScore() * scale / 1e6;
      double error = primary.getScoreError() * scale / 1e6;
      double mib = primary.getScore() * scale / (1 << 20);
      System.out.printf(Locale.ROOT, "%-44s %-14s %4d %10.1f %10s %10.1f%n", name, params(b), b.getThreads(), mb,
          Double.isNaN(error) ? "n/a" : String.format(Locale.ROOT, "%.1f", error), mib);
      if (name.equals("ChunkerBenchmark.cutPoints")) {
        String verdict = mb >= CHUNKER_TARGET_MB_S ? "PASS" : "MISS";
        String certainty = Double.isNaN(error) || (mb - error >= CHUNKER_TARGET_MB_S) == (mb + error >= CHUNKER_TARGET_MB_S)
            ? "" : " (the error interval straddles the target)";
        verdicts.add(String.format(Locale.ROOT, "# chunker target >= %.0f MB/s per core, %s: %s at %.1f +- %s MB/s%s",
            CHUNKER_TARGET_MB_S, params(b), verdict, mb, Double.isNaN(error) ? "n/a" : String.format(Locale.ROOT, "%.1f", error),
            certainty));
      }
    }
    verdicts.forEach(System.out::println);
  }

  private static String params(BenchmarkParams b) {
    StringBuilder s = new StringBuilder();
    for (String key : b.getParamsKeys()) {
      s.append(s.length() == 0 ? "" : ",").append(key).append('=').append(b.getParam(key));
    }
    return s.length() == 0 ? "-" : s.toString();
  }
}
