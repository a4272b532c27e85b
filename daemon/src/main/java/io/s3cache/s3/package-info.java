/** The S3 object client: LIST, HEAD and ranged GET of one bucket, with retries and error kinds. */
package io.s3cache.s3;
