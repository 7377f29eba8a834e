/* Access log lines: fields written as JSON or logfmt into a fixed buffer, values escaped. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ext/accesslog_internal.h"

/* Room kept for the line's end ("}" or nothing) and a cut value's "...". */
#define LOGLINE_RESERVE 8

static void put(logline *l, const char *s, size_t n)
{
  if (l->len + n + LOGLINE_RESERVE > sizeof l->buf)
    n = l->len + LOGLINE_RESERVE < sizeof l->buf ? sizeof l->buf - LOGLINE_RESERVE - l->len : 0;
  memcpy(l->buf + l->len, s, n);
  l->len += n;
}

static void puts_(logline *l, const char *s)
{
  put(l, s, strlen(s));
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
  size_t len = s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf5 ? 4 : 0;
  if (len == 0 || len > n)
    return 0;
  for (size_t i = 1; i < len; i++)
    if ((s[i] & 0xc0) != 0x80)
      return 0;
  return len;
}

size_t cgrpc_json_quote(char *out, size_t cap, const char *value, size_t n)
{
  /* Room for the quotes, and for "..." when the value is cut. */
  if (cap < 6)
    return 0;
  size_t len = 0, limit = cap - 5;
  out[len++] = '"';
  const unsigned char *s = (const unsigned char *)value;
  for (size_t i = 0; i < n;) {
    /* A run of bytes that need nothing: copied at once. */
    size_t run = 0;
    while (i + run < n && s[i + run] >= 0x20 && s[i + run] < 0x7f && s[i + run] != '"' &&
           s[i + run] != '\\')
      run++;
    if (run > 0) {
      if (len + run > limit)
        run = limit > len ? limit - len : 0;
      memcpy(out + len, s + i, run);
      len += run;
      i += run;
      if (i < n && len >= limit) {
        memcpy(out + len, "...", 3);
        len += 3;
        break;
      }
      continue;
    }
    char esc[8];
    size_t elen = 1, used = 1;
    const char *piece = (const char *)s + i;
    if (s[i] == '"' || s[i] == '\\') {
      esc[0] = '\\';
      esc[1] = (char)s[i];
      piece = esc;
      elen = 2;
    } else if (s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
      esc[0] = '\\';
      esc[1] = s[i] == '\n' ? 'n' : s[i] == '\t' ? 't' : 'r';
      piece = esc;
      elen = 2;
    } else if (s[i] < 0x20 || s[i] == 0x7f) {
      snprintf(esc, sizeof esc, "\\u%04x", s[i]);
      piece = esc;
      elen = 6;
    } else if (s[i] >= 0x80) {
      used = elen = utf8_len(s + i, n - i);
      if (elen == 0) {
        piece = "\\ufffd";
        elen = 6;
        used = 1;
      }
    }
    if (len + elen > limit) {
      memcpy(out + len, "...", 3); /* cut: the rest would not fit */
      len += 3;
      break;
    }
    memcpy(out + len, piece, elen);
    len += elen;
    i += used;
  }
  out[len++] = '"';
  return len;
}

/* value escaped into the line, inside quotes (JSON's escapes, which logfmt readers take too). */
static void put_quoted(logline *l, const char *value, size_t n)
{
  size_t room = sizeof l->buf - LOGLINE_RESERVE - l->len;
  l->len += cgrpc_json_quote(l->buf + l->len, room, value, n);
}

/* Whether a logfmt value can go bare. */
static int logfmt_bare(const char *v, size_t n)
{
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c >= 0x7f)
      return 0;
  }
  return 1;
}

static void put_key(logline *l, const char *key)
{
  int first = l->fields++ == 0;
  if (l->format == CGRPC_ACCESS_LOG_JSON) {
    puts_(l, first ? "\"" : ",\"");
    puts_(l, key);
    put(l, "\":", 2);
  } else {
    if (!first)
      put(l, " ", 1);
    puts_(l, key);
    put(l, "=", 1);
  }
}

void logline_strn(logline *l, const char *key, const char *value, size_t n)
{
  put_key(l, key);
  if (l->format == CGRPC_ACCESS_LOG_LOGFMT && logfmt_bare(value, n))
    put(l, value, n);
  else
    put_quoted(l, value, n);
}

void logline_str(logline *l, const char *key, const char *value)
{
  logline_strn(l, key, value != NULL ? value : "", value != NULL ? strlen(value) : 0);
}

size_t cgrpc_decimal(char *out, long long value)
{
  char tmp[24];
  size_t n = 0;
  unsigned long long v = value < 0 ? 0ull - (unsigned long long)value : (unsigned long long)value;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  size_t len = 0;
  if (value < 0)
    out[len++] = '-';
  while (n > 0)
    out[len++] = tmp[--n];
  out[len] = '\0';
  return len;
}

void logline_int(logline *l, const char *key, long long value)
{
  char tmp[24];
  put_key(l, key);
  put(l, tmp, cgrpc_decimal(tmp, value));
}

void logline_num(logline *l, const char *key, double value, int ndigits)
{
  char tmp[48];
  put_key(l, key);
  if (ndigits == 3 && value >= 0 && value < 1e12) { /* the common case, without printf */
    long long thousandths = (long long)(value * 1000 + 0.5);
    size_t n = cgrpc_decimal(tmp, thousandths / 1000);
    tmp[n++] = '.';
    tmp[n++] = (char)('0' + thousandths % 1000 / 100);
    tmp[n++] = (char)('0' + thousandths % 100 / 10);
    tmp[n++] = (char)('0' + thousandths % 10);
    put(l, tmp, n);
    return;
  }
  puts_(l, (snprintf(tmp, sizeof tmp, "%.*f", ndigits, value), tmp));
}

void logline_time(logline *l, const char *key, cgrpc_time t)
{
  struct timespec real;
  clock_gettime(CLOCK_REALTIME, &real);
  int64_t ns = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec - (cgrpc_now() - t);
  time_t secs = (time_t)(ns / 1000000000);
  /* The date and time to the second, kept per thread: most lines share their second. */
  static __thread time_t cached_secs = -1;
  static __thread char cached[24];
  static __thread size_t cached_len;
  if (secs != cached_secs) {
    struct tm tm;
    gmtime_r(&secs, &tm);
    cached_len = strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_secs = secs;
  }
  char tmp[40];
  int ms = (int)(ns / 1000000 % 1000);
  memcpy(tmp, cached, cached_len);
  tmp[cached_len] = '.';
  tmp[cached_len + 1] = (char)('0' + ms / 100);
  tmp[cached_len + 2] = (char)('0' + ms / 10 % 10);
  tmp[cached_len + 3] = (char)('0' + ms % 10);
  tmp[cached_len + 4] = 'Z';
  logline_strn(l, key, tmp, cached_len + 5);
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void logline_begin(logline *l, int format, cgrpc_log_level level, const char *msg)
{
  l->len = 0;
  l->fields = 0;
  l->format = format;
  if (format == CGRPC_ACCESS_LOG_JSON)
    put(l, "{", 1);
  logline_time(l, "time", cgrpc_now());
  logline_str(l, "level", level_names[level & 3]);
  logline_str(l, "msg", msg);
}

size_t logline_end(logline *l)
{
  if (l->format == CGRPC_ACCESS_LOG_JSON) {
    l->buf[l->len++] = '}'; /* the reserve keeps room for it */
  }
  l->buf[l->len] = '\0';
  return l->len;
}

const char *cgrpc_go_peer_address(const char *peer)
{
  if (peer != NULL && (strncmp(peer, "ipv4:", 5) == 0 || strncmp(peer, "ipv6:", 5) == 0))
    return peer + 5;
  return peer;
}
