/**
 * Deployment artefacts (container image, Kubernetes manifests, compose file) and the tests that
 * check them against the code. Filled by the issue "Run at scale".
 */
package dev.exitflow.deploy;
