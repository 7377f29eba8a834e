/* What the fuzz targets share: a message type and a service for their calls, a server
 * connection fed from memory, and HTTP/2 frames for targets that build their own requests. */
#ifndef CGRPC_FUZZ_COMMON_H
#define CGRPC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include <cgrpc/server.h>

/* ---- message fuzz.Msg { bytes data = 1; }, as protoc-gen-c would write it -------------------- */

typedef struct FuzzMsg {
  ProtobufCMessage base;
  ProtobufCBinaryData data;
} FuzzMsg;

extern const ProtobufCMessageDescriptor fuzz_msg_descriptor;
void fuzz_msg_init(FuzzMsg *m);

/* ---- service fuzz.Fuzz: one method of each kind, all taking and returning fuzz.Msg ----------- */

enum {
  FUZZ_UNARY,         /* /fuzz.Fuzz/Unary, idempotent (so the dedup helper covers it) */
  FUZZ_SERVER_STREAM, /* /fuzz.Fuzz/ServerStream */
  FUZZ_CLIENT_STREAM, /* /fuzz.Fuzz/ClientStream */
  FUZZ_BIDI,          /* /fuzz.Fuzz/Bidi */
  FUZZ_NMETHODS
};

/* Every handler has this one type (the request is NULL for the kinds that stream it in, the
 * response NULL for those that stream it out); the service's invoker calls it as such. */
typedef cgrpc_code (*fuzz_handler)(cgrpc_server_call *call, const FuzzMsg *request,
                                   FuzzMsg *response, void *user_data);

extern const cgrpc_method_desc fuzz_methods[FUZZ_NMETHODS];
extern const cgrpc_service_desc fuzz_service;

/* ---- a server connection in memory ----------------------------------------------------------- */

/*
 * Serves data as the bytes of one client connection of srv (made with 0 handler threads and
 * never started): a first read gives the client preface (24 bytes), each later one the next
 * HTTP/2 frame by its length field, one read per loop round -- so handlers run and answer
 * between frames as they would over a socket -- then end of stream.  What the server writes
 * goes nowhere.  threads 0: handlers run on the loop, this thread, and everything happens in
 * the same order every time; else up to that many threads run unary handlers, and threads of
 * their own (up to stream_handler_threads) the streaming ones, as in a started server.
 * Returns once the connection is gone and its calls have ended; aborts if one is still alive
 * 5 s later (it would leak into the next input).  The loop of a server runs only once: use a
 * new server each time.
 */
void fuzz_serve(cgrpc_server *srv, int threads, const uint8_t *data, size_t len);

/* With FUZZ_RECORD=file in the environment, writes to file what the connection under test
 * sent during the first input (the server's answers here, the client's requests in
 * fuzz_client_conn): seeds for the other side.  fuzz_record_end marks the input's end (the
 * same input may run again, to look for a leak).  Otherwise nothing. */
void fuzz_record(const void *data, size_t len);
void fuzz_record_end(void);

/* ---- HTTP/2 by hand -------------------------------------------------------------------------- */

#define FUZZ_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

typedef struct fuzz_buf {
  uint8_t *p;
  size_t len;
  size_t cap;
} fuzz_buf;

/* Appends n bytes (aborts when out of memory: nothing to learn from that in a harness). */
void fuzz_buf_put(fuzz_buf *b, const void *data, size_t n);
void fuzz_buf_free(fuzz_buf *b);

/* Appends one frame: its 9-byte header, then the payload. */
void fuzz_h2_frame(fuzz_buf *b, uint8_t type, uint8_t flags, uint32_t stream_id,
                   const void *payload, size_t n);

/* Appends one header to an HPACK block: a literal without indexing, new name, no Huffman
 * (what any decoder must take, and easy to read in a hex dump of a seed). */
void fuzz_hpack_literal(fuzz_buf *block, const char *name, const void *value, size_t vlen);

#endif
