/**
 * Load generators (HTTP, WebSocket, Kafka) and benchmarks against peers, with JSON and plotted
 * reports. The engine benchmark lives in the command line ({@code exitflow bench}) for now.
 */
package dev.exitflow.loadtests;
