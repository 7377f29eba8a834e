/* Internal: what the access log's files share -- the log object and the line builder. */
#ifndef CGRPC_ACCESSLOG_INTERNAL_H
#define CGRPC_ACCESSLOG_INTERNAL_H

#include <pthread.h>
#include <stddef.h>

#include <cgrpc/accesslog.h>

/* Queued lines: records of [level:1][len:4][bytes], appended to front while the writer
 * thread hands back's to the sink. */
typedef struct line_buf {
  char *data;
  size_t len;
} line_buf;

struct cgrpc_access_log {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  pthread_t thread;
  int stop;
  line_buf front, back;
  size_t cap;             /* of each buffer */
  unsigned long dropped;  /* in all (atomic) */
  unsigned long untold;   /* dropped and not yet said in a line (under mu) */
  cgrpc_access_log_sink sink; /* NULL: stderr */
  void *sink_ud;
  int format;             /* cgrpc_access_log_format (atomic) */
  int min_level;          /* (atomic) */
  unsigned char code_level[CGRPC_STATUS_CODE_COUNT];
  int captured;           /* the runtime's log comes here */
  void (*batch_done)(void *sink_ud); /* after each batch handed to the sink (or NULL) */
};

/* Queues a finished line; never waits for the sink.  Any thread. */
void cgrpc_access_log_put(cgrpc_access_log *log, cgrpc_log_level level, const char *line,
                          size_t len);

/* ---- the line builder (accesslog_line.c) ---- */

#define LOGLINE_MAX 4096

typedef struct logline {
  char buf[LOGLINE_MAX];
  size_t len;
  int format; /* cgrpc_access_log_format */
  int fields;
} logline;

/* Starts a line with its time and level (and msg). */
void logline_begin(logline *l, int format, cgrpc_log_level level, const char *msg);
/* A string field (escaped for the format; a long value is cut, ending in "..."). */
void logline_str(logline *l, const char *key, const char *value);
/* A string field of n bytes (not NUL-terminated). */
void logline_strn(logline *l, const char *key, const char *value, size_t n);
void logline_int(logline *l, const char *key, long long value);
/* A number with ndigits after the point. */
void logline_num(logline *l, const char *key, double value, int ndigits);
/* A time field: t on cgrpc_now()'s clock, written as RFC 3339 UTC with milliseconds. */
void logline_time(logline *l, const char *key, cgrpc_time t);
/* Ends the line; returns its length. */
size_t logline_end(logline *l);

/* value (n bytes) as a JSON string, quotes included, into out (cap bytes): control characters
 * escaped, bytes that are not UTF-8 as U+FFFD, cut with "..." when it does not fit (6n + 2
 * always does).  Returns the bytes written (0 when cap < 6). */
size_t cgrpc_json_quote(char *out, size_t cap, const char *value, size_t n);

/* A server call's peer ("ipv4:1.2.3.4:5") as Go writes an address: "1.2.3.4:5" ("[::1]:5"
 * for ipv6; others as they are). */
const char *cgrpc_go_peer_address(const char *peer);

/* value in decimal into out (at least 21 bytes, NUL-terminated); returns its length. */
size_t cgrpc_decimal(char *out, long long value);

#endif
