/* cgrpc — server-side de-duplication by idempotency key: run a handler once per logical call. */
#ifndef CGRPC_DEDUP_H
#define CGRPC_DEDUP_H

#include <cgrpc/common.h>
#include <cgrpc/server.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A client retrying an idempotent method sends the same idempotency key on
 * every attempt (see cgrpc_method_policy).  A dedup helper, attached to a
 * server as an interceptor, remembers key -> result and answers a repeated
 * key from memory instead of running the handler again:
 *
 *   cgrpc_dedup *d;
 *   cgrpc_dedup_new(&d, NULL);              (or with options, see below)
 *   cgrpc_dedup_attach(d, server_opts);     (before cgrpc_server_new)
 *   ... serve ...
 *   cgrpc_server_free(srv);
 *   cgrpc_dedup_free(d);
 *
 * What it does, per call to a method in scope (below):
 *   - no key (cgrpc_server_call_idempotency_key is NULL): the call runs as
 *     if the helper were not there;
 *   - a key never seen (or forgotten): the handler runs; when it has
 *     finished its result is stored -- or not, by its status code (see
 *     CGRPC_DEDUP_STORED_CODES);
 *   - a key whose result is stored: the handler does not run; the call is
 *     answered with the stored status code and message, initial and
 *     trailing metadata and response message, plus the trailing metadata
 *     entry CGRPC_DEDUP_REPLAYED_HEADER: "true", by which clients and tests
 *     can tell a replay from a run.  (Not replayed: reserved trailers such
 *     as grpc-retry-pushback-ms, and the handler's choice of compression.)
 *   - a key whose first call is still running: the duplicate waits for that
 *     call's result, then is answered as above.  If that result is not
 *     stored, the waiting duplicate claims the key and runs the handler
 *     itself (it is, in effect, the retry the client meant).  The wait ends
 *     with DEADLINE_EXCEEDED at the duplicate's own deadline, and with
 *     CANCELLED if the duplicate is cancelled.  Waiting blocks a handler
 *     thread; on a server with no handler threads (handlers on the I/O
 *     thread) a duplicate does not wait but ends at once with UNAVAILABLE.
 *
 * Keys are scoped by method: the same key sent to two methods is two
 * entries.  They are not scoped by client: anyone who presents a key gets
 * its stored answer, so attach the helper after any authentication
 * interceptor, and let clients use unguessable keys (the runtime's are 128
 * random bits).  A key longer than CGRPC_DEDUP_MAX_KEY_LEN bytes ends the
 * call with INVALID_ARGUMENT.
 *
 * Scope: unary methods only in this version -- streaming methods always
 * pass through untouched.  By default the helper covers the methods whose
 * policy says idempotent (cgrpc_method_policy.idempotent, baked from the
 * .proto); cgrpc_dedup_options_add_method/_add_service add others.
 *
 * What is stored is the handler's own result, as the interceptors inside
 * the helper leave it -- even if the client has gone away or its deadline
 * has passed meanwhile, which is exactly the case a retry needs answered.
 * A result is "not stored" when its code is not in the stored set, when it
 * is larger than the store accepts, or when the store fails; the key is
 * then released and the next call with it runs the handler.
 */
typedef struct cgrpc_dedup cgrpc_dedup;
typedef struct cgrpc_dedup_options cgrpc_dedup_options;

/* Trailing metadata added to every replayed answer, with the value "true". */
#define CGRPC_DEDUP_REPLAYED_HEADER "idempotent-replayed"

/* What a claim's lease adds to the claiming call's remaining deadline. */
#define CGRPC_DEDUP_LEASE_GRACE_MS 60000

/* Longest idempotency key accepted, in bytes. */
#define CGRPC_DEDUP_MAX_KEY_LEN 256

#define CGRPC_DEDUP_CODE_BIT(code) (1u << (code))

/*
 * The status codes whose results are stored by default: the ones that are
 * the answer to the request, which a re-run must not change --
 *   OK, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED,
 *   FAILED_PRECONDITION, OUT_OF_RANGE, UNIMPLEMENTED, UNAUTHENTICATED.
 * Not stored: the codes that say "this did not (certainly) happen, try
 * again" -- CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED,
 * UNAVAILABLE -- which are exactly what retry policies retry, so a retry
 * after them must reach the handler; and the codes of failures rather than
 * answers -- UNKNOWN, INTERNAL, DATA_LOSS -- which a stored copy would turn
 * from a passing fault into a fixed answer for the whole TTL.  A handler
 * that must not run twice after such an error should not return it after
 * having had its effect.
 */
#define CGRPC_DEDUP_STORED_CODES                                                         \
  (CGRPC_DEDUP_CODE_BIT(CGRPC_STATUS_OK) |                                               \
   CGRPC_DEDUP_CODE_BIT(CGRPC_STATUS_INVALID_ARGUMENT) |                                 \
   CGRPC_DEDUP_CODE_BIT(CGRPC_STATUS_NOT_FOUND) |                                        \
   CGRPC_DEDUP_CODE_BIT(CGRPC_STATUS_ALREADY_EXISTS) |                                   \
   CGRPC_DEDUP_CODE_BIT(CGRPC_STATUS_PERMISSION_DENIED) |                                \
   CGRPC_DEDUP_CODE_BIT(CGRPC_STATUS_FAILED_PRECONDITION) |                              \
   CGRPC_DEDUP_CODE_BIT(CGRPC_STATUS_OUT_OF_RANGE) |                                     \
   CGRPC_DEDUP_CODE_BIT(CGRPC_STATUS_UNIMPLEMENTED) |                                    \
   CGRPC_DEDUP_CODE_BIT(CGRPC_STATUS_UNAUTHENTICATED))

/* ---- the store ----------------------------------------------------------------------------- */

/*
 * Where results live.  By default an in-memory store (LRU with TTL, bounded
 * in entries and bytes; see the options).  To share results between server
 * processes, or keep them across restarts, plug in another -- Redis, a
 * database -- with cgrpc_dedup_options_set_store.
 *
 * A store maps a key to either "in progress" (claimed by a running call) or
 * a completed value.  Keys are "<method path> <idempotency key>", e.g.
 * "/pay.Payments/Charge 9f86d081884c7d659a2feaa0c55ad015", NUL-terminated
 * (key_len excludes the NUL).  Values are opaque bytes (the helper's own encoding of
 * status, metadata and response) that the store keeps as they are.
 *
 * The functions are called from handler threads (or the I/O thread when
 * the server has none), concurrently: a store does its own locking.  They
 * should be quick -- a slow store holds up the calls that use it.  They
 * return 0 (or a cgrpc_dedup_lookup) on success and a negative CGRPC_ERR_*
 * on failure; a failing claim ends the call with UNAVAILABLE ("idempotency
 * store unavailable") rather than risk running it twice.
 */
typedef enum cgrpc_dedup_lookup {
  CGRPC_DEDUP_CLAIMED = 0,    /* the key was free and is now claimed: run the handler */
  CGRPC_DEDUP_FOUND = 1,      /* a completed value, in *found */
  CGRPC_DEDUP_IN_PROGRESS = 2 /* another call holds the key */
} cgrpc_dedup_lookup;

/* A value a store hands out.  handle is the store's own, for release. */
typedef struct cgrpc_dedup_value {
  const uint8_t *data;
  size_t len;
  void *handle;
} cgrpc_dedup_value;

typedef struct cgrpc_dedup_store {
  /* sizeof(cgrpc_dedup_store), so that members can be added later. */
  size_t struct_size;

  /*
   * In one atomic step: if key holds a completed value that has not
   * expired, fill *found and return CGRPC_DEDUP_FOUND; if it is in progress
   * return CGRPC_DEDUP_IN_PROGRESS; else mark it in progress and return
   * CGRPC_DEDUP_CLAIMED.  lease_ms: how long the claim must be kept at
   * least -- the claiming call's remaining deadline plus
   * CGRPC_DEDUP_LEASE_GRACE_MS, since its handler may run on past the
   * deadline and its result is stored all the same -- or -1 when it has no
   * deadline; a shared store may drop a claim older than that (its server
   * may have died); the
   * in-memory store keeps claims until completed or abandoned.  Claims are
   * never evicted to make room.  *found stays valid until release.
   * Required.
   */
  int (*claim)(void *user_data, const char *key, size_t key_len, int64_t lease_ms,
               cgrpc_dedup_value *found);

  /*
   * The claiming call's result: store a copy of value under key, replacing
   * the claim, for ttl_ms.  If it fails (e.g. CGRPC_ERR_TOO_LARGE, when the
   * value alone exceeds the store's size bound) the helper calls abandon.
   * Required.
   */
  int (*complete)(void *user_data, const char *key, size_t key_len, const uint8_t *value,
                  size_t value_len, int64_t ttl_ms);

  /* Drops the claim on key without a result: the next claim succeeds.
   * Required. */
  void (*abandon)(void *user_data, const char *key, size_t key_len);

  /* Frees a value claim handed out in *found.  Required. */
  void (*release)(void *user_data, cgrpc_dedup_value *found);
} cgrpc_dedup_store;

/* ---- options ------------------------------------------------------------------------------- */

/* Returns 0 or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_dedup_options_new(cgrpc_dedup_options **out);
/* NULL-safe. */
CGRPC_EXTERN void cgrpc_dedup_options_free(cgrpc_dedup_options *opts);

/* How long a stored result is kept after the call that made it finished
 * (default 1 hour).  Keep it longer than the longest span over which a
 * client may retry one logical call.  Must be > 0. */
CGRPC_EXTERN void cgrpc_dedup_options_set_ttl_ms(cgrpc_dedup_options *opts, int64_t ttl_ms);

/* Bounds of the in-memory store (ignored with a store of the user's):
 * completed entries (default 10000) and their bytes -- keys, values and
 * bookkeeping (default 16 MiB).  When a new result would exceed either,
 * the least recently used completed entries are evicted; claims in
 * progress are never evicted and count towards neither bound.  A result
 * larger than max_bytes on its own is not stored. */
CGRPC_EXTERN void cgrpc_dedup_options_set_max_entries(cgrpc_dedup_options *opts, size_t n);
CGRPC_EXTERN void cgrpc_dedup_options_set_max_bytes(cgrpc_dedup_options *opts, size_t bytes);

/* The status codes whose results are stored: CGRPC_DEDUP_CODE_BIT(code)
 * for each (default CGRPC_DEDUP_STORED_CODES).  OK is always stored. */
CGRPC_EXTERN void cgrpc_dedup_options_set_stored_codes(cgrpc_dedup_options *opts, uint32_t codes);

/* Adds a method to the scope by its path ("/pkg.Service/Method"), or every
 * method of a service by its full name ("pkg.Service").  Copied.
 * Returns 0, CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_dedup_options_add_method(cgrpc_dedup_options *opts, const char *path);
CGRPC_EXTERN int cgrpc_dedup_options_add_service(cgrpc_dedup_options *opts, const char *service);

/* Whether methods whose policy is idempotent are in scope without being
 * named (default 1). */
CGRPC_EXTERN void cgrpc_dedup_options_set_idempotent_methods(cgrpc_dedup_options *opts, int on);

/* Duplicates that may wait for a call in progress at once (default
 * CGRPC_DEDUP_MAX_WAITING_DEFAULT; 0: none wait).  Each holds a handler
 * thread while it waits; beyond the limit a duplicate ends at once with
 * UNAVAILABLE and grpc-retry-pushback-ms of the poll interval, which a
 * client's retry policy honours, so that duplicates of a slow call cannot
 * take every handler thread. */
#define CGRPC_DEDUP_MAX_WAITING_DEFAULT 2
CGRPC_EXTERN void cgrpc_dedup_options_set_max_waiting(cgrpc_dedup_options *opts, int n);

/* A duplicate waiting for a call in progress asks the store again at least
 * this often (default 100 ms), to see results completed by other processes
 * sharing the store; results completed here wake it at once. */
CGRPC_EXTERN void cgrpc_dedup_options_set_poll_ms(cgrpc_dedup_options *opts, int64_t ms);

/* Uses this store instead of the in-memory one.  *store is copied;
 * user_data must outlive the dedup helper (which never frees it).
 * Returns 0 or CGRPC_ERR_INVALID_ARGUMENT (a required function is NULL,
 * or struct_size is wrong). */
CGRPC_EXTERN int cgrpc_dedup_options_set_store(cgrpc_dedup_options *opts,
                                               const cgrpc_dedup_store *store, void *user_data);

CGRPC_EXTERN void cgrpc_dedup_options_set_allocator(cgrpc_dedup_options *opts,
                                                    const cgrpc_allocator *alloc);

/* ---- the helper ---------------------------------------------------------------------------- */

/* opts may be NULL (defaults); it is copied.  Returns 0 or CGRPC_ERR_NOMEM. */
CGRPC_EXTERN int cgrpc_dedup_new(cgrpc_dedup **out, const cgrpc_dedup_options *opts);

/* Frees the helper and its in-memory store.  Only once no server it is
 * attached to runs any more (after cgrpc_server_shutdown or _free).
 * NULL-safe. */
CGRPC_EXTERN void cgrpc_dedup_free(cgrpc_dedup *d);

/*
 * Appends the helper to a server's interceptors (cgrpc_server_options_
 * add_interceptor): interceptors added before it run before it, also on
 * replays; those added after it run only when the handler does, and their
 * effect on the result is part of what is stored.  One helper may serve
 * several servers; it must outlive them.
 * Returns 0, CGRPC_ERR_INVALID_ARGUMENT or CGRPC_ERR_NOMEM.
 */
CGRPC_EXTERN int cgrpc_dedup_attach(cgrpc_dedup *d, cgrpc_server_options *server_opts);

/* What the helper has done so far, for metrics and tests. */
typedef enum cgrpc_dedup_stat {
  CGRPC_DEDUP_STAT_EXECUTED = 0,  /* keyed calls that ran the handler */
  CGRPC_DEDUP_STAT_REPLAYED = 1,  /* calls answered with a stored result */
  CGRPC_DEDUP_STAT_WAITED = 2,    /* duplicates that found their key in progress and waited */
  CGRPC_DEDUP_STAT_STORED = 3,    /* results stored */
  CGRPC_DEDUP_STAT_NOT_STORED = 4, /* results not stored (their code, size, a store failure) */
  CGRPC_DEDUP_STAT_UNKEYED = 5,   /* calls in scope without a key */
  CGRPC_DEDUP_STAT_EVICTED = 6,   /* in-memory store: entries evicted to make room */
  CGRPC_DEDUP_STAT_EXPIRED = 7,   /* in-memory store: entries dropped at their TTL */
  CGRPC_DEDUP_STAT_ENTRIES = 8,   /* in-memory store: completed entries now */
  CGRPC_DEDUP_STAT_BYTES = 9      /* in-memory store: their bytes now */
} cgrpc_dedup_stat;

/* The value of one statistic (0 for an unknown one, or an in-memory store
 * statistic with a user store).  Any thread. */
CGRPC_EXTERN uint64_t cgrpc_dedup_get_stat(const cgrpc_dedup *d, cgrpc_dedup_stat which);

#ifdef __cplusplus
}
#endif
#endif
