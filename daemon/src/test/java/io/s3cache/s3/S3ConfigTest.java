package io.s3cache.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class S3ConfigTest {

  @Test
  void defaults() {
    S3Config c = S3Config.defaults();
    assertNull(c.endpoint());
    assertEquals("us-east-1", c.region());
    assertEquals(S3Config.ChecksumMode.WHEN_SUPPORTED, c.checksumMode());
    assertEquals(64, c.maxConnections());
    assertEquals(Duration.ofSeconds(5), c.connectTimeout());
    assertEquals(Duration.ofSeconds(30), c.requestTimeout());
    assertEquals(5, c.maxAttempts());
    assertEquals(Duration.ofMillis(100), c.baseBackoff());
    assertEquals(Duration.ofSeconds(5), c.maxBackoff());
    assertEquals("AWS S3 (us-east-1)", c.endpointLabel());
  }

  @Test
  void rejectsBadValuesWithMessagesNamingTheSetting() {
    S3Config c = S3Config.defaults();
    assertMessage("endpoint must start with http:// or https://", () -> c.withEndpoint(URI.create("ftp://x")));
    assertMessage("region must not be empty", () -> c.withRegion(" "));
    assertMessage("max connections must be at least 1", () -> c.withMaxConnections(0));
    assertMessage("max attempts must be at least 1", () -> c.withMaxAttempts(0));
    assertMessage("request timeout must be positive", () -> c.withTimeouts(Duration.ofSeconds(1), Duration.ZERO));
    assertMessage(
        "max backoff (PT0.01S) must not be less than base backoff (PT1S)",
        () -> c.withBackoff(Duration.ofSeconds(1), Duration.ofMillis(10)));
  }

  private static void assertMessage(String expected, Runnable r) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }
}
