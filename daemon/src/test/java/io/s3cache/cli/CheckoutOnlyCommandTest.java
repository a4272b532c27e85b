package io.s3cache.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Without the bench module (the installed package), its commands say in one line where they run. */
class CheckoutOnlyCommandTest {

  @Test
  void eachBenchCommandFailsWithOneLineWhateverItsArguments() {
    for (String name : S3cacheCli.CHECKOUT_ONLY) {
      for (String[] args : new String[][] {{name}, {name, "--help"}, {name, "--keep", "s3://b/p"}}) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream saved = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int status;
        try {
          status = S3cacheCli.run(args);
        } finally {
          System.setErr(saved);
        }
        assertEquals(S3cacheCli.FAILED, status, String.join(" ", args));
        assertEquals("s3cache: '" + name + "' runs from a source checkout (bin/s3cache after 'mvn -DskipTests package'), "
            + "not from the installed package\n", err.toString(StandardCharsets.UTF_8), String.join(" ", args));
      }
    }
  }
}
