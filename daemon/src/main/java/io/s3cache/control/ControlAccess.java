package io.s3cache.control;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.s3cache.control.ControlRoutes.Reply;
import java.util.Locale;
import java.util.Map;

/**
 * What a connection's listener lets its requests do, checked before anything is routed.
 *
 * <ul>
 *   <li>UNIX: the peer uid was checked when the connection was accepted; everything is allowed,
 *       and a root peer may also ask for {@code allow_other}.
 *   <li>TCP: no peer credentials, so every request must carry the bearer token (401 without).
 *       Requests from a web page are refused (403): any {@code Origin} header, and any
 *       state-changing request whose body is not declared {@code application/json} (a page can
 *       send text/plain or form bodies cross-origin without a CORS preflight, not JSON).
 *   <li>METRICS: read-only, {@code GET /metrics} and {@code GET /health} only.
 * </ul>
 */
record ControlAccess(Kind kind, int uid, int pid, ControlToken token) {

  enum Kind { UNIX, TCP, METRICS }

  /** @param peerPid the connecting process (SO_PEERCRED), 0 when unknown */
  static ControlAccess unix(int peerUid, int peerPid) {
    return new ControlAccess(Kind.UNIX, peerUid, peerPid, null);
  }

  static ControlAccess tcp(ControlToken token) {
    return new ControlAccess(Kind.TCP, -1, 0, token);
  }

  static ControlAccess metrics() {
    return new ControlAccess(Kind.METRICS, -1, 0, null);
  }

  /** Null when the request may be routed, else the answer that refuses it. */
  Reply refusal(HttpRequest request) {
    return switch (kind) {
      case UNIX -> null;
      case METRICS -> metricsRefusal(request);
      case TCP -> tcpRefusal(request);
    };
  }

  private static Reply metricsRefusal(HttpRequest request) {
    String path = new QueryStringDecoder(request.uri()).path();
    if (!path.equals("/metrics") && !path.equals("/health")) {
      return Reply.error(404, "the metrics listener serves only GET /metrics and GET /health");
    }
    if (!request.method().equals(HttpMethod.GET)) {
      return new Reply(405, ControlRoutes.JSON,
          ControlJson.error("the metrics listener is read-only: use GET"), Map.of("Allow", "GET"), null);
    }
    return null;
  }

  private Reply tcpRefusal(HttpRequest request) {
    if (request.headers().contains(HttpHeaderNames.ORIGIN)) {
      return Reply.error(403, "requests from web pages (with an Origin header) are refused");
    }
    if (!token.matches(request.headers().get(HttpHeaderNames.AUTHORIZATION))) {
      return new Reply(401, ControlRoutes.JSON,
          ControlJson.error("the TCP control listener needs Authorization: Bearer <token of control_token_file>"),
          Map.of("WWW-Authenticate", "Bearer"), null);
    }
    boolean readOnly = request.method().equals(HttpMethod.GET) || request.method().equals(HttpMethod.HEAD);
    if (!readOnly && !isJson(request.headers().get(HttpHeaderNames.CONTENT_TYPE))) {
      return Reply.error(403, "a " + request.method() + " over TCP must have Content-Type: application/json");
    }
    return null;
  }

  private static boolean isJson(String contentType) {
    if (contentType == null) {
      return false;
    }
    int semicolon = contentType.indexOf(';');
    String type = (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).strip();
    return type.toLowerCase(Locale.ROOT).equals("application/json");
  }

  /** Whether a mount may set allow_other: only root, only over the Unix socket (peer uid checked). */
  boolean mayAllowOther() {
    return kind == Kind.UNIX && uid == 0;
  }
}
