package io.s3cache.cli;

import io.s3cache.config.ConfigException;
import io.s3cache.control.ControlException;
import io.s3cache.fuse.MountException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code bin/s3cache}. Every failure ends in one line on stderr and a non-zero exit. */
@Command(
    name = "s3cache",
    mixinStandardHelpOptions = true,
    versionProvider = S3cacheCli.Version.class,
    description = "Mount an S3 bucket as a local directory, backed by a RAM/disk block cache.",
    subcommands = {MountCommand.class, UnmountCommand.class, DaemonCommand.class, PreloadCommand.class,
        StatsCommand.class, EvictCommand.class, RefreshCommand.class, ShutdownCommand.class, DemoCommand.class,
        BenchCommand.class, BenchIndexCommand.class, BenchWriteCommand.class, GenDatasetCommand.class})
public final class S3cacheCli {

  /** Exit code for a failure of the operation itself (usage errors exit 2, as picocli does). */
  static final int FAILED = 1;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String... args) {
    CommandLine cli = new CommandLine(new S3cacheCli());
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
