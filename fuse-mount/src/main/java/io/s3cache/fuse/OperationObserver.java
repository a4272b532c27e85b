package io.s3cache.fuse;

/** Told of every completed FUSE operation (metrics live behind this, outside the adapter). */
public interface OperationObserver {

  void succeeded(String op, long nanos);

  void failed(String op, Errno errno, long nanos);

  OperationObserver NONE =
      new OperationObserver() {
        @Override
        public void succeeded(String op, long nanos) {}

        @Override
        public void failed(String op, Errno errno, long nanos) {}
      };
}
