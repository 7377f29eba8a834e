#include <cgrpc/channel.h>
