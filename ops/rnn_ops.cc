// rnn ops: declaration, shape function, CPU kernel and gradient of each.
#include "rnn_ops.h"

#include "registry.h"

namespace sluice {

void register_rnn_ops(OpRegistry&) {}

}  // namespace sluice
