/* A raw HTTP/2 client for tests: sends exactly the headers and body bytes it is given. */
#ifndef CGRPC_TEST_RAWH2_H
#define CGRPC_TEST_RAWH2_H

#include <stddef.h>
#include <stdint.h>

typedef struct rawh2 rawh2;

typedef struct rawh2_result {
  int http_status;     /* 0: none */
  int grpc_status;     /* -1: none */
  char grpc_message[256];
  size_t data_len;     /* response body bytes */
  int reset;           /* the stream was reset */
  uint32_t reset_code;
  int closed;          /* the stream ended */
} rawh2_result;

/* Connects to 127.0.0.1:port.  Returns NULL on failure. */
rawh2 *rawh2_connect(int port);
void rawh2_free(rawh2 *c);

/* Sends one request: headers as name/value pairs ending with NULL, then body
 * (may be NULL).  Waits up to timeout_ms for the stream to end.
 * Returns 0 when it ended, -1 on timeout or connection failure. */
int rawh2_request(rawh2 *c, const char *const *headers, const uint8_t *body, size_t len,
                  rawh2_result *res, int timeout_ms);

/* Sends one request with its body, then resets the stream (CANCEL) without
 * waiting for an answer.  Returns 0, or -1 when the connection failed. */
int rawh2_request_and_reset(rawh2 *c, const char *const *headers, const uint8_t *body,
                            size_t len);

/* Writes bytes straight to the socket, below HTTP/2. */
int rawh2_send_raw(rawh2 *c, const void *data, size_t len);

/* Waits up to timeout_ms for the server to close the connection.  1 when it did. */
int rawh2_wait_closed(rawh2 *c, int timeout_ms);

/* Sends a PING and waits up to timeout_ms for its ACK: 0 when it came, -1 if not (a
 * GOAWAY, the connection's end, or the time ran out). */
int rawh2_ping(rawh2 *c, int timeout_ms);

/* Waits up to timeout_ms for a GOAWAY (one seen before counts): 1 with its error code and
 * debug data (NUL-terminated, cut to debug_len), or 0. */
int rawh2_wait_goaway(rawh2 *c, int timeout_ms, uint32_t *code, char *debug, size_t debug_len);

#endif
