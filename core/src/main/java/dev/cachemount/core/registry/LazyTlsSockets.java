package dev.cachemount.core.registry;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.function.Supplier;
import org.apache.http.HttpHost;
import org.apache.http.conn.socket.LayeredConnectionSocketFactory;
import org.apache.http.conn.ssl.SSLConnectionSocketFactory;
import org.apache.http.protocol.HttpContext;

/**
 * TLS sockets whose factory is built on the first TLS connection, not with the client: building one
 * loads the JDK's TLS provider and CA list, a tenth of a second of start-up that a registry spoken to
 * in plain HTTP never needs.
 */
final class LazyTlsSockets implements LayeredConnectionSocketFactory {
  private final Supplier<SSLConnectionSocketFactory> factory;
  private SSLConnectionSocketFactory built;

  LazyTlsSockets(Supplier<SSLConnectionSocketFactory> factory) {
    this.factory = factory;
  }

  private synchronized SSLConnectionSocketFactory tls() {
    if (built == null) {
      built = factory.get();
    }
    return built;
  }

  @Override
  public Socket createSocket(HttpContext context) throws IOException {
    return tls().createSocket(context);
  }

  @Override
  public Socket connectSocket(int connectTimeout, Socket sock, HttpHost host, InetSocketAddress remoteAddress, InetSocketAddress localAddress,
      HttpContext context) throws IOException {
    return tls().connectSocket(connectTimeout, sock, host, remoteAddress, localAddress, context);
  }

  @Override
  public Socket createLayeredSocket(Socket socket, String target, int port, HttpContext context) throws IOException {
    return tls().createLayeredSocket(socket, target, port, context);
  }
}
