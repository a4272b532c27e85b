package io.s3cache.s3;

/**
 * S3 requests by kind (calls, each counted once whatever its retries): what {@code s3cache stats}
 * and the training report show, so round trips that move no bytes (HEAD, LIST) are visible too.
 *
 * @param put PUTs of whole objects and multipart parts
 * @param other bucket checks and multipart create, complete and abort calls
 */
public record RequestCounts(long get, long head, long list, long put, long copy, long delete,
    long other) {

  public static final RequestCounts NONE = new RequestCounts(0, 0, 0, 0, 0, 0, 0);

  public RequestCounts plus(RequestCounts o) {
    return new RequestCounts(get + o.get, head + o.head, list + o.list, put + o.put,
        copy + o.copy, delete + o.delete, other + o.other);
  }

  /** What happened between {@code earlier} and this. */
  public RequestCounts minus(RequestCounts earlier) {
    return new RequestCounts(get - earlier.get, head - earlier.head, list - earlier.list,
        put - earlier.put, copy - earlier.copy, delete - earlier.delete, other - earlier.other);
  }

  /** "12 GET, 0 HEAD, 3 LIST, ..." (kinds with nothing to show after LIST left out). */
  public String describe() {
    StringBuilder s = new StringBuilder();
    s.append(get).append(" GET, ").append(head).append(" HEAD, ").append(list).append(" LIST");
    if (put > 0) {
      s.append(", ").append(put).append(" PUT");
    }
    if (copy > 0) {
      s.append(", ").append(copy).append(" COPY");
    }
    if (delete > 0) {
      s.append(", ").append(delete).append(" DELETE");
    }
    if (other > 0) {
      s.append(", ").append(other).append(" other");
    }
    return s.toString();
  }
}
