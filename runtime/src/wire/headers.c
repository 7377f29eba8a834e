/* Header lists for nghttp2: literals by reference, computed values in a small arena. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "wire/headers.h"
#include "wire/metadata_internal.h"
#include "wire/percent.h"
#include "wire/timeout.h"

void cgrpc_nvbuf_init(cgrpc_nvbuf *b, const cgrpc_allocator *alloc)
{
  b->nv = b->inline_nv;
  b->n = 0;
  b->size = 0;
  b->cap = sizeof b->inline_nv / sizeof b->inline_nv[0];
  b->alloc = alloc;
  cgrpc_arena_init(&b->arena, alloc, b->inline_mem, sizeof b->inline_mem);
}

void cgrpc_nvbuf_clear(cgrpc_nvbuf *b)
{
  if (b->nv != b->inline_nv)
    cgrpc_free(b->alloc, b->nv);
  cgrpc_arena_clear(&b->arena);
  b->nv = b->inline_nv;
  b->n = 0;
  b->size = 0;
  b->cap = sizeof b->inline_nv / sizeof b->inline_nv[0];
}

static int nvbuf_push(cgrpc_nvbuf *b, const char *name, size_t nlen, const char *value,
                      size_t vlen, uint8_t flags)
{
  if (b->n == b->cap) {
    size_t cap = b->cap * 2;
    nghttp2_nv *nv = cgrpc_malloc(b->alloc, cap * sizeof *nv);
    if (nv == NULL)
      return CGRPC_ERR_NOMEM;
    memcpy(nv, b->nv, b->n * sizeof *nv);
    if (b->nv != b->inline_nv)
      cgrpc_free(b->alloc, b->nv);
    b->nv = nv;
    b->cap = cap;
  }
  nghttp2_nv *e = &b->nv[b->n++];
  e->name = (uint8_t *)name;
  e->namelen = nlen;
  e->value = (uint8_t *)value;
  e->valuelen = vlen;
  e->flags = flags;
  b->size += nlen + vlen + 32;
  return 0;
}

int cgrpc_nvbuf_add_static(cgrpc_nvbuf *b, const char *name, const char *value)
{
  return nvbuf_push(b, name, strlen(name), value, strlen(value),
                    NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE);
}

int cgrpc_nvbuf_add(cgrpc_nvbuf *b, const char *name, size_t name_len, const char *value,
                    size_t value_len)
{
  return nvbuf_push(b, name, name_len, value, value_len, NGHTTP2_NV_FLAG_NONE);
}

int cgrpc_nvbuf_add_metadata(cgrpc_nvbuf *b, const cgrpc_metadata *md)
{
  for (size_t i = 0; i < cgrpc_metadata_count(md); i++) {
    const cgrpc_metadata_entry *e = &md->entries[i];
    size_t klen = strlen(e->key);
    const char *value = (const char *)e->value;
    size_t vlen = e->value_len;
    if (cgrpc_metadata_key_is_bin(e->key, klen)) {
      char *enc = cgrpc_arena_alloc(&b->arena, cgrpc_b64_encode_size(e->value_len));
      if (enc == NULL)
        return CGRPC_ERR_NOMEM;
      vlen = cgrpc_b64_encode(enc, e->value, e->value_len);
      value = enc;
    }
    int rv = cgrpc_nvbuf_add(b, e->key, klen, value, vlen);
    if (rv != 0)
      return rv;
  }
  return 0;
}

/* How many bytes of message to send for its encoding to fit CGRPC_STATUS_MESSAGE_WIRE_MAX
 * (cut before a UTF-8 continuation byte: whole characters only); *elen gets the encoded size. */
static size_t status_message_cut(const char *message, size_t mlen, size_t *elen)
{
  size_t n = cgrpc_percent_encoded_len(message, mlen);
  if (n <= CGRPC_STATUS_MESSAGE_WIRE_MAX) {
    *elen = n;
    return mlen;
  }
  size_t i = 0;
  n = 0;
  for (; i < mlen; i++) {
    size_t one = cgrpc_percent_encoded_len(message + i, 1);
    if (n + one > CGRPC_STATUS_MESSAGE_WIRE_MAX)
      break;
    n += one;
  }
  while (i > 0 && ((unsigned char)message[i] & 0xc0) == 0x80) {
    i--;
    n -= cgrpc_percent_encoded_len(message + i, 1);
  }
  *elen = n;
  return i;
}

int cgrpc_nvbuf_add_status(cgrpc_nvbuf *b, cgrpc_code code, const char *message)
{
  static const char *const digits[CGRPC_STATUS_CODE_COUNT] = {
      "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16"};
  int c = (int)code >= 0 && (int)code < CGRPC_STATUS_CODE_COUNT ? (int)code : 2;
  int rv = cgrpc_nvbuf_add_static(b, "grpc-status", digits[c]);
  if (rv != 0 || message == NULL || message[0] == '\0')
    return rv;
  size_t elen;
  size_t mlen = status_message_cut(message, strlen(message), &elen);
  char *enc = cgrpc_arena_alloc(&b->arena, elen + 1);
  if (enc == NULL)
    return CGRPC_ERR_NOMEM;
  cgrpc_percent_encode(enc, message, mlen);
  return cgrpc_nvbuf_add(b, "grpc-message", 12, enc, elen);
}

size_t cgrpc_status_list_size(const char *message)
{
  size_t size = 11 + 2 + 32; /* grpc-status */
  if (message != NULL && message[0] != '\0') {
    size_t elen;
    status_message_cut(message, strlen(message), &elen);
    size += 12 + elen + 32;
  }
  return size;
}

size_t cgrpc_metadata_list_size(const cgrpc_metadata *md)
{
  size_t size = 0;
  for (size_t i = 0; i < cgrpc_metadata_count(md); i++) {
    const cgrpc_metadata_entry *e = &md->entries[i];
    size_t klen = strlen(e->key);
    size_t vlen = cgrpc_metadata_key_is_bin(e->key, klen) ? cgrpc_b64_encode_size(e->value_len)
                                                          : e->value_len;
    size += klen + vlen + 32;
  }
  return size;
}

int cgrpc_nvbuf_add_timeout(cgrpc_nvbuf *b, int64_t ns)
{
  char *v = cgrpc_arena_alloc(&b->arena, CGRPC_TIMEOUT_MAX_LEN);
  if (v == NULL)
    return CGRPC_ERR_NOMEM;
  size_t len = cgrpc_timeout_encode(v, ns);
  return cgrpc_nvbuf_add(b, "grpc-timeout", 12, v, len);
}

#define HDR_IS(lit) (len == sizeof(lit) - 1 && memcmp(name, lit, len) == 0)

cgrpc_header cgrpc_header_classify(const uint8_t *name, size_t len)
{
  if (len == 0)
    return CGRPC_HDR_OTHER;
  if (name[0] == ':') {
    if (HDR_IS(":status"))
      return CGRPC_HDR_STATUS;
    if (HDR_IS(":path"))
      return CGRPC_HDR_PATH;
    if (HDR_IS(":method"))
      return CGRPC_HDR_METHOD;
    if (HDR_IS(":authority"))
      return CGRPC_HDR_AUTHORITY;
    return CGRPC_HDR_PSEUDO;
  }
  if (name[0] == 'g' && len > 5 && memcmp(name, "grpc-", 5) == 0) {
    if (HDR_IS("grpc-status"))
      return CGRPC_HDR_GRPC_STATUS;
    if (HDR_IS("grpc-message"))
      return CGRPC_HDR_GRPC_MESSAGE;
    if (HDR_IS("grpc-timeout"))
      return CGRPC_HDR_GRPC_TIMEOUT;
    if (HDR_IS("grpc-encoding"))
      return CGRPC_HDR_GRPC_ENCODING;
    return CGRPC_HDR_GRPC_OTHER;
  }
  if (HDR_IS("content-type"))
    return CGRPC_HDR_CONTENT_TYPE;
  if (HDR_IS("te"))
    return CGRPC_HDR_TE;
  return CGRPC_HDR_OTHER;
}

int cgrpc_content_type_is_grpc(const uint8_t *value, size_t len)
{
  static const char ct[] = "application/grpc";
  size_t n = sizeof ct - 1;
  if (len < n || strncasecmp((const char *)value, ct, n) != 0)
    return 0;
  return len == n || value[n] == '+' || value[n] == ';';
}
