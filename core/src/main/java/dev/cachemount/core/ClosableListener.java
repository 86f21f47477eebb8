package dev.cachemount.core;

import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The listener an operation reports to, closed when the operation returns: a worker still running
 * then (left behind blocked in a call that ignores interrupts, see {@code Workers.stop}) reports
 * nothing more. A library user's listener may be a host's logger (a build daemon's), closed once the
 * operation it was given to has returned. Closing waits for reports under way, so none reaches the
 * user's listener after the operation returned.
 */
final class ClosableListener implements OperationListener, AutoCloseable {
  private final OperationListener listener;
  private final ReadWriteLock reports = new ReentrantReadWriteLock();
  private boolean closed;

  ClosableListener(OperationListener listener) {
    this.listener = listener;
  }

  @Override
  public void warning(String message) {
    reports.readLock().lock();
    try {
      if (!closed) {
        listener.warning(message);
      }
    } finally {
      reports.readLock().unlock();
    }
  }

  @Override
  public void info(String message) {
    reports.readLock().lock();
    try {
      if (!closed) {
        listener.info(message);
      }
    } finally {
      reports.readLock().unlock();
    }
  }

  @Override
  public void close() {
    reports.writeLock().lock();
    try {
      closed = true;
    } finally {
      reports.writeLock().unlock();
    }
  }
}
