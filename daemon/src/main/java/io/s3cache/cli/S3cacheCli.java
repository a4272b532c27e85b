package io.s3cache.cli;

import io.s3cache.config.ConfigException;
import io.s3cache.control.ControlException;
import io.s3cache.fuse.MountException;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of {@code bin/s3cache}. Every failure ends in one line on stderr and a non-zero exit.
 *
 * <p>The demo, the benchmarks and {@code gen-dataset} live in the bench module, which is not
 * packaged: here they are stand-ins that say so ({@link CheckoutOnlyCommand}). In a source checkout
 * {@code bin/s3cache} runs them through the bench module's entry, which passes the real commands to
 * {@link #run(List, String...)}.
 */
@Command(
    name = "s3cache",
    mixinStandardHelpOptions = true,
    versionProvider = S3cacheCli.Version.class,
    description = "Mount an S3 bucket as a local directory, backed by a RAM/disk block cache.",
    subcommands = {MountCommand.class, UnmountCommand.class, DaemonCommand.class, PreloadCommand.class,
        StatsCommand.class, EvictCommand.class, RefreshCommand.class, CredentialsCommand.class, ShutdownCommand.class},
    footer = {"", "demo, bench, bench-index, bench-write, bench-client, bench-torch and gen-dataset run from a source checkout only "
        + "(bin/s3cache after 'mvn -DskipTests package'); the installed package does not carry them."})
public final class S3cacheCli {

  /** Exit code for a failure of the operation itself (usage errors exit 2, as picocli does). */
  static final int FAILED = 1;

  /** The subcommands of the bench module, in the order help lists them. */
  public static final List<String> CHECKOUT_ONLY = List.of("demo", "bench", "bench-index", "bench-write", "bench-client",
      "bench-torch", "gen-dataset");

  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String... args) {
    return run(List.of(), args);
  }

  /**
   * Runs the CLI with {@code checkoutCommands} (picocli command objects of the bench module) in place
   * of the stand-ins of the same names; the names missing from it get a {@link CheckoutOnlyCommand}.
   */
  public static int run(List<Object> checkoutCommands, String... args) {
    CommandLine cli = new CommandLine(new S3cacheCli());
    for (Object command : checkoutCommands) {
      cli.addSubcommand(command);
    }
    for (String name : CHECKOUT_ONLY) {
      if (!cli.getSubcommands().containsKey(name)) {
        cli.addSubcommand(name, CheckoutOnlyCommand.commandLine(name));
      }
    }
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      commandLine.getErr().println("s3cache: " + oneLine(e));
      return e instanceof ConfigException || (e instanceof ControlException c && c.status() == 400) ? 2 : FAILED;
    });
    cli.setParameterExceptionHandler((e, args1) -> {
      PrintWriter err = e.getCommandLine().getErr();
      err.println("s3cache: " + e.getMessage());
      err.println("Try 's3cache " + e.getCommandLine().getCommandName() + " --help' for usage.");
      return 2;
    });
    return cli.execute(args);
  }

  static String oneLine(Throwable e) {
    if (e instanceof MountException || e instanceof ConfigException || e instanceof ControlException) {
      return e.getMessage();
    }
    String m = e.getMessage();
    return m == null ? e.toString() : m.replace('\n', ' ');
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = S3cacheCli.class.getPackage().getImplementationVersion();
      return new String[] {"s3cache " + (v == null ? "dev" : v)};
    }
  }
}
