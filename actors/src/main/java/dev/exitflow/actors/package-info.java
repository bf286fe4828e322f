/**
 * Exitflow's actor runtime (Pekko typed): stage worker actors owning the ONNX Runtime sessions,
 * per-stage batchers, the exit router and the depth controller. Filled by the issue "Actor
 * runtime"; until then this module only fixes its place in the build ({@code streams -> actors -> model}).
 */
package dev.exitflow.actors;
