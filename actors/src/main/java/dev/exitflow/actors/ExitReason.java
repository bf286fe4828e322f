package dev.exitflow.actors;

/** Why a request left at the exit it did. */
public enum ExitReason {
  /** The exit its policy asked for (for {@code auto}: it went all the way). */
  POLICY,
  /** {@code auto}: the next stage's expected wait plus compute would overrun its deadline. */
  DEADLINE,
  /** {@code auto}: the depth controller currently allows no deeper exit for its priority. */
  LOAD
}
