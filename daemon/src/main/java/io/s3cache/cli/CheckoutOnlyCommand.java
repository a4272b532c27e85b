package io.s3cache.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/**
 * The stand-in for a subcommand of the bench module (demo, benchmarks, gen-dataset) where that
 * module is absent, as in the installed package: whatever its arguments, it says in one line where
 * the command runs and fails.
 */
@Command
final class CheckoutOnlyCommand implements Callable<Integer> {

  private final String name;

  /** Every argument, {@code --help} included: none is parsed. */
  @Unmatched List<String> ignored;

  private CheckoutOnlyCommand(String name) {
    this.name = name;
  }

  static CommandLine commandLine(String name) {
    CommandLine cli = new CommandLine(new CheckoutOnlyCommand(name));
    cli.getCommandSpec().usageMessage().description("(From a source checkout only: see the README.)");
    return cli;
  }

  @Override
  public Integer call() {
    System.err.println("s3cache: '" + name + "' runs from a source checkout (bin/s3cache after "
        + "'mvn -DskipTests package'), not from the installed package");
    return S3cacheCli.FAILED;
  }
}
