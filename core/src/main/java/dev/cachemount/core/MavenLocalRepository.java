package dev.cachemount.core;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.SAXException;

/**
 * The local repository a {@code mvn} started in an environment would use, found as Maven 3 finds it:
 * {@code -Dmaven.repo.local} in {@code MAVEN_OPTS}; else {@code <localRepository>} of the user
 * settings ({@code ${user.home}/.m2/settings.xml}); else of the global settings (in the Maven home:
 * the installation the {@code mvn} on PATH belongs to, through its links, as its launcher finds its
 * home whatever {@code MAVEN_HOME} says; without one on PATH, {@code $MAVEN_HOME} or {@code $M2_HOME});
 * else {@code ${user.home}/.m2/repository}. In a settings value,
 * {@code ${user.home}}, {@code ${user.dir}}, {@code ${maven.home}}, {@code ${env.NAME}} and the
 * properties {@code MAVEN_OPTS} sets with {@code -D} are replaced, as Maven replaces them; a relative
 * path is relative to the working directory, as Maven's is. {@code user.home} is the account's home
 * that Java reads (not {@code $HOME}) unless {@code MAVEN_OPTS} sets it.
 *
 * <p>Not read: settings files named on Maven's command line ({@code -s}, {@code -gs}), and what a
 * project's {@code .mvn/maven.config}, {@code .mvn/jvm.config} or {@code MAVEN_ARGS} add.
 */
final class MavenLocalRepository {
  private static final Pattern EXPRESSION = Pattern.compile("\\$\\{([^}]*)}");

  private final Map<String, String> env;
  /** What {@code MAVEN_OPTS} sets with {@code -Dname=value}: system properties of Maven's JVM. */
  private final Map<String, String> properties;
  private final Path userHome;

  /** @param accountHome Java's {@code user.home} in Maven's JVM, unless {@code MAVEN_OPTS} sets another */
  MavenLocalRepository(Map<String, String> env, Path accountHome) {
    this.env = env;
    this.properties = definedIn(env.getOrDefault("MAVEN_OPTS", ""));
    this.userHome = Optional.ofNullable(properties.get("user.home")).map(Path::of).orElse(accountHome);
  }

  /**
   * The local repository's path, absolute.
   *
   * @throws CachemountException of kind USAGE when a settings file cannot be read, or its value names
   *     what cannot be told here
   */
  Path find() {
    String override = properties.get("maven.repo.local");
    if (override != null && !override.isBlank()) {
      return absolute(override, "-Dmaven.repo.local in MAVEN_OPTS");
    }
    Optional<Path> mavenHome = mavenHome();
    List<Path> settingsFiles = new ArrayList<>(List.of(userHome.resolve(".m2").resolve("settings.xml")));
    mavenHome.ifPresent(h -> settingsFiles.add(h.resolve("conf").resolve("settings.xml")));
    for (Path settings : settingsFiles) {
      Optional<String> value = localRepositoryIn(settings);
      if (value.isPresent()) {
        return absolute(interpolated(value.get(), settings, mavenHome), settings.toString());
      }
    }
    return userHome.resolve(".m2").resolve("repository");
  }

  /**
   * The Maven installation: the directory above the {@code bin/} of the {@code mvn} on PATH, its
   * links resolved (its launcher finds its home so, and sets {@code MAVEN_HOME} to it whatever the
   * environment said); without one, {@code $MAVEN_HOME}, else {@code $M2_HOME}.
   */
  private Optional<Path> mavenHome() {
    Optional<Path> launcher = ToolCommand.onPath("mvn", env).flatMap(mvn -> {
      try {
        Path bin = mvn.toRealPath().getParent();
        return Optional.ofNullable(bin.getParent());
      } catch (IOException e) {
        return Optional.empty();
      }
    });
    if (launcher.isPresent()) {
      return launcher;
    }
    for (String variable : new String[] {"MAVEN_HOME", "M2_HOME"}) {
      String value = env.get(variable);
      if (value != null && !value.isBlank()) {
        return Optional.of(Path.of(value).toAbsolutePath());
      }
    }
    return Optional.empty();
  }

  /** The trimmed text of the settings' {@code <localRepository>}, if it has one that is not blank. */
  private static Optional<String> localRepositoryIn(Path settings) {
    try (InputStream in = Files.newInputStream(settings)) {
      Element root = parser().parse(in, settings.toUri().toString()).getDocumentElement();
      for (Node child = root.getFirstChild(); child != null; child = child.getNextSibling()) {
        if (child instanceof Element element && "localRepository".equals(localName(element))) {
          String value = element.getTextContent().strip();
          return value.isEmpty() ? Optional.empty() : Optional.of(value);
        }
      }
      return Optional.empty();
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException | SAXException e) {
      throw PresetDirectories.problem(CachePreset.MAVEN, settings + " cannot be read: " + e.getMessage(),
          "fix it, as mvn would fail on it too");
    }
  }

  private static String localName(Element element) {
    return element.getLocalName() != null ? element.getLocalName() : element.getTagName().replaceFirst("^.*:", "");
  }

  /** The JDK's parser, reading no DTD and no external entity: a settings file names none. */
  private static DocumentBuilder parser() {
    try {
      DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
      factory.setNamespaceAware(true);
      factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      factory.setFeature("http://xml.org/sax/features/external-general-entities", false);
      factory.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
      factory.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "");
      factory.setAttribute(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
      factory.setXIncludeAware(false);
      factory.setExpandEntityReferences(false);
      DocumentBuilder builder = factory.newDocumentBuilder();
      builder.setErrorHandler(new org.xml.sax.helpers.DefaultHandler()); // throws, where the JDK's default also prints on standard error
      return builder;
    } catch (ParserConfigurationException e) {
      throw new IllegalStateException("the JDK's XML parser lacks a feature it documents", e);
    }
  }

  /** {@code value} with its {@code ${...}} expressions replaced, as Maven interpolates settings. */
  private String interpolated(String value, Path settings, Optional<Path> mavenHome) {
    Matcher m = EXPRESSION.matcher(value);
    StringBuilder result = new StringBuilder();
    while (m.find()) {
      String name = m.group(1);
      String replacement;
      if (name.startsWith("env.")) {
        replacement = env.get(name.substring(4));
      } else if (properties.containsKey(name)) {
        replacement = properties.get(name);
      } else {
        replacement = switch (name) {
          case "user.home" -> userHome.toString();
          case "user.dir" -> Path.of("").toAbsolutePath().toString();
          case "maven.home" -> mavenHome.map(Path::toString).orElse(null);
          default -> null;
        };
      }
      if (replacement == null) {
        throw PresetDirectories.problem(CachePreset.MAVEN, "<localRepository>" + value + "</localRepository> of " + settings + " names ${"
            + name + "}, which " + (name.startsWith("env.") ? "is not set in the environment" : "cachemount does not know"),
            "set it, or use ${user.home} or ${env.NAME}");
      }
      m.appendReplacement(result, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(result);
    return result.toString();
  }

  /** A path as Maven makes it absolute: against the working directory. */
  private static Path absolute(String value, String source) {
    try {
      return Path.of(value).toAbsolutePath().normalize();
    } catch (InvalidPathException e) {
      throw PresetDirectories.problem(CachePreset.MAVEN, "the local repository " + value + " (from " + source + ") is not a valid path: "
          + e.getReason(), "fix it");
    }
  }

  /**
   * The {@code -Dname=value} (and {@code -Dname}, which is {@code true}) words of {@code MAVEN_OPTS},
   * split at white space as the {@code mvn} launcher splits it, the last of a name winning.
   */
  private static Map<String, String> definedIn(String options) {
    Map<String, String> defined = new HashMap<>();
    for (String word : options.strip().split("\\s+")) {
      if (word.startsWith("-D") && word.length() > 2) {
        int eq = word.indexOf('=');
        defined.put(eq < 0 ? word.substring(2) : word.substring(2, eq), eq < 0 ? "true" : word.substring(eq + 1));
      }
    }
    return defined;
  }
}
