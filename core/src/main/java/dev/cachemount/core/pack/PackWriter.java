package dev.cachemount.core.pack;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.blob.Digest;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes one pack file: frames back to back, then the {@link PackTrailer}. The digest is computed
 * while writing. {@link #finish()} forces the file to disk and re-reads the trailer to check that the
 * file says what was written. Not thread-safe. Closing an unfinished writer deletes its file.
 */
public final class PackWriter implements AutoCloseable {
  /** A finished pack: its file (not yet a blob), digest, size and frames. */
  public record FinishedPack(Path file, Digest digest, long size, List<PackTrailer.FrameInfo> frames) {}

  private final Path file;
  private final FileChannel channel;
  private final MessageDigest md = Digest.newMessageDigest();
  private final OutputStream out;
  private final List<PackTrailer.FrameInfo> frames = new ArrayList<>();
  private long size;
  private boolean finished;

  /** Creates {@code file}, which must not exist. */
  public PackWriter(Path file) throws IOException {
    this.file = file;
    this.channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    this.out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 17);
  }

  /** Bytes written so far. */
  public long size() {
    return size;
  }

  public int frameCount() {
    return frames.size();
  }

  /** Appends a frame and returns its offset in the pack. */
  public long append(EncodedFrame frame) throws IOException {
    if (finished) {
      throw new IllegalStateException("pack already finished");
    }
    long offset = size;
    write(frame.data(), 0, frame.storedLength());
    frames.add(PackTrailer.FrameInfo.of(frame));
    return offset;
  }

  /** Writes the trailer, forces the file to disk, checks the trailer and returns the pack. */
  public FinishedPack finish() throws IOException {
    if (frames.isEmpty()) {
      throw new IllegalStateException("a pack needs at least one frame");
    }
    byte[] trailer = PackTrailer.encode(frames);
    write(trailer, 0, trailer.length);
    out.flush();
    channel.force(true);
    channel.close();
    try {
      verifyTrailer();
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(file);
      throw e;
    }
    finished = true;
    return new FinishedPack(file, Digest.finish(md), size, List.copyOf(frames));
  }

  private void write(byte[] data, int offset, int length) throws IOException {
    out.write(data, offset, length);
    md.update(data, offset, length);
    size += length;
  }

  private void verifyTrailer() throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      if (ch.size() != size) {
        throw CachemountException.integrity("pack " + file + " has " + ch.size() + " bytes after writing, not " + size);
      }
      ByteBuffer footer = ByteBuffer.allocate(PackTrailer.FOOTER);
      readFully(ch, footer, size - PackTrailer.FOOTER);
      int payloadLength = PackTrailer.payloadLength(footer.array());
      if (payloadLength > size - PackTrailer.FOOTER) {
        throw CachemountException.integrity("pack " + file + " has a trailer longer than itself");
      }
      ByteBuffer payload = ByteBuffer.allocate(payloadLength);
      readFully(ch, payload, size - PackTrailer.FOOTER - payloadLength);
      if (!PackTrailer.decode(payload.array()).equals(frames)) {
        throw CachemountException.integrity("pack " + file + " does not read back as written");
      }
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer buffer, long position) throws IOException {
    long at = position;
    while (buffer.hasRemaining()) {
      int n = ch.read(buffer, at);
      if (n < 0) {
        throw new java.io.EOFException("pack ends early");
      }
      at += n;
    }
  }

  @Override
  public void close() throws IOException {
    if (!finished) {
      try {
        channel.close();
      } finally {
        Files.deleteIfExists(file);
      }
    }
  }
}
