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
    assertEquals(Duration.ofSeconds(9), c.requestTimeout());
    assertEquals(3, c.maxAttempts());
    assertEquals(Duration.ofMillis(100), c.baseBackoff());
    assertEquals(Duration.ofSeconds(5), c.maxBackoff());
    assertEquals("AWS S3 (us-east-1)", c.endpointLabel());
  }

  /** Issue 15 item 7: with defaults, a stalled store fails a request within 30 s (was 151 s). */
  @Test
  void defaultWorstCaseOfAStalledRequestIsAtMostThirtySeconds() {
    assertEquals(Duration.ofMillis(27_300), S3Config.defaults().worstCase()); // 3 x 9 s + 0.1 s + 0.2 s
    assertTrue(S3Config.defaults().worstCase().compareTo(Duration.ofSeconds(30)) <= 0);
  }

  @Test
  void worstCaseAddsEveryAttemptAndTheLongestBackoffBeforeEachRetry() {
    S3Config c = S3Config.defaults().withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(2)).withMaxAttempts(2);
    assertEquals(Duration.ofMillis(4_100), c.worstCase());
    // Backoff doubles from 100 ms and is capped at 5 s: 0.1 + 0.2 + 0.4 + 0.8 + 1.6 + 3.2 + 5 + 5 + 5.
    assertEquals(Duration.ofMillis(10 * 1_000 + 21_300), c.withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(1))
        .withMaxAttempts(10).worstCase());
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
