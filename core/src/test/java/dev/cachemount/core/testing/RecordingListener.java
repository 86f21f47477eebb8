package dev.cachemount.core.testing;

import dev.cachemount.core.OperationListener;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** A listener that keeps the warnings and infos an operation gives, for a test to look at. Thread-safe. */
public final class RecordingListener implements OperationListener {
  private final List<String> warnings = Collections.synchronizedList(new ArrayList<>());
  private final List<String> infos = Collections.synchronizedList(new ArrayList<>());

  @Override
  public void info(String message) {
    infos.add(message);
  }

  /** The infos so far, in order. */
  public List<String> infos() {
    synchronized (infos) {
      return List.copyOf(infos);
    }
  }

  @Override
  public void warning(String message) {
    warnings.add(message);
  }

  /** The warnings so far, in order. */
  public List<String> warnings() {
    synchronized (warnings) {
      return List.copyOf(warnings);
    }
  }

  /** Whether a warning so far contains {@code text}. */
  public boolean warned(String text) {
    return warnings().stream().anyMatch(w -> w.contains(text));
  }
}
