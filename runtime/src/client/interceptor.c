/* What a client interceptor sees of its stage of a call (cgrpc/interceptor.h). */
#include <stdarg.h>

#include "client/call.h"
#include "wire/metadata_internal.h"

void cgrpc_client_ctx_proceed(cgrpc_client_ctx *ctx, cgrpc_client_done_fn done, void *user_data)
{
  ctx->done = done;
  ctx->done_user_data = user_data;
  cgrpc_call_clear_result(ctx->call);
  cgrpc_call_run_stage(ctx->call, ctx->stage + 1);
}

void cgrpc_client_ctx_finish(cgrpc_client_ctx *ctx)
{
  cgrpc_call_finish_stage(ctx->call, ctx->stage);
}

void cgrpc_client_ctx_fail(cgrpc_client_ctx *ctx, cgrpc_code code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cgrpc_call_set_result(ctx->call, code, fmt, ap);
  va_end(ap);
}

cgrpc_status *cgrpc_client_ctx_status(cgrpc_client_ctx *ctx)
{
  return &ctx->call->status;
}

const ProtobufCMessage *cgrpc_client_ctx_response(const cgrpc_client_ctx *ctx)
{
  return ctx->call->response;
}

const cgrpc_method_desc *cgrpc_client_ctx_method(const cgrpc_client_ctx *ctx)
{
  return ctx->call->method;
}

cgrpc_channel *cgrpc_client_ctx_channel(const cgrpc_client_ctx *ctx)
{
  return ctx->call->ch;
}

const ProtobufCMessage *cgrpc_client_ctx_request(const cgrpc_client_ctx *ctx)
{
  return ctx->call->request;
}

cgrpc_metadata *cgrpc_client_ctx_metadata(cgrpc_client_ctx *ctx)
{
  cgrpc_call *call = ctx->call;
  if (cgrpc_metadata_ensure(&call->md, call->alloc) != 0)
    return NULL;
  return call->md;
}

const cgrpc_metadata *cgrpc_client_ctx_request_metadata(const cgrpc_client_ctx *ctx)
{
  return ctx->call->md;
}

cgrpc_time cgrpc_client_ctx_deadline(const cgrpc_client_ctx *ctx)
{
  return ctx->call->req.deadline;
}

void cgrpc_client_ctx_set_deadline(cgrpc_client_ctx *ctx, cgrpc_time deadline)
{
  ctx->call->req.deadline = deadline;
}

cgrpc_time cgrpc_client_ctx_start_time(const cgrpc_client_ctx *ctx)
{
  return ctx->call->start_time;
}

const cgrpc_server_call *cgrpc_client_ctx_parent(const cgrpc_client_ctx *ctx)
{
  return ctx->call->parent;
}

void *cgrpc_client_ctx_data(const cgrpc_client_ctx *ctx)
{
  return ctx->data;
}

void cgrpc_client_ctx_set_data(cgrpc_client_ctx *ctx, void *data)
{
  ctx->data = data;
}
