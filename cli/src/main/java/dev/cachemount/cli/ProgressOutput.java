package dev.cachemount.cli;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.Progress;
import dev.cachemount.core.ProgressText;
import dev.cachemount.core.ProgressTicker;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;

/**
 * Standard error, shared by the progress of the operation under way and the lines the command says
 * meanwhile (warnings, {@code -v} notes): on a terminal, a bar redrawn in place on the last line,
 * taken down before any other line is printed and when the operation ends; in a log (a CI job's),
 * a line every {@link #LOG_INTERVAL} once an operation has run that long, so that a short one prints
 * nothing more than before.
 */
final class ProgressOutput implements ProgressTicker.Display {
  /** {@code --progress}: how progress is shown. */
  enum Mode {
    /** A bar where standard error is a terminal (and {@code TERM} is not {@code dumb}), else log lines. */
    AUTO,
    /** A bar redrawn in place. */
    TTY,
    /** A line every {@link #LOG_INTERVAL}. */
    PLAIN,
    /** Nothing. */
    NONE;

    /** {@code text} as a mode; empty is {@link #AUTO}: a CI job's {@code CACHEMOUNT_PROGRESS: ${{ inputs.progress }}} left empty. */
    static Mode parse(String text) {
      if (text.isBlank()) {
        return AUTO;
      }
      try {
        return valueOf(text.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw CachemountException.usage("--progress=" + text + " (or CACHEMOUNT_PROGRESS) is not a progress mode; use auto, tty, plain or none");
      }
    }
  }

  static final Duration BAR_FIRST = Duration.ofMillis(300);
  static final Duration BAR_INTERVAL = Duration.ofMillis(200);
  static final Duration LOG_INTERVAL = Duration.ofSeconds(10);
  /** The bar's width between its brackets, where the line fits the terminal with it. */
  static final int BAR_WIDTH = 20;
  /** Set to {@code terminal} by the {@code ./cachemount} launcher when its standard error is one ({@code [ -t 2 ]}). */
  static final String STDERR_PROPERTY = "cachemount.stderr";
  /** The terminal's width, as the launcher measured it. */
  static final String COLUMNS_PROPERTY = "cachemount.columns";

  private final PrintWriter err;
  private final boolean bar;
  private final int columns;
  private boolean drawn;

  /**
   * @param bar a bar redrawn in place, else log lines
   * @param columns the terminal's width, for the bar
   */
  ProgressOutput(PrintWriter err, boolean bar, int columns) {
    this.err = err;
    this.bar = bar;
    this.columns = columns <= 0 ? 80 : Math.max(20, columns);
  }

  /**
   * The ticker {@code mode} asks for (none for {@link Mode#NONE}), showing on {@code err}.
   *
   * @param terminal whether standard error is a terminal
   * @param term the {@code TERM} environment variable, or null
   */
  static java.util.Optional<ProgressTicker> ticker(Mode mode, PrintWriter err, boolean terminal, String term, int columns) {
    boolean bar = switch (mode) {
      case NONE -> false;
      case TTY -> true;
      case PLAIN -> false;
      case AUTO -> terminal && term != null && !term.isEmpty() && !"dumb".equals(term);
    };
    if (mode == Mode.NONE) {
      return java.util.Optional.empty();
    }
    ProgressOutput output = new ProgressOutput(err, bar, columns);
    return java.util.Optional.of(bar ? new ProgressTicker(BAR_FIRST, BAR_INTERVAL, output) : new ProgressTicker(LOG_INTERVAL, LOG_INTERVAL, output));
  }

  /** Whether it draws a bar (else log lines). */
  boolean bar() {
    return bar;
  }

  /** The launcher's word on standard error, from {@link #STDERR_PROPERTY}. */
  static boolean stderrIsTerminal() {
    return "terminal".equals(System.getProperty(STDERR_PROPERTY));
  }

  /** The terminal's width from {@link #COLUMNS_PROPERTY}, else 80. */
  static int columns() {
    try {
      return Integer.parseInt(System.getProperty(COLUMNS_PROPERTY, "80").trim());
    } catch (NumberFormatException e) {
      return 80;
    }
  }

  @Override
  public void show(Progress.Now now) {
    synchronized (err) {
      if (bar) {
        err.print("\r" + fit(now) + "\033[K");
        drawn = true;
      } else {
        err.println("cachemount: " + ProgressText.line(now, 0));
      }
      err.flush();
    }
  }

  @Override
  public void clear() {
    synchronized (err) {
      takeDown();
      err.flush();
    }
  }

  /** Prints {@code line} on a line of its own: the bar, if it is up, is taken down first and drawn again at the next tick. */
  void println(String line) {
    synchronized (err) {
      takeDown();
      err.println(line);
      err.flush();
    }
  }

  private void takeDown() {
    if (drawn) {
      err.print("\r\033[K");
      drawn = false;
    }
  }

  /**
   * The line for {@code now}, within the terminal's width less one column (a line as wide as the
   * terminal wraps on some, and {@code \r} would then redraw only its second half): without the bar
   * where it does not fit with it, cut short where it does not fit without it.
   */
  String fit(Progress.Now now) {
    int width = columns - 1;
    String line = ProgressText.line(now, BAR_WIDTH);
    if (line.length() > width) {
      line = ProgressText.line(now, 0);
    }
    return line.length() > width ? line.substring(0, width) : line;
  }
}
