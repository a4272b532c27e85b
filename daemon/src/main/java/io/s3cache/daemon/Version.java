package io.s3cache.daemon;

/** The version of the running build, from the jar manifest ("dev" when run from classes). */
final class Version {
  private Version() {}

  static String current() {
    String v = Version.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
