package io.s3cache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class MemoryTierTest {

  private static BlockKey key(long i) {
    return new BlockKey("b", "k", "e", i);
  }

  @Test
  void weighsBlocksByBytesAndStaysUnderTheBudget() {
    MemoryTier ram = new MemoryTier(256 << 10, Runnable::run);
    ram.insert(key(0), ByteBuffer.allocateDirect(100 << 10));
    ram.insert(key(1), ByteBuffer.allocateDirect(28 << 10));
    ram.cleanUp();
    assertEquals(128 << 10, ram.bytes());
    for (int i = 2; i < 50; i++) {
      ram.insert(key(i), ByteBuffer.allocateDirect(64 << 10));
      ram.cleanUp();
      assertTrue(ram.bytes() <= 256 << 10, "over budget: " + ram.bytes());
    }
    long held = 0;
    for (int i = 0; i < 50; i++) {
      BlockBuffer b = ram.get(key(i));
      held += b == null ? 0 : b.length();
    }
    assertEquals(held, ram.bytes(), "weight is exactly the bytes held");
  }

  @Test
  void blockLargerThanTheBudgetIsNotKept() {
    MemoryTier ram = new MemoryTier(64 << 10, Runnable::run);
    ram.insert(key(0), ByteBuffer.allocateDirect(128 << 10));
    ram.cleanUp();
    assertNull(ram.get(key(0)));
    assertEquals(0, ram.bytes());
  }

  @Test
  void zeroBudgetHoldsNothing() {
    MemoryTier ram = new MemoryTier(0, Runnable::run);
    ram.insert(key(0), ByteBuffer.allocateDirect(10));
    assertNull(ram.get(key(0)));
    assertFalse(ram.contains(key(0)));
    assertEquals(0, ram.bytes());
  }

  @Test
  void refusesHeapBuffers() {
    MemoryTier ram = new MemoryTier(1 << 20, Runnable::run);
    assertThrows(IllegalArgumentException.class, () -> ram.insert(key(0), ByteBuffer.allocate(10)));
  }
}
