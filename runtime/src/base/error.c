/* cgrpc_strerror: text for the library's own error codes. */
#include <cgrpc/common.h>

const char *cgrpc_strerror(int error)
{
  switch (error) {
  case 0:
    return "success";
  case CGRPC_ERR_INVALID_ARGUMENT:
    return "invalid argument";
  case CGRPC_ERR_NOMEM:
    return "out of memory";
  case CGRPC_ERR_BAD_KEY:
    return "metadata key has characters other than 0-9 a-z _ - .";
  case CGRPC_ERR_RESERVED_KEY:
    return "metadata key is reserved";
  case CGRPC_ERR_BAD_VALUE:
    return "metadata value is not printable ASCII";
  case CGRPC_ERR_BAD_TARGET:
    return "channel target cannot be parsed";
  case CGRPC_ERR_SYSTEM:
    return "system call failed";
  case CGRPC_ERR_ADDRESS:
    return "address cannot be resolved or bound";
  case CGRPC_ERR_STATE:
    return "wrong state for this operation";
  case CGRPC_ERR_EXISTS:
    return "already registered";
  case CGRPC_ERR_NOT_FOUND:
    return "not found";
  case CGRPC_ERR_SHUTDOWN:
    return "shutting down";
  case CGRPC_ERR_PROTO:
    return "protocol error";
  case CGRPC_ERR_TOO_LARGE:
    return "size limit exceeded";
  case CGRPC_ERR_CLOSED:
    return "closed";
  case CGRPC_ERR_AGAIN:
    return "would block";
  case CGRPC_ERR_TLS:
    return "TLS credentials cannot be loaded or used";
  default:
    return "unknown error";
  }
}
