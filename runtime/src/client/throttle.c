/* Retry throttling (gRFC A6), in thousandths of a token. */
#include "client/throttle.h"

void cgrpc_throttle_init(cgrpc_throttle *t, int max_tokens, double token_ratio)
{
  t->max_milli = 0;
  t->ratio_milli = 0;
  t->tokens_milli = 0;
  if (max_tokens <= 0 || !(token_ratio > 0))
    return;
  if (max_tokens > 1000)
    max_tokens = 1000;
  t->max_milli = (int64_t)max_tokens * 1000;
  if (token_ratio > 1000.0)
    token_ratio = 1000.0;
  t->ratio_milli = (int64_t)(token_ratio * 1000.0 + 0.5);
  if (t->ratio_milli < 1)
    t->ratio_milli = 1;
  t->tokens_milli = t->max_milli;
}

void cgrpc_throttle_success(cgrpc_throttle *t)
{
  if (t->max_milli == 0)
    return;
  t->tokens_milli += t->ratio_milli;
  if (t->tokens_milli > t->max_milli)
    t->tokens_milli = t->max_milli;
}

int cgrpc_throttle_failure(cgrpc_throttle *t)
{
  if (t->max_milli == 0)
    return 1;
  t->tokens_milli -= 1000;
  if (t->tokens_milli < 0)
    t->tokens_milli = 0;
  return t->tokens_milli > t->max_milli / 2;
}
