package io.s3cache.s3;

import java.util.ArrayList;
import java.util.List;

/** Whole listings built from {@link ObjectClient#list} pages. */
public final class Listings {
  private Listings() {}

  /** Every object and common prefix under {@code prefix}, following continuation tokens. */
  public static ListPage listAll(ObjectClient client, String prefix, String delimiter) throws ObjectClientException {
    return listAll(client, prefix, delimiter, 1000);
  }

  /** As {@link #listAll(ObjectClient, String, String)}, asking for {@code pageSize} keys a page. */
  public static ListPage listAll(ObjectClient client, String prefix, String delimiter, int pageSize)
      throws ObjectClientException {
    List<ObjectMeta> objects = new ArrayList<>();
    List<String> prefixes = new ArrayList<>();
    String token = null;
    do {
      ListPage page = client.list(prefix, delimiter, token, pageSize);
      objects.addAll(page.objects());
      prefixes.addAll(page.commonPrefixes());
      token = page.nextContinuationToken();
    } while (token != null);
    return new ListPage(objects, prefixes, null);
  }
}
