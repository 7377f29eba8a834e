/* Metadata lists: validated on the way in, one allocation per entry. */
#include <string.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "wire/metadata_internal.h"

int cgrpc_metadata_new(cgrpc_metadata **out, const cgrpc_allocator *alloc)
{
  cgrpc_allocator a;
  if (out == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  cgrpc_alloc_init(&a, alloc);
  cgrpc_metadata *md = cgrpc_calloc(&a, 1, sizeof *md);
  if (md == NULL)
    return CGRPC_ERR_NOMEM;
  md->alloc = a;
  *out = md;
  return 0;
}

int cgrpc_metadata_ensure(cgrpc_metadata **md, const cgrpc_allocator *alloc)
{
  return *md != NULL ? 0 : cgrpc_metadata_new(md, alloc);
}

void cgrpc_metadata_free(cgrpc_metadata *md)
{
  if (md == NULL)
    return;
  for (size_t i = 0; i < md->count; i++)
    cgrpc_free(&md->alloc, (void *)md->entries[i].key);
  cgrpc_free(&md->alloc, md->entries);
  cgrpc_free(&md->alloc, md);
}

int cgrpc_metadata_key_is_bin(const char *key, size_t len)
{
  return len > 4 && memcmp(key + len - 4, "-bin", 4) == 0;
}

int cgrpc_metadata_is_reserved(const char *name, size_t len)
{
  static const char *const reserved[] = {
      "content-type", "te",      "user-agent",        "connection", "keep-alive",
      "host",         "upgrade", "transfer-encoding", "proxy-connection",
  };
  if (len > 0 && name[0] == ':')
    return 1;
  if (len >= 5 && memcmp(name, "grpc-", 5) == 0)
    return 1;
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strlen(reserved[i]) == len && memcmp(reserved[i], name, len) == 0)
      return 1;
  return 0;
}

int cgrpc_metadata_check_key(const char *key)
{
  if (key == NULL || key[0] == '\0')
    return CGRPC_ERR_BAD_KEY;
  size_t len = 0;
  for (const char *p = key; *p != '\0'; p++, len++) {
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
      return c == ':' && p == key ? CGRPC_ERR_RESERVED_KEY : CGRPC_ERR_BAD_KEY;
  }
  return cgrpc_metadata_is_reserved(key, len) ? CGRPC_ERR_RESERVED_KEY : 0;
}

int cgrpc_metadata_append(cgrpc_metadata *md, const char *key, size_t key_len,
                          const uint8_t *value, size_t value_len)
{
  if (md->count == md->cap) {
    size_t cap = md->cap ? md->cap * 2 : 4;
    cgrpc_metadata_entry *e = cgrpc_realloc(&md->alloc, md->entries, cap * sizeof *e);
    if (e == NULL)
      return CGRPC_ERR_NOMEM;
    md->entries = e;
    md->cap = cap;
  }
  char *mem = cgrpc_malloc(&md->alloc, key_len + 1 + value_len + 1);
  if (mem == NULL)
    return CGRPC_ERR_NOMEM;
  memcpy(mem, key, key_len);
  mem[key_len] = '\0';
  uint8_t *v = (uint8_t *)mem + key_len + 1;
  if (value_len > 0)
    memcpy(v, value, value_len);
  v[value_len] = '\0';
  md->entries[md->count].key = mem;
  md->entries[md->count].value = v;
  md->entries[md->count].value_len = value_len;
  md->count++;
  return 0;
}

int cgrpc_metadata_add(cgrpc_metadata *md, const char *key, const void *value, size_t value_len)
{
  if (md == NULL || (value == NULL && value_len > 0))
    return CGRPC_ERR_INVALID_ARGUMENT;
  int rv = cgrpc_metadata_check_key(key);
  if (rv != 0)
    return rv;
  size_t key_len = strlen(key);
  if (!cgrpc_metadata_key_is_bin(key, key_len)) {
    const uint8_t *v = value;
    for (size_t i = 0; i < value_len; i++)
      if (v[i] < 0x20 || v[i] > 0x7e)
        return CGRPC_ERR_BAD_VALUE;
  }
  return cgrpc_metadata_append(md, key, key_len, value, value_len);
}

int cgrpc_metadata_add_str(cgrpc_metadata *md, const char *key, const char *value)
{
  if (value == NULL)
    return CGRPC_ERR_INVALID_ARGUMENT;
  return cgrpc_metadata_add(md, key, value, strlen(value));
}

int cgrpc_metadata_append_wire(cgrpc_metadata *md, const char *name, size_t name_len,
                               const char *value, size_t value_len)
{
  if (cgrpc_metadata_is_reserved(name, name_len) &&
      !(name_len == 10 && memcmp(name, "user-agent", 10) == 0))
    return 0;
  if (!cgrpc_metadata_key_is_bin(name, name_len))
    return cgrpc_metadata_append(md, name, name_len, (const uint8_t *)value, value_len);

  uint8_t small[256];
  size_t cap = cgrpc_b64_decode_size(value_len), out_len = 0;
  uint8_t *buf = cap <= sizeof small ? small : cgrpc_malloc(&md->alloc, cap);
  if (buf == NULL)
    return CGRPC_ERR_NOMEM;
  int rv = cgrpc_b64_decode(buf, &out_len, value, value_len) != 0
               ? CGRPC_ERR_PROTO
               : cgrpc_metadata_append(md, name, name_len, buf, out_len);
  if (buf != small)
    cgrpc_free(&md->alloc, buf);
  return rv;
}

size_t cgrpc_metadata_count(const cgrpc_metadata *md)
{
  return md != NULL ? md->count : 0;
}

const cgrpc_metadata_entry *cgrpc_metadata_at(const cgrpc_metadata *md, size_t i)
{
  return md != NULL && i < md->count ? &md->entries[i] : NULL;
}

const cgrpc_metadata_entry *cgrpc_metadata_find(const cgrpc_metadata *md, const char *key)
{
  if (md == NULL || key == NULL)
    return NULL;
  for (size_t i = 0; i < md->count; i++)
    if (strcmp(md->entries[i].key, key) == 0)
      return &md->entries[i];
  return NULL;
}

const char *cgrpc_metadata_get(const cgrpc_metadata *md, const char *key)
{
  const cgrpc_metadata_entry *e = cgrpc_metadata_find(md, key);
  return e != NULL ? (const char *)e->value : NULL;
}
