package io.s3cache.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.s3cache.s3.ObjectClientException.Kind;
import io.s3cache.s3.S3ErrorMapper.Operation;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Issue 15 item 5: expired or unknown credentials are EACCES (kind CREDENTIALS), not EIO, whatever
 * status S3 gives them. These answers cannot be had from S3Proxy, so they are built here.
 */
class S3ErrorMapperTest {

  private final S3ErrorMapper mapper = new S3ErrorMapper("b", "http://s3");

  private static S3Exception answer(int status, String code) {
    return (S3Exception) S3Exception.builder().statusCode(status)
        .awsErrorDetails(AwsErrorDetails.builder().errorCode(code).errorMessage("msg").build()).build();
  }

  @Test
  void anExpiredSessionTokenIsACredentialsFailureThoughS3AnswersIt400() {
    assertEquals(Kind.CREDENTIALS, mapper.map(Operation.GET, "k", answer(400, "ExpiredToken")).kind());
    assertEquals(Kind.CREDENTIALS, mapper.map(Operation.LIST, "p/", answer(400, "InvalidToken")).kind());
    assertEquals(Kind.CREDENTIALS, mapper.map(Operation.GET, "k", answer(403, "InvalidAccessKeyId")).kind());
    assertEquals(Kind.CREDENTIALS, mapper.map(Operation.GET, "k", answer(403, "SignatureDoesNotMatch")).kind());
  }

  @Test
  void aHeadHasNoErrorBody400IsItsExpiredToken403StaysAccessDenied() {
    assertEquals(Kind.CREDENTIALS, mapper.map(Operation.HEAD, "k", answer(400, null)).kind());
    assertEquals(Kind.ACCESS_DENIED, mapper.map(Operation.HEAD, "k", answer(403, null)).kind());
  }

  @Test
  void aPolicyDenialStaysAccessDeniedAndOtherBadRequestsStayOther() {
    assertEquals(Kind.ACCESS_DENIED, mapper.map(Operation.GET, "k", answer(403, "AccessDenied")).kind());
    assertEquals(Kind.OTHER, mapper.map(Operation.GET, "k", answer(400, "InvalidArgument")).kind());
  }
}
