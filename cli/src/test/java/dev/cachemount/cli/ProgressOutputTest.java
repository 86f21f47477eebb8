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
}
