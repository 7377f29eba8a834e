/* The dedup helper's default store: claims and results in a hash table, results in LRU order. */
#include <pthread.h>
#include <string.h>

#include "base/alloc.h"
#include "base/list.h"
#include "ext/dedup_memory.h"

typedef struct mem_entry {
  struct mem_entry *next; /* in its bucket */
  cgrpc_list lru;         /* completed entries, least recently used first */
  uint64_t hash;
  int done;          /* 0: claimed by a running call */
  cgrpc_time expires; /* done entries */
  uint8_t *value;
  size_t value_len;
  size_t bytes; /* what it counts towards max_bytes, once done */
  size_t key_len;
  char key[];
} mem_entry;

struct cgrpc_dedup_memory {
  cgrpc_allocator alloc;
  pthread_mutex_t mu;
  mem_entry **buckets;
  size_t nbuckets; /* a power of two */
  size_t count;    /* entries, claims included */
  cgrpc_list lru;
  size_t done_count;
  size_t done_bytes;
  size_t max_entries;
  size_t max_bytes;
  uint64_t evicted;
  uint64_t expired;
};

#define MEM_MIN_BUCKETS 64

static uint64_t mem_hash(const char *key, size_t len)
{
  uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
  for (size_t i = 0; i < len; i++) {
    h ^= (uint8_t)key[i];
    h *= 0x100000001b3u;
  }
  return h;
}

/* The link that points at key's entry (or at the NULL ending its bucket). */
static mem_entry **mem_find(cgrpc_dedup_memory *m, const char *key, size_t len, uint64_t hash)
{
  mem_entry **p = &m->buckets[hash & (m->nbuckets - 1)];
  while (*p != NULL &&
         !((*p)->hash == hash && (*p)->key_len == len && memcmp((*p)->key, key, len) == 0))
    p = &(*p)->next;
  return p;
}

static size_t mem_entry_bytes(size_t key_len, size_t value_len)
{
  return sizeof(mem_entry) + key_len + 1 + value_len;
}

static void mem_remove(cgrpc_dedup_memory *m, mem_entry *e)
{
  mem_entry **p = mem_find(m, e->key, e->key_len, e->hash);
  *p = e->next;
  m->count--;
  if (e->done) {
    cgrpc_list_remove(&e->lru);
    m->done_count--;
    m->done_bytes -= e->bytes;
  }
  cgrpc_free(&m->alloc, e->value);
  cgrpc_free(&m->alloc, e);
}

/* More buckets once entries outnumber them; without memory the chains just grow longer. */
static void mem_grow(cgrpc_dedup_memory *m)
{
  if (m->count <= m->nbuckets)
    return;
  size_t n = m->nbuckets * 2;
  mem_entry **b = cgrpc_calloc(&m->alloc, n, sizeof *b);
  if (b == NULL)
    return;
  for (size_t i = 0; i < m->nbuckets; i++) {
    for (mem_entry *e = m->buckets[i], *next; e != NULL; e = next) {
      next = e->next;
      e->next = b[e->hash & (n - 1)];
      b[e->hash & (n - 1)] = e;
    }
  }
  cgrpc_free(&m->alloc, m->buckets);
  m->buckets = b;
  m->nbuckets = n;
}

/* Drops expired entries from the cold end of the LRU list. */
static void mem_sweep(cgrpc_dedup_memory *m, cgrpc_time now)
{
  while (!cgrpc_list_empty(&m->lru)) {
    mem_entry *e = cgrpc_container_of(m->lru.next, mem_entry, lru);
    if (now < e->expires)
      break;
    mem_remove(m, e);
    m->expired++;
  }
}

static int mem_claim(void *ud, const char *key, size_t key_len, int64_t lease_ms,
                     cgrpc_dedup_value *found)
{
  cgrpc_dedup_memory *m = ud;
  (void)lease_ms; /* claims end with their calls, which run in this process */
  uint64_t hash = mem_hash(key, key_len);
  cgrpc_time now = cgrpc_now();
  int rv;
  pthread_mutex_lock(&m->mu);
  mem_entry *e = *mem_find(m, key, key_len, hash);
  if (e != NULL && e->done && now >= e->expires) {
    mem_remove(m, e);
    m->expired++;
    e = NULL;
  }
  if (e != NULL && !e->done) {
    rv = CGRPC_DEDUP_IN_PROGRESS;
  } else if (e != NULL) {
    /* A copy: the entry may be evicted while the caller replays it. */
    uint8_t *copy = cgrpc_malloc(&m->alloc, e->value_len > 0 ? e->value_len : 1);
    if (copy == NULL) {
      rv = CGRPC_ERR_NOMEM;
    } else {
      memcpy(copy, e->value, e->value_len);
      found->data = copy;
      found->len = e->value_len;
      found->handle = copy;
      cgrpc_list_remove(&e->lru);
      cgrpc_list_push_back(&m->lru, &e->lru);
      rv = CGRPC_DEDUP_FOUND;
    }
  } else if ((e = cgrpc_malloc(&m->alloc, sizeof *e + key_len + 1)) == NULL) {
    rv = CGRPC_ERR_NOMEM;
  } else {
    memset(e, 0, sizeof *e);
    cgrpc_list_init(&e->lru);
    e->hash = hash;
    e->key_len = key_len;
    memcpy(e->key, key, key_len);
    e->key[key_len] = '\0';
    mem_entry **p = &m->buckets[hash & (m->nbuckets - 1)];
    e->next = *p;
    *p = e;
    m->count++;
    mem_grow(m);
    rv = CGRPC_DEDUP_CLAIMED;
  }
  pthread_mutex_unlock(&m->mu);
  return rv;
}

static int mem_complete(void *ud, const char *key, size_t key_len, const uint8_t *value,
                        size_t value_len, int64_t ttl_ms)
{
  cgrpc_dedup_memory *m = ud;
  uint64_t hash = mem_hash(key, key_len);
  size_t bytes = mem_entry_bytes(key_len, value_len);
  int too_large = bytes > m->max_bytes || m->max_entries == 0 || ttl_ms <= 0;
  uint8_t *copy = too_large ? NULL : cgrpc_malloc(&m->alloc, value_len > 0 ? value_len : 1);
  pthread_mutex_lock(&m->mu);
  mem_entry *e = *mem_find(m, key, key_len, hash);
  if (e == NULL || e->done || copy == NULL) {
    /* Not claimed (nothing to complete), or not storable: the claim goes. */
    int rv = too_large ? CGRPC_ERR_TOO_LARGE
                       : e == NULL || e->done ? CGRPC_ERR_NOT_FOUND : CGRPC_ERR_NOMEM;
    if (e != NULL && !e->done)
      mem_remove(m, e);
    pthread_mutex_unlock(&m->mu);
    cgrpc_free(&m->alloc, copy);
    return rv;
  }
  memcpy(copy, value, value_len);
  cgrpc_time now = cgrpc_now();
  e->done = 1;
  e->value = copy;
  e->value_len = value_len;
  e->bytes = bytes;
  e->expires = ttl_ms >= (CGRPC_TIME_INFINITE - now) / 1000000 ? CGRPC_TIME_INFINITE
                                                                : now + CGRPC_MS_TO_NS(ttl_ms);
  mem_sweep(m, now);
  cgrpc_list_push_back(&m->lru, &e->lru);
  m->done_count++;
  m->done_bytes += bytes;
  /* The new entry alone fits, so this stops before reaching it. */
  while (m->done_count > m->max_entries || m->done_bytes > m->max_bytes) {
    mem_remove(m, cgrpc_container_of(m->lru.next, mem_entry, lru));
    m->evicted++;
  }
  pthread_mutex_unlock(&m->mu);
  return 0;
}

static void mem_abandon(void *ud, const char *key, size_t key_len)
{
  cgrpc_dedup_memory *m = ud;
  uint64_t hash = mem_hash(key, key_len);
  pthread_mutex_lock(&m->mu);
  mem_entry *e = *mem_find(m, key, key_len, hash);
  if (e != NULL && !e->done)
    mem_remove(m, e);
  pthread_mutex_unlock(&m->mu);
}

static void mem_release(void *ud, cgrpc_dedup_value *found)
{
  cgrpc_dedup_memory *m = ud;
  cgrpc_free(&m->alloc, found->handle);
  found->handle = NULL;
  found->data = NULL;
  found->len = 0;
}

const cgrpc_dedup_store cgrpc_dedup_memory_store = {
    sizeof(cgrpc_dedup_store), mem_claim, mem_complete, mem_abandon, mem_release,
};

int cgrpc_dedup_memory_new(cgrpc_dedup_memory **out, const cgrpc_allocator *alloc,
                           size_t max_entries, size_t max_bytes)
{
  cgrpc_dedup_memory *m = cgrpc_malloc(alloc, sizeof *m);
  if (m == NULL)
    return CGRPC_ERR_NOMEM;
  memset(m, 0, sizeof *m);
  m->alloc = *alloc;
  m->nbuckets = MEM_MIN_BUCKETS;
  m->buckets = cgrpc_calloc(alloc, m->nbuckets, sizeof *m->buckets);
  if (m->buckets == NULL) {
    cgrpc_free(alloc, m);
    return CGRPC_ERR_NOMEM;
  }
  pthread_mutex_init(&m->mu, NULL);
  cgrpc_list_init(&m->lru);
  m->max_entries = max_entries;
  m->max_bytes = max_bytes;
  *out = m;
  return 0;
}

void cgrpc_dedup_memory_free(cgrpc_dedup_memory *m)
{
  if (m == NULL)
    return;
  for (size_t i = 0; i < m->nbuckets; i++) {
    for (mem_entry *e = m->buckets[i], *next; e != NULL; e = next) {
      next = e->next;
      cgrpc_free(&m->alloc, e->value);
      cgrpc_free(&m->alloc, e);
    }
  }
  cgrpc_free(&m->alloc, m->buckets);
  pthread_mutex_destroy(&m->mu);
  cgrpc_allocator alloc = m->alloc;
  cgrpc_free(&alloc, m);
}

uint64_t cgrpc_dedup_memory_stat(cgrpc_dedup_memory *m, cgrpc_dedup_stat which)
{
  uint64_t v = 0;
  pthread_mutex_lock(&m->mu);
  switch (which) {
  case CGRPC_DEDUP_STAT_EVICTED:
    v = m->evicted;
    break;
  case CGRPC_DEDUP_STAT_EXPIRED:
    v = m->expired;
    break;
  case CGRPC_DEDUP_STAT_ENTRIES:
    v = m->done_count;
    break;
  case CGRPC_DEDUP_STAT_BYTES:
    v = m->done_bytes;
    break;
  default:
    break;
  }
  pthread_mutex_unlock(&m->mu);
  return v;
}
