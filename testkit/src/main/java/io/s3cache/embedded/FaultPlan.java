package io.s3cache.embedded;

import io.s3cache.embedded.FaultInjectingProxy.Fault;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Random;

/**
 * Which share of requests {@link FaultInjectingProxy} faults, and how: a rate per fault kind and
 * the seed of the random draw, so that a run is reproducible as far as the order of requests is
 * (concurrent requests reach the proxy in an order the scheduler picks).
 *
 * @param rates probability of each kind per request (PASS is whatever is left); their sum is at most 1
 * @param seed seed of the proxy's {@link Random}
 * @param latency the delay a {@link Fault#LATENCY} request gets before it is forwarded
 */
public record FaultPlan(Map<Fault, Double> rates, long seed, Duration latency) {

  public FaultPlan {
    EnumMap<Fault, Double> copy = new EnumMap<>(Fault.class);
    double sum = 0;
    for (var e : rates.entrySet()) {
      double r = e.getValue();
      if (e.getKey() == Fault.PASS || !(r >= 0 && r <= 1)) {
        throw new IllegalArgumentException("bad fault rate " + e.getKey() + "=" + r);
      }
      sum += r;
      copy.put(e.getKey(), r);
    }
    if (sum > 1 + 1e-9) {
      throw new IllegalArgumentException("fault rates add up to " + sum + ", more than 1");
    }
    if (latency.isNegative()) {
      throw new IllegalArgumentException("negative latency " + latency);
    }
    rates = Collections.unmodifiableMap(copy);
  }

  /** Forwards every request untouched. */
  public static FaultPlan none() {
    return new FaultPlan(Map.of(), 0, Duration.ZERO);
  }

  /**
   * Faults {@code rate} of all requests, that share split evenly over every kind of fault
   * (latency, reset, 500, 503, truncated body, stalled body, stalled answer).
   */
  public static FaultPlan mixed(double rate, long seed, Duration latency) {
    Map<Fault, Double> rates = new EnumMap<>(Fault.class);
    Fault[] kinds = {Fault.LATENCY, Fault.RESET, Fault.INTERNAL_ERROR, Fault.SLOW_DOWN, Fault.TRUNCATE_BODY,
        Fault.STALL_BODY, Fault.STALL};
    for (Fault f : kinds) {
      rates.put(f, rate / kinds.length);
    }
    return new FaultPlan(rates, seed, latency);
  }

  /** This plan with {@code fault} at {@code rate}. */
  public FaultPlan with(Fault fault, double rate) {
    Map<Fault, Double> next = new EnumMap<>(Fault.class);
    next.putAll(rates);
    next.put(fault, rate);
    return new FaultPlan(next, seed, latency);
  }

  /** This plan with {@code latency} for {@link Fault#LATENCY}. */
  public FaultPlan withLatency(Duration next) {
    return new FaultPlan(rates, seed, next);
  }

  /** This plan drawing from {@code next} as its seed. */
  public FaultPlan withSeed(long next) {
    return new FaultPlan(rates, next, latency);
  }

  /** The share of requests this plan faults. */
  public double totalRate() {
    return rates.values().stream().mapToDouble(Double::doubleValue).sum();
  }

  /** Picks the fault for one request from a uniform draw in [0, 1). */
  Fault pick(double draw) {
    double acc = 0;
    for (var e : rates.entrySet()) {
      acc += e.getValue();
      if (draw < acc) {
        return e.getKey();
      }
    }
    return Fault.PASS;
  }
}
