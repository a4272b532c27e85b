package io.s3cache.control;

import io.netty.handler.codec.http.QueryStringDecoder;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.dropwizard.DropwizardExports;
import io.prometheus.client.exporter.common.TextFormat;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * Maps one HTTP request (method, URI, body) onto a {@link ControlApi} call. Runs on a control
 * worker thread, never on an event loop, because the API blocks. Knows nothing of Netty channels:
 * it returns a {@link Reply} to write, or a {@link PreloadCall} for the caller to stream.
 */
final class ControlRoutes {

  static final String JSON = "application/json; charset=utf-8";
  static final String NDJSON = "application/x-ndjson";
  private static final byte[] EMPTY_OBJECT = "{}".getBytes(StandardCharsets.UTF_8);

  /** What to do with a request. */
  sealed interface Outcome permits Reply, PreloadCall {}

  /**
   * A complete response.
   *
   * @param afterSent runs once the response is flushed (on a fresh thread), or null
   */
  record Reply(int status, String contentType, byte[] body, Map<String, String> headers, Runnable afterSent)
      implements Outcome {
    static Reply json(int status, Object value) {
      return new Reply(status, JSON, ControlJson.write(value), Map.of(), null);
    }

    static Reply ok() {
      return new Reply(200, JSON, EMPTY_OBJECT, Map.of(), null);
    }

    static Reply error(int status, String message) {
      return new Reply(status, JSON, ControlJson.error(message), Map.of(), null);
    }
  }

  /** A parsed preload to run on its own thread, streaming its progress. */
  record PreloadCall(PreloadRequest request) implements Outcome {}

  private final ControlApi api;
  private final CollectorRegistry prometheus = new CollectorRegistry();

  ControlRoutes(ControlApi api) {
    this.api = api;
    new DropwizardExports(api.metrics()).register(prometheus);
    new MountRequestsCollector(api::mounts).register(prometheus);
  }

  Outcome route(String method, String uri, byte[] body, ControlAccess access) throws ControlException {
    QueryStringDecoder query = new QueryStringDecoder(uri, StandardCharsets.UTF_8);
    String path = query.path();
    switch (path) {
      case "/health":
        return method.equals("GET") ? Reply.json(200, api.health()) : notAllowed(method, path, "GET");
      case "/mounts":
        switch (method) {
          case "GET":
            return Reply.json(200, api.mounts());
          case "POST":
            return Reply.json(200, api.mount(checkedMount(ControlJson.readRequest(body, MountRequest.class), access)));
          case "DELETE":
            api.unmount(requiredParam(query, "path"));
            return Reply.ok();
          default:
            return notAllowed(method, path, "GET, POST, DELETE");
        }
      case "/preload":
        return method.equals("POST")
            ? new PreloadCall(ControlJson.readRequest(body, PreloadRequest.class))
            : notAllowed(method, path, "POST");
      case "/plan":
        switch (method) {
          case "POST":
            return Reply.json(200, api.plan(ControlJson.readRequest(body, PlanRequest.class), access.pid()));
          case "GET": {
            String id = optionalParam(query, "id");
            return id != null ? Reply.json(200, api.planStatus(id))
                : Reply.json(200, api.plans(optionalParam(query, "mount")));
          }
          case "DELETE": {
            String id = optionalParam(query, "id");
            if (id != null) {
              return Reply.json(200, api.endPlan(id));
            }
            String mount = optionalParam(query, "mount");
            if (mount == null) {
              throw ControlException.badRequest("DELETE /plan needs ?id=PLAN or ?mount=/abs/path[&name=NAME]");
            }
            return Reply.json(200, api.endPlans(mount, optionalParam(query, "name")));
          }
          default:
            return notAllowed(method, path, "GET, POST, DELETE");
        }
      case "/stats":
        return method.equals("GET")
            ? Reply.json(200, api.stats(optionalParam(query, "mount")))
            : notAllowed(method, path, "GET");
      case "/evict":
        return method.equals("POST")
            ? Reply.json(200, api.evict(ControlJson.readRequest(body, EvictRequest.class)))
            : notAllowed(method, path, "POST");
      case "/refresh":
        return method.equals("POST")
            ? Reply.json(200, api.refresh(ControlJson.readRequest(body, RefreshRequest.class)))
            : notAllowed(method, path, "POST");
      case "/credentials":
        return method.equals("POST")
            ? Reply.json(200, api.credentials(ControlJson.readRequest(body, CredentialsRequest.class)))
            : notAllowed(method, path, "POST");
      case "/metrics":
        return method.equals("GET") ? metrics() : notAllowed(method, path, "GET");
      case "/shutdown":
        if (!method.equals("POST")) {
          return notAllowed(method, path, "POST");
        }
        return new Reply(200, JSON, EMPTY_OBJECT, Map.of(), api::shutdown);
      default:
        throw ControlException.notFound("no such endpoint: " + path);
    }
  }

  /**
   * allow_other lets every user into the mount, with the daemon's (root's) credentials behind it:
   * only root, over the Unix socket where the kernel vouches for the uid, may ask for it.
   */
  private static MountRequest checkedMount(MountRequest request, ControlAccess access) throws ControlException {
    boolean asked = request.options().stream().anyMatch(o -> o.strip().toLowerCase(java.util.Locale.ROOT)
        .startsWith("allow_"));
    for (var e : request.settings().entrySet()) {
      if (io.s3cache.config.SettingKey.of(e.getKey()).orElse(null) == io.s3cache.config.SettingKey.ALLOW_OTHER) {
        String v = e.getValue().strip().toLowerCase(java.util.Locale.ROOT);
        asked |= !(v.equals("false") || v.equals("no") || v.equals("off") || v.equals("0"));
      }
    }
    if (asked && !access.mayAllowOther()) {
      throw new ControlException(403, "allow_other may be set only by root over the daemon's Unix socket");
    }
    return request;
  }

  private Reply metrics() {
    StringWriter text = new StringWriter();
    try {
      TextFormat.write004(text, prometheus.metricFamilySamples());
    } catch (IOException e) {
      throw new IllegalStateException("writing to a StringWriter failed", e);
    }
    return new Reply(200, TextFormat.CONTENT_TYPE_004, text.toString().getBytes(StandardCharsets.UTF_8), Map.of(), null);
  }

  private static Reply notAllowed(String method, String path, String allowed) {
    byte[] body = ControlJson.error("method " + method + " is not allowed on " + path + "; use " + allowed);
    return new Reply(405, JSON, body, Map.of("Allow", allowed), null);
  }

  private static String requiredParam(QueryStringDecoder query, String name) throws ControlException {
    String value = optionalParam(query, name);
    if (value == null || value.isEmpty()) {
      throw ControlException.badRequest("missing query parameter " + name);
    }
    return value;
  }

  private static String optionalParam(QueryStringDecoder query, String name) throws ControlException {
    List<String> values = query.parameters().get(name);
    if (values == null || values.isEmpty()) {
      return null;
    }
    if (values.size() > 1) {
      throw ControlException.badRequest("query parameter " + name + " given " + values.size() + " times");
    }
    return values.get(0);
  }
}
