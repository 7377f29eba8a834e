/* Feeds the gRPC message decoder a byte stream whole and split where the input says, pausing
 * where it says, and aborts unless both deliver the same messages and end the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "wire/frame.h"

/*
 * Input: [nsplit] [max_len] [pause_every] nsplit x [offset: 2 bytes, big-endian] then the
 * stream.  max_len 0 means no limit, else max_len * 8 bytes.  The receiver answers PAUSE to
 * every pause_every-th message (0: never), and the bytes not used are fed again.
 */

typedef struct record {
  uint8_t *p; /* per message: compressed flag, 4-byte length, the bytes */
  size_t len;
  size_t cap;
  unsigned count;
  unsigned pause_every;
} record;

static void record_put(record *r, const void *data, size_t n)
{
  if (r->len + n > r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 1024;
    while (cap < r->len + n)
      cap *= 2;
    if ((r->p = realloc(r->p, cap)) == NULL)
      abort();
    r->cap = cap;
  }
  memcpy(r->p + r->len, data, n);
  r->len += n;
}

static int on_message(void *ud, const uint8_t *msg, size_t len, int compressed)
{
  record *r = ud;
  uint8_t prefix[CGRPC_FRAME_PREFIX];
  cgrpc_frame_write_prefix(prefix, compressed, (uint32_t)len);
  record_put(r, prefix, sizeof prefix);
  if (len > 0)
    record_put(r, msg, len);
  r->count++;
  return r->pause_every > 0 && r->count % r->pause_every == 0 ? CGRPC_FRAME_PAUSE : 0;
}

/* Feeds one piece, again and again while the receiver pauses.  Returns the feed's last
 * result (not PAUSE). */
static int feed(cgrpc_frame_decoder *d, const uint8_t *p, size_t n, record *r)
{
  for (;;) {
    size_t used = 0;
    int rv = cgrpc_frame_decoder_feed(d, p, n, on_message, r, &used);
    if (rv != CGRPC_FRAME_PAUSE)
      return rv;
    if (used > n)
      abort(); /* the decoder claims bytes it was never given */
    p += used;
    n -= used;
  }
}

static int offset_cmp(const void *a, const void *b)
{
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 3)
    return 0;
  size_t nsplit = data[0] % 16;
  int64_t max_len = data[1] == 0 ? -1 : (int64_t)data[1] * 8;
  unsigned pause_every = data[2] % 4;
  data += 3;
  size -= 3;
  if (size < 2 * nsplit)
    return 0;
  const uint8_t *stream = data + 2 * nsplit;
  size_t len = size - 2 * nsplit;
  size_t cuts[18];
  size_t ncuts = 0;
  cuts[ncuts++] = 0;
  for (size_t i = 0; i < nsplit; i++)
    cuts[ncuts++] = len > 0 ? ((size_t)data[2 * i] << 8 | data[2 * i + 1]) % (len + 1) : 0;
  cuts[ncuts++] = len;
  qsort(cuts, ncuts, sizeof cuts[0], offset_cmp);

  cgrpc_allocator alloc;
  cgrpc_alloc_init(&alloc, NULL);
  record whole = {.pause_every = pause_every}, split = {.pause_every = pause_every};
  cgrpc_frame_decoder d1, d2;

  cgrpc_frame_decoder_init(&d1, &alloc, max_len);
  int rv1 = feed(&d1, stream, len, &whole);
  int partial1 = rv1 == 0 && cgrpc_frame_decoder_partial(&d1);

  cgrpc_frame_decoder_init(&d2, &alloc, max_len);
  int rv2 = 0;
  for (size_t i = 0; i + 1 < ncuts && rv2 == 0; i++)
    rv2 = feed(&d2, stream + cuts[i], cuts[i + 1] - cuts[i], &split);
  int partial2 = rv2 == 0 && cgrpc_frame_decoder_partial(&d2);

  if (rv1 != rv2 || partial1 != partial2 || whole.count != split.count ||
      whole.len != split.len || (whole.len > 0 && memcmp(whole.p, split.p, whole.len) != 0) ||
      (rv1 == CGRPC_ERR_TOO_LARGE && d1.too_large_len != d2.too_large_len)) {
    fprintf(stderr,
            "frame decoder: whole gave rv %d, %u messages (%zu bytes), partial %d; "
            "%zu pieces gave rv %d, %u messages (%zu bytes), partial %d\n",
            rv1, whole.count, whole.len, partial1, ncuts - 1, rv2, split.count, split.len,
            partial2);
    abort();
  }
  cgrpc_frame_decoder_clear(&d1);
  cgrpc_frame_decoder_clear(&d2);
  free(whole.p);
  free(split.p);
  return 0;
}
