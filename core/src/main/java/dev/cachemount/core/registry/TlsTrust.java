package dev.cachemount.core.registry;

import dev.cachemount.core.CachemountException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * An {@link SSLContext} that trusts the JDK's certificate authorities plus those of a PEM file, for a
 * registry whose certificate a private CA signed ({@code --ca-file}). Only this client's requests use
 * it: the process-wide default stays as it is (the Maven plugin shares its JVM with the build).
 */
final class TlsTrust {
  private TlsTrust() {}

  static SSLContext withCaFile(Path pem) {
    List<X509Certificate> extra = read(pem);
    try {
      X509TrustManager jdk = trustManager(null);
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < extra.size(); i++) {
        store.setCertificateEntry("ca-file-" + i, extra.get(i));
      }
      X509TrustManager file = trustManager(store);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, new TrustManager[] {new EitherTrustManager(jdk, file)}, null);
      return context;
    } catch (GeneralSecurityException | IOException e) {
      throw CachemountException.usage(named(pem) + ": cannot build a trust store from it: " + e.getMessage());
    }
  }

  private static List<X509Certificate> read(Path pem) {
    try (InputStream in = Files.newInputStream(pem)) {
      Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
      List<X509Certificate> out = new ArrayList<>();
      for (Certificate c : certs) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw CachemountException.usage(named(pem) + " holds no certificate: give a PEM file with -----BEGIN CERTIFICATE----- blocks");
      }
      return out;
    } catch (IOException e) {
      throw CachemountException.usage(named(pem) + " cannot be read: " + e.getMessage());
    } catch (GeneralSecurityException e) {
      throw CachemountException.usage(named(pem) + " is not a PEM certificate file: " + e.getMessage());
    }
  }

  private static X509TrustManager trustManager(KeyStore store) throws GeneralSecurityException {
    TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    f.init(store);
    for (TrustManager tm : f.getTrustManagers()) {
      if (tm instanceof X509TrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("no X.509 trust manager available");
  }

  /** Trusts a server chain that either manager trusts. */
  private record EitherTrustManager(X509TrustManager first, X509TrustManager second) implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws java.security.cert.CertificateException {
      first.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws java.security.cert.CertificateException {
      try {
        first.checkServerTrusted(chain, authType);
      } catch (java.security.cert.CertificateException e) {
        second.checkServerTrusted(chain, authType);
      }
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      X509Certificate[] a = first.getAcceptedIssuers();
      X509Certificate[] b = second.getAcceptedIssuers();
      X509Certificate[] all = java.util.Arrays.copyOf(a, a.length + b.length);
      System.arraycopy(b, 0, all, a.length, b.length);
      return all;
    }
  }

  /** The file as both fronts name it. */
  private static String named(Path pem) {
    return "the CA file " + pem + " (--ca-file, or the Maven plugin's caFile)";
  }
}
