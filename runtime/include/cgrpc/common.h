/* cgrpc — library-wide basics: export macro, error codes, allocator, time. */
#ifndef CGRPC_COMMON_H
#define CGRPC_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CGRPC_BUILDING_LIBRARY) && defined(__GNUC__)
#define CGRPC_EXTERN __attribute__((visibility("default")))
#else
#define CGRPC_EXTERN
#endif

#if defined(__GNUC__)
#define CGRPC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CGRPC_PRINTF(fmt, args)
#endif

/*
 * Library errors: returned as negative ints by functions that can fail for
 * reasons of their own (bad arguments, no memory, system errors).  They are
 * never gRPC outcomes; those travel in cgrpc_status (see status.h).
 */
typedef enum cgrpc_error {
  CGRPC_ERR_INVALID_ARGUMENT = -501, /* an argument is NULL or out of range */
  CGRPC_ERR_NOMEM = -502,            /* the allocator returned NULL */
  CGRPC_ERR_BAD_KEY = -503,          /* metadata key has bad characters */
  CGRPC_ERR_RESERVED_KEY = -504,     /* metadata key is reserved (grpc-*, :*...) */
  CGRPC_ERR_BAD_VALUE = -505,        /* metadata value not printable ASCII */
  CGRPC_ERR_BAD_TARGET = -506,       /* a channel target cannot be parsed */
  CGRPC_ERR_SYSTEM = -507,           /* a system call failed; see errno */
  CGRPC_ERR_ADDRESS = -508,          /* an address cannot be resolved or bound */
  CGRPC_ERR_STATE = -509,            /* wrong state for this call (e.g. started) */
  CGRPC_ERR_EXISTS = -510,           /* already registered */
  CGRPC_ERR_NOT_FOUND = -511,        /* no such entry */
  CGRPC_ERR_SHUTDOWN = -512,         /* the object is shutting down */
  CGRPC_ERR_PROTO = -513,            /* protocol error (malformed input) */
  CGRPC_ERR_TOO_LARGE = -514,        /* a size limit was exceeded */
  CGRPC_ERR_CLOSED = -515,           /* the call is over, or that side is closed */
  CGRPC_ERR_AGAIN = -516,            /* would block: try again when told */
  CGRPC_ERR_TLS = -517               /* TLS credentials cannot be loaded or used */
} cgrpc_error;

/* A short English description of a cgrpc_error (or "unknown error"). */
CGRPC_EXTERN const char *cgrpc_strerror(int error);

/*
 * Custom allocator.  Objects that take one copy the struct at construction;
 * the user_data it points to must outlive every object created with it.
 * A NULL cgrpc_allocator* everywhere means the C library's malloc family.
 */
typedef struct cgrpc_allocator {
  void *(*malloc)(size_t size, void *user_data);
  void (*free)(void *ptr, void *user_data);
  void *(*calloc)(size_t nmemb, size_t size, void *user_data);
  void *(*realloc)(void *ptr, size_t size, void *user_data);
  void *user_data;
} cgrpc_allocator;

/* The default allocator (malloc, free, calloc, realloc). */
CGRPC_EXTERN const cgrpc_allocator *cgrpc_default_allocator(void);

/* Time: nanoseconds on CLOCK_MONOTONIC.  Deadlines inside the process are
 * absolute cgrpc_time values; CGRPC_TIME_INFINITE means "no deadline". */
typedef int64_t cgrpc_time;
#define CGRPC_TIME_INFINITE INT64_MAX
#define CGRPC_MS_TO_NS(ms) ((int64_t)(ms) * 1000000)

/* The current monotonic time. */
CGRPC_EXTERN cgrpc_time cgrpc_now(void);

/* Flags for the _send_flags functions of client and server calls. */
#define CGRPC_SEND_NO_COMPRESS 0x1 /* this message goes uncompressed */
#define CGRPC_SEND_NO_BLOCK 0x2    /* CGRPC_ERR_AGAIN rather than wait */

/* Used by generated code for function pointers of any type: converting a
 * function pointer to this type and back is well defined C. */
typedef void (*cgrpc_fn)(void);

#ifdef __cplusplus
}
#endif
#endif
