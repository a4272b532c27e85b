package io.s3cache.control;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The one JSON mapping of the control API, shared by server and client. Records map by their
 * component names. The server reads strictly (an unknown property is a 400, so a typo in a request
 * is not silently ignored); the client reads leniently, so a newer daemon may add fields.
 */
final class ControlJson {

  static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .build();

  private static final ObjectReader LENIENT =
      MAPPER.reader().without(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private ControlJson() {}

  static byte[] write(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      // Only our own records are written; failing here is a bug, not a client error.
      throw new IllegalStateException("cannot serialise " + value.getClass().getSimpleName(), e);
    }
  }

  static byte[] error(String message) {
    return write(Map.of("error", message == null ? "" : message));
  }

  /** Reads a request body strictly; every failure is a 400 with one line saying what is wrong. */
  static <T> T readRequest(byte[] body, Class<T> type) throws ControlException {
    String what = type.getSimpleName();
    if (body.length == 0) {
      throw ControlException.badRequest("request body is empty: expected a JSON " + what);
    }
    try {
      return MAPPER.readValue(body, type);
    } catch (UnrecognizedPropertyException e) {
      String known =
          e.getKnownPropertyIds() == null
              ? ""
              : "; known: " + e.getKnownPropertyIds().stream().map(String::valueOf).collect(Collectors.joining(", "));
      throw ControlException.badRequest("unknown property \"" + e.getPropertyName() + "\" in " + what + known);
    } catch (StreamReadException e) {
      throw ControlException.badRequest("malformed JSON" + at(e.getLocation()) + ": " + firstLine(e.getOriginalMessage()));
    } catch (JsonMappingException e) {
      String field = e.getPath().stream()
          .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
          .collect(Collectors.joining("."));
      Throwable cause = e.getCause() != null && e.getCause() != e ? e.getCause() : null;
      String reason = cause != null && cause.getMessage() != null ? cause.getMessage() : e.getOriginalMessage();
      if (reason != null && reason.startsWith("Cannot map `null` into type")) {
        reason = "null is not allowed here"; // Jackson's text names a feature flag, not the problem
      }
      throw ControlException.badRequest(
          "invalid " + what + (field.isEmpty() ? "" : " at \"" + field + "\"") + ": " + firstLine(reason));
    } catch (IOException e) {
      throw ControlException.badRequest("invalid JSON for " + what + ": " + firstLine(e.getMessage()));
    }
  }

  /** Reads a response body leniently. */
  static <T> T readResponse(byte[] body, Class<T> type) throws IOException {
    return LENIENT.forType(type).readValue(body);
  }

  static <T> T readResponse(byte[] body, JavaType type) throws IOException {
    return LENIENT.forType(type).readValue(body);
  }

  /** The "error" of an error body, or null when the body is not one. */
  static String errorMessage(byte[] body) {
    try {
      var node = MAPPER.readTree(body);
      return node != null && node.path("error").isTextual() ? node.get("error").asText() : null;
    } catch (IOException e) {
      return null;
    }
  }

  static String utf8(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return (nl < 0 ? s : s.substring(0, nl)).strip();
  }

  private static String at(JsonLocation location) {
    if (location == null || location.getLineNr() < 0) {
      return "";
    }
    return " at line " + location.getLineNr() + ", column " + location.getColumnNr();
  }
}
