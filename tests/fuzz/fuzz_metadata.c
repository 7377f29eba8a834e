/* Feeds received headers to classification and to metadata from the wire (-bin too), out and back
 * in, and their values through grpc-message's percent-encoding and back; aborts on a change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "wire/headers.h"
#include "wire/metadata_internal.h"
#include "wire/percent.h"
#include "wire/status_map.h"

/* Input: headers, each [name length: 1] [value length: 2, big-endian] [name] [value]. */

#define MAX_HEADERS 64

static void fail(const char *what, const uint8_t *name, size_t nlen)
{
  fprintf(stderr, "metadata: %s (header \"%.*s\")\n", what, (int)nlen, (const char *)name);
  abort();
}

static int same_entry(const cgrpc_metadata_entry *a, const cgrpc_metadata_entry *b)
{
  return strcmp(a->key, b->key) == 0 && a->value_len == b->value_len &&
         (a->value_len == 0 || memcmp(a->value, b->value, a->value_len) == 0);
}

/* Sends md as header fields and reads them back as a peer would: the same list. */
static void wire_round_trip(const cgrpc_metadata *md, const cgrpc_allocator *alloc)
{
  cgrpc_nvbuf nv;
  cgrpc_nvbuf_init(&nv, alloc);
  if (cgrpc_nvbuf_add_metadata(&nv, md) != 0)
    abort();
  if (nv.size > cgrpc_metadata_list_size(md)) /* limits are checked with the latter */
    fail("the list is larger than its measured size", NULL, 0);
  cgrpc_metadata *back;
  if (cgrpc_metadata_new(&back, alloc) != 0)
    abort();
  for (size_t i = 0; i < nv.n; i++) {
    if (!nghttp2_check_header_name(nv.nv[i].name, nv.nv[i].namelen) ||
        !nghttp2_check_header_value(nv.nv[i].value, nv.nv[i].valuelen))
      fail("we would send a field nghttp2 refuses", nv.nv[i].name, nv.nv[i].namelen);
    if (cgrpc_metadata_append_wire(back, (const char *)nv.nv[i].name, nv.nv[i].namelen,
                                   (const char *)nv.nv[i].value, nv.nv[i].valuelen) != 0)
      fail("what we sent does not read back", nv.nv[i].name, nv.nv[i].namelen);
  }
  if (cgrpc_metadata_count(back) != cgrpc_metadata_count(md))
    fail("entries lost or gained on the wire", NULL, 0);
  for (size_t i = 0; i < cgrpc_metadata_count(md); i++)
    if (!same_entry(cgrpc_metadata_at(md, i), cgrpc_metadata_at(back, i)))
      fail("an entry changed on the wire", (const uint8_t *)cgrpc_metadata_at(md, i)->key,
           strlen(cgrpc_metadata_at(md, i)->key));
  cgrpc_metadata_free(back);
  cgrpc_nvbuf_clear(&nv);
}

/* decode(encode(v)) == v, and the encoding is plain printable ASCII. */
static void percent_round_trip(const uint8_t *v, size_t n)
{
  size_t elen = cgrpc_percent_encoded_len((const char *)v, n);
  char *enc = malloc(elen + 1), *dec = malloc(elen + 1), *raw = malloc(n + 1);
  if (enc == NULL || dec == NULL || raw == NULL)
    abort();
  if (cgrpc_percent_encode(enc, (const char *)v, n) != elen || enc[elen] != '\0')
    fail("percent: encoded length differs from its measure", v, n);
  for (size_t i = 0; i < elen; i++)
    if (enc[i] < 0x20 || enc[i] > 0x7e)
      fail("percent: the encoding is not printable ASCII", v, n);
  if (cgrpc_percent_decode(dec, enc, elen) != n || memcmp(dec, v, n) != 0)
    fail("percent: decode(encode(x)) != x", v, n);
  if (cgrpc_percent_decode(raw, (const char *)v, n) > n) /* any bytes, escapes or not */
    fail("percent: decoding grew", v, n);
  free(enc);
  free(dec);
  free(raw);
}

/* grpc-status and grpc-message for message: what goes out fits its measure and its limit,
 * and is a prefix of the message cut at a character's start. */
static void status_out(const char *message, cgrpc_code code, const cgrpc_allocator *alloc)
{
  cgrpc_nvbuf nv;
  cgrpc_nvbuf_init(&nv, alloc);
  if (cgrpc_nvbuf_add_status(&nv, code, message) != 0)
    abort();
  size_t measured = cgrpc_status_list_size(message);
  if (nv.size > measured || measured - nv.size > 1) /* it counts two digits for every code */
    fail("status: the size differs from its measure", (const uint8_t *)message, strlen(message));
  size_t mlen = strlen(message);
  for (size_t i = 0; i < nv.n; i++) {
    if (nv.nv[i].namelen != 12 || memcmp(nv.nv[i].name, "grpc-message", 12) != 0)
      continue;
    if (nv.nv[i].valuelen > CGRPC_STATUS_MESSAGE_WIRE_MAX)
      fail("status: grpc-message over its limit", (const uint8_t *)message, mlen);
    char *dec = malloc(nv.nv[i].valuelen + 1);
    if (dec == NULL)
      abort();
    size_t dlen = cgrpc_percent_decode(dec, (const char *)nv.nv[i].value, nv.nv[i].valuelen);
    if (dlen > mlen || memcmp(dec, message, dlen) != 0)
      fail("status: grpc-message is not a prefix of the message", (const uint8_t *)message, mlen);
    if (dlen < mlen && dlen > 0 && ((unsigned char)message[dlen] & 0xc0) == 0x80)
      fail("status: grpc-message cut inside a character", (const uint8_t *)message, mlen);
    free(dec);
  }
  cgrpc_nvbuf_clear(&nv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  cgrpc_allocator alloc;
  cgrpc_alloc_init(&alloc, NULL);
  cgrpc_metadata *md, *api;
  if (cgrpc_metadata_new(&md, &alloc) != 0 || cgrpc_metadata_new(&api, &alloc) != 0)
    abort();
  for (int h = 0; h < MAX_HEADERS && size >= 3; h++) {
    size_t nlen = data[0], vlen = (size_t)data[1] << 8 | data[2];
    data += 3;
    size -= 3;
    if (nlen > size)
      nlen = size;
    if (vlen > size - nlen)
      vlen = size - nlen;
    const uint8_t *name = data, *value = data + nlen;
    data += nlen + vlen;
    size -= nlen + vlen;

    cgrpc_header cls = cgrpc_header_classify(name, nlen);
    if (cls != CGRPC_HDR_OTHER && !cgrpc_metadata_is_reserved((const char *)name, nlen))
      fail("a header gRPC reads is not reserved", name, nlen);
    (void)cgrpc_content_type_is_grpc(value, vlen);
    int code = cgrpc_code_parse((const char *)value, vlen);
    if (code < -1 || code >= CGRPC_STATUS_CODE_COUNT)
      fail("grpc-status parsed out of range", value, vlen);

    /* As received: only what nghttp2 lets through reaches the runtime. */
    if (nghttp2_check_header_name(name, nlen) && nghttp2_check_header_value(value, vlen)) {
      size_t before = cgrpc_metadata_count(md);
      int skip = cgrpc_metadata_is_reserved((const char *)name, nlen) &&
                 !(nlen == 10 && memcmp(name, "user-agent", 10) == 0);
      int bin = cgrpc_metadata_key_is_bin((const char *)name, nlen);
      int rv = cgrpc_metadata_append_wire(md, (const char *)name, nlen, (const char *)value, vlen);
      if (rv != 0 && !(rv == CGRPC_ERR_PROTO && bin && !skip))
        fail("append_wire failed", name, nlen);
      if (cgrpc_metadata_count(md) != before + (rv == 0 && !skip))
        fail("append_wire kept what it should skip, or skipped what it should keep", name, nlen);
      if (rv == 0 && !skip) {
        const cgrpc_metadata_entry *e = cgrpc_metadata_at(md, before);
        if (strlen(e->key) != nlen || memcmp(e->key, name, nlen) != 0 ||
            (!bin && (e->value_len != vlen || memcmp(e->value, value, vlen) != 0)))
          fail("append_wire changed the header", name, nlen);
        if (bin) { /* the bytes decoded re-encode to something that decodes to them */
          char *enc = malloc(cgrpc_b64_encode_size(e->value_len));
          uint8_t *dec = malloc(cgrpc_b64_decode_size(cgrpc_b64_encode_size(e->value_len)) + 1);
          size_t dlen;
          if (enc == NULL || dec == NULL)
            abort();
          size_t elen = cgrpc_b64_encode(enc, e->value, e->value_len);
          if (cgrpc_b64_decode(dec, &dlen, enc, elen) != 0 || dlen != e->value_len ||
              memcmp(dec, e->value, dlen) != 0)
            fail("base64 round trip", name, nlen);
          free(enc);
          free(dec);
        }
      }
    }

    /* As the application adds it: what the API accepts must go out and come back intact. */
    char key[256];
    memcpy(key, name, nlen);
    key[nlen] = '\0';
    if (cgrpc_metadata_add(api, key, value, vlen) == 0 &&
        !nghttp2_check_header_name((const uint8_t *)key, strlen(key)))
      fail("the API took a key HTTP/2 cannot carry", name, nlen);

    percent_round_trip(value, vlen);
    char *message = malloc(vlen + 1);
    if (message == NULL)
      abort();
    memcpy(message, value, vlen);
    message[vlen] = '\0';
    status_out(message, (cgrpc_code)(nlen % (CGRPC_STATUS_CODE_COUNT + 1)), &alloc);
    free(message);
  }
  wire_round_trip(md, &alloc);
  wire_round_trip(api, &alloc);
  cgrpc_metadata_free(md);
  cgrpc_metadata_free(api);
  return 0;
}
