package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code POST /v1/bulk} from a client that sends its whole body before it reads a byte (as
 * Python's requests and many HTTP libraries do), a body of 7 MB: the results, eight times the
 * size of the upload and far more than the sockets and the memory bound hold, wait in a spill
 * file, and the client gets every line, in order. Without the spill the server stops reading once
 * the sockets are full and both sides wait forever (the issue saw it from 6 MB on).
 */
class BulkUploadThenReadTest {
  private static final int LINES = 12_000;
  /** An unknown field, ignored by the decoder: makes the upload (7 MB) outgrow the sockets without more compute. */
  private static final String NOTE = "x".repeat(500);

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void aClientThatSendsEverythingBeforeReadingGetsTheWholeResponse() throws Exception {
    StringBuilder lines = new StringBuilder();
    for (int i = 1; i <= LINES; i++) {
      lines.append("{\"id\": ").append(i).append(", \"input\": \"line ").append(i)
          .append(" sent whole before the response is read, topic ").append(i % 89).append("\", \"note\": \"")
          .append(NOTE).append("\"}\n");
    }
    byte[] body = lines.toString().getBytes(StandardCharsets.UTF_8);

    // 1 MiB of results in memory, the rest on disk: the spill is exercised many times over.
    try (RunningServer s = new RunningServer("exitflow.gateway.bulk-buffer.memory = 1m");
        Socket socket = new Socket("127.0.0.1", s.server.port())) {
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/bulk?exit=shallow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n"
          + "Content-Length: " + body.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(body); // all of it, reading nothing meanwhile
      out.flush();

      InputStream in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
      String status = readLine(in);
      assertTrue(status.startsWith("HTTP/1.1 200"), status);
      while (!readLine(in).isEmpty()) {
        // headers
      }
      long[] counted = countLines(in);
      System.out.printf("bulk upload-then-read: %d lines, %d KiB up, %d KiB down%n", LINES, body.length / 1024,
          counted[1] / 1024);
      assertEquals(LINES, counted[0], "every line answered, in order");
      assertTrue(counted[1] > 5L * body.length, "the results outweigh the upload, as real embeddings do");
    }
  }

  /** Reads the chunked body: {lines, bytes}, checking that line n starts with {"line":n. */
  private static long[] countLines(InputStream in) throws IOException {
    long lines = 0;
    long bytes = 0;
    ByteArrayOutputStream current = new ByteArrayOutputStream();
    while (true) {
      int size = Integer.parseInt(readLine(in).split(";")[0].trim(), 16);
      if (size == 0) {
        return new long[] {lines, bytes};
      }
      for (int i = 0; i < size; i++) {
        int b = in.read();
        bytes++;
        if (b == '\n') {
          lines++;
          String start = current.toString(StandardCharsets.UTF_8);
          String expected = "{\"line\":" + lines + ",";
          assertTrue(start.startsWith(expected), "line " + lines + " starts " + start.substring(0, Math.min(60, start.length())));
          current.reset();
        } else if (current.size() < 64) {
          current.write(b);
        }
      }
      readLine(in); // the CRLF after the chunk
    }
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int c; (c = in.read()) != '\n'; ) {
      if (c < 0) {
        throw new IOException("the connection closed inside a line: " + line);
      }
      if (c != '\r') {
        line.append((char) c);
      }
    }
    return line.toString();
  }
}
