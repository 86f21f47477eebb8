package dev.cachemount.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.Progress;
import dev.cachemount.core.ProgressText;
import dev.cachemount.core.ProgressTicker;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Standard error shared by a progress bar (or log lines) and the command's other lines. */
class ProgressOutputTest {
  private final StringWriter written = new StringWriter();
  private final PrintWriter err = new PrintWriter(written);

  private static Progress.Now reading() {
    return new Progress.Now("m2", "push", Progress.Step.READING, 50, 100, 1, 2, 0, Duration.ofSeconds(1), Duration.ofSeconds(1));
  }

  @Test
  void modes() {
    assertEquals(ProgressOutput.Mode.PLAIN, ProgressOutput.Mode.parse(" Plain "));
    // CACHEMOUNT_PROGRESS set but empty (picocli's ${env:CACHEMOUNT_PROGRESS:-auto} gives "" then): the default, not a usage error.
    assertEquals(ProgressOutput.Mode.AUTO, ProgressOutput.Mode.parse(""));
    CachemountException e = assertThrows(CachemountException.class, () -> ProgressOutput.Mode.parse("fancy"));
    assertEquals(2, e.kind().exitCode());
    assertEquals("--progress=fancy (or CACHEMOUNT_PROGRESS) is not a progress mode; use auto, tty, plain or none", e.getMessage());
  }

  private boolean bar(ProgressOutput.Mode mode, boolean terminal, String term) {
    Optional<ProgressTicker> ticker = ProgressOutput.ticker(mode, err, terminal, term, 80);
    try {
      return ((ProgressOutput) ticker.orElseThrow().display()).bar();
    } finally {
      ticker.ifPresent(ProgressTicker::close);
    }
  }

  @Test
  void autoDrawsABarOnATerminalThatIsNotDumbAndWritesLinesElsewhere() {
    assertTrue(bar(ProgressOutput.Mode.AUTO, true, "xterm-256color"));
    assertFalse(bar(ProgressOutput.Mode.AUTO, false, "xterm-256color"), "standard error is a file or a pipe: a CI log");
    assertFalse(bar(ProgressOutput.Mode.AUTO, true, "dumb"));
    assertFalse(bar(ProgressOutput.Mode.AUTO, true, null));
    assertTrue(bar(ProgressOutput.Mode.TTY, false, null), "asked for");
    assertFalse(bar(ProgressOutput.Mode.PLAIN, true, "xterm"));
    assertTrue(ProgressOutput.ticker(ProgressOutput.Mode.NONE, err, true, "xterm", 80).isEmpty());
  }

  @Test
  void theBarIsRedrawnInPlaceAndTakenDownBeforeAnyOtherLine() {
    ProgressOutput output = new ProgressOutput(err, true, 200);
    output.show(reading());
    output.show(reading());
    output.println("cachemount: warning: w");
    output.clear(); // nothing up since the warning: nothing to take down
    output.show(reading());
    output.clear();
    String line = ProgressText.line(reading(), ProgressOutput.BAR_WIDTH);
    assertEquals("\r" + line + "\033[K" + "\r" + line + "\033[K" + "\r\033[K" + "cachemount: warning: w" + System.lineSeparator()
        + "\r" + line + "\033[K" + "\r\033[K", written.toString());
  }

  @Test
  void logLinesAreLinesOfTheirOwnWithoutABar() {
    ProgressOutput output = new ProgressOutput(err, false, 80);
    output.show(reading());
    output.println("cachemount: note");
    output.clear();
    assertEquals("cachemount: " + ProgressText.line(reading(), 0) + System.lineSeparator() + "cachemount: note" + System.lineSeparator(),
        written.toString());
  }

  @Test
  void aNarrowTerminalLosesTheBarThenTheEndOfTheLine() {
    String withBar = ProgressText.line(reading(), ProgressOutput.BAR_WIDTH);
    String without = ProgressText.line(reading(), 0);
    assertEquals(withBar, new ProgressOutput(err, true, withBar.length() + 1).fit(reading()));
    assertEquals(without, new ProgressOutput(err, true, withBar.length()).fit(reading()));
    assertEquals(without.substring(0, 29), new ProgressOutput(err, true, 30).fit(reading()));
    assertEquals(79, new ProgressOutput(err, true, 0).fit(new Progress.Now("a-very-long-cache-id-".repeat(5), "push", Progress.Step.SCANNING, 0, 0, 0,
        0, 0, Duration.ZERO, Duration.ZERO)).length(), "a terminal that says nothing of its width: 80 columns");
  }

  /**
   * A signal (Ctrl-C) stops the JVM while a bar is up: the notice that says so is a line of its own,
   * the bar taken down first, and no bar is drawn after it, though the operation goes on (and may
   * start another) while the JVM's exit hooks run.
   */
  @Test
  void theNoticeOfASignalTakesTheBarDownAndNoBarIsDrawnAfterIt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    picocli.CommandLine cli = new picocli.CommandLine(picocli.CommandLine.Model.CommandSpec.create().name("cachemount"));
    cli.addSubcommand("push", new picocli.CommandLine(PushCommand.model(dev.cachemount.core.Cachemount.builder().home(dir).env(java.util.Map.of()).build())));
    CacheCommand push = (CacheCommand) cli.getSubcommands().get("push").getCommandSpec().userObject();
    ProgressTicker ticker = new ProgressTicker(Duration.ZERO, Duration.ofMillis(2), new ProgressOutput(err, true, 200));
    push.ticker = Optional.of(ticker);
    Progress progress = new Progress("m2", "push", Progress.Step.READING);
    ticker.start(progress);
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!shown().contains("m2: push") && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    Main.stoppedNotice(cli, err);
    String atNotice = shown();
    assertTrue(atNotice.endsWith("\033[K\r\033[Kcachemount: stopped by a signal before its own work completed; what it had half-written is removed"
        + " (a pull keeps the files it completed, a push the blobs it stored); run it again to finish" + System.lineSeparator()), atNotice);
    ticker.start(new Progress("m3", "push", Progress.Step.SCANNING)); // the next cache id's push, while the exit hooks run
    Thread.sleep(50);
    assertEquals(atNotice, shown(), "no bar after the notice");
    ticker.close();
  }

  private String shown() {
    synchronized (err) {
      return written.toString();
    }
  }
}
