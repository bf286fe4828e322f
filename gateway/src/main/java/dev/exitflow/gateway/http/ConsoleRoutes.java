package dev.exitflow.gateway.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Properties;
import java.util.function.BooleanSupplier;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.CacheControl;
import org.apache.pekko.http.javadsl.model.headers.CacheDirectives;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The console and the API's description: {@code GET /} (the page), {@code /console/*} (its script,
 * style and uPlot, from the uPlot WebJar: nothing comes from a CDN, the machine may be offline),
 * {@code /console/events} (its Server-Sent Events, see {@link ConsoleFeed}) and {@code
 * /openapi.json}. All are read from the jar once, at start, so a missing file fails the start.
 */
final class ConsoleRoutes extends AllDirectives {
  private static final ContentType HTML = ContentTypes.TEXT_HTML_UTF8;
  private static final ContentType JS =
      ContentTypes.create(MediaTypes.APPLICATION_JAVASCRIPT, HttpCharsets.UTF_8);
  private static final ContentType CSS = ContentTypes.create(MediaTypes.TEXT_CSS, HttpCharsets.UTF_8);
  private static final ContentType EVENTS = ContentTypes.create(MediaTypes.TEXT_EVENT_STREAM);

  private record Asset(ContentType type, byte[] bytes) {}

  private final Asset page = asset("console/index.html", HTML);
  private final Asset openApi = asset("openapi.json", ContentTypes.APPLICATION_JSON);
  private final Map<String, Asset> assets;
  private final ConsoleFeed feed;
  private final BooleanSupplier draining;

  ConsoleRoutes(ConsoleFeed feed, BooleanSupplier draining) {
    this.feed = feed;
    this.draining = draining;
    String uplot = "META-INF/resources/webjars/uplot/" + webJarVersion("uplot") + "/dist/";
    this.assets = Map.of(
        "console.js", asset("console/console.js", JS),
        "console.css", asset("console/console.css", CSS),
        "uplot.js", asset(uplot + "uPlot.iife.min.js", JS),
        "uplot.css", asset(uplot + "uPlot.min.css", CSS));
  }

  Route routes() {
    // get() inside each path: a POST elsewhere must stay a 404, not become "405: this route takes GET".
    return concat(
        pathSingleSlash(() -> get(() -> serve(page))),
        path("openapi.json", () -> get(() -> serve(openApi))),
        pathPrefix("console", () -> concat(
            path("events", () -> get(this::events)),
            path(PathMatchers.segment(), name -> assets.containsKey(name) ? get(() -> serve(assets.get(name)))
                : reject()))));
  }

  private Route serve(Asset a) {
    // The page and its files change with the jar: always revalidate rather than run a stale script.
    return respondWithHeader(CacheControl.create(CacheDirectives.NO_CACHE),
        () -> complete(HttpResponse.create().withEntity(HttpEntities.create(a.type(), a.bytes()))));
  }

  private Route events() {
    return respondWithHeader(CacheControl.create(CacheDirectives.NO_CACHE),
        () -> complete(HttpResponse.create().withEntity(HttpEntities.createChunked(EVENTS, feed.events(draining)))));
  }

  private static Asset asset(String resource, ContentType type) {
    try (InputStream in = ConsoleRoutes.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("the jar lacks " + resource);
      }
      return new Asset(type, in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The version of an npm WebJar on the class path, so that the page's URLs need not name it. */
  private static String webJarVersion(String name) {
    String file = "META-INF/maven/org.webjars.npm/" + name + "/pom.properties";
    try (InputStream in = ConsoleRoutes.class.getClassLoader().getResourceAsStream(file)) {
      if (in == null) {
        throw new IllegalStateException("the jar lacks " + file + " (WebJar org.webjars.npm:" + name + ")");
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
